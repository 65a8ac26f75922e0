import type { Device, DeviceRule, Hooks, IdMapping, Namespace, NamespaceType, Resources, Spec } from './oci';

/** A mount's options, parsed (rootfs/mount-options.ts). */
export interface ParsedMountOptions {
  /** MS_* flags for the mount call itself. */
  flags: number;
  /** MS_* flags an option asked to be off (nodev's opposite dev, rw, exec...): a bind mount clears them */
  cleared: number;
  /** Propagation changes applied after mounting (each its own mount call, as the kernel requires). */
  propagation: number[];
  /** Filesystem-specific options, passed as the data argument. */
  data: string;
  bind: boolean;
  recursive: boolean;
  /** runc's extension `tmpcopyup`: a tmpfs starts with a copy of what the directory held */
  copyUp: boolean;
  /** idmap: the mount (idmap) or the mount and every one below it (ridmap) is idmapped */
  idmap?: 'idmap' | 'ridmap';
  /** recursive attributes (rro, rnosuid, ratime...): mount_setattr(AT_RECURSIVE) after mounting */
  recursiveAttrs?: { set: number; clear: number };
}

/** The five capability sets as bit masks (security/capabilities.ts). */
export interface CapMasks {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
}

/** An rlimit with its resource number (security/rlimits.ts). */
export interface ResolvedRlimit {
  resource: number;
  soft: bigint;
  hard: bigint;
  type: string;
}

/** A mount, normalised: absolute destination, parsed options. */
export interface MountConfig extends ParsedMountOptions {
  destination: string;
  source: string;
  type: string;
  /** position in config.json's mounts (for messages) */
  index: number;
  /** idmapped bind mount: its own mappings, or the container's (implied, runtime-spec 1.2) */
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  /** implied mapping of a joined user namespace: idmapped with that namespace itself */
  idmapUserns?: string;
  /** a read-only /dev: mounted writable (its devices and mounts go in) and made read-only last */
  readonlyLast?: boolean;
}

export interface NamespaceConfig {
  type: NamespaceType;
  flag: number;
  path?: string;
}

export interface ProcessConfig {
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  umask?: number;
  terminal: boolean;
  consoleSize?: { height: number; width: number };
  capabilities?: CapMasks;
  rlimits: ResolvedRlimit[];
  noNewPrivileges: boolean;
  oomScoreAdj?: number;
  apparmorProfile?: string;
  scheduler?: SchedulerConfig;
  /** ioprio_set's value (class << 13 | level) */
  ioPriority?: number;
  /** exec only (runtime-spec): where the process runs before and after joining the cgroup */
  cpuAffinity?: CpuAffinity;
}

/** process.scheduler, as sched_setattr takes it. */
export interface SchedulerConfig {
  policy: number;
  nice: number;
  priority: number;
  flags: number;
  runtime: number;
  deadline: number;
  period: number;
}

export interface CpuAffinity {
  initial?: number[];
  final?: number[];
}

/** linux.memoryPolicy: set_mempolicy's mode (with its flags) and nodes. */
export interface MemoryPolicy {
  mode: number;
  nodes: number[];
}

/** linux.timeOffsets, checked: seconds and nanoseconds per clock. */
export interface TimeOffsets {
  monotonic?: { secs: number; nanosecs: number };
  boottime?: { secs: number; nanosecs: number };
}

/** A compiled seccomp filter: the BPF program as base64 (it travels to init as JSON). */
export interface SeccompProgram {
  program: string;
  flags: number;
  /** SCMP_ACT_NOTIFY: the unix socket the notification fd and the process state go to */
  listenerPath?: string;
  listenerMetadata?: string;
}

/**
 * Everything downstream of validation works on this: checked, with paths resolved and options
 * parsed, never on raw JSON.
 */
export interface ContainerConfig {
  id: string;
  bundle: string;
  rootfs: string;
  rootReadonly: boolean;
  /** Absent: the container has no process (allowed until start, per the spec). */
  process?: ProcessConfig;
  seccomp?: SeccompProgram;
  namespaces: NamespaceConfig[];
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
  mounts: MountConfig[];
  hostname?: string;
  domainname?: string;
  rootfsPropagation?: number;
  maskedPaths: string[];
  readonlyPaths: string[];
  devices: Device[];
  deviceRules: DeviceRule[];
  resources: Resources;
  cgroupsPath?: string;
  sysctl: Record<string, string>;
  /** for the new time namespace */
  timeOffsets?: TimeOffsets;
  /** personality(2)'s value */
  personality?: number;
  memoryPolicy?: MemoryPolicy;
  /** host interface → its name in the container (runtime-spec v1.3 linux.netDevices) */
  netDevices: Record<string, string>;
  hooks: Hooks;
  annotations: Record<string, string>;
  ociVersion: string;
}

/**
 * Where the rootfs is built: a new mount namespace (the normal case), one joined by path, or the
 * runtime's own (no mount namespace configured: the spec says the container inherits it).
 */
export type MountNsMode = 'new' | 'joined' | 'host';

export function mountNsMode(cfg: { namespaces: NamespaceConfig[] }): MountNsMode {
  const ns = cfg.namespaces.find((n) => n.type === 'mount');
  return !ns ? 'host' : ns.path === undefined ? 'new' : 'joined';
}

export function hasNewNamespace(cfg: { namespaces: NamespaceConfig[] }, type: NamespaceType): boolean {
  return cfg.namespaces.some((n) => n.type === type && n.path === undefined);
}

export function findNamespace(cfg: { namespaces: NamespaceConfig[] }, type: NamespaceType): NamespaceConfig | undefined {
  return cfg.namespaces.find((n) => n.type === type);
}

export type { Spec, Namespace };
