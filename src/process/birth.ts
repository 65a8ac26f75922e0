// How a container's process (its init, or an exec process) is born: the one place that knows.
//
// No second Node process is started. The runtime forks a copy of itself (process/copy.ts) that
// becomes the process:
//   without a user namespace: the runtime's main thread enters the container's namespaces, forks
//     (the copy is PID 1 of a new pid namespace, in every other namespace too) and goes back;
//   with one: a multi-threaded process can neither create nor join a user namespace, but the copy
//     has one thread. The copy C1 enters it (the runtime writes the maps), becomes root there and
//     enters the other namespaces, so they are owned by it. A pid namespace takes effect only for
//     children: then C1 forks C2, which is the process, reports its pid and exits (C2 is
//     reparented to the runtime, a child subreaper); without one, C1 is the process.
// A time namespace is the exception: only a single-threaded process may enter one, so the copy
// that is the process enters it itself, before its hello (namespaces/time.ts).
// A long-lived runtime may hold pre-born copies (process/preborn.ts), forked before the container
// existed: where one fits, it becomes the process instead of a fork now (it enters the container's
// namespaces itself); where none fits, or it does not answer, the fork happens as above.
// Every fork is watched: a copy that does not say hello within HELLO_TIMEOUT_MS (a lock some other
// thread held at fork time, say) is killed and the birth tried again, up to ATTEMPTS times.
import fs = require('fs');
import type { Libc } from '../sys/libc';
import * as C from '../sys/constants';
import { UserError } from '../sys/errors';
import type { NamespaceConfig, TimeOffsets } from '../ocispec/config';
import type { IdMapping } from '../ocispec/oci';
import { enterNamespaces, inNamespaces, joinBeforeUserNamespace, openNamespaceFile } from '../namespaces/enter';
import { enterTimeNamespace, writeTimeOffsets, type TimePlan } from '../namespaces/time';
import { forkCopy } from './copy';
import { clockMayMove, copyStep } from './copy-steps';
import { MAX_PLAN_BYTES, becomeContainer, type Preborn } from './preborn';
import { ATTEMPTS, LostCopy, awaitHello as awaitFirstWord, killCopy as kill, reapCopy as reap } from './hello';
import { channelPair, childFdList, keptFdCount, type ChildEnd, type ChildFds, type ChildMessage, type RuntimeEnd } from './channel';

const PR_SET_CHILD_SUBREAPER = 36;
const USERNS_TIMEOUT_MS = 10_000;

export interface BirthRequest {
  namespaces: readonly NamespaceConfig[];
  uidMappings: readonly IdMapping[];
  gidMappings: readonly IdMapping[];
  /** what the process holds besides its end of the channel */
  fds: Omit<ChildFds, 'channel'>;
  preserveFds: number;
  /** fds of the runtime (above 2) that are the process's stdin, stdout and stderr; default: the runtime's own */
  stdio?: readonly [number, number, number];
  /** process.oomScoreAdj: written by the copy at once, while its /proc entries are still its own */
  oomScoreAdj?: number;
  /** linux.timeOffsets, for a new time namespace */
  timeOffsets?: TimeOffsets;
  /** the process's life in the copy once it is born; ends in execve or _exit */
  life: (ch: ChildEnd, fds: ChildFds) => never;
  /**
   * Runs in the runtime once the process has said hello, before it is told 'go': its cgroups are
   * joined then. It may be busy meanwhile (init builds the first part of its rootfs): where a move
   * waits for a grace period, the move finds the kernel's lock primed (cgroups/prime.ts), so none,
   * which a busy CPU would stretch, is waited for.
   */
  onForked?: (pid: number) => void;
  /**
   * Runs in the runtime right after a fork, while the copy starts up and before it says hello
   * (~1.5 ms the runtime would wait otherwise): work that needs the copy to exist but not to be
   * waiting. It may run once per fork tried, and not at all for a pre-born copy or a user
   * namespace's: onForked must still do (or check it did) what it needs. A failure takes the copy away.
   */
  whileStarting?: (pid: number) => void;
  /**
   * A pre-born copy to become the process where one fits (process/preborn.ts): take gives one if
   * the runtime holds one; plan: what the copy's life is given (the copy is older than the closure).
   */
  preborn?: { take: () => Preborn | undefined; plan: () => string };
}

export interface Born {
  /** as the runtime sees it */
  readonly pid: number;
  readonly channel: RuntimeEnd;
  /** forks tried before one answered (1 for a pre-born copy) */
  readonly attempts: number;
  /** a pre-born copy became the process (no fork now) */
  readonly preborn?: boolean;
}

export function bear(sys: Libc, req: BirthRequest): Born {
  const plan = req.preborn && fitsPreborn(req) ? req.preborn.plan() : undefined;
  const pre = plan !== undefined && plan.length <= MAX_PLAN_BYTES ? req.preborn!.take() : undefined;
  if (pre) {
    try {
      return { ...fromPreborn(sys, req, pre, plan!), attempts: 1, preborn: true };
    } catch (e) {
      if (!(e instanceof LostCopy)) throw e;
      // it did not answer: a fork now, as if there had been none
    }
  }
  const userns = req.namespaces.some((n) => n.type === 'user');
  const time = timePlan(sys, req);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const b = userns ? attemptInUserNamespace(sys, req, time) : attempt1(sys, req, time);
        return { ...b, attempts: attempt };
      } catch (e) {
        if (!(e instanceof LostCopy)) throw e;
        if (attempt >= ATTEMPTS) throw new Error(`bearing the container process: ${e.message} (${ATTEMPTS} attempts)`);
      }
    }
  } finally {
    if (time && 'join' in time) fs.closeSync(time.join);
  }
}

const OFFSETS_TIMEOUT_MS = 10_000;

/** In the copy: the runtime writes the new time namespace's offsets (namespaces/time.ts). */
function askOffsets(ch: ChildEnd): void {
  // /proc/self is the host's proc here (the rootfs is not built yet): it names our host pid
  ch.send({ type: 'timens', pid: Number(fs.readlinkSync('/proc/self')) });
  if (ch.receive(OFFSETS_TIMEOUT_MS, 'waiting for the time namespace offsets').type !== 'offsets') throw new Error('no time offsets came');
}

/** In the runtime: a message from the copy, after answering any request for time offsets on the way. */
function receiveAnswering(ch: RuntimeEnd, req: BirthRequest, timeoutMs: number, what: string): ChildMessage {
  for (;;) {
    const msg = ch.receive(timeoutMs, what);
    if (msg.type !== 'timens') return msg;
    writeTimeOffsets(msg.pid, req.timeOffsets ?? {});
    ch.send({ type: 'offsets' });
  }
}

/** A time namespace to join is opened here, before any namespace changes what its path means. */
function timePlan(sys: Libc, req: BirthRequest): TimePlan | undefined {
  const ns = req.namespaces.find((n) => n.type === 'time');
  if (!ns) return undefined;
  if (ns.path === undefined) return { offsets: req.timeOffsets };
  return { join: openNamespaceFile(sys, { ...ns, path: ns.path }) };
}

/** The fds a copy keeps: the channel's and the others the process needs, and a time namespace to join. */
function keptFds(fds: ChildFds, time: TimePlan | undefined): number[] {
  return [...childFdList(fds), ...(time && 'join' in time ? [time.join] : [])];
}

/**
 * The copy that is the process, first: its time namespace (only now, single-threaded), then
 * hello. A failure here is its first word instead.
 */
function processStart(sys: Libc, ch: ChildEnd, time: TimePlan | undefined): boolean {
  if (time) {
    try {
      enterTimeNamespace(sys, time, () => askOffsets(ch), clockMayMove);
    } catch (e) {
      ch.send({ type: 'error', msg: e instanceof Error ? e.message : String(e) });
      return false;
    }
  }
  ch.send({ type: 'hello' });
  copyStep('said hello');
  return true;
}

/** The copy's first words, with any time-namespace request answered on the way. */
function awaitHello(sys: Libc, ch: RuntimeEnd, pid: number, req: BirthRequest): void {
  awaitFirstWord(sys, ch, pid, (t, w) => receiveAnswering(ch, req, t, w));
}

function fdsOf(req: BirthRequest, child: ChildEnd): ChildFds {
  return { ...req.fds, channel: child.fd };
}

function attempt1(sys: Libc, req: BirthRequest, time: TimePlan | undefined): Omit<Born, 'attempts'> {
  const { runtime, child } = channelPair(sys);
  const fds = fdsOf(req, child);
  let pid: number;
  try {
    // Inherited by the copy: no process of the container can reach its /proc entries (exe, root,
    // cwd, fds: the host's) from its first instruction on. execve resets it for the program.
    sys.prctl(C.PR_SET_DUMPABLE, 0);
    pid = forkCopy(
      sys,
      keptFdCount(req.preserveFds),
      keptFds(fds, time),
      () => {
        sys.setsid(); // its own session, as runc's init
        if (!processStart(sys, child, time)) return sys.exit(1);
        return req.life(child, fds);
      },
      (fork) => inNamespaces(sys, req.namespaces, fork),
      req.stdio,
    );
  } catch (e) {
    runtime.close();
    child.close();
    throw e;
  }
  child.close();
  orTakeAway(sys, pid, runtime, () => req.whileStarting?.(pid));
  try {
    awaitHello(sys, runtime, pid, req); // (a copy that did not answer is gone when it throws)
  } catch (e) {
    runtime.close();
    throw e;
  }
  return settle(sys, req, pid, runtime);
}

/** A pre-born copy fits a process in a new pid namespace, with nothing a fork now would do otherwise. */
function fitsPreborn(req: BirthRequest): boolean {
  const pid = req.namespaces.find((n) => n.type === 'pid');
  return (
    pid !== undefined &&
    pid.path === undefined &&
    !req.namespaces.some((n) => n.type === 'user' || n.type === 'time') &&
    req.preserveFds === 0 &&
    req.stdio !== undefined
  );
}

function fromPreborn(sys: Libc, req: BirthRequest, pre: Preborn, plan: string): Omit<Born, 'attempts'> {
  try {
    becomeContainer(sys, pre, req.namespaces, req.fds, req.stdio!, plan);
  } catch (e) {
    pre.channel.close();
    throw e;
  }
  return settle(sys, req, pre.pid, pre.channel);
}

/**
 * The runtime's work on a born copy: a failure takes the copy (and its channel) away. A copy that
 * failed on its own meanwhile (init builds the rootfs while it is placed) is why the work failed:
 * its words are the error.
 */
function orTakeAway(sys: Libc, pid: number, runtime: RuntimeEnd, work: () => void): void {
  try {
    work();
  } catch (e) {
    const said = runtime.failureSaid();
    kill(pid);
    reap(sys, pid);
    runtime.close();
    throw said !== undefined ? new UserError(said) : e;
  }
}

/** Once the process said hello: the runtime's part (cgroups, OOM score); a failure takes the process away. */
function settle(sys: Libc, req: BirthRequest, pid: number, runtime: RuntimeEnd): Omit<Born, 'attempts'> {
  orTakeAway(sys, pid, runtime, () => {
    req.onForked?.(pid);
    // From outside: the copy is non-dumpable already, and the runtime is root here.
    if (req.oomScoreAdj !== undefined) {
      try {
        fs.writeFileSync(`/proc/${pid}/oom_score_adj`, String(req.oomScoreAdj));
      } catch (e) {
        throw new Error(`process.oomScoreAdj: ${(e as Error).message}`);
      }
    }
  });
  return { pid, channel: runtime };
}

/**
 * In a user namespace, by the helper before it turns non-dumpable (/proc/self then belongs to the
 * host's root, out of the container root's reach); inherited by its child.
 */
function applyOomScoreAdj(ch: ChildEnd, value: number | undefined): boolean {
  if (value === undefined) return true;
  try {
    fs.writeFileSync('/proc/self/oom_score_adj', String(value));
    return true;
  } catch (e) {
    ch.send({ type: 'error', msg: `process.oomScoreAdj: ${(e as Error).message}` });
    return false;
  }
}

/** uid_map/gid_map contents. */
export function mapText(maps: readonly IdMapping[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

function writeMaps(pid: number, req: BirthRequest): void {
  try {
    fs.writeFileSync(`/proc/${pid}/uid_map`, mapText(req.uidMappings));
    // An unprivileged writer may map its own gid only after giving up setgroups.
    if (process.geteuid?.() !== 0) fs.writeFileSync(`/proc/${pid}/setgroups`, 'deny');
    fs.writeFileSync(`/proc/${pid}/gid_map`, mapText(req.gidMappings));
  } catch (e) {
    throw new Error(`linux.uidMappings/gidMappings: writing the user namespace's maps: ${(e as Error).message}`);
  }
}

/** C1: enters the user namespace and the rest, then is the process or forks it (C2). */
function helperLife(sys: Libc, req: BirthRequest, ch: ChildEnd, fds: ChildFds, time: TimePlan | undefined): never {
  ch.send({ type: 'hello' });
  if (!applyOomScoreAdj(ch, req.oomScoreAdj)) return sys.exit(1);
  try {
    const namespaces = joinBeforeUserNamespace(sys, req.namespaces);
    const user = req.namespaces.find((n) => n.type === 'user')!;
    if (user.path !== undefined) {
      const fd = openNamespaceFile(sys, { ...user, path: user.path });
      sys.setns(fd, C.CLONE_NEWUSER);
      fs.closeSync(fd);
    } else {
      sys.unshare(C.CLONE_NEWUSER);
      ch.send({ type: 'userns' });
      if (ch.receive(USERNS_TIMEOUT_MS, 'waiting for the user namespace maps').type !== 'maps') return sys.exit(1);
    }
    sys.setresgid(0);
    sys.setresuid(0);
    // Dumpable until now: an unprivileged runtime writes our maps. From here on the container's.
    sys.prctl(C.PR_SET_DUMPABLE, 0);
    if (!req.namespaces.some((n) => n.type === 'pid')) {
      enterNamespaces(sys, namespaces);
      if (time) enterTimeNamespace(sys, time, () => askOffsets(ch), clockMayMove);
      sys.setsid();
      ch.send({ type: 'pid', pid: sys.getpid() });
      return req.life(ch, fds);
    }
    const c2 = forkCopy(
      sys,
      keptFdCount(req.preserveFds),
      keptFds(fds, time),
      () => {
        sys.setsid();
        if (!processStart(sys, ch, time)) return sys.exit(1);
        return req.life(ch, fds);
      },
      (fork) => {
        enterNamespaces(sys, namespaces);
        return fork();
      },
    );
    ch.send({ type: 'pid', pid: c2 });
    return sys.exit(0);
  } catch (e) {
    ch.send(e instanceof LostCopy ? { type: 'lost', msg: e.message } : { type: 'error', msg: e instanceof Error ? e.message : String(e) });
    return sys.exit(1);
  }
}

function attemptInUserNamespace(sys: Libc, req: BirthRequest, time: TimePlan | undefined): Omit<Born, 'attempts'> {
  const { runtime, child } = channelPair(sys);
  const fds = fdsOf(req, child);
  // C2's parent (C1) exits at once: let C2 be reparented to us, so we can reap it.
  sys.prctl(PR_SET_CHILD_SUBREAPER, 1);
  let helper: number;
  try {
    // C2 inherits C1's stdio.
    helper = forkCopy(
      sys,
      keptFdCount(req.preserveFds),
      keptFds(fds, time),
      () => helperLife(sys, req, child, fds, time),
      undefined,
      req.stdio,
    );
  } catch (e) {
    runtime.close();
    child.close();
    throw e;
  }
  child.close();
  let pid: number;
  let c2Hello = false; // C2 may speak before C1 has told its pid
  try {
    awaitHello(sys, runtime, helper, req);
    let msg = receiveAnswering(runtime, req, USERNS_TIMEOUT_MS, 'creating the user namespace');
    if (msg.type === 'userns') {
      writeMaps(helper, req);
      runtime.send({ type: 'maps' });
      msg = receiveAnswering(runtime, req, USERNS_TIMEOUT_MS, 'entering the namespaces');
    }
    if (msg.type === 'hello') {
      c2Hello = true;
      msg = receiveAnswering(runtime, req, USERNS_TIMEOUT_MS, 'entering the namespaces');
    }
    if (msg.type === 'lost') {
      kill(helper);
      reap(sys, helper);
      throw new LostCopy(msg.msg);
    }
    if (msg.type === 'error') throw new Error(msg.msg);
    if (msg.type !== 'pid') throw new Error(`unexpected message from the user-namespace helper: ${msg.type}`);
    pid = msg.pid;
  } catch (e) {
    if (!(e instanceof LostCopy)) {
      kill(helper);
      reap(sys, helper);
    }
    runtime.close();
    throw e;
  }
  if (pid !== helper) {
    reap(sys, helper); // it exits right after telling
    if (!c2Hello) {
      try {
        awaitHello(sys, runtime, pid, req);
      } catch (e) {
        runtime.close();
        throw e;
      }
    }
  }
  orTakeAway(sys, pid, runtime, () => req.onForked?.(pid));
  return { pid, channel: runtime };
}
