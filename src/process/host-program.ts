// A program of the host started by a long-lived runtime (the shim's logging binaries): a forked
// copy that execs it at once. Not through child_process: its exit is the caller's to reap (the
// shim reaps every child with waitpid(-1), which libuv's process handles would never learn of).
import type { Libc } from '../sys/libc';
import { forkCopy, resetSignals } from './copy';
import { retryLost } from './hello';

const F_DUPFD_CLOEXEC = 1030;

export interface HostProgram {
  path: string;
  args: readonly string[];
  env: readonly string[];
  /** fds of this process that are the program's 0, 1 and 2 (all above 2) */
  stdio: readonly [number, number, number];
  /** fds of this process that are the program's 3, 4, … in order */
  extraFds: readonly number[];
}

/** Starts it; returns its pid (a child of this process). A failed execve is its exit status 127. */
export function startHostProgram(sys: Libc, p: HostProgram): number {
  // a copy lost to its fork (process/copy.ts) was killed before it ran anything of note
  return retryLost(() => startOnce(sys, p));
}

function startOnce(sys: Libc, p: HostProgram): number {
  return forkCopy(
    sys,
    3,
    p.extraFds,
    () => {
      // Out of the way first (above every extra fd: one may sit where another goes), then in place.
      const above = Math.max(2 + p.extraFds.length, ...p.extraFds) + 1;
      const high = p.extraFds.map((fd) => sys.fcntl(fd, F_DUPFD_CLOEXEC, above));
      high.forEach((fd, i) => sys.dup2(fd, 3 + i));
      sys.closeRange(3 + high.length, 0x7fffffff, true); // the rest goes at execve
      resetSignals(sys);
      try {
        return sys.execve(p.path, [p.path, ...p.args], [...p.env]);
      } catch {
        return sys.exit(127);
      }
    },
    undefined,
    p.stdio,
  );
}
