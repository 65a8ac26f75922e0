import type { ContainerConfig, ProcessConfig, SeccompProgram } from '../spec/config';

/** What the creating runtime hands to the container's init process (as a file in the state dir). */
export interface InitBootstrap {
  config: ContainerConfig;
  /** The state document hooks get on stdin (init cannot compute its own host pid). */
  hookState: Record<string, unknown>;
  /** mounts[index] → init's fd of the idmapped tree to move into place */
  idmapFds: Record<number, number>;
  /** prestart/createRuntime hooks: init pauses for the runtime to run them before pivot_root. */
  createHooks: boolean;
  noPivot: boolean;
  /** the session keyring init joins ("_ses.<id>"), unless --no-new-keyring */
  sessionKeyring?: string;
  preserveFds: number;
  /** The caller's soft RLIMIT_NOFILE: Node raises its own at start-up; the container must not inherit that. */
  nofileSoft?: string;
  cgroupMode: 'v1' | 'v2';
  cgroupPaths: Record<string, string>;
  newCgroupNs: boolean;
}

/** The fd on which init talks to the runtime that created it. */
// init's fds: stdio, the preserved fds from 3, then the sync socket (its number is init's argv[2]),
// right above it the exec fifo, then (with process.terminal) the console socket; the fifo is opened read-write by the runtime: init may not be able to open
// the state directory itself (a user namespace maps it away from the directory's owner). The
// bootstrap itself comes as the first line on the sync socket, once init sits in its cgroup.

export type InitMessage = { type: 'ready' } | { type: 'hooks' } | { type: 'error'; msg: string };

/** init's comm while it waits: `start` knows the program was exec'd when it changes. */
export const INIT_COMM = 'tsrunc:init';

// Capability masks and rlimits are 64-bit: carried as tagged strings through JSON.
export function encodeJson(b: unknown): string {
  return JSON.stringify(b, (_k, v: unknown) => (typeof v === 'bigint' ? { $bigint: v.toString() } : v));
}

export function decodeJson<T>(text: string): T {
  return JSON.parse(text, (_k, v: unknown) =>
    (v !== null && typeof v === 'object' && typeof (v as { $bigint?: unknown }).$bigint === 'string'
      ? BigInt((v as { $bigint: string }).$bigint) : v)) as T;
}

export const encodeBootstrap = (b: InitBootstrap): string => encodeJson(b);
export const decodeBootstrap = (text: string): InitBootstrap => decodeJson<InitBootstrap>(text);

/** What `exec` hands to the process it starts inside a running container. */
export interface ExecBootstrap {
  process: ProcessConfig;
  /** the container's mount namespace, joined by the exec process's own main thread */
  mountNs: string;
  seccomp?: SeccompProgram;
  preserveFds: number;
  nofileSoft?: string;
  /** the container's session keyring, joined by name (as runc's setns init does) */
  sessionKeyring?: string;
}

export const EXEC_COMM = 'tsrunc:exec';
