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

/**
 * Settles when pid, a child of ours (forked, or reparented to us as a subreaper), exits: woken by
 * SIGCHLD, so the event loop stays free (a foreground run relays a terminal meanwhile).
 */
export function waitForExit(sys: Libc, pid: number): Promise<ExitStatus> {
  return new Promise((resolve) => {
    // Signal listeners keep no event loop alive; this does (and would catch a lost SIGCHLD).
    const alive = setInterval(() => check(), 1000);
    const check = (): void => {
      let r: { pid: number; status: number };
      try {
        r = sys.waitpid(pid, true);
      } catch {
        r = { pid, status: 255 << 8 }; // not ours (reaped elsewhere): nothing more to learn
      }
      if (r.pid !== pid) return;
      process.removeListener('SIGCHLD', check);
      clearInterval(alive);
      resolve(decodeWaitStatus(r.status));
    };
    process.on('SIGCHLD', check);
    check();
  });
}
