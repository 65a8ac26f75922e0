import * as C from '../sys/constants';
import type { ParsedMountOptions } from '../ocispec/config';

export type { ParsedMountOptions };

// option → [flags to set, flags to clear]
const FLAG_OPTIONS: Record<string, [number, number]> = {
  async: [0, C.MS_SYNCHRONOUS],
  atime: [0, C.MS_NOATIME],
  defaults: [0, 0],
  dev: [0, C.MS_NODEV],
  diratime: [0, C.MS_NODIRATIME],
  dirsync: [C.MS_DIRSYNC, 0],
  exec: [0, C.MS_NOEXEC],
  lazytime: [C.MS_LAZYTIME, 0],
  loud: [0, C.MS_SILENT],
  mand: [C.MS_MANDLOCK, 0],
  noatime: [C.MS_NOATIME, 0],
  nodev: [C.MS_NODEV, 0],
  nodiratime: [C.MS_NODIRATIME, 0],
  noexec: [C.MS_NOEXEC, 0],
  nolazytime: [0, C.MS_LAZYTIME],
  nomand: [0, C.MS_MANDLOCK],
  norelatime: [0, C.MS_RELATIME],
  nostrictatime: [0, C.MS_STRICTATIME],
  nosuid: [C.MS_NOSUID, 0],
  nosymfollow: [C.MS_NOSYMFOLLOW, 0],
  relatime: [C.MS_RELATIME, 0],
  remount: [C.MS_REMOUNT, 0],
  ro: [C.MS_RDONLY, 0],
  rw: [0, C.MS_RDONLY],
  silent: [C.MS_SILENT, 0],
  strictatime: [C.MS_STRICTATIME, 0],
  suid: [0, C.MS_NOSUID],
  symfollow: [0, C.MS_NOSYMFOLLOW],
  sync: [C.MS_SYNCHRONOUS, 0],
};

const PROPAGATION_OPTIONS: Record<string, number> = {
  private: C.MS_PRIVATE,
  rprivate: C.MS_PRIVATE | C.MS_REC,
  shared: C.MS_SHARED,
  rshared: C.MS_SHARED | C.MS_REC,
  slave: C.MS_SLAVE,
  rslave: C.MS_SLAVE | C.MS_REC,
  unbindable: C.MS_UNBINDABLE,
  runbindable: C.MS_UNBINDABLE | C.MS_REC,
};

// mount_setattr(2)'s MOUNT_ATTR_* bits.
const ATTR_RDONLY = 0x1;
const ATTR_NOSUID = 0x2;
const ATTR_NODEV = 0x4;
const ATTR_NOEXEC = 0x8;
const ATTR__ATIME = 0x70;
const ATTR_RELATIME = 0x0;
const ATTR_NOATIME = 0x10;
const ATTR_STRICTATIME = 0x20;
const ATTR_NODIRATIME = 0x80;
const ATTR_NOSYMFOLLOW = 0x200000;

// option → [attributes to set, attributes to clear], applied to the mount and everything under
// it. An atime change must clear the whole atime field and set one mode (the kernel's rule).
const RECURSIVE_OPTIONS: Record<string, [number, number]> = {
  rro: [ATTR_RDONLY, 0],
  rrw: [0, ATTR_RDONLY],
  rnosuid: [ATTR_NOSUID, 0],
  rsuid: [0, ATTR_NOSUID],
  rnodev: [ATTR_NODEV, 0],
  rdev: [0, ATTR_NODEV],
  rnoexec: [ATTR_NOEXEC, 0],
  rexec: [0, ATTR_NOEXEC],
  rnodiratime: [ATTR_NODIRATIME, 0],
  rdiratime: [0, ATTR_NODIRATIME],
  rnosymfollow: [ATTR_NOSYMFOLLOW, 0],
  rsymfollow: [0, ATTR_NOSYMFOLLOW],
  rrelatime: [ATTR_RELATIME, ATTR__ATIME],
  ratime: [ATTR_RELATIME, ATTR__ATIME],
  rnorelatime: [ATTR_STRICTATIME, ATTR__ATIME],
  rstrictatime: [ATTR_STRICTATIME, ATTR__ATIME],
  rnostrictatime: [ATTR_RELATIME, ATTR__ATIME],
  rnoatime: [ATTR_NOATIME, ATTR__ATIME],
};

/** The recursive mount options (for features). */
export const RECURSIVE_OPTION_NAMES: readonly string[] = [...Object.keys(RECURSIVE_OPTIONS), 'idmap', 'ridmap'];

export function parseMountOptions(options: readonly string[], _where: string): ParsedMountOptions {
  let flags = 0;
  let cleared = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  let bind = false;
  let recursive = false;
  let copyUp = false;
  let recursiveAttrs: { set: number; clear: number } | undefined;
  let idmap: 'idmap' | 'ridmap' | undefined;
  for (const opt of options) {
    if (opt === 'tmpcopyup') {
      copyUp = true; // the runtime's to do, not the kernel's (podman sends it with --read-only)
      continue;
    }
    // runtime-spec 1.2: idmapped (by the runtime, never passed to mount(2)); ridmap recursively
    if (opt === 'idmap' || opt === 'ridmap') {
      idmap = idmap === 'ridmap' ? 'ridmap' : opt;
      continue;
    }
    if (opt === 'bind' || opt === 'rbind') {
      bind = true;
      recursive = recursive || opt === 'rbind';
      continue;
    }
    const fl = FLAG_OPTIONS[opt];
    if (fl) {
      flags = (flags | fl[0]) & ~fl[1];
      cleared = (cleared | fl[1]) & ~fl[0];
      continue;
    }
    const prop = PROPAGATION_OPTIONS[opt];
    if (prop !== undefined) {
      propagation.push(prop);
      continue;
    }
    const rec = RECURSIVE_OPTIONS[opt];
    if (rec) {
      const r = recursiveAttrs ?? { set: 0, clear: 0 };
      // a later option wins over an earlier one for the same attributes
      const touched = rec[0] | rec[1] | (rec[1] & ATTR__ATIME ? ATTR__ATIME : 0);
      recursiveAttrs = { set: (r.set & ~touched) | rec[0], clear: (r.clear & ~rec[0]) | rec[1] };
      continue;
    }
    data.push(opt);
  }
  if (bind) flags |= C.MS_BIND | (recursive ? C.MS_REC : 0);
  return { flags, cleared, propagation, data: data.join(','), bind, recursive, copyUp, recursiveAttrs, idmap };
}

export function propagationFlag(name: string): number | undefined {
  return PROPAGATION_OPTIONS[name];
}
