import * as C from '../sys/constants';

export interface ParsedMountOptions {
  /** MS_* flags for the mount call itself. */
  flags: number;
  /** Propagation changes applied after mounting (each its own mount call, as the kernel requires). */
  propagation: number[];
  /** Filesystem-specific options, passed as the data argument. */
  data: string;
  bind: boolean;
  recursive: boolean;
  /** runc's extension `tmpcopyup`: a tmpfs starts with a copy of what the directory held */
  copyUp: boolean;
}

// option → [flags to set, flags to clear]
const FLAG_OPTIONS: Record<string, [number, number]> = {
  async: [0, C.MS_SYNCHRONOUS],
  atime: [0, C.MS_NOATIME],
  defaults: [0, 0],
  // runtime-spec 1.2: idmapped with the mount's own uid/gid mappings (applied by the runtime).
  idmap: [0, 0],
  ridmap: [0, 0],
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

// Recognised but not implemented yet: refusing them beats silently mounting something else.
const UNSUPPORTED = new Set(['rro', 'rrw', 'rnosuid', 'rsuid', 'rnodev', 'rdev',
  'rnoexec', 'rexec', 'rnodiratime', 'rdiratime', 'rrelatime', 'rnorelatime', 'rnoatime', 'ratime',
  'rstrictatime', 'rnostrictatime', 'rnosymfollow', 'rsymfollow']);

export function parseMountOptions(options: readonly string[], where: string): ParsedMountOptions {
  let flags = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  let bind = false;
  let recursive = false;
  let copyUp = false;
  for (const opt of options) {
    if (opt === 'tmpcopyup') {
      copyUp = true; // the runtime's to do, not the kernel's (podman sends it with --read-only)
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
      continue;
    }
    const prop = PROPAGATION_OPTIONS[opt];
    if (prop !== undefined) {
      propagation.push(prop);
      continue;
    }
    if (UNSUPPORTED.has(opt)) throw new Error(`${where}: mount option "${opt}" is not supported by tsrunc yet`);
    data.push(opt);
  }
  if (bind) flags |= C.MS_BIND | (recursive ? C.MS_REC : 0);
  return { flags, propagation, data: data.join(','), bind, recursive, copyUp };
}

export function propagationFlag(name: string): number | undefined {
  return PROPAGATION_OPTIONS[name];
}
