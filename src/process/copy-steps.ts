// A forked copy's own steps, for the runtime's `--debug` timing lines. The copy writes no log (it
// may be inside the container's filesystem already), so where its runtime logs timing it keeps the
// time and page-fault count of each step and sends them with its 'ready'. On the runtime's clock:
// performance.now() keeps its time origin across the fork (and where the copy enters a time
// namespace, which moves its monotonic clock, the move is taken off); its page faults count from 0.
//
// From the fork to 'ready' the copy is a create's critical path (the runtime waits for it at each
// handover), and on a VM whose page faults are costly its first steps cost more than they do
// anywhere else: without these lines `--debug` showed the runtime's waits, not what filled them.
//
// Whether a copy keeps its steps is this module's state while the runtime forks it (timedForks),
// inherited by the copy with its memory: copies forked outside timedForks (a shim's pre-born ones)
// keep none.

/** A step of a copy: when it ended (the runtime's clock, ms) and the copy's page faults by then. */
export interface CopyStep {
  readonly name: string;
  readonly at: number;
  readonly faults: number;
}

/** What a copy sends: began, when its runtime set about forking it; steps[0], the fork's return in it. */
export interface CopyTiming {
  readonly began: number;
  readonly steps: readonly CopyStep[];
}

let wanted = false;
let began = 0;
/** how far this copy's monotonic clock moved from its runtime's (a time namespace entered), ms */
let moved = 0;
let steps: CopyStep[] | undefined;

/** In the runtime: fn's forks give copies that keep their steps where on (its log shows timing). */
export function timedForks<T>(on: boolean, fn: () => T): T {
  const was = wanted;
  wanted = on;
  try {
    return fn();
  } finally {
    wanted = was;
  }
}

/**
 * As a fork is set about (before the fork's no-allocation window: performance.now may compile).
 * In a copy that keeps steps and forks again (the user-namespace helper forking the process),
 * `began` stays its runtime's: the process's first step then covers the helper's work too.
 */
export function forkBegins(): void {
  if (wanted && !steps) began = performance.now();
}

/** In the copy, first thing after the fork returned in it (a child born by vfork: its first JavaScript). */
export function copyStarts(name = 'forked'): void {
  steps = wanted ? [{ name, at: now(), faults: 0 }] : undefined;
}

/** In the copy, around the setns into a time namespace: what it moves the clock by is taken off. */
export function clockMayMove(enter: () => void): void {
  if (!steps) return enter();
  const before = performance.now();
  enter();
  moved += performance.now() - before; // the setns's own microseconds go with it
}

/** In the copy: a step ends (kept only where the runtime asked for timing). */
export function copyStep(name: string): void {
  steps?.push({ name, at: now(), faults: process.resourceUsage().minorPageFault });
}

/** In the copy: what to send with 'ready', where it kept its steps. */
export function copyTiming(): CopyTiming | undefined {
  return steps && { began, steps };
}

/**
 * In the runtime, after a child born by vfork (process/vfork-birth.ts) is gone from its memory:
 * the steps it kept there, which this process now holds as its own; cleared for the next birth.
 */
export function takeVforkTiming(): CopyTiming | undefined {
  const t = copyTiming();
  steps = undefined;
  moved = 0;
  return t;
}

function now(): number {
  return performance.now() - moved;
}
