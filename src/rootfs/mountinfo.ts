import { readFileSync } from 'fs';
import * as C from '../sys/constants';
import type { Libc } from '../sys/libc';

const PER_MOUNT_FLAGS: Record<string, number> = {
  ro: C.MS_RDONLY,
  nosuid: C.MS_NOSUID,
  nodev: C.MS_NODEV,
  noexec: C.MS_NOEXEC,
  noatime: C.MS_NOATIME,
  nodiratime: C.MS_NODIRATIME,
  relatime: C.MS_RELATIME,
  nosymfollow: C.MS_NOSYMFOLLOW,
};

/**
 * The per-mount flags of the topmost mount at `mountpoint`, so a bind remount keeps them (the
 * kernel refuses or silently clears flags that a remount leaves out).
 */
export function mountFlags(mountpoint: string, mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): number {
  let flags = 0;
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    if (f.length < 6 || f[4].replace(/\\040/g, ' ') !== mountpoint) continue;
    flags = 0;
    for (const o of f[5].split(',')) flags |= PER_MOUNT_FLAGS[o] ?? 0;
  }
  return flags;
}

// statfs's ST_* flags and the MS_* flags they stand for (most share their values; not all)
const ST_TO_MS: [number, number][] = [
  [1, C.MS_RDONLY],
  [2, C.MS_NOSUID],
  [4, C.MS_NODEV],
  [8, C.MS_NOEXEC],
  [1024, C.MS_NOATIME],
  [2048, C.MS_NODIRATIME],
  [4096, C.MS_RELATIME],
  [8192, C.MS_NOSYMFOLLOW],
];

/**
 * The per-mount flags of the mount at `path`, from statfs (as runc): inside the container, where
 * /proc may not be mounted at all.
 */
export function mountFlagsOf(sys: Pick<Libc, 'statfsFlags'>, path: string): number {
  const st = sys.statfsFlags(path);
  let flags = 0;
  for (const [s, m] of ST_TO_MS) if (st & s) flags |= m;
  return flags;
}

/** Mount points with their filesystem type, in mountinfo's order (parents before children). */
export function mountPoints(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): { mountpoint: string; fstype: string }[] {
  const out: { mountpoint: string; fstype: string }[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const mountpoint = line
      .slice(0, sep)
      .split(' ')[4]
      .replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    out.push({ mountpoint, fstype: line.slice(sep + 3).split(' ')[0] });
  }
  return out;
}
