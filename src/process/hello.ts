// A forked copy's first word, watched: a copy that does not say hello within HELLO_TIMEOUT_MS (a
// lock some other thread held at fork time, say) or dies of a signal before it does is lost, and
// the birth is tried again, up to ATTEMPTS times.
import type { Libc } from '../sys/libc';
import { ChannelClosed, ChannelTimeout, type ChildMessage, type RuntimeEnd } from './channel';

export const HELLO_TIMEOUT_MS = 5000;
export const ATTEMPTS = 3;

/** A copy that never answered, or died of a signal before it did: safe to try again. */
export class LostCopy extends Error {}

/** attempt, tried again while it loses its copy (LostCopy), up to ATTEMPTS times in all. */
export function retryLost<T>(attempt: () => T): T {
  for (let n = 1; ; n++) {
    try {
      return attempt();
    } catch (e) {
      if (!(e instanceof LostCopy) || n >= ATTEMPTS) throw e;
    }
  }
}

export function killCopy(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/**
 * Reaps a copy we killed, within 2 s: a SIGKILLed task in a frozen v1 cgroup does not die until
 * thawed, and waiting for it must not hang the runtime (it is left to whoever reaps it later).
 */
export function reapCopy(sys: Libc, pid: number): number {
  const until = Date.now() + 2000;
  try {
    for (;;) {
      const r = sys.waitpid(pid, true);
      if (r.pid === pid) return r.status;
      if (Date.now() > until) return 0;
      sys.pollReadable([], 10);
    }
  } catch {
    return 0; // not ours to reap (reparented elsewhere)
  }
}

/**
 * The copy's first words. Anything else before them is a copy lost to the fork, or a failure;
 * either way the copy is gone when this throws. receive: how the next message is read (birth
 * answers time-namespace requests on the way).
 */
export function awaitHello(
  sys: Libc,
  ch: RuntimeEnd,
  pid: number,
  receive: (timeoutMs: number, what: string) => ChildMessage = (t, w) => ch.receive(t, w),
  /** an exit before hello is a lost copy too (one forked long before: it may have left by itself) */
  anyExitIsLost = false,
): void {
  try {
    const msg = receive(HELLO_TIMEOUT_MS, 'a forked copy of the runtime');
    if (msg.type === 'error') throw new Error(msg.msg);
    if (msg.type !== 'hello') throw new Error(`unexpected first message from a forked copy: ${msg.type}`);
  } catch (e) {
    killCopy(pid);
    const status = reapCopy(sys, pid);
    if (e instanceof ChannelTimeout) throw new LostCopy(e.message);
    if (e instanceof ChannelClosed && (status & 0x7f) !== 0) throw new LostCopy(`the forked copy died of signal ${status & 0x7f}`);
    if (e instanceof ChannelClosed && anyExitIsLost) throw new LostCopy(`the forked copy exited with status ${(status >> 8) & 0xff}`);
    if (e instanceof ChannelClosed) throw new Error(`the forked copy exited with status ${(status >> 8) & 0xff} before it ran`);
    throw e;
  }
}
