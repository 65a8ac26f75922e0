/** Blocks the thread for ms milliseconds (for short polls in commands that have nothing else to do). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Polls cond every few ms until it holds or timeoutMs passes; returns whether it held. */
export function waitUntil(cond: () => boolean, timeoutMs: number, stepMs = 1): boolean {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (cond()) return true;
    if (Date.now() >= end) return false;
    sleepSync(stepMs);
  }
}
