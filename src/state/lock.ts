import { closeSync, openSync } from 'fs';
import { basename } from 'path';
import * as C from '../sys/constants';
import type { Libc } from '../sys/libc';
import { ContainerBusyError, isErrno } from '../sys/errors';
import { sleepSync } from '../util/wait';

/** How long a command waits for another one on the same container (create holds it throughout). */
export const LOCK_TIMEOUT_MS = 120_000;

/**
 * Holds an exclusive flock on the container's directory while fn runs, so that create, start and
 * delete of one id never interleave. The lock dies with the process: a killed tsrunc leaves none.
 * Waiting for it has a deadline: a holder stuck for good (a hook without a timeout) is reported.
 */
export function withDirLock<T>(sys: Libc, dir: string, fn: () => T, timeoutMs = LOCK_TIMEOUT_MS): T {
  const fd = openSync(dir, C.O_RDONLY | C.O_DIRECTORY | C.O_CLOEXEC);
  try {
    const deadline = Date.now() + timeoutMs;
    for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
      try {
        sys.flock(fd, C.LOCK_EX | C.LOCK_NB);
        break;
      } catch (e) {
        if (!isErrno(e, 'EWOULDBLOCK') && !isErrno(e, 'EAGAIN')) throw e;
        if (Date.now() >= deadline) {
          throw new ContainerBusyError(
            `container "${basename(dir)}" is busy: another tsrunc command has held it for ${timeoutMs / 1000}s`,
            basename(dir),
          );
        }
        sleepSync(pause);
      }
    }
    return fn();
  } finally {
    closeSync(fd);
  }
}
