// The OCI runtime-spec (v1.3) config, as far as tsrunc reads it. Shapes are guaranteed by the
// JSON Schema validation that runs before anything reads these types.

export interface Spec {
  ociVersion: string;
  root?: { path: string; readonly?: boolean };
  mounts?: Mount[];
  process?: Process;
  hostname?: string;
  domainname?: string;
  hooks?: Hooks;
  annotations?: Record<string, string>;
  linux?: Linux;
}

export interface Mount {
  destination: string;
  source?: string;
  type?: string;
  options?: string[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
}

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface Process {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user?: { uid: number; gid: number; umask?: number; additionalGids?: number[]; username?: string };
  args?: string[];
  commandLine?: string;
  env?: string[];
  cwd: string;
  capabilities?: Capabilities;
  rlimits?: Rlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
  scheduler?: Scheduler;
  ioPriority?: { class: string; priority?: number };
  execCPUAffinity?: { initial?: string; final?: string };
}

export interface Scheduler {
  policy: string;
  nice?: number;
  priority?: number;
  flags?: string[];
  runtime?: number;
  deadline?: number;
  period?: number;
}

export interface Capabilities {
  bounding?: string[];
  effective?: string[];
  permitted?: string[];
  inheritable?: string[];
  ambient?: string[];
}

export interface Rlimit {
  type: string;
  hard: number;
  soft: number;
}

export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface Hooks {
  prestart?: Hook[];
  createRuntime?: Hook[];
  createContainer?: Hook[];
  startContainer?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}

export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

export interface Namespace {
  type: NamespaceType;
  path?: string;
}

export interface Device {
  type: string;
  path: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface DeviceRule {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

export interface WeightDevice {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}
export interface ThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}
export interface BlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: WeightDevice[];
  throttleReadBpsDevice?: ThrottleDevice[];
  throttleWriteBpsDevice?: ThrottleDevice[];
  throttleReadIOPSDevice?: ThrottleDevice[];
  throttleWriteIOPSDevice?: ThrottleDevice[];
}
export interface HugepageLimit {
  pageSize: string;
  limit: number;
}
export interface Network {
  classID?: number;
  priorities?: { name: string; priority: number }[];
}
export interface RdmaLimit {
  hcaHandles?: number;
  hcaObjects?: number;
}

export interface Resources {
  devices?: DeviceRule[];
  memory?: Record<string, unknown>;
  cpu?: Record<string, unknown>;
  pids?: { limit?: number };
  blockIO?: BlockIO;
  hugepageLimits?: HugepageLimit[];
  network?: Network;
  rdma?: Record<string, RdmaLimit>;
  unified?: Record<string, string>;
}

export interface Linux {
  namespaces?: Namespace[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  timeOffsets?: Record<string, unknown>;
  devices?: Device[];
  cgroupsPath?: string;
  resources?: Resources;
  intelRdt?: unknown;
  sysctl?: Record<string, string>;
  seccomp?: unknown;
  rootfsPropagation?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  personality?: { domain: string; flags?: string[] };
  /** runtime-spec v1.3 */
  memoryPolicy?: { mode?: string; nodes?: string; flags?: string[] };
  /** runtime-spec v1.3 */
  netDevices?: Record<string, { name?: string }>;
}

/** The state of a container as the runtime-spec defines it (plus runc's `paused`). */
export interface OciState {
  ociVersion: string;
  id: string;
  status: 'creating' | 'created' | 'running' | 'stopped' | 'paused';
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

export const OCI_VERSION = '1.3.0';
