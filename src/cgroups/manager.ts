// What the runtime asks of a container's cgroups, whatever the host's hierarchies: callers hold a
// CgroupManager and never look at controller names, hierarchy keys or modes. open.ts picks the
// implementation (v1/ or v2/) once per container; systemd/ is the systemd driver's place (refused
// by the CLI and the shim until it is built).
import type { DeviceRule, Resources } from '../ocispec/oci';

export type CgroupMode = 'v1' | 'v2';

/** What the state records of a container's cgroups (the manager is rebuilt from it). */
export interface CgroupRecord {
  /** absent in states written before it was recorded: derived from the paths */
  mode?: CgroupMode;
  /** hierarchy key ("cpu,cpuacct", "unified", ...) → absolute directory of the container's cgroup */
  paths: Record<string, string>;
  /** the directories create made (only those are removed) */
  createdDirs: string[];
}

export interface OomState {
  /** the kernel's count of OOM kills in the cgroup */
  kills: number;
  /** v1 with the OOM killer disabled: tasks wait under OOM now */
  under: boolean;
}

/** Where an exec'd process goes: the container's cgroups, or sub-cgroups of them (runc's --cgroup). */
export interface CgroupJoin {
  /** Moves pid in; initPid's own v2 cgroup is the fallback where the container's has delegated its controllers. */
  join(pid: number, initPid: number): void;
}

/**
 * What a container's cgroup mount shows of its cgroups: v2, the unified hierarchy (a fresh
 * cgroup2 mount in a new cgroup namespace, else a bind of dir); v1, one bind per hierarchy,
 * named as runc names them, with a symlink per alias ("cpu" and "cpuacct" for "cpu,cpuacct").
 */
export type CgroupMountView =
  { kind: 'unified'; dir?: string } | { kind: 'hierarchies'; hierarchies: { name: string; dir: string; aliases: string[] }[] };

export interface CgroupManager {
  readonly mode: CgroupMode;
  /** The container's directory in each hierarchy: what the state records and the rootfs's cgroup mount shows. */
  readonly paths: Readonly<Record<string, string>>;
  /**
   * Makes the missing directories, telling `record` what it is about to make before it makes it
   * (a runtime killed in between leaves nothing delete cannot find), and readies them (cpusets,
   * v2 controllers). A cgroup that already has processes or is frozen is refused, left as it was.
   * Returns the directories made.
   */
  create(record: (dirs: string[]) => void): string[];
  /** What the container's cgroup mount binds (init's plan carries it into the copy). */
  mountView(): CgroupMountView;
  /** Puts a process (init) in every hierarchy. */
  addProcess(pid: number): void;
  /** Resolves runc's --cgroup specs ("PATH", "cpu,memory:PATH") to existing sub-cgroups, refusing bad ones. */
  execJoin(subs: readonly string[]): CgroupJoin;
  /**
   * Applies linux.resources. `devices`, when given, is the device policy (the config's rules),
   * enforced from "deny all" with runc's defaults after it; update passes none and leaves the
   * policy as it is. What cannot be applied is an error naming the field; what is approximated, a warning.
   */
  apply(res: Resources, devices?: readonly DeviceRule[]): { warnings: string[] };
  /** Paused: frozen by its own freezer, not merely under a frozen parent. */
  isPaused(): boolean;
  /** Frozen by itself or a parent, or on its way there: a process put there would stop at once. */
  frozenAlready(): boolean;
  /** Freezes or thaws every process and waits until the kernel says it is done. */
  setFrozen(frozen: boolean): void;
  /** Every process in the cgroups and the cgroups below them (a container may make its own). */
  pids(): number[];
  /** SIGKILLs every process and waits up to timeoutMs for none to be left; false if some stayed. */
  killAll(timeoutMs: number): boolean;
  /** Statistics in runc's `events --stats` shape. */
  stats(): Record<string, unknown>;
  oom(): OomState;
  /** Removes the directories create made (deepest first; a shared parent in use stays); the failures. */
  destroy(createdDirs: readonly string[]): string[];
}
