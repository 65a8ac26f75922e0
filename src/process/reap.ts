import type { Libc } from '../sys/libc';
import { osConstants } from '../sys/os-constants';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The status a command exits with for a process that ended so: its code, or 128+signal. */
export function exitStatus(e: ExitStatus): number {
  return e.signal ? 128 + (osConstants().signals[e.signal] ?? 0) : (e.code ?? 0);
}

function signalName(n: number): NodeJS.Signals {
  const signals = osConstants().signals;
  return (Object.keys(signals) as NodeJS.Signals[]).find((k) => signals[k] === n) ?? 'SIGKILL';
}

export function decodeWaitStatus(status: number): ExitStatus {
  const sig = status & 0x7f;
  return sig ? { code: null, signal: signalName(sig) } : { code: (status >> 8) & 0xff, signal: null };
}

/** A child's exit, watched (watchExit); stop ends the watch (the promise then never settles). */
export interface ExitWatch {
  exited: Promise<ExitStatus>;
  stop(): void;
}

/**
 * Settles when pid, a child of ours (forked, or reparented to us as a subreaper), exits: woken by
 * SIGCHLD, so the event loop stays free (a foreground run relays a terminal meanwhile). Started
 * while the runtime would only wait (the child sets up): its first timer costs a command ~0.5 ms
 * (Node's timers set up).
 */
export function watchExit(sys: Libc, pid: number): ExitWatch {
  let stop = (): void => undefined;
  const exited = new Promise<ExitStatus>((resolve) => {
    // Signal listeners keep no event loop alive; this does (and would catch a lost SIGCHLD).
    const alive = setInterval(() => check(), 1000);
    stop = (): void => {
      process.removeListener('SIGCHLD', check);
      clearInterval(alive);
    };
    const check = (): void => {
      let r: { pid: number; status: number };
      try {
        r = sys.waitpid(pid, true);
      } catch {
        r = { pid, status: 255 << 8 }; // not ours (reaped elsewhere): nothing more to learn
      }
      if (r.pid !== pid) return;
      stop();
      resolve(decodeWaitStatus(r.status));
    };
    process.on('SIGCHLD', check);
    check();
  });
  return { exited, stop: () => stop() };
}

export function waitForExit(sys: Libc, pid: number): Promise<ExitStatus> {
  return watchExit(sys, pid).exited;
}
