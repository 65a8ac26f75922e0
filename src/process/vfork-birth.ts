// A process born by vfork: a child that shares the runtime's memory (clone CLONE_VM|CLONE_VFORK,
// sys/koffi-vfork.ts) runs its set-up in JavaScript, on the runtime's own heap, while the
// runtime's thread waits in the kernel, and then execs its program.
//
// A fork copies the page tables of the runtime's ~8 MiB of memory, and then every page either
// process writes is copied again, every page the copy reads is faulted in again, and its execve
// tears the copy down: on a VM whose page faults cost 10-20 µs that is most of an exec's cost
// (process/copy.ts). A child born by vfork has none of it: its JavaScript is the runtime's, warm,
// and its execve leaves the runtime's memory to the runtime.
//
// What the child may do is what a forked copy may (process/copy.ts: synchronous code already
// loaded, nothing that waits for the event loop, enforced the same way while it runs) and more
// narrowly, since everything it leaves in memory the runtime finds when it resumes:
//   - it must leave JavaScript by returning, never by exit or execve: sys.vfork execs (or exits)
//     once its callback has returned, so that V8's and Node's per-thread state, which the child
//     shares with the waiting thread, is whole again when that thread resumes;
//   - process-wide JavaScript state it changes is the runtime's too (what withoutAsync replaces
//     is put back); its own fds, namespaces, credentials, cwd and signal dispositions are not:
//     clone shares no more than the memory;
//   - every signal stays blocked while it runs JavaScript (Node's handlers would run in it, on
//     the runtime's memory), and is unblocked only on its way to execve, out of JavaScript.
// A child that dies inside its JavaScript (SIGKILL, the only signal it cannot block but SIGSTOP)
// leaves V8's state half-changed (a handler and frames of its own on the waiting thread's stack):
// Node then aborts the runtime (napi finds the child's callback's handle scope never closed), and
// sys.vfork would end it otherwise. So only a one-shot command takes this route, the CLI's exec, which then fails as it
// would have with its process killed; a long-lived runtime (the shim, the library) forks. A child
// killed before or after its JavaScript is an error like any other. A kernel timer kills a child
// that has not exec'd within its deadline (one stopped by SIGSTOP would hold the runtime forever).
import type { Libc } from '../sys/libc';
import { SysError } from '../sys/errors';
import { closeOthers, openFds, withoutAsync } from './copy';
import { copyStarts, copyStep, forkBegins } from './copy-steps';
import type { ProgramTarget } from './exec-program';

/** The child's set-up (or its execve: atExec) failed: cause is why; the child is reaped. */
export class VforkChildFailed extends Error {
  constructor(
    override readonly cause: unknown,
    readonly atExec = false,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

export interface VforkBirth {
  /** The child's set-up, in it, up to its program's (keeps copy steps where the runtime times them); throws where a step fails. */
  body: () => ProgramTarget;
  /** The fds below this one stay (stdio, the preserved ones); of the others, fds: the rest are closed first thing in the child. */
  keep: number;
  fds: readonly number[];
  /** How long the child may take to exec before the kernel kills it. */
  deadlineMs: number;
}

/**
 * Bears the process by vfork. Returns its pid once it runs its program; undefined where vfork is
 * not supported here (the caller forks instead, nothing done). A failure of the child's set-up (or of its
 * execve) is thrown here as VforkChildFailed, the child reaped.
 */
export function bearByVfork(sys: Libc, birth: VforkBirth): number | undefined {
  if (!sys.vforkSupported()) return undefined;
  let failure: unknown;
  let target: ProgramTarget | undefined;
  forkBegins();
  const parentFds = openFds();
  // Blocked across the clone and through the child's JavaScript (its mask is this thread's).
  const mask = sys.blockAllSignals();
  let born: { pid: number; execReached: boolean; execErrno?: number };
  try {
    born = sys.vfork(() => {
      try {
        copyStarts('born by vfork');
        sys.armKillTimer(birth.deadlineMs);
        // As a forked copy's first step (copy.ts): nothing of the runtime's but what the process
        // needs is held in the container's namespaces (the state directory's lock, the host's
        // namespaces, the caller's other fds), not even until execve closes what is close-on-exec.
        closeOthers(parentFds, birth.keep, birth.fds);
        // (the body ends in prepareProgram, which sets every handled signal's disposition back to
        // the default: Node's handlers never run in the child, its signals blocked until then)
        target = withoutAsync(birth.body);
        copyStep('credentials, capabilities, seccomp: ready to exec');
        return { exec: target };
      } catch (e) {
        failure = e;
        return { exit: 1 };
      }
    });
  } finally {
    sys.restoreSignalMask(mask);
    forgetCachedCwd();
  }
  if (failure === undefined && born.execReached && born.execErrno === undefined) return born.pid;
  const status = reapExited(sys, born.pid);
  if (failure !== undefined) throw new VforkChildFailed(failure);
  if (born.execErrno !== undefined) throw new VforkChildFailed(new SysError('execve', born.execErrno, target?.path), true);
  // killed on its way, before or after its JavaScript (inside it, sys.vfork ends this process)
  const how = (status & 0x7f) !== 0 ? `was killed by signal ${status & 0x7f}` : `exited with status ${(status >> 8) & 0xff}`;
  throw new VforkChildFailed(new Error(`the process ${how} before its program started`));
}

/**
 * Node keeps the cwd it last read (process.cwd): one the child read after its chdir would be taken
 * for ours. chdir('.') changes nothing of ours and makes Node read it again.
 */
function forgetCachedCwd(): void {
  try {
    process.chdir('.');
  } catch {
    // nothing to forget where even '.' cannot be entered
  }
}

/** The child exited already (vfork returns once it has): reaped now; its wait status. */
function reapExited(sys: Libc, pid: number): number {
  try {
    return sys.waitpid(pid, false).status;
  } catch {
    return 0; // reaped already
  }
}
