import { closeSync, openSync } from 'fs';
import * as C from '../sys/constants';
import { libc } from '../sys';

/**
 * Holds an exclusive flock on the container's directory while fn runs, so that create, start and
 * delete of one id never interleave. The lock dies with the process: a killed tsrunc leaves none.
 */
export function withDirLock<T>(dir: string, fn: () => T): T {
  const fd = openSync(dir, C.O_RDONLY | C.O_DIRECTORY);
  try {
    libc().flock(fd, C.LOCK_EX);
    return fn();
  } finally {
    closeSync(fd);
  }
}

/** Async variant: the lock is held until the promise settles. */
export async function withDirLockAsync<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const fd = openSync(dir, C.O_RDONLY | C.O_DIRECTORY);
  try {
    libc().flock(fd, C.LOCK_EX);
    return await fn();
  } finally {
    closeSync(fd);
  }
}
