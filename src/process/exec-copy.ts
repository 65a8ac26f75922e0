// A process started by `tsrunc exec`: a forked copy of the runtime (process/birth.ts), born in every
// namespace of the container, the mount namespace included. Once the runtime has placed it in
// the container's cgroups it becomes the requested program. It runs in the copy's world
// (process/copy.ts).
import { startFailureText } from '../sys/errors';
import type { ContainerAttrs } from './process-attrs';
import fs = require('fs');
import type { Libc } from '../sys/libc';
import * as C from '../sys/constants';
import type { ProcessConfig, SeccompProgram } from '../ocispec/config';
import {
  adoptTerminal,
  execProgram,
  findExecutable,
  prepareEnv,
  prepareProgram,
  type ExecOptions,
  type ProgramTarget,
} from './exec-program';
import { EXEC_COMM, type ChildEnd, type ChildFds } from './channel';
import { copyStep, copyTiming } from './copy-steps';

export interface ExecPlan {
  process: ProcessConfig;
  seccomp?: SeccompProgram;
  preserveFds: number;
  nofileSoft?: string;
  /** the container's session keyring, joined by name (as runc's setns init does) */
  sessionKeyring?: string;
  container?: ContainerAttrs;
  /** the runtime relays the terminal itself (no --console-socket): plain \n, as runc's relay */
  relayTerminal?: boolean;
}

const RUNTIME_TIMEOUT_MS = 60_000;

function report(sys: Libc, ch: ChildEnd, e: unknown, status: number): never {
  try {
    ch.send({ type: 'error', msg: startFailureText(e) });
  } catch {
    // the runtime went away
  }
  return sys.exit(status);
}

/** The exec process's own steps before its program's, in either birth: keyring, terminal, program found. */
function setUp(sys: Libc, fds: ChildFds, plan: ExecPlan): string {
  // Not the caller's session keyring: the container's (runc's setns init does the same).
  if (plan.sessionKeyring) sys.joinSessionKeyring(plan.sessionKeyring);
  const p = plan.process;
  if (p.terminal) {
    const { master, slavePath } = sys.openPty();
    const slave = fs.openSync(slavePath, C.O_RDWR | C.O_NOCTTY | C.O_CLOEXEC);
    if (p.consoleSize) sys.setWinsize(slave, p.consoleSize.height, p.consoleSize.width);
    if (plan.relayTerminal) sys.clearOnlcr(master);
    sys.sendFd(fds.console!, master, slavePath);
    fs.closeSync(master);
    fs.closeSync(fds.console!);
    adoptTerminal(sys, slave);
  }
  const exe = findExecutable(p.args[0], prepareEnv(p.env, p.uid), p.cwd);
  copyStep(p.terminal ? 'keyring, terminal, program found' : 'keyring, program found');
  return exe;
}

function programOptions(plan: ExecPlan, fds: ChildFds, listenerState: string | undefined): ExecOptions {
  const sc = plan.seccomp;
  const seccomp = sc && {
    program: Buffer.from(sc.program, 'base64'),
    flags: sc.flags,
    listener: fds.seccompListener !== undefined ? { fd: fds.seccompListener, state: listenerState ?? '' } : undefined,
  };
  return { preserveFds: plan.preserveFds, nofileSoft: plan.nofileSoft, seccomp, container: plan.container };
}

export function execLife(sys: Libc, ch: ChildEnd, fds: ChildFds, plan: ExecPlan): never {
  let exe: string;
  let listenerState: string | undefined;
  try {
    sys.setThreadName(EXEC_COMM);
    const go = ch.receive(RUNTIME_TIMEOUT_MS, "waiting to be placed in the container's cgroups");
    if (go.type !== 'go') return sys.exit(1);
    copyStep('placed in its cgroups (go)');
    listenerState = go.listenerState;
    exe = setUp(sys, fds, plan);
    const timing = copyTiming();
    ch.send(timing ? { type: 'ready', timing } : { type: 'ready' });
  } catch (e) {
    return report(sys, ch, e, 1);
  }
  try {
    return execProgram(sys, plan.process, exe, programOptions(plan, fds, listenerState));
  } catch (e) {
    // The runtime waits until the channel closes at execve (it is close-on-exec): what fails
    // before that (cwd, credentials, capabilities, execve itself) is its error, not the program's.
    return report(sys, ch, e, 127);
  }
}

/**
 * The exec process born by vfork (process/vfork-birth.ts), in the container's namespaces and
 * cgroups already: its steps, and what it then execs. No seccomp listener (its state names the
 * process's pid, which the runtime learns only once it runs: such an exec forks).
 */
export function execTarget(sys: Libc, fds: ChildFds, plan: ExecPlan): ProgramTarget {
  sys.setThreadName(EXEC_COMM);
  const exe = setUp(sys, fds, plan);
  return prepareProgram(sys, plan.process, exe, { ...programOptions(plan, fds, undefined), signalsStayBlocked: true });
}
