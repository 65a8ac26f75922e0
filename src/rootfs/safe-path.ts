import fs = require('fs');
import { posix } from 'path';
import * as C from '../sys/constants';

const MAX_SYMLINKS = 255;

/**
 * Resolves `unsafe` as if `root` were "/": symlinks are followed but can never lead outside root,
 * and ".." stops at root. Returns a host path inside root. Missing components are kept as they
 * are (they will be created). This closes the static symlink escape; openInRoot closes the race.
 */
export function secureJoin(root: string, unsafe: string): string {
  const parts = posix
    .normalize('/' + unsafe)
    .split('/')
    .filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (parts.length) {
    const part = parts.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = posix.join(root, ...resolved, part);
    let target: string | undefined;
    try {
      // A missing component is the common case here (made later): no exception for it (each
      // costs ~15 µs in the forked copy, which resolves some thirty such paths).
      if (fs.lstatSync(candidate, { throwIfNoEntry: false })?.isSymbolicLink()) target = fs.readlinkSync(candidate);
    } catch {
      // not reachable (ENOTDIR, EACCES): keep the remaining components literally, as for missing
    }
    if (target === undefined) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new Error(`${unsafe}: too many levels of symbolic links`);
    if (target.startsWith('/')) resolved.length = 0;
    parts.unshift(...target.split('/').filter(Boolean));
  }
  return posix.join(root, ...resolved);
}

export function isInside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith('/') ? root : root + '/');
}

/**
 * Opens an existing path with O_PATH|O_NOFOLLOW and checks, through the kernel's own view of the
 * fd, that it really is inside root (a symlink swapped in after secureJoin is caught here).
 * Mounting onto /proc/self/fd/<fd> then hits exactly the checked inode.
 */
export function openInRoot(root: string, hostPath: string): number {
  const fd = fs.openSync(hostPath, C.O_PATH | C.O_NOFOLLOW | C.O_CLOEXEC);
  const real = fs.readlinkSync(`/proc/self/fd/${fd}`);
  if (!isInside(root, real)) {
    fs.closeSync(fd);
    throw new Error(`${hostPath} resolves to ${real}, outside the container's root ${root}`);
  }
  // secureJoin resolved every link: one here was swapped in meanwhile.
  if (fs.fstatSync(fd).isSymbolicLink()) {
    fs.closeSync(fd);
    throw new Error(`${hostPath} became a symbolic link while the rootfs was being set up`);
  }
  return fd;
}

/**
 * mkdir -p inside root, one component at a time: fs.mkdirSync's recursive mode loops forever where
 * a component can be neither created nor found (a procfs magic link such as /proc/self/fd/N). A
 * component that exists and is not a directory is refused, a symlink included (hostPath comes
 * from secureJoin, so one here was swapped in).
 */
export function mkdirAllInRoot(root: string, hostPath: string, mode = 0o755): void {
  if (!isInside(root, hostPath)) throw new Error(`${hostPath} is outside the container's root ${root}`);
  let cur = root;
  for (const part of hostPath.slice(root.length).split('/').filter(Boolean)) {
    cur = posix.join(cur, part);
    let st: fs.Stats | undefined = fs.lstatSync(cur, { throwIfNoEntry: false });
    if (!st) {
      try {
        fs.mkdirSync(cur, { mode });
        continue;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        st = fs.lstatSync(cur);
      }
    }
    if (!st.isDirectory()) throw new Error(`${cur.slice(root.length)} exists and is not a directory`);
  }
}

export function fdPath(fd: number): string {
  return `/proc/self/fd/${fd}`;
}
