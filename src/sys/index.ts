import type { Libc } from './libc';

let current: Libc | undefined;

/** The process-wide libc binding, loaded on first use so commands that need none don't pay for koffi. */
export function libc(): Libc {
  if (!current) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { makeKoffiLibc } = require('./koffi-libc') as typeof import('./koffi-libc');
    current = makeKoffiLibc();
  }
  return current;
}

/** The binding if a command loaded it, without loading it. */
export function loadedLibc(): Libc | undefined {
  return current;
}

/** Tests install a fake here. */
export function setLibc(impl: Libc | undefined): void {
  current = impl;
}

export type { Libc };
