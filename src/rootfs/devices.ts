import fs = require('fs');
import { basename, dirname, join } from 'path';
import type { Libc } from '../sys/libc';
import * as C from '../sys/constants';
import { isErrno } from '../sys/errors';
import { removeFile } from '../util/remove-file';
import type { Device } from '../ocispec/oci';
import { secureJoin, openInRoot, fdPath, mkdirAllInRoot } from './safe-path';

/** Devices every container gets (as runc), unless the config defines the same path. */
export const DEFAULT_DEVICES: Device[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
];

const TYPE_BITS: Record<string, number> = { c: C.S_IFCHR, u: C.S_IFCHR, b: C.S_IFBLK, p: C.S_IFIFO };

export function allDevices(configured: readonly Device[]): Device[] {
  const paths = new Set(configured.map((d) => d.path));
  return [...configured, ...DEFAULT_DEVICES.filter((d) => !paths.has(d.path))];
}

/**
 * mknod each device inside rootfs; where mknod is refused, bind-mount the host's node instead.
 * freshDev: an fd of the rootfs's /dev where it is the tmpfs this init mounted (see freshDevFd):
 * a device directly in it is made there by name, without the checks of a rootfs's own /dev.
 */
export function createDevices(sys: Libc, rootfs: string, devices: readonly Device[], freshDev?: number): void {
  const umask = freshDev !== undefined ? process.umask(0) : undefined; // the modes as given: no chmod after
  try {
    for (const d of devices) {
      try {
        if (freshDev === undefined || !createInFreshDev(sys, freshDev, d)) createDevice(sys, rootfs, d);
      } catch (e) {
        const msg = (e as Error).message;
        throw new Error(msg.startsWith('linux.devices') ? msg : `linux.devices (${d.path}): ${msg}`);
      }
    }
  } finally {
    if (umask !== undefined) process.umask(umask);
  }
}

/**
 * The rootfs's /dev, opened, where it is the tmpfs the config mounts there (its last mount at /dev,
 * and none at / after it): made by this init a moment ago in its own mount namespace, it holds
 * only the mountpoints the mounts after it made, never a link, and no other process reaches it.
 * undefined where /dev is the rootfs's own directory or a bind.
 */
export function freshDevFd(rootfs: string, mounts: readonly { destination: string; type: string; bind: boolean }[]): number | undefined {
  let fresh = false;
  for (const m of mounts) {
    if (m.destination === '/dev') fresh = m.type === 'tmpfs' && !m.bind;
    else if (m.destination === '/') fresh = false;
  }
  if (!fresh || secureJoin(rootfs, '/dev') !== join(rootfs, 'dev')) return undefined;
  return openInRoot(rootfs, join(rootfs, 'dev'));
}

/** A device directly in a fresh /dev, by name under its fd; false where the careful way must do it (a name taken, mknod refused, a subdirectory). */
function createInFreshDev(sys: Libc, dev: number, d: Device): boolean {
  if (dirname(d.path) !== '/dev') return false;
  const at = `${fdPath(dev)}/${basename(d.path)}`;
  try {
    sys.mknod(at, TYPE_BITS[d.type] | ((d.fileMode ?? 0o666) & 0o7777), d.major ?? 0, d.minor ?? 0);
  } catch (e) {
    if (isErrno(e, 'EEXIST') || isErrno(e, 'EPERM')) return false;
    throw e;
  }
  // made by this process: root's already, unless the config names another owner
  if ((d.uid ?? 0) !== 0 || (d.gid ?? 0) !== 0) fs.lchownSync(at, d.uid ?? 0, d.gid ?? 0);
  return true;
}

function createDevice(sys: Libc, rootfs: string, d: Device): void {
  // Never through a symlink (the CVE-2025-31133 class): one in the rootfs's /dev could lead into
  // a bind-mounted host volume, whose file would be replaced. The directory must be the
  // rootfs's own; what is at the name itself is removed, a symlink as the link, never its target.
  const want = join(rootfs, dirname(d.path));
  const parent = secureJoin(rootfs, dirname(d.path));
  if (parent !== want)
    throw new Error(
      `linux.devices: ${dirname(d.path)} in the rootfs is reached through a symbolic link; refusing to create ${d.path} there`,
    );
  mkdirAllInRoot(rootfs, parent);
  if (secureJoin(rootfs, dirname(d.path)) !== want) throw new Error(`linux.devices: ${dirname(d.path)} became a symbolic link`);
  const dest = join(parent, basename(d.path));
  const st = fs.lstatSync(dest, { throwIfNoEntry: false });
  if (st?.isDirectory()) throw new Error(`linux.devices: ${d.path} is a directory in the rootfs`);
  if (st) removeFile(dest);
  const mode = (d.fileMode ?? 0o666) & 0o7777;
  try {
    sys.mknod(dest, TYPE_BITS[d.type] | mode, d.major ?? 0, d.minor ?? 0);
    fs.chmodSync(dest, mode); // mknod is subject to the umask
    fs.chownSync(dest, d.uid ?? 0, d.gid ?? 0);
  } catch (e) {
    if (!isErrno(e, 'EPERM')) throw e;
    fs.writeFileSync(dest, '', { mode: 0o600 });
    const fd = openInRoot(rootfs, dest);
    try {
      sys.mount(d.path, fdPath(fd), 'bind', C.MS_BIND, null);
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** The /dev symlinks every Linux program expects; freshDev as for createDevices. */
export function createDevSymlinks(rootfs: string, withPtmx: boolean, freshDev?: number): void {
  const links: [string, string][] = [
    ['/proc/self/fd', '/dev/fd'],
    ['/proc/self/fd/0', '/dev/stdin'],
    ['/proc/self/fd/1', '/dev/stdout'],
    ['/proc/self/fd/2', '/dev/stderr'],
  ];
  if (fs.existsSync(secureJoin(rootfs, '/proc/kcore'))) links.push(['/proc/kcore', '/dev/core']);
  if (withPtmx) links.push(['pts/ptmx', '/dev/ptmx']);
  for (const [target, link] of links) {
    if (freshDev !== undefined) {
      try {
        fs.symlinkSync(target, `${fdPath(freshDev)}/${basename(link)}`);
        continue;
      } catch (e) {
        if (!isErrno(e, 'EEXIST')) throw e;
        // taken by a mount's mountpoint: the careful way below
      }
    }
    const dest = secureJoin(rootfs, link);
    try {
      if (link === '/dev/ptmx') removeFile(dest);
      fs.symlinkSync(target, dest);
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw e;
    }
  }
}
