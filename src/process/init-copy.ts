// The container's init: a forked copy of the creating runtime (process/birth.ts), inside the
// container's namespaces. It builds the root filesystem (up to the first cgroup mount while the
// runtime makes its cgroups and moves it in, the rest once it is there), reports ready, waits on
// the exec fifo for `start` (run's init: for 'start' on its channel), then execs the user's program.
// It runs in the copy's world (process/copy.ts): synchronous code, loaded before the fork.
import { SysError, startFailureText } from '../sys/errors';
import fs = require('fs');
import type { Libc } from '../sys/libc';
import * as C from '../sys/constants';
import { prepareRootfs, enterRootfs, finalizeRootfs } from '../rootfs/setup';
import { applySysctls } from './sysctl';
import { mountNsMode, type ContainerConfig, type ProcessConfig } from '../ocispec/config';
import {
  adoptTerminal,
  execProgram,
  findExecutable,
  prepareEnv,
  prepareProgram,
  type ExecOptions,
  type ProgramTarget,
} from './exec-program';
import { runHooks } from '../hooks/run';
import { waitReadableOrExit } from './copy';
import { copyStep, copyTiming } from './copy-steps';
import { FIFO_HOOK_FAILED, FIFO_START, INIT_COMM, type ChildEnd, type ChildFds } from './channel';
import type { CgroupMountView } from '../cgroups/manager';
import type { MountContext } from '../rootfs/mounts';

/** Everything init needs, known to the runtime before the fork. */
export interface InitPlan {
  config: ContainerConfig;
  /** prestart/createRuntime hooks: init pauses for the runtime to run them before pivot_root. */
  createHooks: boolean;
  noPivot: boolean;
  /** the session keyring init joins ("_ses.<id>"), unless --no-new-keyring */
  sessionKeyring?: string;
  preserveFds: number;
  /** The caller's soft RLIMIT_NOFILE: Node raises its own at start-up; the container must not inherit that. */
  nofileSoft?: string;
  cgroups: CgroupMountView;
  newCgroupNs: boolean;
  /**
   * run's init: no exec fifo; once ready it waits for the runtime's 'start' on its channel, which
   * comes as soon as the state says the container is created and started (no `start` process,
   * lock, state loads or fifo round trip). Not where a startContainer or poststart hook needs
   * start's own path (create.ts).
   */
  startAtReady?: boolean;
  /**
   * An init born by vfork whose terminal the runtime relays (a foreground run): it clears the
   * pty's \r\n and gives it the caller's window size (where the caller has a terminal) before its
   * program can write, as the runtime's relay does before a forked init's start.
   */
  relayTerminal?: { rows: number; columns: number } | true;
}

/** How long init waits for the runtime's words (the runtime may have been killed). */
const RUNTIME_TIMEOUT_MS = 60_000;

/**
 * A pty from the container's own devpts (after pivot_root, so /dev/ptmx is the container's): the
 * master goes to whoever listens on --console-socket, the slave becomes /dev/console and, at
 * exec, the program's controlling terminal and stdio.
 */
/** UNIX98 pty slaves: majors 136-143. */
function isPtySlave(st: fs.Stats): boolean {
  const major = (st.rdev >> 8) & 0xfff;
  return st.isCharacterDevice() && major >= 136 && major <= 143;
}

/**
 * The CVE-2025-52565 class: the pty bound over /dev/console is the one opened (by fd, not by a
 * path someone could swap), and /dev/console is never followed: a symlink there (a rootfs without
 * a tmpfs /dev) or anything but a file or device is refused, and a missing one is created without
 * following anything.
 */
function bindConsole(sys: Libc, slave: number, slavePath: string): void {
  if (!isPtySlave(fs.fstatSync(slave))) throw new Error(`${slavePath} is not a pty`);
  const there = fs.lstatSync('/dev/console', { throwIfNoEntry: false });
  if (!there) fs.closeSync(fs.openSync('/dev/console', C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW | C.O_CLOEXEC, 0o600));
  else if (!there.isFile() && !there.isCharacterDevice()) {
    throw new Error(
      `/dev/console in the container is ${there.isSymbolicLink() ? 'a symbolic link' : 'neither a file nor a device'}; refusing to bind over it`,
    );
  }
  const target = fs.openSync('/dev/console', C.O_PATH | C.O_NOFOLLOW | C.O_CLOEXEC);
  try {
    const st = fs.fstatSync(target);
    if (!st.isFile() && !st.isCharacterDevice()) throw new Error('/dev/console was replaced while the console was set up');
    // by fd where this container has a /proc (it has one almost always); by the checked paths otherwise
    const viaFd = fs.existsSync('/proc/self/fd');
    sys.mount(viaFd ? `/proc/self/fd/${slave}` : slavePath, viaFd ? `/proc/self/fd/${target}` : '/dev/console', 'bind', C.MS_BIND, null);
  } finally {
    fs.closeSync(target);
  }
}

function setupConsole(sys: Libc, p: ProcessConfig, consoleFd: number, relay: InitPlan['relayTerminal']): void {
  const { master, slavePath } = sys.openPty();
  const slave = fs.openSync(slavePath, C.O_RDWR | C.O_NOCTTY | C.O_CLOEXEC);
  if (p.consoleSize) sys.setWinsize(slave, p.consoleSize.height, p.consoleSize.width);
  if (relay) sys.clearOnlcr(master);
  if (relay && relay !== true) sys.setWinsize(slave, relay.rows, relay.columns);
  try {
    bindConsole(sys, slave, slavePath);
  } catch (e) {
    throw new Error(`process.terminal: binding ${slavePath} to /dev/console: ${(e as Error).message}`);
  }
  sys.sendFd(consoleFd, master, slavePath);
  fs.closeSync(master);
  fs.closeSync(consoleFd);
  adoptTerminal(sys, slave);
}

function rootfsContext(plan: InitPlan, fds: ChildFds): MountContext {
  const cfg = plan.config;
  return {
    rootfs: cfg.rootfs,
    cgroups: plan.cgroups,
    newCgroupNs: plan.newCgroupNs,
    trees: fds.trees ?? {},
    lockSourceFlags: cfg.namespaces.some((n) => n.type === 'user'),
  };
}

/**
 * Whether init builds part of the rootfs before 'go': only in a mount namespace of its own, whose
 * mounts go with init. Without one (or in a joined one) they would outlive it, and a runtime
 * killed before its first state save (right after the fork) leaves no record for delete to take
 * them away by: there init mounts once it is recorded, after 'go' (found by a SIGKILL campaign,
 * scripts/hardening/crash.js, without a mount namespace).
 */
function buildsEarly(plan: InitPlan): boolean {
  return mountNsMode(plan.config) === 'new';
}

/**
 * While the runtime makes init's cgroups and moves it in (init would only wait): its keyring, and
 * the rootfs up to the first cgroup mount (rootfs/setup.ts: splitAtCgroups) where buildsEarly.
 * Nothing here starts a process or touches the cgroups.
 */
function setupEarly(sys: Libc, fds: ChildFds, plan: InitPlan): void {
  joinKeyring(sys, plan);
  if (buildsEarly(plan)) prepareRootfs(sys, plan.config, rootfsContext(plan, fds), 'new', 'early');
}

/** A keyring of its own (runc's default): not the caller's (containerd's, the shim's) session keyring. */
function joinKeyring(sys: Libc, plan: InitPlan): void {
  if (!plan.sessionKeyring) return;
  try {
    sys.joinSessionKeyring(plan.sessionKeyring);
  } catch (e) {
    throw new Error(`joining a new session keyring: ${(e as Error).message} (see --no-new-keyring)`);
  }
}

/**
 * In its cgroups: the rest (all of the rootfs where none was built early). runtimeHooks has the
 * runtime run the prestart and createRuntime hooks, where the config has them.
 */
function setup(
  sys: Libc,
  fds: ChildFds,
  plan: InitPlan,
  hookState: Record<string, unknown>,
  builtEarly: boolean,
  runtimeHooks: () => void,
): void {
  const cfg = plan.config;
  // The namespace's root is the cgroup init is in now.
  if (plan.newCgroupNs) sys.unshare(C.CLONE_NEWCGROUP);
  const mode = mountNsMode(cfg);
  prepareRootfs(sys, cfg, rootfsContext(plan, fds), mode, builtEarly ? 'rest' : 'all');
  copyStep('rootfs mounted');
  if (plan.createHooks) {
    // prestart and createRuntime run in the runtime's namespaces, before pivot_root.
    runtimeHooks();
    copyStep('prestart, createRuntime hooks ran');
  }
  // In the container's namespaces, with host paths still reachable (before pivot_root), in the
  // rootfs (as runc: hooks written for it use paths relative to it).
  if (cfg.hooks.createContainer?.length) process.chdir(cfg.rootfs);
  runHooks('createContainer', cfg.hooks.createContainer, { ...hookState, status: 'creating' });
  if (cfg.hostname) sys.sethostname(cfg.hostname);
  if (cfg.domainname) sys.setdomainname(cfg.domainname);
  enterRootfs(sys, cfg, plan.noPivot, mode);
  copyStep(plan.noPivot ? 'chroot' : 'pivot_root');
  applySysctls(sys, cfg.sysctl);
  if (cfg.process?.terminal) setupConsole(sys, cfg.process, fds.console!, plan.relayTerminal);
  finalizeRootfs(sys, cfg);
  if (cfg.process) checkProgram(cfg.process);
  copyStep('rootfs finished, program found');
}

/**
 * As runc: a program that cannot run is a create-time error, while the caller can still see it
 * (a startContainer hook cannot add one later; runc does not allow for that either). It is looked
 * up again once init is ready (startProgram).
 */
function checkProgram(p: ProcessConfig): void {
  try {
    process.chdir(p.cwd);
  } catch (e) {
    throw new Error(
      `process.cwd (${p.cwd}): ${(e as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'not a directory' : (e as Error).message}`,
    );
  }
  try {
    findExecutable(p.args[0], prepareEnv(p.env, p.uid), p.cwd);
  } catch (e) {
    throw new Error(`process.args[0]: ${(e as Error).message}`);
  }
}

/** What the program's execve needs of the config: its path, environment and seccomp program. */
interface Launch {
  exe: string;
  env: string[];
  seccompProgram?: Buffer;
}

function launchOf(p: ProcessConfig, plan: InitPlan): Launch {
  const env = prepareEnv(p.env, p.uid);
  const sc = plan.config.seccomp;
  return { exe: findExecutable(p.args[0], env, p.cwd), env, seccompProgram: sc && Buffer.from(sc.program, 'base64') };
}

/**
 * After start: the startContainer hooks, then the program. It is looked up at start where hooks
 * ran (they may change the rootfs), else while init waited (as runc's init, which looks it up
 * before its exec fifo): readyLaunch. Failures go to the container's stderr with a shell-like
 * exit status.
 */
function startProgram(
  sys: Libc,
  plan: InitPlan,
  fds: ChildFds,
  hookState: Record<string, unknown>,
  listenerState: string | undefined,
  readyLaunch: Launch | undefined,
): never {
  const p = plan.config.process;
  if (!p) return sys.exit(0); // a container without a process has nothing to run
  const hooks = plan.config.hooks.startContainer;
  if (hooks?.length) {
    const fifo = fds.fifo!; // (never startAtReady)
    try {
      const env = Object.fromEntries(prepareEnv(p.env, p.uid).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
      runHooks('startContainer', hooks, { ...hookState, status: 'created' }, env);
    } catch (e) {
      // Tell `start` (it holds the fifo open for this) that a hook failed: the spec makes that an error.
      fs.writeSync(fifo, FIFO_HOOK_FAILED);
      fs.writeSync(2, `tsrunc: ${(e as Error).message}\n`);
      return sys.exit(1);
    }
  }
  try {
    const launch = readyLaunch ?? launchOf(p, plan);
    const { proc, options } = programOf(p, plan, fds, launch, listenerState);
    return execProgram(sys, proc, launch.exe, options);
  } catch (e) {
    const failed = startFailure(e);
    fs.writeSync(2, failed.text);
    return sys.exit(failed.status);
  }
}

/** The program's process and execProgram's options, from the config and what was found of it. */
function programOf(
  p: ProcessConfig,
  plan: InitPlan,
  fds: ChildFds,
  launch: Launch,
  listenerState: string | undefined,
): { proc: ProcessConfig; options: ExecOptions } {
  const sc = plan.config.seccomp;
  const seccomp = sc && {
    program: launch.seccompProgram!,
    flags: sc.flags,
    listener: fds.seccompListener !== undefined ? { fd: fds.seccompListener, state: listenerState ?? '' } : undefined,
  };
  const container = { personality: plan.config.personality, memoryPolicy: plan.config.memoryPolicy };
  // execCPUAffinity is not for init (runtime-spec): only the reset to the cgroup's CPUs
  return {
    proc: { ...p, cpuAffinity: undefined },
    options: { preserveFds: plan.preserveFds, nofileSoft: plan.nofileSoft, env: launch.env, seccomp, container },
  };
}

/**
 * A failure once the container is built, on the program's way (credentials, capabilities,
 * seccomp, execve): what goes to the container's stderr, and init's exit status. As runc's init:
 * a failed execve in runc's words and alone on its line (scripts compare it); anything else says
 * it is the runtime's. 126 where the program may not run, as a shell says.
 */
export function startFailure(e: unknown): { text: string; status: number } {
  const msg = startFailureText(e);
  const text = e instanceof SysError && e.op === 'execve' ? `${msg}\n` : `tsrunc: starting the container process: ${msg}\n`;
  return { text, status: /EACCES|permission denied/.test(msg) ? 126 : 127 };
}

/** init's life in the copy. Failures before ready are told to the runtime; create reports them. */
export function initLife(sys: Libc, ch: ChildEnd, fds: ChildFds, plan: InitPlan): never {
  let hookState: Record<string, unknown>;
  let listenerState: string | undefined;
  try {
    sys.setThreadName(INIT_COMM);
    setupEarly(sys, fds, plan);
    copyStep(buildsEarly(plan) ? 'keyring, rootfs up to its cgroups' : 'keyring');
    const go = ch.receive(RUNTIME_TIMEOUT_MS, "waiting to be placed in the container's cgroups");
    if (go.type !== 'go') return sys.exit(1);
    copyStep('placed in its cgroups (go)');
    hookState = go.hookState ?? {};
    listenerState = go.listenerState;
    setup(sys, fds, plan, hookState, buildsEarly(plan), () => {
      ch.send({ type: 'hooks' });
      if (ch.receive(RUNTIME_TIMEOUT_MS, 'waiting for the create-time hooks').type !== 'continue') sys.exit(1);
    });
    const timing = copyTiming();
    ch.send(timing ? { type: 'ready', timing } : { type: 'ready' });
  } catch (e) {
    try {
      ch.send({ type: 'error', msg: e instanceof Error ? e.message : String(e) });
    } catch {
      fs.writeSync(2, `tsrunc init: ${e instanceof Error ? e.message : String(e)}\n`);
    }
    return sys.exit(1);
  }
  // Created: as PID 1 of its namespace, init only receives signals it handles; kill's default
  // signal must still end it (128+n, read from a signalfd while waiting).
  // While it waits, where no startContainer hook runs first (a failure here is met again, and
  // told, at start)
  const p = plan.config.process;
  let readyLaunch: Launch | undefined;
  try {
    if (p && !plan.config.hooks.startContainer?.length) readyLaunch = launchOf(p, plan);
  } catch {
    // startProgram looks again
  }
  if (plan.startAtReady) awaitStartOnChannel(sys, ch, fds);
  else awaitStartOnFifo(sys, fds.fifo!);
  return startProgram(sys, plan, fds, hookState, listenerState, readyLaunch);
}

/** Until `start` writes its byte. */
function awaitStartOnFifo(sys: Libc, fifo: number): void {
  const buf = Buffer.alloc(1);
  for (;;) {
    waitReadableOrExit(sys, fifo);
    const n = fs.readSync(fifo, buf, 0, 1, null);
    if (n === 1 && buf.toString('latin1') === FIFO_START) return;
    if (n !== 1) sys.exit(1);
  }
}

/** Until run's runtime says 'start' (InitPlan.startAtReady); a runtime gone (the channel's end) ends init. */
function awaitStartOnChannel(sys: Libc, ch: ChildEnd, fds: ChildFds): void {
  waitReadableOrExit(sys, fds.channel);
  try {
    if (ch.receive(RUNTIME_TIMEOUT_MS, 'waiting for start').type === 'start') return;
  } catch {
    // the runtime went away
  }
  sys.exit(1);
}

/**
 * run's init born by vfork (process/vfork-birth.ts; container/create.ts says where it fits): PID 1
 * of its pid namespace from the clone, with no runtime to talk to until it has exec'd. enter
 * does what the runtime would have done around a forked init (it is recorded, in its cgroups and
 * namespaces); then its keyring, the whole rootfs, and the program's steps up to its execve,
 * whose target it returns. built() is called once the container is built: what fails after it is
 * the program's start's (startFailure), as for a forked init after 'start'. No hooks run here
 * but poststop (the runtime's).
 */
export function initTarget(sys: Libc, fds: ChildFds, plan: InitPlan, enter: () => void, built: () => void): ProgramTarget {
  sys.setThreadName(INIT_COMM);
  enter();
  joinKeyring(sys, plan);
  copyStep('recorded, placed in its cgroups and namespaces, keyring');
  setup(sys, fds, plan, {}, false, () => {
    throw new Error('create-time hooks cannot run in an init born by vfork');
  });
  built();
  const p = plan.config.process!;
  const launch = launchOf(p, plan);
  const { proc, options } = programOf(p, plan, fds, launch, undefined);
  return prepareProgram(sys, proc, launch.exe, { ...options, signalsStayBlocked: true });
}
