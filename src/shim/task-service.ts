// containerd's Task service (containerd.task.v2.Task) over the library API, in-process: a
// container's init and exec processes are forked from this shim, which reaps them, keeps their
// exits for Wait and State, relays their terminals and publishes the task events.
import fs = require('fs');
import { join } from 'path';
import type { Runtime, ContainerState } from '../api/runtime';
import type { PrebornInits } from '../container/preborn-inits';
import type { Libc } from '../sys/libc';
import * as C from '../sys/constants';
import { ContainerExistsError, ContainerNotFoundError, ContainerStateError, UserError, isErrno } from '../sys/errors';
import type { Process, Resources } from '../ocispec/oci';
import { parseMountOptions } from '../rootfs/mount-options';
import { timestamp, type AnyMessage, type Proto } from './proto';
import { Code, RpcError, type CallContext, type TtrpcServer } from './ttrpc';
import { ProcessIO, type StdioPaths } from './stdio';
import type { Exit, Reaper } from './reaper';
import type { EventType, Publisher } from './events';
import { toMetrics } from './metrics';
import { SYSTEMD_UNSUPPORTED } from '../cgroups/systemd/manager';

export const TASK_SERVICE = 'containerd.task.v2.Task';
const NS_KEY = 'containerd-namespace-ttrpc';
/** containerd.v1.types.Status */
const Status = { UNKNOWN: 0, CREATED: 1, RUNNING: 2, STOPPED: 3, PAUSED: 4 } as const;
const PROCESS_SPEC_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Process';
const RESOURCES_URL = 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources';
const RUNC_OPTIONS = 'containerd.runc.v1.Options';
/** how long init's exit waits for the exits of its exec processes (containerd wants those first) */
const EXEC_EXITS_MS = 2000;
/** how often the tasks' cgroups are looked at for OOM kills */
const OOM_POLL_MS = 500;

interface Proc {
  execId: string;
  pid: number;
  status: 'created' | 'running' | 'stopped';
  exit?: Exit;
  io?: ProcessIO;
  stdio: StdioPaths;
  /** exec: its process, until started */
  spec?: Process;
  waiters: (() => void)[];
}

interface Task {
  id: string;
  namespace: string;
  bundle: string;
  init: Proc;
  execs: Map<string, Proc>;
  /** the rootfs this shim mounted from containerd's mounts (unmounted at delete) */
  mountedRootfs?: string;
  /** init's exit, held until its exec processes' exits are out */
  pendingInitExit?: () => void;
  /** the OOM events published so far */
  oom: { kills: number; under: boolean };
}

export interface TaskServiceDeps {
  sys: Libc;
  proto: Proto;
  reaper: Reaper;
  publisher: Publisher;
  /** the library for a containerd namespace (each its own state root) */
  runtime: (namespace: string) => Runtime;
  /** the shim's namespace, for calls that carry none */
  namespace: string;
  log: (msg: string) => void;
  /** with -debug: a line per call, with what it cost */
  debug?: (msg: string) => void;
  /** the pre-born inits a spare forked for its group (container/preborn-inits.ts): Creates take them */
  preborn?: PrebornInits;
}

/** Maps the library's errors to the codes containerd's errdefs understand. */
export function toRpcError(e: unknown): RpcError {
  if (e instanceof RpcError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof ContainerNotFoundError) return new RpcError(Code.NOT_FOUND, msg);
  if (e instanceof ContainerExistsError) return new RpcError(Code.ALREADY_EXISTS, msg);
  if (e instanceof ContainerStateError) return new RpcError(Code.FAILED_PRECONDITION, msg);
  if (e instanceof UserError) return new RpcError(Code.INVALID_ARGUMENT, msg);
  return new RpcError(Code.UNKNOWN, msg);
}

interface Mount {
  type?: string;
  source?: string;
  target?: string;
  options?: string[];
}

export class TaskService {
  private readonly tasks = new Map<string, Task>();
  private readonly creating = new Set<string>();
  private oomTimer?: NodeJS.Timeout;

  constructor(private readonly d: TaskServiceDeps) {}

  /**
   * TaskOOM when a task's cgroup counts a new OOM kill (or goes under OOM): looked at every
   * OOM_POLL_MS while a task runs, and once more before its init's exit is published (CRI takes
   * an OOM before the exit as the reason the container ended).
   */
  private checkOom(task: Task): void {
    let now: { kills: number; under: boolean };
    try {
      now = this.rt(task).oom(task.id);
    } catch {
      return; // deleted meanwhile
    }
    if (now.kills > task.oom.kills || (now.under && !task.oom.under))
      this.publish(task, 'containerd.events.TaskOOM', { containerId: task.id });
    task.oom = now;
  }

  private watchOom(): void {
    if (this.oomTimer) return;
    this.oomTimer = setInterval(() => {
      const live = [...this.tasks.values()].filter((t) => t.init.status !== 'stopped');
      for (const t of live) this.checkOom(t);
      if (!live.length) {
        clearInterval(this.oomTimer);
        this.oomTimer = undefined;
      }
    }, OOM_POLL_MS);
    this.oomTimer.unref();
  }

  get size(): number {
    return this.tasks.size;
  }

  register(server: TtrpcServer): void {
    const methods: Record<string, [string, string, (req: never, ctx: CallContext) => unknown]> = {
      State: ['StateRequest', 'StateResponse', (r) => this.state(r)],
      Create: ['CreateTaskRequest', 'CreateTaskResponse', (r, c) => this.create(r, c)],
      Start: ['StartRequest', 'StartResponse', (r) => this.start(r)],
      Delete: ['DeleteRequest', 'DeleteResponse', (r) => this.delete(r)],
      Pids: ['PidsRequest', 'PidsResponse', (r) => this.pids(r)],
      Pause: ['PauseRequest', 'google.protobuf.Empty', (r, c) => this.pause(r, c, true)],
      Resume: ['ResumeRequest', 'google.protobuf.Empty', (r, c) => this.pause(r, c, false)],
      Checkpoint: ['CheckpointTaskRequest', 'google.protobuf.Empty', () => this.checkpoint()],
      Kill: ['KillRequest', 'google.protobuf.Empty', (r) => this.kill(r)],
      Exec: ['ExecProcessRequest', 'google.protobuf.Empty', (r) => this.exec(r)],
      ResizePty: ['ResizePtyRequest', 'google.protobuf.Empty', (r) => this.resizePty(r)],
      CloseIO: ['CloseIORequest', 'google.protobuf.Empty', (r) => this.closeIO(r)],
      Update: ['UpdateTaskRequest', 'google.protobuf.Empty', (r) => this.update(r)],
      Wait: ['WaitRequest', 'WaitResponse', (r) => this.wait(r)],
      Stats: ['StatsRequest', 'StatsResponse', (r) => this.stats(r)],
      Connect: ['ConnectRequest', 'ConnectResponse', (r) => this.connect(r)],
      Shutdown: ['ShutdownRequest', 'google.protobuf.Empty', () => this.shutdown()],
    };
    const p = this.d.proto;
    const full = (t: string) => (t.startsWith('google.') ? t : `containerd.task.v2.${t}`);
    for (const [method, [reqType, resType, fn]] of Object.entries(methods)) {
      server.register(TASK_SERVICE, method, async (payload, ctx) => {
        const t0 = performance.now();
        try {
          const res = await fn(p.decode<never>(full(reqType), payload), ctx);
          this.d.debug?.(`${method}: ${(performance.now() - t0).toFixed(1)} ms (at ${t0.toFixed(1)} ms)`);
          return p.encode(full(resType), (res ?? {}) as Record<string, unknown>);
        } catch (e) {
          const err = toRpcError(e);
          if (err.code === Code.UNKNOWN || err.code === Code.INTERNAL) this.d.log(`${method}: ${err.message}`);
          throw err;
        }
      });
    }
  }

  private ns(ctx: CallContext): string {
    return ctx.metadata[NS_KEY] || this.d.namespace;
  }

  private publish(task: Task, type: EventType, event: Record<string, unknown>): void {
    this.d.publisher.publish(task.namespace, type, event);
  }

  private task(id: string): Task {
    const t = this.tasks.get(id);
    if (!t) throw new RpcError(Code.NOT_FOUND, `task ${id} not found`);
    return t;
  }

  private proc(id: string, execId: string | undefined): { task: Task; proc: Proc } {
    const task = this.task(id);
    if (!execId) return { task, proc: task.init };
    const proc = task.execs.get(execId);
    if (!proc) throw new RpcError(Code.NOT_FOUND, `process ${execId} of task ${id} not found`);
    return { task, proc };
  }

  private rt(task: Task): Runtime {
    return this.d.runtime(task.namespace);
  }

  // --- lifecycle ---

  private async create(
    r: {
      id: string;
      bundle: string;
      rootfs?: Mount[];
      terminal?: boolean;
      stdin?: string;
      stdout?: string;
      stderr?: string;
      checkpoint?: string;
      options?: AnyMessage;
    },
    ctx: CallContext,
  ): Promise<{ pid: number }> {
    if (this.tasks.has(r.id) || this.creating.has(r.id)) throw new RpcError(Code.ALREADY_EXISTS, `task ${r.id} already exists`);
    if (r.checkpoint) throw new RpcError(Code.UNIMPLEMENTED, 'restoring from a checkpoint is not supported by tsrunc yet');
    const opts = this.runcOptions(r.options);
    if (opts.systemdCgroup) throw new RpcError(Code.INVALID_ARGUMENT, `options.SystemdCgroup: ${SYSTEMD_UNSUPPORTED}`);
    const namespace = this.ns(ctx);
    const rootfs = join(r.bundle, 'rootfs');
    const stdio: StdioPaths = { stdin: r.stdin ?? '', stdout: r.stdout ?? '', stderr: r.stderr ?? '', terminal: r.terminal === true };
    this.creating.add(r.id); // while a logging binary starts
    let mounted = false;
    let io: ProcessIO | undefined;
    let created: { pid: number; consoleMaster?: number } | undefined;
    try {
      mounted = mountRootfs(this.d.sys, r.rootfs ?? [], rootfs);
      io = await ProcessIO.open(this.d.sys, stdio, r.id, namespace);
      created = this.d.runtime(namespace).create(r.id, {
        bundle: r.bundle,
        stdio: io.fds,
        keepConsole: stdio.terminal,
        noPivot: opts.noPivotRoot === true,
        noNewKeyring: opts.noNewKeyring === true,
        preborn: this.d.preborn,
      });
      io.handedOver();
      if (created.consoleMaster !== undefined) io.attachConsole(created.consoleMaster);
    } catch (e) {
      io?.close();
      if (created) this.d.runtime(namespace).delete(r.id, { force: true }); // its init goes, reaped below
      if (mounted) unmountRootfs(this.d.sys, rootfs);
      throw e;
    } finally {
      this.creating.delete(r.id);
    }
    const init: Proc = { execId: '', pid: created.pid, status: 'created', io, stdio, waiters: [] };
    const task: Task = {
      id: r.id,
      namespace,
      bundle: r.bundle,
      init,
      execs: new Map(),
      mountedRootfs: mounted ? rootfs : undefined,
      oom: { kills: 0, under: false },
    };
    this.tasks.set(r.id, task);
    try {
      task.oom = this.d.runtime(namespace).oom(r.id); // a cgroup given may have counted kills before
    } catch {
      // no cgroup (rootless)
    }
    this.watchOom();
    this.d.reaper.watch(init.pid, (e) => this.exited(task, init, e));
    this.publish(task, 'containerd.events.TaskCreate', {
      containerId: r.id,
      bundle: r.bundle,
      rootfs: r.rootfs ?? [],
      io: { stdin: stdio.stdin, stdout: stdio.stdout, stderr: stdio.stderr, terminal: stdio.terminal },
      checkpoint: r.checkpoint ?? '',
      pid: init.pid,
    });
    return { pid: init.pid };
  }

  private runcOptions(any: AnyMessage | undefined): { noPivotRoot?: boolean; noNewKeyring?: boolean; systemdCgroup?: boolean } {
    if (!any?.type_url || !any.value?.length) return {};
    const type = any.type_url.replace(/^.*\//, '');
    if (type !== RUNC_OPTIONS) return {};
    return this.d.proto.decode(RUNC_OPTIONS, any.value);
  }

  private async start(r: { id: string; execId?: string }): Promise<{ pid: number }> {
    const { task, proc } = this.proc(r.id, r.execId);
    if (proc.status !== 'created')
      throw new RpcError(Code.FAILED_PRECONDITION, `process ${r.execId || r.id} is ${proc.status}, not created`);
    if (!r.execId) {
      this.rt(task).start(task.id);
      if (proc.status === 'created') proc.status = 'running';
      this.publish(task, 'containerd.events.TaskStart', { containerId: task.id, pid: proc.pid });
      return { pid: proc.pid };
    }
    if (task.init.status === 'stopped') throw new RpcError(Code.FAILED_PRECONDITION, `task ${task.id} has stopped`);
    proc.status = 'running'; // not started twice while its logging binary starts
    let io: ProcessIO;
    try {
      io = await ProcessIO.open(this.d.sys, proc.stdio, task.id, task.namespace);
    } catch (e) {
      proc.status = 'created';
      throw e;
    }
    let spawned: { pid: number; master?: number };
    try {
      spawned = this.rt(task).spawn(task.id, { process: proc.spec!, stdio: io.fds, keepConsole: proc.stdio.terminal });
    } catch (e) {
      io.close();
      proc.status = 'created';
      throw e;
    }
    // Watched before anything else can fail: its exit is reaped and published whatever happens.
    proc.pid = spawned.pid;
    this.d.reaper.watch(proc.pid, (e) => this.exited(task, proc, e));
    io.handedOver();
    proc.io = io;
    if (spawned.master !== undefined) {
      try {
        io.attachConsole(spawned.master);
      } catch (e) {
        signal(proc.pid, 9);
        throw e;
      }
    }
    proc.spec = undefined;
    this.publish(task, 'containerd.events.TaskExecStarted', { containerId: task.id, execId: proc.execId, pid: proc.pid });
    return { pid: proc.pid };
  }

  /** A process of a task ended: its exit recorded, its waiters woken, TaskExit published (init's after its execs'). */
  private exited(task: Task, proc: Proc, e: Exit): void {
    if (proc.status === 'stopped') return;
    proc.status = 'stopped';
    proc.exit = e;
    proc.io?.close();
    const finish = () => {
      this.publish(task, 'containerd.events.TaskExit', {
        containerId: task.id,
        id: proc.execId || task.id,
        pid: proc.pid,
        exitStatus: e.status,
        exitedAt: timestamp(e.at),
      });
      for (const w of proc.waiters.splice(0)) w();
    };
    if (proc.execId) {
      finish();
      if (task.pendingInitExit && ![...task.execs.values()].some((p) => p.status === 'running' && p.pid > 0)) task.pendingInitExit();
      return;
    }
    this.checkOom(task);
    const running = [...task.execs.values()].filter((p) => p.status === 'running' && p.pid > 0);
    if (!running.length) return finish();
    // Without a pid namespace of its own, the container's other processes outlive init: as runc's shim, they go.
    for (const p of running) signal(p.pid, 9);
    let done = false;
    const once = () => {
      if (done) return;
      done = true;
      task.pendingInitExit = undefined;
      finish();
    };
    task.pendingInitExit = once;
    setTimeout(once, EXEC_EXITS_MS).unref();
  }

  private delete(r: { id: string; execId?: string }): { pid: number; exitStatus: number; exitedAt?: ReturnType<typeof timestamp> } {
    const { task, proc } = this.proc(r.id, r.execId);
    if (r.execId) {
      if (proc.status === 'running') throw new RpcError(Code.FAILED_PRECONDITION, `process ${r.execId} of task ${r.id} is running`);
      task.execs.delete(r.execId);
      proc.io?.close();
      settle(proc);
      return { pid: proc.pid, exitStatus: proc.exit?.status ?? 0, exitedAt: proc.exit ? timestamp(proc.exit.at) : undefined };
    }
    if (proc.status === 'running') throw new RpcError(Code.FAILED_PRECONDITION, `task ${r.id} is running: kill it first`);
    task.pendingInitExit?.(); // its TaskExit first, then TaskDelete
    // A task never started: its init waits for start, and goes with the container.
    this.rt(task).delete(task.id, { force: proc.status === 'created' });
    if (proc.status === 'created') {
      this.d.reaper.unwatch(proc.pid);
      this.d.reaper.watch(proc.pid, () => undefined);
      this.exited(task, proc, { pid: proc.pid, status: 128 + 9, at: new Date() });
    }
    for (const p of task.execs.values()) {
      p.io?.close();
      settle(p);
    }
    proc.io?.close();
    if (task.mountedRootfs) unmountRootfs(this.d.sys, task.mountedRootfs);
    this.tasks.delete(task.id);
    const exitStatus = proc.exit?.status ?? 0;
    const exitedAt = timestamp(proc.exit?.at ?? new Date());
    this.publish(task, 'containerd.events.TaskDelete', { containerId: task.id, pid: proc.pid, exitStatus, exitedAt, id: task.id });
    return { pid: proc.pid, exitStatus, exitedAt };
  }

  private exec(r: {
    id: string;
    execId: string;
    terminal?: boolean;
    stdin?: string;
    stdout?: string;
    stderr?: string;
    spec?: AnyMessage;
  }): void {
    const task = this.task(r.id);
    if (!r.execId) throw new RpcError(Code.INVALID_ARGUMENT, 'exec_id is empty');
    if (task.execs.has(r.execId)) throw new RpcError(Code.ALREADY_EXISTS, `process ${r.execId} of task ${r.id} already exists`);
    if (task.init.status === 'stopped') throw new RpcError(Code.FAILED_PRECONDITION, `task ${r.id} has stopped`);
    if (!r.spec || (r.spec.type_url.replace(/^.*\//, '') !== 'Process' && r.spec.type_url !== PROCESS_SPEC_URL)) {
      throw new RpcError(
        Code.INVALID_ARGUMENT,
        `spec: a runtime-spec Process (${PROCESS_SPEC_URL}) is needed, not ${r.spec?.type_url ?? 'nothing'}`,
      );
    }
    let spec: Process;
    try {
      spec = JSON.parse(Buffer.from(r.spec.value).toString('utf8')) as Process;
    } catch (e) {
      throw new RpcError(Code.INVALID_ARGUMENT, `spec: not JSON: ${(e as Error).message}`);
    }
    const stdio: StdioPaths = { stdin: r.stdin ?? '', stdout: r.stdout ?? '', stderr: r.stderr ?? '', terminal: r.terminal === true };
    task.execs.set(r.execId, { execId: r.execId, pid: 0, status: 'created', stdio, spec, waiters: [] });
    this.publish(task, 'containerd.events.TaskExecAdded', { containerId: task.id, execId: r.execId });
  }

  // --- the rest of the service ---

  private state(r: { id: string; execId?: string }): Record<string, unknown> {
    const { task, proc } = this.proc(r.id, r.execId);
    let status: number = Status[proc.status.toUpperCase() as 'CREATED' | 'RUNNING' | 'STOPPED'];
    if (!r.execId && proc.status !== 'stopped') {
      const st = this.containerState(task);
      if (st?.status === 'paused') status = Status.PAUSED;
    }
    return {
      id: proc.execId || task.id,
      bundle: task.bundle,
      pid: proc.pid,
      status,
      stdin: proc.stdio.stdin,
      stdout: proc.stdio.stdout,
      stderr: proc.stdio.stderr,
      terminal: proc.stdio.terminal,
      exitStatus: proc.exit?.status ?? 0,
      exitedAt: proc.exit ? timestamp(proc.exit.at) : undefined,
      execId: proc.execId,
    };
  }

  private containerState(task: Task): ContainerState | undefined {
    try {
      return this.rt(task).state(task.id);
    } catch {
      return undefined;
    }
  }

  private pids(r: { id: string }): { processes: { pid: number; info?: AnyMessage }[] } {
    const task = this.task(r.id);
    const execByPid = new Map([...task.execs.values()].filter((p) => p.status === 'running').map((p) => [p.pid, p.execId]));
    const pids = task.init.status === 'stopped' ? [] : this.rt(task).ps(task.id);
    return {
      processes: pids.map((pid) => {
        const execId = execByPid.get(pid);
        return execId ? { pid, info: this.d.proto.any('containerd.runc.v1.ProcessDetails', { execId }) } : { pid };
      }),
    };
  }

  private pause(r: { id: string }, _ctx: CallContext, paused: boolean): void {
    const task = this.task(r.id);
    if (paused) this.rt(task).pause(task.id);
    else this.rt(task).resume(task.id);
    this.publish(task, paused ? 'containerd.events.TaskPaused' : 'containerd.events.TaskResumed', { containerId: task.id });
  }

  private checkpoint(): never {
    throw new RpcError(Code.UNIMPLEMENTED, 'checkpoint is not supported by tsrunc yet (no CRIU support)');
  }

  private kill(r: { id: string; execId?: string; signal?: number; all?: boolean }): void {
    const { task, proc } = this.proc(r.id, r.execId);
    const sig = r.signal ?? 15;
    if (!r.execId) {
      if (proc.status === 'stopped' && !r.all) throw new RpcError(Code.NOT_FOUND, 'process already finished');
      try {
        this.rt(task).kill(task.id, sig, { all: r.all === true });
      } catch (e) {
        if (e instanceof ContainerStateError && e.status === 'stopped') throw new RpcError(Code.NOT_FOUND, 'process already finished');
        throw e;
      }
      return;
    }
    if (proc.status !== 'running' || proc.pid <= 0)
      throw new RpcError(
        proc.status === 'stopped' ? Code.NOT_FOUND : Code.FAILED_PRECONDITION,
        proc.status === 'stopped' ? 'process already finished' : 'process not started',
      );
    try {
      process.kill(proc.pid, sig);
    } catch (e) {
      if (isErrno(e, 'ESRCH')) throw new RpcError(Code.NOT_FOUND, 'process already finished');
      throw e;
    }
  }

  private resizePty(r: { id: string; execId?: string; width?: number; height?: number }): void {
    const { proc } = this.proc(r.id, r.execId);
    if (!proc.io) throw new RpcError(Code.FAILED_PRECONDITION, 'the process has not started');
    proc.io.resize(r.width ?? 0, r.height ?? 0);
  }

  private closeIO(r: { id: string; execId?: string; stdin?: boolean }): void {
    const { proc } = this.proc(r.id, r.execId);
    if (r.stdin) proc.io?.closeStdin();
  }

  private update(r: { id: string; resources?: AnyMessage }): void {
    const task = this.task(r.id);
    if (!r.resources?.value?.length) return;
    if (!r.resources.type_url.endsWith('LinuxResources') && r.resources.type_url !== RESOURCES_URL) {
      throw new RpcError(
        Code.INVALID_ARGUMENT,
        `resources: runtime-spec LinuxResources (${RESOURCES_URL}) are needed, not ${r.resources.type_url}`,
      );
    }
    const res = JSON.parse(Buffer.from(r.resources.value).toString('utf8')) as Resources;
    for (const w of this.rt(task).update(task.id, res)) this.d.log(`update ${task.id}: ${w}`);
  }

  private async wait(r: { id: string; execId?: string }): Promise<{ exitStatus: number; exitedAt?: ReturnType<typeof timestamp> }> {
    const { proc } = this.proc(r.id, r.execId);
    if (!proc.exit) await new Promise<void>((resolve) => proc.waiters.push(resolve));
    return { exitStatus: proc.exit!.status, exitedAt: timestamp(proc.exit!.at) };
  }

  /** The cgroup's statistics as containerd's cgroups Metrics (shim/metrics.ts); NotFound once stopped, which containerd skips. */
  private stats(r: { id: string }): { stats: AnyMessage } {
    const task = this.task(r.id);
    let stats: Record<string, unknown>;
    try {
      stats = this.rt(task).stats(task.id);
    } catch (e) {
      if (e instanceof ContainerStateError) throw new RpcError(Code.NOT_FOUND, `task ${task.id} has no cgroup to read: ${e.message}`);
      throw e;
    }
    const { type, message } = toMetrics(this.rt(task).cgroupMode(), stats, this.rt(task).oom(task.id));
    return { stats: this.d.proto.any(type, message) };
  }

  private connect(r: { id: string }): { shimPid: number; taskPid: number; version: string } {
    const task = this.tasks.get(r.id);
    return { shimPid: process.pid, taskPid: task?.init.pid ?? 0, version: '' };
  }

  /**
   * containerd asks after each task's delete, then closes its connection. The shim serves the
   * other tasks of its group (and soon the next one): it goes away once it has none (main.ts).
   */
  private shutdown(): void {
    // nothing to do now
  }

  /** No task: the shim may leave (main.ts waits for its group's starts to settle). */
  get idle(): boolean {
    return this.tasks.size === 0 && this.creating.size === 0;
  }
}

/** A process that goes without having run (an exec deleted before its start): its waiters are told so. */
function settle(p: Proc): void {
  if (p.exit) return;
  p.status = 'stopped';
  p.exit = { pid: p.pid, status: 255, at: new Date() };
  for (const w of p.waiters.splice(0)) w();
}

function signal(pid: number, sig: number): void {
  if (pid <= 0) return; // 0 and below name process groups: the shim's own among them
  try {
    process.kill(pid, sig);
  } catch {
    // gone
  }
}

/** containerd's mounts (a snapshot: overlay, or a bind) made at the bundle's rootfs, in order. */
export function mountRootfs(sys: Libc, mounts: readonly Mount[], target: string): boolean {
  if (!mounts.length) return false;
  fs.mkdirSync(target, { recursive: true, mode: 0o711 });
  const done: number[] = [];
  try {
    for (const m of mounts) {
      const o = parseMountOptions(m.options ?? [], 'rootfs');
      const type = m.type === 'bind' ? null : (m.type ?? null);
      sys.mount(m.source ?? 'none', target, type, o.flags, o.data || null);
      if (o.bind && o.flags & C.MS_RDONLY)
        sys.mount(null, target, null, C.MS_REMOUNT | C.MS_BIND | C.MS_RDONLY | (o.flags & C.MS_REC), null);
      done.push(1);
    }
  } catch (e) {
    for (let i = 0; i < done.length; i++) unmountRootfs(sys, target);
    throw new RpcError(Code.INTERNAL, `mounting the rootfs at ${target}: ${(e as Error).message}`);
  }
  return true;
}

export function unmountRootfs(sys: Libc, target: string): void {
  for (let i = 0; i < 16; i++) {
    try {
      sys.umount2(target, C.MNT_DETACH);
    } catch {
      return; // nothing mounted there any more
    }
  }
}
