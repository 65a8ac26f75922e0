import type { ChildProcess } from 'child_process';
import { constants } from 'os';
import type { Duplex } from 'stream';

export interface InitExit { code: number | null; signal: NodeJS.Signals | null }

/** The runtime's view of the container's init process, however it was born. */
export interface InitHandle {
  readonly pid: number;
  /** The runtime's end of the sync socket (init's is at syncFd in init). */
  readonly sync: Duplex;
  readonly syncFd: number;
  /** Settles when init exits (only while the runtime is its parent or reaper). */
  readonly exited: Promise<InitExit>;
  /** Lets the runtime exit without waiting for init, which lives on. */
  release(): void;
}

export function exitStatus(e: InitExit): number {
  return e.signal ? 128 + (constants.signals[e.signal] ?? 0) : e.code ?? 0;
}

export function childProcessHandle(child: ChildProcess, syncFd: number): InitHandle {
  const exited = new Promise<InitExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    pid: child.pid!,
    sync: child.stdio[syncFd] as Duplex,
    syncFd,
    exited,
    release: () => {
      for (const s of child.stdio) (s as { destroy?: () => void } | null)?.destroy?.();
      child.unref();
    },
  };
}
