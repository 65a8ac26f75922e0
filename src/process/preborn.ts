// A pre-born copy: the fork of a container's init made ahead of need, by a long-lived runtime (the
// shim) while it is idle, so that a Create pays no fork. It is forked as birth.ts forks a copy,
// into a pid namespace of its own (it is PID 1 there already), and waits, with nothing of any
// container yet, for the plan of the one it is to become; then it receives that container's fds,
// enters its other namespaces (as the runtime would have before forking it: joined by path, or
// new) and says hello, and from there on it is born as any init.
//
// It serves only where it is exactly what a fork now would give: a new pid namespace and no user
// or time namespace (birth.ts checks the config); the runtime's namespaces, cgroups and OOM score
// as when it was forked (the birthplace, compared when it is taken); the runtime's priority is
// given to it when it is taken (a spare shim forks at the lowest). Anything else, or a copy that
// does not answer, is dropped and the container is forked as usual.
import * as fs from 'fs';
import type { Libc } from '../sys/libc';
import * as C from '../sys/constants';
import type { NamespaceConfig } from '../ocispec/config';
import { enterNamespaces, inNamespaces } from '../namespaces/enter';
import { forkCopy } from './copy';
import { ATTEMPTS, LostCopy, awaitHello, killCopy, reapCopy } from './hello';
import { channelPair, keptFdCount, type ChildEnd, type ChildFds, type RuntimeEnd } from './channel';

/** How long a pre-born copy waits for its container before it leaves by itself (its keeper drops it sooner). */
export const PREBORN_WAIT_MS = 30 * 60_000;
const PLAN_TIMEOUT_MS = 5000;

/** In the copy: the container's life, from its fds and the plan its runtime sent (text: the copy's heap is older than the plan). */
export type PrebornLife = (ch: ChildEnd, fds: ChildFds, plan: string) => never;

export interface Preborn {
  readonly pid: number;
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

/** The namespaces, cgroups and OOM score a copy forked now would have. */
export function birthplace(): string {
  const ns = ['mnt', 'net', 'ipc', 'uts', 'cgroup', 'pid', 'pid_for_children'].map((n) => fs.readlinkSync(`/proc/self/ns/${n}`));
  return [...ns, fs.readFileSync('/proc/self/cgroup', 'latin1'), fs.readFileSync('/proc/self/oom_score_adj', 'latin1')].join('\n');
}

/** Forks a copy that waits to become a container's init; tried again (ATTEMPTS) if it does not answer. */
export function armPreborn(sys: Libc, life: PrebornLife): Preborn {
  for (let attempt = 1; ; attempt++) {
    try {
      return armOnce(sys, life);
    } catch (e) {
      if (!(e instanceof LostCopy) || attempt >= ATTEMPTS) throw e;
    }
  }
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
  try {
    awaitHello(sys, runtime, pid);
  } catch (e) {
    runtime.close();
    fs.closeSync(fdSock);
    throw e;
  }
  return { pid, channel: runtime, fdSock, birthplace: place };
}

/** In the copy: waits for a plan (or for its runtime to drop it: then it leaves), takes the container's fds and namespaces. */
function waitToBecome(sys: Libc, ch: ChildEnd, fdPeer: number, life: PrebornLife): never {
  // Named for ps (and not taken for its parent: a spare shim's command line is what tools look for)
  sys.setThreadName(PREBORN_COMM);
  process.title = PREBORN_COMM;
  ch.send({ type: 'hello' });
  let msg;
  try {
    msg = ch.receive(PREBORN_WAIT_MS, 'waiting for a container to become');
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
    pre.channel.send({ type: 'plan', namespaces: namespaces.filter((n) => n.type !== 'pid'), fds: sent.length, plan });
    for (const [fd, role] of sent) sys.sendFd(pre.fdSock, fd, role);
  } catch (e) {
    killCopy(pre.pid);
    reapCopy(sys, pre.pid);
    throw new LostCopy(`a pre-born copy: ${(e as Error).message}`);
  } finally {
    fs.closeSync(pre.fdSock);
  }
  awaitHello(sys, pre.channel, pre.pid);
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
  const until = Date.now() + 2000;
  for (;;) {
    try {
      if (sys.waitpid(pre.pid, true).pid === pre.pid) return;
    } catch {
      return; // reaped already
    }
    if (Date.now() > until) break;
    sys.pollReadable([], 5);
  }
  killCopy(pre.pid);
  reapCopy(sys, pre.pid);
}
