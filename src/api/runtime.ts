// The library API: every operation of the runtime as a typed method, what the CLI commands (and
// the shim) call. Errors are the classes of sys/errors.ts: ContainerNotFoundError,
// ContainerExistsError, ContainerStateError, ContainerBusyError, ConfigError (all UserError), or
// a SysError for a failed system call.
import fs = require('fs');
import { join } from 'path';
import { Logger } from '../util/log';
import { ContainerStateError, UserError } from '../sys/errors';
import { libc } from '../sys';
import type { Libc } from '../sys/libc';
import { DEFAULT_ROOT, StateStore, deriveStatus, ociState, type StoredState } from '../state/store';
import { killContainer } from '../container/kill';
import { openCgroups } from '../cgroups/open';
import { parseSignal } from '../util/signals';
import type { ProcessConfig } from '../ocispec/config';
import type { Process, Resources } from '../ocispec/oci';
import type { PrebornInits } from '../container/preborn-inits';

// Each operation loads what it needs when it runs: every CLI command pays for what loads at start
// (state, kill and list need only the store). A bundler still sees every require.
/* eslint-disable @typescript-eslint/no-require-imports */
const ops = {
  create: () => require('../container/create') as typeof import('../container/create'),
  run: () => require('../container/run') as typeof import('../container/run'),
  operations: () => require('../container/operations') as typeof import('../container/operations'),
  exec: () => require('../container/exec') as typeof import('../container/exec'),
  execProcess: () => require('../loader/exec-process') as typeof import('../loader/exec-process'),
  lock: () => require('../state/lock') as typeof import('../state/lock'),
  hierarchy: () => require('../cgroups/hierarchy') as typeof import('../cgroups/hierarchy'),
  load: () => require('../loader/load') as typeof import('../loader/load'),
  defaults: () => require('../ocispec/default-spec') as typeof import('../ocispec/default-spec'),
};
/* eslint-enable @typescript-eslint/no-require-imports */

export interface RuntimeOptions {
  /** the state root (runc's --root); default /run/tsrunc */
  root?: string;
  /** where warnings and debug lines go (default: warnings on stderr) */
  log?: Logger;
  /** the libc binding every operation calls through (default: this process's, loaded when first needed) */
  libc?: Libc;
}

export interface CreateParams {
  /** the bundle directory (config.json and the rootfs) */
  bundle: string;
  pidFile?: string;
  /** with process.terminal: where the pty master is sent */
  consoleSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  /** a unix socket to send init's pidfd to */
  pidfdSocket?: string;
  /** fds 3 .. 3+N-1 of this process are passed on to the container's process */
  preserveFds?: number;
  /** fds of this process (above 2) that become the container process's stdin, stdout and stderr (default: this process's own) */
  stdio?: readonly [number, number, number];
  /** with process.terminal and no consoleSocket: create returns the pty master (a shim relays it) */
  keepConsole?: boolean;
  /** a long-lived caller's pre-born inits (the shim's): one becomes init where it fits */
  preborn?: PrebornInits;
}

export interface RunParams extends CreateParams {
  /** return once started (0); otherwise wait for the program and return its exit status */
  detach?: boolean;
  /** leave the stopped container for state/delete (runc's --keep) */
  keep?: boolean;
  /**
   * init born by vfork where that fits (container/create-vfork.ts): only for a caller that runs
   * this one command and exits (the CLI), which a child killed in its JavaScript aborts
   */
  vfork?: boolean;
}

export interface ExecParams {
  /**
   * The process, as config.json's `process` (runc's --process): what it leaves out is taken
   * from the container's process (capabilities, rlimits, no_new_privs, AppArmor, umask…).
   */
  process: Process;
  /** return once the process runs (0); otherwise wait and return its exit status */
  detach?: boolean;
  /** exec into a paused container too; the process starts frozen */
  ignorePaused?: boolean;
  /** runc's --cgroup: [CONTROLLER[,CONTROLLER]:]PATH below the container's cgroup */
  cgroups?: string[];
  pidfdSocket?: string;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds?: number;
  /** fds of this process (above 2) that become the process's stdin, stdout and stderr */
  stdio?: readonly [number, number, number];
  /** spawn: with process.terminal and no consoleSocket, the pty master is returned */
  keepConsole?: boolean;
}

export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** The runtime-spec's state of a container, with runc's extra fields. */
export interface ContainerState {
  ociVersion: string;
  id: string;
  status: ContainerStatus;
  /** 0 once stopped */
  pid: number;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

/**
 * One state root's containers. create, run and exec fork this process (the container's
 * processes are copies of it): call them from a process started as bin/tsrunc starts node
 * (`--single-threaded --expose-gc`); the first one may make the read-only bind of node that
 * containers run from (README, How it works).
 */
export class Runtime {
  readonly root: string;
  private readonly store: StateStore;
  private readonly log: Logger;
  private readonly sys: () => Libc;

  /**
   * For a long-lived caller that creates containers later (the shim's spare): loads every
   * operation's modules and runs the config step once, on the default config in a scratch bundle,
   * so that its first container pays no loading and no first compilation of them. Those modules
   * are compiled whole (V8's --no-lazy while they load): what only a forked copy runs (init's
   * life: the rootfs, credentials, exec) is compiled here once, not in every copy again. (Run the
   * caller with --no-flush-bytecode, or V8 drops the bytecode of what this process never calls.)
   */
  static warmUp(): void {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const v8 = require('v8') as typeof import('v8');
    v8.setFlagsFromString('--no-lazy');
    try {
      for (const load of Object.values(ops)) load();
    } finally {
      v8.setFlagsFromString('--lazy');
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { tmpdir } = require('os') as typeof import('os'); // (the CLI never needs it)
    const dir = fs.mkdtempSync(join(tmpdir(), 'tsrunc-warm-up-'));
    try {
      fs.mkdirSync(join(dir, 'rootfs'));
      fs.writeFileSync(join(dir, 'config.json'), JSON.stringify(ops.defaults().defaultSpec()));
      const { readSpec, buildConfig } = ops.load();
      buildConfig(readSpec(dir), dir, 'warm-up');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  constructor(opts: RuntimeOptions = {}) {
    this.root = opts.root ?? DEFAULT_ROOT;
    this.store = new StateStore(this.root);
    this.log = opts.log ?? new Logger();
    const given = opts.libc;
    // koffi loads only for an operation that calls into libc (not for state, kill or list)
    this.sys = given ? () => given : libc;
  }

  /** create: the container's init waits for start; returns init's pid (and the pty master if kept). */
  create(id: string, p: CreateParams): { pid: number; consoleMaster?: number } {
    const { pid, consoleMaster } = ops.create().createContainer({
      ...this.createOptions(id, p),
      foreground: p.keepConsole === true,
      preborn: p.preborn,
    });
    return { pid, consoleMaster };
  }

  /** start: the program runs; then the poststart hooks. */
  start(id: string): void {
    ops.operations().startContainer(this.sys(), this.store, id, this.log);
  }

  /** run = create + start, and unless detached: wait, delete, and return the exit status. */
  run(id: string, p: RunParams): Promise<number> {
    return ops.run().runContainer({ ...this.createOptions(id, p), vfork: p.vfork === true }, p.detach === true, p.keep === true);
  }

  state(id: string): ContainerState {
    return ociState(this.store.load(id)) as unknown as ContainerState;
  }

  /** Every container under the root (one deleted meanwhile is left out). */
  list(): ContainerState[] {
    const out: ContainerState[] = [];
    for (const id of this.store.list()) {
      try {
        out.push(this.state(id));
      } catch {
        // deleted while listing
      }
    }
    return out;
  }

  /** kill: a signal by number or name (9, "KILL", "SIGKILL"); all: every process of the container. */
  kill(id: string, signal: number | string = 'SIGTERM', opts: { all?: boolean } = {}): void {
    killContainer(this.store, id, typeof signal === 'number' ? signal : parseSignal(signal), opts.all === true);
  }

  /** delete: a container that is not stopped needs force; force on an unknown id is no error. */
  delete(id: string, opts: { force?: boolean } = {}): void {
    ops.operations().deleteContainer(this.sys(), this.store, id, opts.force === true, this.log);
  }

  /** exec: a new process in the container; its exit status, or 0 when detached. */
  exec(id: string, p: ExecParams): Promise<number> {
    return ops.exec().execInContainer(this.execOptions(id, p));
  }

  /**
   * A new process in the container, detached: returns its pid (and the pty master if kept) once
   * its program runs. The caller reaps it: it is this process's child, or reparented to it as a
   * child subreaper.
   */
  spawn(id: string, p: Omit<ExecParams, 'detach' | 'pidFile'>): { pid: number; master?: number } {
    const { pid, master } = ops.exec().spawnInContainer(this.execOptions(id, { ...p, detach: true }));
    return { pid, master };
  }

  private execOptions(id: string, p: ExecParams) {
    const warn = (m: string) => this.log.warn(m);
    const { execProcess } = ops.execProcess();
    return {
      root: this.root,
      id,
      process: (base: ProcessConfig | undefined) => execProcess(p.process, 'exec process', warn, base, 'process'),
      detach: p.detach === true,
      ignorePaused: p.ignorePaused,
      subCgroups: p.cgroups,
      pidfdSocket: p.pidfdSocket,
      pidFile: p.pidFile,
      consoleSocket: p.consoleSocket,
      preserveFds: p.preserveFds ?? 0,
      stdio: p.stdio,
      keepConsole: p.keepConsole,
      log: this.log,
      sys: this.sys(),
    };
  }

  pause(id: string): void {
    ops.operations().setPaused(this.sys(), this.store, id, true);
  }

  resume(id: string): void {
    ops.operations().setPaused(this.sys(), this.store, id, false);
  }

  /** update: new linux.resources for a container that is not stopped (devices stay as created); returns warnings. */
  update(id: string, resources: Resources): string[] {
    const res = { ...resources };
    delete res.devices;
    return ops.lock().withDirLock(this.sys(), this.store.dir(id), () => {
      const st = this.store.load(id);
      const status = deriveStatus(st);
      if (status === 'stopped' || !st.cgroup) throw new ContainerStateError(`cannot update container "${id}": it is ${status}`, id, status);
      try {
        return openCgroups(st.cgroup).apply(res).warnings;
      } catch (e) {
        throw new UserError((e as Error).message.replace(/^linux\.resources/, 'resources'));
      }
    });
  }

  /** How this host mounts cgroups: 'v2' (the unified hierarchy alone) or 'v1' (v1 hierarchies, a hybrid host too). */
  cgroupMode(): 'v1' | 'v2' {
    return ops.hierarchy().hostLayout().mode;
  }

  /** The container's cgroup statistics, in runc's events --stats shape. */
  stats(id: string): Record<string, unknown> {
    const st = this.running(id);
    return openCgroups(st.cgroup!).stats();
  }

  /**
   * The container's OOM events so far: the kernel's count of OOM kills in its cgroup, and (v1,
   * with the OOM killer disabled) whether it waits under OOM now. Until delete, a stopped one too.
   */
  oom(id: string): { kills: number; under: boolean } {
    const st = this.store.load(id);
    return st.cgroup ? openCgroups(st.cgroup).oom() : { kills: 0, under: false };
  }

  /** The pids of every process of the container. */
  ps(id: string): number[] {
    return ops.operations().containerPids(this.store, id);
  }

  /** The stored state of a container that has not stopped (and has cgroups). */
  private running(id: string): StoredState {
    const st = this.store.load(id);
    const status = deriveStatus(st);
    if (!st.cgroup || status === 'stopped') throw new ContainerStateError(`container "${id}" is not running`, id, status);
    return st;
  }

  private createOptions(id: string, p: CreateParams) {
    return {
      root: this.root,
      id,
      bundle: p.bundle,
      pidFile: p.pidFile,
      consoleSocket: p.consoleSocket,
      noPivot: p.noPivot === true,
      noNewKeyring: p.noNewKeyring === true,
      pidfdSocket: p.pidfdSocket,
      preserveFds: p.preserveFds ?? 0,
      stdio: p.stdio,
      log: this.log,
      sys: this.sys(),
    };
  }
}
