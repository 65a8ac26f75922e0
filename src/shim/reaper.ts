// The shim's reaper: every container process is a child of the shim (a forked copy), or is
// reparented to it (a child subreaper), and only the shim collects their exits. On SIGCHLD it
// reaps every child that has exited (waitpid(-1)). A process is watched in the same synchronous
// step that bore it, before the loop can run a reap: an exit nobody watches (a logging binary's,
// an orphan's) is dropped, and never handed to a later process that reuses the pid.
//
// waitpid(-1) would also take the children libuv spawns for child_process: the shim starts none
// asynchronously (hooks run through spawnSync, which waits for its own child before any SIGCHLD
// handler can run).
import type { Libc } from '../sys/libc';
import { isErrno } from '../sys/errors';

const PR_SET_CHILD_SUBREAPER = 36;

export interface Exit {
  pid: number;
  /** as a shell reports it: the code, or 128+signal */
  status: number;
  at: Date;
}

export function exitCode(waitStatus: number): number {
  const sig = waitStatus & 0x7f;
  return sig ? 128 + sig : (waitStatus >> 8) & 0xff;
}

export class Reaper {
  private readonly watchers = new Map<number, (e: Exit) => void>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly sys: Libc) {}

  start(): void {
    this.sys.prctl(PR_SET_CHILD_SUBREAPER, 1);
    process.on('SIGCHLD', () => this.reap());
    // a SIGCHLD that came while a synchronous reap in the library ran is not lost: look again now and then
    this.timer = setInterval(() => this.reap(), 1000);
    this.timer.unref();
  }

  /** Calls back once pid exits (at once, if it already has). Call it right after the birth. */
  watch(pid: number, cb: (e: Exit) => void): void {
    this.watchers.set(pid, cb);
    this.reap();
  }

  unwatch(pid: number): void {
    this.watchers.delete(pid);
  }

  reap(): void {
    for (;;) {
      let r: { pid: number; status: number };
      try {
        r = this.sys.waitpid(-1, true);
      } catch (e) {
        if (isErrno(e, 'ECHILD')) break;
        if (isErrno(e, 'EINTR')) continue;
        throw e;
      }
      if (r.pid <= 0) break;
      const exit: Exit = { pid: r.pid, status: exitCode(r.status), at: new Date() };
      const cb = this.watchers.get(r.pid);
      this.watchers.delete(r.pid);
      cb?.(exit);
    }
  }
}
