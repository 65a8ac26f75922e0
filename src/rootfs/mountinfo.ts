import { readFileSync } from 'fs';
import * as C from '../sys/constants';
import type { Libc } from '../sys/libc';

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
 * The per-mount flags of the topmost mount at `path`, so a bind remount keeps them (the kernel
 * refuses or silently clears flags a remount leaves out). From statfs, as runc: no mountinfo to
 * read and parse, and it works inside a container that has no /proc mounted.
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
