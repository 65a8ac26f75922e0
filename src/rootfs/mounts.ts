import fs = require('fs');
import { dirname, join } from 'path';
import type { Libc } from '../sys/libc';
import * as C from '../sys/constants';
import type { MountConfig } from '../ocispec/config';
import { secureJoin, openInRoot, fdPath, mkdirAllInRoot } from './safe-path';
import { mountFlagsOf } from './mountinfo';
import type { CgroupMountView } from '../cgroups/manager';

export interface MountContext {
  rootfs: string;
  /** mounts[index] → a detached tree the runtime cloned (and idmapped, if asked) for that bind mount */
  trees?: Record<number, number>;
  /** The container's cgroups as a cgroup mount shows them. */
  cgroups: CgroupMountView;
  newCgroupNs: boolean;
  /**
   * The container has a user namespace: a bind mount's source flags are locked, as the kernel
   * locks those of mounts it hands to a less privileged user namespace (a clone the runtime
   * made would escape that lock otherwise).
   */
  lockSourceFlags?: boolean;
}

function ensureMountpoint(ctx: MountContext, dest: string, isFile: boolean): void {
  if (isFile) {
    mkdirAllInRoot(ctx.rootfs, dirname(dest));
    // never through a dangling symlink: O_EXCL refuses one
    if (!fs.existsSync(dest)) fs.closeSync(fs.openSync(dest, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW | C.O_CLOEXEC, 0o644));
  } else {
    mkdirAllInRoot(ctx.rootfs, dest);
  }
}

/** Mounts onto `dest` (a host path inside rootfs) through a verified O_PATH fd. */
function mountAt(
  sys: Libc,
  ctx: MountContext,
  dest: string,
  source: string | null,
  fstype: string | null,
  flags: number,
  data: string | null,
): void {
  const fd = openInRoot(ctx.rootfs, dest);
  try {
    sys.mount(source, fdPath(fd), fstype, flags, data);
  } finally {
    fs.closeSync(fd);
  }
}

/** Flag changes on an existing mount must target the mount's root, so re-open after mounting. */
function remount(sys: Libc, ctx: MountContext, dest: string, flags: number): void {
  mountAt(sys, ctx, dest, null, null, flags | C.MS_REMOUNT, null);
}

const BIND_REMOUNT_FLAGS =
  C.MS_RDONLY |
  C.MS_NOSUID |
  C.MS_NODEV |
  C.MS_NOEXEC |
  C.MS_NOATIME |
  C.MS_NODIRATIME |
  C.MS_RELATIME |
  C.MS_STRICTATIME |
  C.MS_NOSYMFOLLOW;

const ATIME_FLAGS = C.MS_NOATIME | C.MS_RELATIME | C.MS_STRICTATIME | C.MS_NODIRATIME;
/** What the kernel locks on a mount inherited into another user namespace. */
const LOCKED_FLAGS = C.MS_RDONLY | C.MS_NODEV | C.MS_NOEXEC | C.MS_NOSUID | ATIME_FLAGS;

/**
 * A bind mount's flags, as runc sets them (runtime-spec: mount(8)'s behaviour): with no flag
 * option at all the mount keeps its source's; with any, set or cleared ("dev", "rw"), exactly the
 * ones asked for. Where the kernel refuses that (flags locked in a user namespace), the source's
 * locked flags are kept, unless the config asked to clear one of them: then it is an error.
 */
function applyBindFlags(sys: Libc, ctx: MountContext, dest: string, m: MountConfig): void {
  const asked = m.flags & BIND_REMOUNT_FLAGS;
  if (!asked && !(m.cleared & BIND_REMOUNT_FLAGS)) return;
  if (!ctx.lockSourceFlags) {
    try {
      remount(sys, ctx, dest, C.MS_BIND | asked);
      return;
    } catch (e) {
      if (!/EPERM/.test((e as Error).message)) throw e;
    }
  }
  const source = mountFlagsOf(sys, dest);
  const cannot = source & m.cleared & LOCKED_FLAGS;
  if (cannot) throw new Error(`error mounting: cannot clear locked flags ${flagNames(cannot)} of ${m.source}: operation not permitted`);
  if (asked & ATIME_FLAGS && (asked & ATIME_FLAGS) !== (source & ATIME_FLAGS)) {
    throw new Error(
      `error mounting: cannot change locked atime flags ${flagNames(source & ATIME_FLAGS) || 'relatime'} of ${m.source}: operation not permitted`,
    );
  }
  remount(sys, ctx, dest, C.MS_BIND | asked | (source & LOCKED_FLAGS));
}

function flagNames(flags: number): string {
  const names: [number, string][] = [
    [C.MS_RDONLY, 'ro'],
    [C.MS_NOSUID, 'nosuid'],
    [C.MS_NODEV, 'nodev'],
    [C.MS_NOEXEC, 'noexec'],
    [C.MS_NOATIME, 'noatime'],
    [C.MS_NODIRATIME, 'nodiratime'],
    [C.MS_RELATIME, 'relatime'],
    [C.MS_STRICTATIME, 'strictatime'],
  ];
  return names
    .filter(([f]) => flags & f)
    .map(([, n]) => n)
    .join(',');
}

/**
 * tmpcopyup: what src holds, into dst, with modes and owners: directories, files and symlinks
 * (never followed). Both are fd paths of directories opened inside the rootfs.
 */
function copyTree(src: string, dst: string): void {
  const top = fs.statSync(src);
  fs.chmodSync(dst, top.mode & 0o7777);
  fs.chownSync(dst, top.uid, top.gid);
  for (const name of fs.readdirSync(src)) {
    const from = join(src, name);
    const to = join(dst, name);
    const st = fs.lstatSync(from);
    if (st.isDirectory()) {
      fs.mkdirSync(to);
      copyTree(from, to);
    } else if (st.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(from), to);
      fs.lchownSync(to, st.uid, st.gid);
    } else if (st.isFile()) {
      fs.copyFileSync(from, to);
      fs.chmodSync(to, st.mode & 0o7777);
      fs.chownSync(to, st.uid, st.gid);
    }
    // sockets, fifos and devices are not copied (a tmpfs over /dev is not tmpcopyup's case)
  }
}

/** As runc: a destination that already names a path under the rootfs (its host path) is taken as that. */
function inRootfs(rootfs: string, destination: string): string {
  return destination.startsWith(`${rootfs}/`) ? destination.slice(rootfs.length) : destination;
}

/** Kernel filesystems whose mount point must be a real directory (the CVE-2019-16884 class). */
const ORDINARY_DIRECTORY_TYPES = new Set(['proc', 'sysfs', 'cgroup', 'cgroup2']);

/**
 * As runc: proc, sysfs and cgroup go on an ordinary directory, never through a symlink the
 * rootfs put there (an image's /proc -> elsewhere would move proc where the masks don't reach).
 */
function checkOrdinaryDirectory(ctx: MountContext, m: MountConfig): void {
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(join(ctx.rootfs, m.destination), { throwIfNoEntry: false });
  } catch {
    return; // not reachable: what mounts it will say
  }
  if (!st) return; // made as a directory below
  if (!st.isDirectory()) throw new Error(`${m.destination} cannot be mounted on: ${m.type} must be mounted on ordinary directory`);
}

/** What lxcfs emulates: the only places inside /proc a mount may go (runc allows the same). */
const PROC_MOUNT_ALLOWED = new Set([
  'cpuinfo',
  'diskstats',
  'meminfo',
  'stat',
  'swaps',
  'uptime',
  'loadavg',
  'slabinfo',
  'net/dev',
  'sys/kernel/ns_last_pid',
]);

/**
 * Nothing may be mounted over parts of the container's /proc (over /proc/self it would redirect
 * the runtime's own procfs reads and writes, the CVE-2019-19921 / CVE-2025-52881 classes), and
 * /proc itself takes only a procfs. `dest` is resolved, so a symlink elsewhere into /proc counts.
 */
function checkProcMount(ctx: MountContext, m: MountConfig, dest: string): void {
  const proc = join(ctx.rootfs, 'proc');
  if (dest === proc) {
    if (m.type === 'proc') return;
    let isProc = false;
    try {
      isProc = m.bind && fs.statfsSync(m.source).type === C.PROC_SUPER_MAGIC;
    } catch {
      // no source: not a procfs
    }
    if (!isProc) throw new Error(`/proc cannot be mounted on: only a procfs may be, not ${m.type}${m.bind ? ` ${m.source}` : ''}`);
    return;
  }
  if (!dest.startsWith(`${proc}/`)) return;
  const inside = dest.slice(proc.length + 1);
  if (!PROC_MOUNT_ALLOWED.has(inside)) throw new Error(`/proc/${inside} cannot be mounted on: it is inside /proc`);
}

/**
 * As runc: a tmpfs without mode= over an existing directory keeps that directory's mode (set-id
 * and sticky bits included), not tmpfs's 1777.
 */
function withDirectoryMode(dest: string, data: string): string {
  if (/(^|,)mode=/.test(data)) return data;
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dest, { throwIfNoEntry: false });
  } catch {
    return data;
  }
  if (!st?.isDirectory()) return data;
  const mode = `mode=${(st.mode & 0o7777).toString(8).padStart(4, '0')}`;
  return data ? `${data},${mode}` : mode;
}

export function mountEntry(sys: Libc, ctx: MountContext, m: MountConfig): void {
  const where = `mounts[${m.index}] (${m.destination})`;
  if (ORDINARY_DIRECTORY_TYPES.has(m.type)) {
    try {
      checkOrdinaryDirectory(ctx, m);
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`);
    }
  }
  const dest = secureJoin(ctx.rootfs, inRootfs(ctx.rootfs, m.destination));
  try {
    checkProcMount(ctx, m, dest);
    if (m.type === 'cgroup' || m.type === 'cgroup2') {
      mountCgroup(sys, ctx, m, dest);
    } else if (m.bind) {
      const tree = ctx.trees?.[m.index];
      let st: fs.Stats;
      try {
        st = tree !== undefined ? fs.fstatSync(tree) : fs.statSync(m.source);
      } catch {
        throw new Error(`source ${m.source} does not exist`);
      }
      ensureMountpoint(ctx, dest, !st.isDirectory());
      if (tree !== undefined) {
        const target = openInRoot(ctx.rootfs, dest);
        try {
          sys.moveMountToFd(tree, target);
        } finally {
          fs.closeSync(tree);
          fs.closeSync(target);
        }
        // A clone of a shared mount is its peer: a slave instead, as a bind made in the
        // container's (slave) namespace would be, so nothing propagates back to the host.
        mountAt(sys, ctx, dest, null, null, C.MS_SLAVE | C.MS_REC, null);
      } else {
        // a source in the rootfs: resolved now, in the tree the mounts before it made
        mountAt(sys, ctx, dest, m.source, 'bind', C.MS_BIND | (m.recursive ? C.MS_REC : 0), null);
      }
      applyBindFlags(sys, ctx, dest, m);
    } else if (m.copyUp) {
      ensureMountpoint(ctx, dest, false);
      // The directory as it is, before the tmpfs covers it: copied from there into the tmpfs.
      const under = openInRoot(ctx.rootfs, dest);
      try {
        mountAt(sys, ctx, dest, m.source, m.type, m.flags & ~(C.MS_BIND | C.MS_REC | C.MS_REMOUNT | C.MS_RDONLY), m.data || null);
        const top = openInRoot(ctx.rootfs, dest);
        try {
          copyTree(fdPath(under), fdPath(top));
        } finally {
          fs.closeSync(top);
        }
        if (m.flags & C.MS_RDONLY) remount(sys, ctx, dest, C.MS_BIND | C.MS_RDONLY | (m.flags & (C.MS_NOSUID | C.MS_NODEV | C.MS_NOEXEC)));
      } finally {
        fs.closeSync(under);
      }
    } else {
      const data = m.type === 'tmpfs' ? withDirectoryMode(dest, m.data) : m.data;
      ensureMountpoint(ctx, dest, false);
      mountAt(sys, ctx, dest, m.source, m.type, m.flags & ~(C.MS_BIND | C.MS_REC | C.MS_REMOUNT), data || null);
    }
    for (const p of m.propagation) mountAt(sys, ctx, dest, null, null, p, null);
    if (m.recursiveAttrs) {
      const fd = openInRoot(ctx.rootfs, dest);
      try {
        sys.setMountAttrsRecursive(fd, m.recursiveAttrs.set, m.recursiveAttrs.clear);
      } finally {
        fs.closeSync(fd);
      }
    }
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}

/**
 * cgroup v2: a fresh cgroup2 mount in a new cgroup namespace, else a bind of the container's
 * cgroup. cgroup v1: a tmpfs with one bind of the container's cgroup per hierarchy, as runc does.
 */
function mountCgroup(sys: Libc, ctx: MountContext, m: MountConfig, dest: string): void {
  const ro = m.flags & C.MS_RDONLY;
  const base = (m.flags & (C.MS_NOSUID | C.MS_NODEV | C.MS_NOEXEC)) | ro;
  ensureMountpoint(ctx, dest, false);
  const view = ctx.cgroups;
  if (view.kind === 'unified') {
    if (ctx.newCgroupNs) {
      mountAt(sys, ctx, dest, 'cgroup', 'cgroup2', base, null);
    } else {
      if (view.dir === undefined) throw new Error(`${m.destination}: the container has no cgroup to bind (rootless)`);
      mountAt(sys, ctx, dest, view.dir, 'bind', C.MS_BIND | C.MS_REC, null);
      if (base) remount(sys, ctx, dest, C.MS_BIND | base);
    }
    return;
  }
  mountAt(sys, ctx, dest, 'tmpfs', 'tmpfs', base & ~C.MS_RDONLY, 'mode=755');
  // That tmpfs is this mount namespace's alone and holds only what is made here, under names
  // from the host's mountinfo: reached through one checked fd of its root rather than resolved
  // from the rootfs again for each of two mounts a hierarchy (~1 ms less for v1's ten here).
  const top = openInRoot(ctx.rootfs, dest);
  try {
    const at = (name: string): string => `${fdPath(top)}/${name}`;
    for (const { name, dir, aliases } of view.hierarchies) {
      fs.mkdirSync(at(name));
      sys.mount(dir, at(name), 'bind', C.MS_BIND | C.MS_REC, null);
      // the flags go on the bind just made: the path now leads to its root
      sys.mount(null, at(name), null, C.MS_BIND | base | C.MS_REMOUNT, null);
      for (const alias of aliases) if (!fs.existsSync(at(alias))) fs.symlinkSync(name, at(alias));
    }
  } finally {
    fs.closeSync(top);
  }
  if (ro) remount(sys, ctx, dest, C.MS_BIND | base);
}
