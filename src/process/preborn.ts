// A pre-born copy: the fork of a container's init made ahead of need, by a long-lived runtime (the
// shim) while it is idle, so that a Create pays no fork. It is forked as birth.ts forks a copy,
// into a pid namespace of its own (it is PID 1 there already), and waits, with nothing of any
// container yet, for the plan of the one it is to become; then it receives that container's fds,
// enters its other namespaces (as the runtime would have before forking it: joined by path, or
// new) and says hello, and from there on it is born as any init.
//
// It serves only where it is what a fork now would give: a new pid namespace and no user or time
// namespace (birth.ts checks the config); the runtime's namespaces, cgroups, OOM score and
// rlimits as when it was forked (the birthplace, compared when it is taken); the runtime's
// priority is given to it then (a spare shim forks at the lowest), and its environment comes with
// the plan. What stays different: its start time (ps's STIME of the container's PID 1) is its
// fork's. Anything else, or a copy that does not answer, is dropped and the container is forked
// as usual.
import fs = require('fs');
import type { Libc } from '../sys/libc';
import * as C from '../sys/constants';
import type { NamespaceConfig } from '../ocispec/config';
import { enterNamespaces, inNamespaces } from '../namespaces/enter';
import { EXIT_SIGNALS, forkCopy } from './copy';
import { LostCopy, awaitHello, killCopy, reapCopy, retryLost } from './hello';
import { channelPair, keptFdCount, type ChildEnd, type ChildFds, type RuntimeEnd } from './channel';

/** How long a pre-born copy waits for its container before it leaves by itself (its keeper drops it sooner). */
export const PREBORN_WAIT_MS = 30 * 60_000;
const PLAN_TIMEOUT_MS = 5000;
/** A bigger plan could fill the socket's buffer of a copy that stopped reading: it is forked instead. */
export const MAX_PLAN_BYTES = 128 * 1024;

/** In the copy: the container's life, from its fds and the plan its runtime sent (text: the copy's heap is older than the plan). */
export type PrebornLife = (ch: ChildEnd, fds: ChildFds, plan: string) => never;

export interface Preborn {
  readonly pid: number;
  /** a pidfd of it: readable once it exited (its pid may be another process's by then) */
  readonly pidfd: number;
  readonly channel: RuntimeEnd;
  /** the runtime's end of the socket the container's fds go over */
  readonly fdSock: number;
  /** what the copy inherited that must still be the runtime's when it is taken */
  readonly birthplace: string;
}

/** A pre-born copy's name (comm and command line) while it waits. */
export const PREBORN_COMM = 'tsrunc:preborn';

const PID_NS: NamespaceConfig = { type: 'pid', flag: C.CLONE_NEWPID };
const STDIO = ['stdin', 'stdout', 'stderr'];

/** The namespaces, cgroups, OOM score and rlimits a copy forked now would have. */
export function birthplace(): string {
  const ns = ['mnt', 'net', 'ipc', 'uts', 'cgroup', 'pid', 'pid_for_children'].map((n) => fs.readlinkSync(`/proc/self/ns/${n}`));
  const files = ['cgroup', 'oom_score_adj', 'limits'].map((f) => fs.readFileSync(`/proc/self/${f}`, 'latin1'));
  return [...ns, ...files].join('\n');
}

/** True once the copy exited (or was reaped by anyone): then its pid is not to be signalled. */
export function prebornGone(sys: Libc, pre: Preborn): boolean {
  return sys.pollReadable([pre.pidfd], 0).length > 0;
}

/** Forks a copy that waits to become a container's init; tried again (ATTEMPTS) if it does not answer. */
export function armPreborn(sys: Libc, life: PrebornLife): Preborn {
  return retryLost(() => armOnce(sys, life));
}

function armOnce(sys: Libc, life: PrebornLife): Preborn {
  const place = birthplace();
  const { runtime, child } = channelPair(sys);
  const [fdSock, fdPeer] = sys.socketpair();
  let pid: number;
  try {
    sys.prctl(C.PR_SET_DUMPABLE, 0); // as birth.ts: the container's from its first instruction on
    pid = forkCopy(
      sys,
      keptFdCount(0),
      [child.fd, fdPeer],
      () => {
        sys.setsid();
        return waitToBecome(sys, child, fdPeer, life);
      },
      (fork) => inNamespaces(sys, [PID_NS], fork),
    );
  } catch (e) {
    for (const fd of [fdSock, fdPeer]) fs.closeSync(fd);
    runtime.close();
    child.close();
    throw e;
  }
  child.close();
  fs.closeSync(fdPeer);
  let pidfd: number;
  try {
    awaitHello(sys, runtime, pid);
    pidfd = sys.pidfdOpen(pid);
  } catch (e) {
    killCopy(pid); // (still our unreaped child, if awaitHello did not take it away)
    reapCopy(sys, pid);
    runtime.close();
    fs.closeSync(fdSock);
    throw e;
  }
  return { pid, pidfd, channel: runtime, fdSock, birthplace: place };
}

/**
 * In the copy: waits for a plan (or for its runtime to drop it, or a terminating signal: then it
 * leaves; such a signal must not wait, pending, for the container it would become), takes the
 * container's fds, environment and namespaces.
 */
function waitToBecome(sys: Libc, ch: ChildEnd, fdPeer: number, life: PrebornLife): never {
  // Named for ps (and not taken for its parent: a spare shim's command line is what tools look for)
  sys.setThreadName(PREBORN_COMM);
  process.title = PREBORN_COMM;
  ch.send({ type: 'hello' });
  let msg;
  try {
    const sfd = sys.signalFd(EXIT_SIGNALS);
    const ready = sys.pollReadable([ch.fd, sfd], PREBORN_WAIT_MS);
    if (!ready.includes(ch.fd)) return sys.exit(0); // a signal, or nobody came
    fs.closeSync(sfd);
    msg = ch.receive(PLAN_TIMEOUT_MS, 'waiting for a container to become');
  } catch {
    return sys.exit(0); // dropped, or its runtime is gone
  }
  if (msg.type !== 'plan') return sys.exit(1);
  const fds: ChildFds = { channel: ch.fd };
  try {
    const stdio: number[] = [];
    for (let i = 0; i < msg.fds; i++) {
      if (!sys.pollReadable([fdPeer], PLAN_TIMEOUT_MS).length) throw new Error("the container's fds did not come");
      const { fd, name } = sys.recvFd(fdPeer);
      const [role, index] = name.split(':');
      if (STDIO.includes(role)) stdio[STDIO.indexOf(role)] = fd;
      else if (role === 'fifo') fds.fifo = fd;
      else if (role === 'console') fds.console = fd;
      else if (role === 'listener') fds.seccompListener = fd;
      else if (role === 'tree') fds.trees = { ...fds.trees, [Number(index)]: fd };
      else throw new Error(`an fd of an unknown role came: ${name}`);
    }
    fs.closeSync(fdPeer);
    stdio.forEach((fd, i) => {
      sys.dup2(fd, i);
      fs.closeSync(fd);
    });
    // the runtime's environment now (hooks without an env of their own inherit it), not the one it had at the fork
    for (const k of Object.keys(process.env)) if (!(k in msg.env)) delete process.env[k];
    Object.assign(process.env, msg.env);
    enterNamespaces(sys, msg.namespaces);
  } catch (e) {
    ch.send({ type: 'error', msg: e instanceof Error ? e.message : String(e) });
    return sys.exit(1);
  }
  ch.send({ type: 'hello' });
  return life(ch, fds, msg.plan);
}

/**
 * In the runtime: tells a pre-born copy the container it becomes and waits for its hello, from
 * inside the container's namespaces. LostCopy: it did not answer (it is gone: fork one instead).
 */
export function becomeContainer(
  sys: Libc,
  pre: Preborn,
  namespaces: readonly NamespaceConfig[],
  fds: Omit<ChildFds, 'channel'>,
  stdio: readonly number[],
  plan: string,
): void {
  const sent: [number, string][] = stdio.map((fd, i) => [fd, STDIO[i]]);
  if (fds.fifo !== undefined) sent.push([fds.fifo, 'fifo']);
  if (fds.console !== undefined) sent.push([fds.console, 'console']);
  for (const [i, fd] of Object.entries(fds.trees ?? {})) sent.push([fd, `tree:${i}`]);
  if (fds.seccompListener !== undefined) sent.push([fds.seccompListener, 'listener']);
  try {
    const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
    pre.channel.send({ type: 'plan', namespaces: namespaces.filter((n) => n.type !== 'pid'), fds: sent.length, plan, env });
    for (const [fd, role] of sent) sys.sendFd(pre.fdSock, fd, role);
  } catch (e) {
    if (!prebornGone(sys, pre)) killCopy(pre.pid);
    reapCopy(sys, pre.pid);
    throw new LostCopy(`a pre-born copy: ${(e as Error).message}`);
  } finally {
    fs.closeSync(pre.fdSock);
    fs.closeSync(pre.pidfd);
  }
  awaitHello(sys, pre.channel, pre.pid, undefined, true);
}

/**
 * Lets a copy nobody took go: it leaves when its channel ends, reaped here within 2 s (or by
 * whoever reaps every child: the shim's reaper), else killed.
 */
export function dropPreborn(sys: Libc, pre: Preborn): void {
  pre.channel.close();
  try {
    fs.closeSync(pre.fdSock);
  } catch {
    // closed already
  }
  sys.pollReadable([pre.pidfd], 2000);
  const gone = prebornGone(sys, pre);
  if (!gone) killCopy(pre.pid); // alive still: the pid is its own
  fs.closeSync(pre.pidfd);
  if (!gone) reapCopy(sys, pre.pid);
  else {
    try {
      sys.waitpid(pre.pid, true);
    } catch {
      // reaped already (the shim's reaper)
    }
  }
}
