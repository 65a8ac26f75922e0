import fs = require('fs');
import { posix } from 'path';
import type { Libc } from '../sys/libc';
import * as C from '../sys/constants';
import { isErrno } from '../sys/errors';
import type { ContainerConfig, MountNsMode } from '../ocispec/config';
import { allDevices, createDevices, createDevSymlinks, freshDevFd } from './devices';
import { mountEntry, type MountContext } from './mounts';
import { mountFlagsOf, mountPoints } from './mountinfo';
import { mkdirAllInRoot, secureJoin } from './safe-path';

const isCgroupMount = (m: { type: string }): boolean => m.type === 'cgroup' || m.type === 'cgroup2';

/** p is dir or below it (both normalised, absolute). */
const under = (p: string, dir: string): boolean => p === dir || dir === '/' || p.startsWith(`${dir}/`);

/**
 * Where the rootfs splits around the container's cgroups: what comes before the first cgroup
 * mount needs none of them, so init builds it while the runtime makes its cgroups and moves it
 * in (a cgroup namespace is made there, and the mount shows it; a v1 mount binds the cgroup's
 * directories). The devices (and the cwd) come after every mount: early too where only cgroup
 * mounts follow, none of them over /dev, a device or the cwd (the usual config, where
 * /sys/fs/cgroup is the last mount).
 */
export interface RootfsSplit {
  /** mounts[0 .. earlyMounts) are made before init is in its cgroups */
  earlyMounts: number;
  /** the devices, /dev's links and the cwd too */
  earlyDevices: boolean;
}

export function splitAtCgroups(cfg: ContainerConfig): RootfsSplit {
  const first = cfg.mounts.findIndex(isCgroupMount);
  if (first < 0) return { earlyMounts: cfg.mounts.length, earlyDevices: true };
  const devices = ['/dev', ...allDevices(cfg.devices).map((d) => d.path)];
  const cwd = cfg.process ? posix.resolve('/', cfg.process.cwd) : undefined;
  const earlyDevices = cfg.mounts
    .slice(first)
    .every(
      (m) =>
        isCgroupMount(m) &&
        !devices.some((d) => under(d, m.destination) || under(m.destination, d)) &&
        (cwd === undefined || !under(cwd, m.destination)),
    );
  return { earlyMounts: first, earlyDevices };
}

/**
 * Builds the container's filesystem inside its (already private) mount namespace, up to but not
 * including pivot_root: propagation cut from the host, rootfs bound onto itself, every configured
 * mount, devices and /dev symlinks. init builds it in two parts (splitAtCgroups): 'early' before
 * it is in its cgroups, 'rest' after.
 */
export function prepareRootfs(
  sys: Libc,
  cfg: ContainerConfig,
  ctx: MountContext,
  mode: MountNsMode,
  part: 'early' | 'rest' | 'all' = 'all',
): void {
  if (part === 'all') {
    prepareRootfs(sys, cfg, ctx, mode, 'early');
    prepareRootfs(sys, cfg, ctx, mode, 'rest');
    return;
  }
  const split = splitAtCgroups(cfg);
  const early = part === 'early';
  if (early) {
    // Nothing mounted from here on may propagate back to the host. (In a namespace that is not
    // ours the propagation of "/" is not ours to change.)
    if (mode === 'new') sys.mount(null, '/', null, C.MS_REC | C.MS_SLAVE, null);
    sys.mount(cfg.rootfs, cfg.rootfs, 'bind', C.MS_BIND | C.MS_REC, null);
  }
  for (const m of early ? cfg.mounts.slice(0, split.earlyMounts) : cfg.mounts.slice(split.earlyMounts)) mountEntry(sys, ctx, m);
  if (early === split.earlyDevices) devicesAndCwd(sys, cfg);
}

function devicesAndCwd(sys: Libc, cfg: ContainerConfig): void {
  const devIsBound = cfg.mounts.some((m) => m.destination === '/dev' && m.bind);
  if (!devIsBound) {
    const dev = freshDevFd(cfg.rootfs, cfg.mounts);
    try {
      createDevices(sys, cfg.rootfs, allDevices(cfg.devices), dev);
      createDevSymlinks(
        cfg.rootfs,
        cfg.mounts.some((m) => m.destination === '/dev/pts'),
        dev,
      );
    } finally {
      if (dev !== undefined) fs.closeSync(dev);
    }
  } else if (cfg.devices.length) {
    createDevices(sys, cfg.rootfs, cfg.devices);
  }
  // The process's cwd must exist (runc creates it too).
  if (cfg.process) {
    try {
      mkdirAllInRoot(cfg.rootfs, secureJoin(cfg.rootfs, cfg.process.cwd));
    } catch (e) {
      throw new Error(`process.cwd (${cfg.process.cwd}): ${(e as Error).message}`);
    }
  }
}

/**
 * Without pivot_root the host's mounts stay in the namespace, under the chroot. A fully visible
 * proc or sysfs among them would let the container mount a fresh, unmasked one (the kernel's
 * mount_too_revealing check passes when one is visible): as runc, each outside the rootfs is
 * detached, or covered by an empty tmpfs where it cannot be.
 */
function hideFullProcAndSys(sys: Libc, rootfs: string): void {
  rootfs = fs.realpathSync(rootfs); // as mountinfo names it
  const inside = (p: string) => p === rootfs || p.startsWith(`${rootfs}/`);
  for (const m of mountPoints().reverse()) {
    if ((m.fstype !== 'proc' && m.fstype !== 'sysfs') || inside(m.mountpoint)) continue;
    try {
      sys.umount2(m.mountpoint, C.MNT_DETACH);
    } catch {
      try {
        sys.mount('tmpfs', m.mountpoint, 'tmpfs', C.MS_RDONLY, null);
      } catch {
        // gone already with a parent
      }
    }
  }
}

/**
 * Makes rootfs the root of the mount namespace. pivot_root(".", ".") stacks the old root under
 * the new one; it is then detached, so no host path stays reachable.
 */
export function enterRootfs(sys: Libc, cfg: ContainerConfig, noPivot: boolean, mode: MountNsMode): void {
  process.chdir(cfg.rootfs);
  if (mode !== 'new') {
    // pivot_root or MS_MOVE would change the root of every process sharing this namespace.
    sys.chroot('.');
    process.chdir('/');
    return;
  }
  if (noPivot) {
    hideFullProcAndSys(sys, cfg.rootfs);
    sys.mount(cfg.rootfs, '/', null, C.MS_MOVE, null);
    sys.chroot('.');
  } else {
    const oldRoot = fs.openSync('/', C.O_DIRECTORY | C.O_RDONLY);
    const newRoot = fs.openSync(cfg.rootfs, C.O_DIRECTORY | C.O_RDONLY);
    try {
      sys.fchdir(newRoot);
      sys.pivotRoot('.', '.');
      sys.fchdir(oldRoot);
      // Unmounting must not propagate to the host's copy of the old root.
      sys.mount(null, '.', null, C.MS_SLAVE | C.MS_REC, null);
      sys.umount2('.', C.MNT_DETACH);
    } finally {
      fs.closeSync(oldRoot);
      fs.closeSync(newRoot);
    }
  }
  process.chdir('/');
  // Every mount is a slave of the host's already (prepareRootfs), and keeps the propagation its
  // options gave it; only a configured rootfsPropagation changes "/" now, as runc.
  if (cfg.rootfsPropagation !== undefined) sys.mount(null, '/', null, cfg.rootfsPropagation, null);
}

/**
 * The /dev/null that masks files, checked first (the CVE-2025-31133 class): a rootfs or a mount
 * may have made it a symlink to, or a bind of, something else (a host file, core_pattern), and
 * binding that over the masked paths would expose it. Opened without following; mounted from
 * that fd, so it cannot be swapped in between.
 */
function openDevNull(): number {
  let fd: number;
  try {
    fd = fs.openSync('/dev/null', C.O_PATH | C.O_NOFOLLOW | C.O_CLOEXEC);
  } catch (e) {
    throw new Error(`/dev/null: ${(e as Error).message}`);
  }
  const st = fs.fstatSync(fd);
  if (!st.isCharacterDevice() || st.rdev !== ((1 << 8) | 3)) {
    fs.closeSync(fd);
    throw new Error('/dev/null is not the 1:3 character device; refusing to mask with it');
  }
  return fd;
}

/**
 * Masks files with /dev/null and directories with one read-only tmpfs shared by all of them (as
 * runc: one mount, the others bind it). A path listed twice is masked once.
 */
function maskPaths(sys: Libc, paths: readonly string[]): void {
  let devNull: number | undefined;
  let sharedDir: string | undefined;
  try {
    for (const p of new Set(paths.map((x) => posix.normalize(x).replace(/(.)\/+$/, '$1')))) {
      let st: fs.Stats | undefined;
      try {
        st = fs.statSync(p, { throwIfNoEntry: false }); // most of the defaults are missing: no exception each
      } catch (e) {
        throw new Error(`linux.maskedPaths: ${p}: ${(e as Error).message}`);
      }
      if (!st) continue;
      try {
        if (st.isDirectory()) {
          if (sharedDir === undefined) sys.mount('tmpfs', p, 'tmpfs', C.MS_RDONLY, null);
          else sys.mount(sharedDir, p, 'bind', C.MS_BIND, null);
          sharedDir ??= p;
        } else {
          devNull ??= openDevNull();
          // through the checked fd where this container has a /proc, else by its (checked) path
          const source = fs.existsSync(`/proc/self/fd/${devNull}`) ? `/proc/self/fd/${devNull}` : '/dev/null';
          sys.mount(source, p, 'bind', C.MS_BIND, null);
        }
      } catch (e) {
        throw new Error(`linux.maskedPaths: ${(e as Error).message}`);
      }
    }
  } finally {
    if (devNull !== undefined) fs.closeSync(devNull);
  }
}

/** masked and read-only paths, then a read-only root: run after pivot_root, inside the container. */
export function finalizeRootfs(sys: Libc, cfg: ContainerConfig): void {
  for (const p of cfg.readonlyPaths) {
    try {
      // A missing one is skipped without a SysError (the defaults name several: the first one a
      // copy throws costs it ~1 ms, Node's os module for the errno's name)
      if (!fs.statSync(p, { throwIfNoEntry: false })) continue;
      sys.mount(p, p, 'bind', C.MS_BIND | C.MS_REC, null);
      sys.mount(null, p, null, C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY | C.MS_REC | mountFlagsOf(sys, p), null);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) continue;
      throw new Error(`linux.readonlyPaths: ${(e as Error).message}`);
    }
  }
  maskPaths(sys, cfg.maskedPaths);
  if (cfg.mounts.some((m) => m.readonlyLast)) {
    sys.mount(null, '/dev', null, C.MS_REMOUNT | C.MS_BIND | C.MS_RDONLY | mountFlagsOf(sys, '/dev'), null);
  }
  if (cfg.rootReadonly) {
    sys.mount(null, '/', null, C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY | C.MS_REC | mountFlagsOf(sys, '/'), null);
  }
}
