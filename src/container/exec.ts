import fs = require('fs');
import { join } from 'path';
import { ContainerStateError, UserError, startFailureText } from '../sys/errors';
import type { Libc } from '../sys/libc';
import { openCgroups } from '../cgroups/open';
import type { CgroupJoin } from '../cgroups/manager';
import { hostLayout } from '../cgroups/hierarchy';
import { primeCgroupMove } from '../cgroups/prime';
import type { ContainerConfig, NamespaceConfig, ProcessConfig } from '../ocispec/config';
import { NAMESPACE_FLAGS, PROC_NS_NAME } from '../namespaces/types';
import { StateStore, deriveStatus, ociState } from '../state/store';
import { bear } from '../process/birth';
import { copyStep, takeVforkTiming, timedForks } from '../process/copy-steps';
import { decodeJson } from '../util/bigint-json';
import { execLife, execTarget, type ExecPlan } from '../process/exec-copy';
import { VforkChildFailed, bearByVfork } from '../process/vfork-birth';
import { enterNamespaces, inNamespaces } from '../namespaces/enter';
import * as C from '../sys/constants';
import { ChannelClosed, keptFdCount, type RuntimeEnd } from '../process/channel';
import { exitStatus, waitForExit, type ExitStatus } from '../process/reap';
import { ensureProtectedExe } from '../process/protected-exe';
import { callerNofileSoft } from '../process/exec-program';
import type { Logger } from '../util/log';
import { proxyConsole } from './console-proxy';
import { cpuMask } from '../process/process-attrs';
import { connectListener, listenerState } from '../security/seccomp-listener';
import { vforkHost, vforkMayBear, type VforkHost } from '../process/vfork-fits';

export interface ExecOptions {
  root: string;
  id: string;
  /** builds the process from the container's own (runc: exec inherits its settings) */
  process: (base: ProcessConfig | undefined) => ProcessConfig;
  detach: boolean;
  /** exec into a paused container too (runc's --ignore-paused: the process starts frozen) */
  ignorePaused?: boolean;
  /** runc's --cgroup: [CONTROLLER[,CONTROLLER]:]PATH below the container's cgroup */
  subCgroups?: string[];
  /** a unix socket to send the process's pidfd to */
  pidfdSocket?: string;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds: number;
  /** fds of this process (above 2) that are the process's stdin, stdout and stderr */
  stdio?: readonly [number, number, number];
  /** with process.terminal and no console socket: the caller gets the pty master (a shim relays it) */
  keepConsole?: boolean;
  /**
   * The process born by vfork where that fits (process/vfork-birth.ts): only for a caller that
   * runs one command and exits (the CLI), which a child killed in its JavaScript aborts.
   */
  vfork?: boolean;
  log: Logger;
  /** the libc binding the operation makes its calls through (the caller's: a fake in tests) */
  sys: Libc;
}

/** A process started in a container: it runs its program now. */
export interface StartedExec {
  pid: number;
  /** the pty master, when this process keeps it */
  master?: number;
  /** settles when it exits (listened to before the program started), unless detached */
  exited?: Promise<ExitStatus>;
}

export function storedConfig(store: StateStore, id: string): ContainerConfig {
  return decodeJson<ContainerConfig>(fs.readFileSync(join(store.dir(id), 'config.json'), 'utf8'));
}

/** runc's --pidfd-socket: connected before the process is born, so a bad path fails first. */
function connectPidfdSocket(sys: Libc, socketPath: string): number {
  try {
    return sys.connectUnix(socketPath);
  } catch (e) {
    throw new UserError(`--pidfd-socket: ${(e as Error).message}`);
  }
}

/** Sends a pidfd of the exec process (SCM_RIGHTS) once it runs the program. */
function sendPidfd(sys: Libc, sock: number, pid: number): void {
  const pidfd = sys.pidfdOpen(pid);
  try {
    sys.sendFd(sock, pidfd, '');
  } finally {
    fs.closeSync(pidfd);
  }
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT', 'SIGALRM'];

const EXEC_TIMEOUT_MS = 60_000;

/**
 * Waits until the exec process is the user's program: "ready" (set up, program found), then the
 * channel's end, which comes with execve (close-on-exec). An error message on the way, or an end
 * before "ready", is the exec's failure.
 */
function awaitExecve(ch: RuntimeEnd, log: Logger): void {
  let msg;
  try {
    msg = ch.receive(EXEC_TIMEOUT_MS, 'the exec process');
  } catch (e) {
    if (e instanceof ChannelClosed) throw new Error('the exec process exited before it was ready');
    throw e;
  }
  if (msg.type === 'error') throw new UserError(`exec failed: ${msg.msg}`);
  if (msg.type !== 'ready') throw new Error(`unexpected message from the exec process: ${msg.type}`);
  log.copySteps('exec process', msg.timing);
  if (!ch.awaitClose(EXEC_TIMEOUT_MS)) throw new Error(`the exec process did not start its program within ${EXEC_TIMEOUT_MS / 1000}s`);
  const last = ch.pending();
  if (last?.type === 'error') throw new UserError(`exec failed: ${last.msg}`);
}

/**
 * A new process in every namespace and the cgroup of a created or running container, with the
 * container's seccomp filter and the given credentials: returns once its program runs. Detached,
 * the caller reaps it (a child subreaper: it may be reparented to it).
 */
export function spawnInContainer(opts: ExecOptions): StartedExec {
  const sys = opts.sys;
  opts.log.step('exec: start');
  // As early as can be: the move into the container's cgroups (onForked) then finds the kernel's
  // lock ready (where a move waits for a grace period: prime.ts movesWait).
  if (process.geteuid?.() === 0) primeCgroupMove(hostLayout);
  ensureProtectedExe(sys, opts.log, opts.preserveFds);
  const store = new StateStore(opts.root);
  const st = store.load(opts.id);
  const status = deriveStatus(st);
  const allowed = opts.ignorePaused ? ['running', 'created', 'paused'] : ['running', 'created'];
  if (!allowed.includes(status)) {
    // runc's words for a paused one, which scripts grep
    if (status === 'paused')
      throw new ContainerStateError(`cannot exec in a paused container "${opts.id}" (see --ignore-paused)`, opts.id, status);
    throw new ContainerStateError(`cannot exec in container "${opts.id}": it is ${status}`, opts.id, status);
  }
  opts.log.step('exec: state loaded');
  const cfg = storedConfig(store, opts.id);
  const proc = opts.process(cfg.process);
  opts.log.step('exec: config and process read');
  // runc's checkTerminal
  if (proc.terminal && opts.consoleSocket === undefined && opts.detach && !opts.keepConsole) {
    throw new UserError('cannot allocate tty if tsrunc will detach without setting console socket');
  }
  if ((!proc.terminal || !opts.detach) && opts.consoleSocket !== undefined) {
    throw new UserError('cannot use console socket if tsrunc will not detach or allocate tty');
  }
  const cgroups = st.cgroup ? openCgroups(st.cgroup).execJoin(opts.subCgroups ?? []) : undefined;
  // Every namespace the container has, joined by path (the mount namespace too: a forked copy
  // needs no binary of its own to resolve there).
  const namespaces: NamespaceConfig[] = cfg.namespaces.map((n) => ({
    type: n.type,
    flag: n.flag,
    path: `/proc/${st.pid}/ns/${PROC_NS_NAME[n.type]}`,
  }));
  if (!namespaces.some((n) => n.type === 'mount'))
    namespaces.push({ type: 'mount', flag: NAMESPACE_FLAGS.mount, path: `/proc/${st.pid}/ns/mnt` });
  let consoleFd: number | undefined;
  let consolePeer: number | undefined;
  if (proc.terminal) {
    if (opts.consoleSocket !== undefined) consoleFd = sys.connectUnix(opts.consoleSocket);
    else [consoleFd, consolePeer] = sys.socketpair();
  }
  const pidfdSock = opts.pidfdSocket !== undefined ? connectPidfdSocket(sys, opts.pidfdSocket) : undefined;
  const plan: ExecPlan = {
    process: proc,
    seccomp: cfg.seccomp,
    preserveFds: opts.preserveFds,
    nofileSoft: callerNofileSoft(),
    sessionKeyring: st.sessionKeyring,
    relayTerminal: proc.terminal && opts.consoleSocket === undefined,
    container: { personality: cfg.personality, memoryPolicy: cfg.memoryPolicy },
  };
  opts.log.step('exec: ready to fork');
  // A long-lived caller (the shim) must get back every fd of a failed exec.
  const closeQuietly = (fd: number | undefined) => {
    if (fd === undefined) return;
    try {
      fs.closeSync(fd);
    } catch {
      // closed already
    }
  };
  const byVfork =
    opts.vfork === true &&
    status !== 'paused' &&
    opts.stdio === undefined &&
    st.cgroup !== undefined &&
    vforkFits(
      cfg,
      namespaces,
      proc,
      vforkHost(() => openCgroups(st.cgroup!).pids()),
    );
  if (byVfork) {
    let pid: number | undefined;
    try {
      pid = spawnByVfork(opts, plan, namespaces, cgroups, st.pid!, consoleFd);
    } catch (e) {
      for (const fd of [consoleFd, consolePeer, pidfdSock]) closeQuietly(fd);
      throw e;
    }
    if (pid !== undefined) {
      const exited = opts.detach ? undefined : waitForExit(sys, pid);
      closeQuietly(consoleFd);
      try {
        if (pidfdSock !== undefined) sendPidfd(sys, pidfdSock, pid);
      } catch (e) {
        killQuietly(pid);
        closeQuietly(consolePeer);
        throw e;
      } finally {
        closeQuietly(pidfdSock);
      }
      return started(opts, sys, pid, consolePeer, exited);
    }
  }
  const seccompListener = connectListener(sys, cfg.seccomp);
  let born: ReturnType<typeof bear>;
  try {
    // (with --debug, the process keeps its own steps: process/copy-steps.ts)
    born = timedForks(opts.log.debugging, () =>
      bear(sys, {
        namespaces,
        uidMappings: [],
        gidMappings: [],
        preserveFds: opts.preserveFds,
        stdio: opts.stdio,
        fds: { console: consoleFd, seccompListener },
        life: (ch, fds) => execLife(sys, ch, fds, plan),
        // Into a frozen cgroup, the process would freeze before its execve and the wait below would
        // never end: with --ignore-paused it joins right after its execve instead.
        onForked: (pid) => {
          // execCPUAffinity.initial: where it runs until it is in the container's cgroup
          if (proc.cpuAffinity?.initial) sys.schedSetaffinity(pid, cpuMask(proc.cpuAffinity.initial));
          if (cgroups && status !== 'paused') cgroups.join(pid, st.pid!);
        },
      }),
    );
  } catch (e) {
    for (const fd of [consoleFd, consolePeer, seccompListener, pidfdSock]) closeQuietly(fd);
    throw e;
  }
  opts.log.step(`exec: process born (pid ${born.pid})`);
  if (consoleFd !== undefined) fs.closeSync(consoleFd);
  if (seccompListener !== undefined) fs.closeSync(seccompListener);
  const pid = born.pid;
  let exited: Promise<ExitStatus> | undefined;
  try {
    const listener = cfg.seccomp?.listenerPath ? listenerState(cfg.seccomp, pid, { ...ociState(st, 'running') }) : undefined;
    born.channel.send({ type: 'go', listenerState: listener });
    // Listening while the copy sets up for its execve (a program over before we look is found
    // by waitpid all the same).
    exited = opts.detach ? undefined : waitForExit(sys, pid);
    awaitExecve(born.channel, opts.log);
    if (cgroups && status === 'paused') cgroups.join(pid, st.pid!);
    if (pidfdSock !== undefined) sendPidfd(sys, pidfdSock, pid);
    opts.log.step('exec: program started');
  } catch (e) {
    killQuietly(pid);
    closeQuietly(consolePeer); // and the pty master it may hold
    throw e;
  } finally {
    born.channel.close();
    if (pidfdSock !== undefined) fs.closeSync(pidfdSock);
  }
  return started(opts, sys, pid, consolePeer, exited);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/** The process runs its program: its pid file, and the pty master where this process keeps it. */
function started(
  opts: ExecOptions,
  sys: Libc,
  pid: number,
  consolePeer: number | undefined,
  exited: Promise<ExitStatus> | undefined,
): StartedExec {
  if (opts.pidFile) {
    fs.writeFileSync(`${opts.pidFile}.tmp`, String(pid));
    fs.renameSync(`${opts.pidFile}.tmp`, opts.pidFile);
  }
  const master = consolePeer !== undefined ? sys.recvFd(consolePeer).fd : undefined;
  if (consolePeer !== undefined) fs.closeSync(consolePeer);
  return { pid, master, exited };
}

const CAP_SYS_PTRACE = 1n << 19n;

/**
 * Whether this container's exec process may be born by vfork: what any such child needs
 * (process/vfork-fits.ts), and what an exec's needs besides. Such a child cannot wait in a frozen
 * cgroup (it would hold the runtime: the caller checks) nor take stdio a library gives (the
 * caller checks). The container's other processes must not reach the runtime's memory: one with
 * CAP_SYS_PTRACE in its bounding set could, through the child's /proc entries (non-dumpable stops
 * only those without it); a config without capabilities keeps them all, and an earlier exec may
 * have been given it.
 */
export function vforkFits(cfg: ContainerConfig, namespaces: readonly NamespaceConfig[], proc: ProcessConfig, host: VforkHost): boolean {
  if (!vforkMayBear(cfg, namespaces, proc, host)) return false;
  const caps = cfg.process?.capabilities;
  if (caps === undefined || caps.bounding & CAP_SYS_PTRACE) return false;
  return !host.boundingSets().some((b) => b & CAP_SYS_PTRACE);
}

/**
 * The exec process born by vfork (process/vfork-birth.ts): born in the container's pid namespace
 * (this thread's for children while it is born), it joins the cgroups and then the other
 * namespaces itself, and execs. Its pid once it runs its program; undefined where vfork does not
 * fit here (nothing done: the caller forks).
 */
function spawnByVfork(
  opts: ExecOptions,
  plan: ExecPlan,
  namespaces: readonly NamespaceConfig[],
  cgroups: CgroupJoin | undefined,
  initPid: number,
  consoleFd: number | undefined,
): number | undefined {
  const sys = opts.sys;
  const proc = plan.process;
  // Its memory is this process's: so is this flag (no process of the container can reach its
  // /proc entries, as for a forked copy; execve resets it for the program).
  sys.prctl(C.PR_SET_DUMPABLE, 0);
  let pid: number | undefined;
  try {
    pid = timedForks(opts.log.debugging, () =>
      inNamespaces(
        sys,
        namespaces.filter((n) => n.type === 'pid'),
        () =>
          bearByVfork(sys, {
            deadlineMs: EXEC_TIMEOUT_MS,
            keep: keptFdCount(opts.preserveFds),
            fds: consoleFd !== undefined ? [consoleFd] : [],
            body: () => {
              sys.setsid();
              // execCPUAffinity.initial: where it runs until it is in the container's cgroup
              if (proc.cpuAffinity?.initial) sys.schedSetaffinity(0, cpuMask(proc.cpuAffinity.initial));
              // 0, the writer itself: its pid namespace is the container's, whose numbers the host's cgroup files do not take
              cgroups?.join(0, initPid);
              copyStep('placed in its cgroups');
              enterNamespaces(
                sys,
                namespaces.filter((n) => n.type !== 'pid'),
              );
              return execTarget(sys, { channel: -1, console: consoleFd }, plan);
            },
          }),
      ),
    );
  } catch (e) {
    if (e instanceof VforkChildFailed) throw new UserError(`exec failed: ${startFailureText(e.cause)}`);
    throw e;
  } finally {
    opts.log.copySteps('exec process', takeVforkTiming());
  }
  if (pid !== undefined) opts.log.step(`exec: process born by vfork, program started (pid ${pid})`);
  return pid;
}

/**
 * exec: spawnInContainer, and unless detached, the terminal relayed and signals forwarded until
 * the process exits. Returns the exit status to exit with (0 when detached).
 */
export async function execInContainer(opts: ExecOptions): Promise<number> {
  const { pid, master, exited } = spawnInContainer(opts);
  if (!exited) return 0;
  const sys = opts.sys;
  const stopProxy = master !== undefined ? proxyConsole(sys, master) : undefined;
  const forward = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // exiting
    }
  };
  for (const s of FORWARDED) process.on(s, forward);
  const code = exitStatus(await exited);
  for (const s of FORWARDED) process.removeListener(s, forward);
  await stopProxy?.();
  return code;
}
