// The container's init process. Born by the creating runtime inside the new namespaces, it builds
// the root filesystem, reports "ready", waits on the exec fifo for `start`, then execs the user's
// program. Everything is loaded up front: after pivot_root, require() can no longer find modules.
import * as fs from 'fs';
import { libc } from '../sys';
import { readLineSync, sendMessage } from './sync-socket';
import * as C from '../sys/constants';
import { prepareRootfs, enterRootfs, finalizeRootfs } from '../rootfs/setup';
import { applySysctls } from './sysctl';
import { mountNsMode } from '../spec/config';
import { adoptTerminal, execProgram, findExecutable, prepareEnv } from './exec-program';
import { decodeBootstrap, INIT_COMM, type InitBootstrap, type InitMessage } from './bootstrap';
import { runHooks } from '../hooks/run';
import type { ProcessConfig } from '../spec/config';

const SYNC_FD = Number(process.argv[2]);
const FIFO_FD = SYNC_FD + 1;
const CONSOLE_FD = SYNC_FD + 2;

/**
 * A pty from the container's own devpts (after pivot_root, so /dev/ptmx is the container's): the
 * master goes to whoever listens on --console-socket, the slave becomes /dev/console and, at
 * exec, the program's controlling terminal and stdio.
 */
function setupConsole(p: ProcessConfig): number {
  const { master, slavePath } = sys.openPty();
  const slave = fs.openSync(slavePath, C.O_RDWR | C.O_NOCTTY | C.O_CLOEXEC);
  if (p.consoleSize) sys.setWinsize(slave, p.consoleSize.height, p.consoleSize.width);
  try {
    if (!fs.existsSync('/dev/console')) fs.writeFileSync('/dev/console', '', { mode: 0o600 });
    sys.mount(slavePath, '/dev/console', 'bind', C.MS_BIND, null);
  } catch (e) {
    throw new Error(`process.terminal: binding ${slavePath} to /dev/console: ${(e as Error).message}`);
  }
  sys.sendFd(CONSOLE_FD, master, slavePath);
  fs.closeSync(master);
  fs.closeSync(CONSOLE_FD);
  adoptTerminal(sys, slave);
  return slave;
}

const sys = libc();

const send = (msg: InitMessage): void => sendMessage(SYNC_FD, msg);

function fail(err: unknown): never {
  const msg = err instanceof Error ? err.message : String(err);
  try {
    send({ type: 'error', msg });
  } catch {
    fs.writeSync(2, `tsrunc init: ${msg}\n`);
  }
  process.exit(1);
}

function setup(boot: InitBootstrap): number {
  const cfg = boot.config;
  // A keyring of its own (runc's default): not the caller's (containerd's, the shim's) session keyring.
  if (boot.sessionKeyring) {
    try {
      sys.joinSessionKeyring(boot.sessionKeyring);
    } catch (e) {
      throw new Error(`joining a new session keyring: ${(e as Error).message} (see --no-new-keyring)`);
    }
  }
  if (boot.newCgroupNs) sys.unshare(C.CLONE_NEWCGROUP);
  if (cfg.process?.oomScoreAdj !== undefined) {
    try {
      fs.writeFileSync('/proc/self/oom_score_adj', String(cfg.process.oomScoreAdj));
    } catch (e) {
      throw new Error(`process.oomScoreAdj: ${(e as Error).message}`);
    }
  }
  const mode = mountNsMode(cfg);
  prepareRootfs(sys, cfg, {
    rootfs: cfg.rootfs,
    cgroupPaths: boot.cgroupPaths,
    cgroupMode: boot.cgroupMode,
    newCgroupNs: boot.newCgroupNs,
    idmapFds: boot.idmapFds,
  }, mode);
  if (boot.createHooks) {
    // prestart and createRuntime run in the runtime's namespaces, before pivot_root.
    send({ type: 'hooks' });
    if (readLineSync(SYNC_FD) !== 'continue') process.exit(1);
  }
  // In the container's namespaces, with host paths still reachable (before pivot_root).
  runHooks('createContainer', cfg.hooks.createContainer, { ...boot.hookState, status: 'creating' });
  if (cfg.hostname) sys.sethostname(cfg.hostname);
  if (cfg.domainname) sys.setdomainname(cfg.domainname);
  const fifoFd = FIFO_FD;
  enterRootfs(sys, cfg, boot.noPivot, mode);
  applySysctls(cfg.sysctl);
  if (cfg.process?.terminal) setupConsole(cfg.process);
  finalizeRootfs(sys, cfg);
  return fifoFd;
}

/**
 * After start: the program is looked up only now (the spec lets create succeed for a program that
 * is not there yet); failures go to the container's stderr with a shell-like exit status.
 */
function startProgram(boot: InitBootstrap): never {
  const p = boot.config.process;
  if (!p) process.exit(0); // a container without a process has nothing to run
  try {
    runHooks('startContainer', boot.config.hooks.startContainer, { ...boot.hookState, status: 'created' });
  } catch (e) {
    // Tell `start` (it holds the fifo open for this) that a hook failed: the spec makes that an error.
    fs.writeSync(FIFO_FD, 'H');
    fs.writeSync(2, `tsrunc: ${(e as Error).message}\n`);
    process.exit(1);
  }
  try {
    const exe = findExecutable(p.args[0], prepareEnv(p.env, p.uid), p.cwd);
    const seccomp = boot.config.seccomp && { program: Buffer.from(boot.config.seccomp.program, 'base64'), flags: boot.config.seccomp.flags };
    return execProgram(sys, p, exe, { preserveFds: boot.preserveFds, nofileSoft: boot.nofileSoft, seccomp });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    fs.writeSync(2, `tsrunc: starting the container process: ${msg}\n`);
    process.exit(/EACCES|permission denied/.test(msg) ? 126 : 127);
  }
}

function main(): void {
  let boot: InitBootstrap;
  try {
    sys.setThreadName(INIT_COMM);
    // Non-dumpable: no process of the container can reach our /proc entries (exe: the node
    // binary, root and cwd: the host before pivot_root) without CAP_SYS_PTRACE. execve resets it
    // for the user's program. (CVE-2019-5736 class.)
    sys.prctl(C.PR_SET_DUMPABLE, 0);
    const flags = sys.fcntl(SYNC_FD, C.F_GETFL, 0);
    sys.fcntl(SYNC_FD, C.F_SETFL, flags & ~C.O_NONBLOCK);
    const line = readLineSync(SYNC_FD);
    if (line === undefined) process.exit(1); // the runtime went away
    boot = decodeBootstrap(line);
  } catch (e) {
    fail(e);
  }
  let fifoFd: number;
  try {
    fifoFd = setup(boot);
  } catch (e) {
    fail(e);
  }
  // As PID 1 of its namespace, init only receives signals it handles: a created container must
  // still die of kill's default signal.
  const signals: [NodeJS.Signals, number][] = [['SIGTERM', 15], ['SIGINT', 2], ['SIGHUP', 1], ['SIGQUIT', 3],
    ['SIGUSR2', 12], ['SIGALRM', 14]];
  for (const [name, num] of signals) process.on(name, () => process.exit(128 + num));

  const buf = Buffer.alloc(1);
  fs.read(fifoFd, buf, 0, 1, null, (err, n) => {
    if (err || n !== 1) process.exit(1);
    startProgram(boot);
  });
  // Only now: the read above started the thread pool. After ready, a pids limit may be applied,
  // and init must not need to create another thread.
  try {
    send({ type: 'ready' });
  } catch (e) {
    fail(e);
  }
}

main();
