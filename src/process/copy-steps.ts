// A forked copy's own steps, for the runtime's `--debug` timing lines. The copy writes no log (it
// may be inside the container's filesystem already), so where its runtime logs timing it keeps the
// time and page-fault count of each step and sends them with its 'ready'. On the runtime's clock:
// performance.now() keeps its time origin across the fork; the copy's page faults count from 0.
//
// From the fork to 'ready' the copy is a create's critical path (the runtime waits for it at each
// handover), and on a VM whose page faults are costly its first steps cost more than they do
// anywhere else: without these lines `--debug` showed the runtime's waits, not what filled them.
//
// Whether copies keep their steps is this module's state, set by the runtime before it forks and
// inherited by the copy with its memory (a pre-born copy keeps them only where its runtime asked
// at its fork, long before its container: its first steps then show its wait).

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
let steps: CopyStep[] | undefined;

/** In the runtime: whether the copies it forks from now on keep their steps (its log shows timing). */
export function timeCopies(on: boolean): void {
  wanted = on;
}

/** In the runtime, as it sets about a fork (before the fork's no-allocation window: performance.now may compile). */
export function forkBegins(): void {
  if (wanted) began = performance.now();
}

/** In the copy, first thing after the fork returned in it. */
export function copyStarts(): void {
  steps = wanted ? [{ name: 'forked', at: performance.now(), faults: 0 }] : undefined;
}

/** In the copy: a step ends (kept only where the runtime asked for timing). */
export function copyStep(name: string): void {
  steps?.push({ name, at: performance.now(), faults: process.resourceUsage().minorPageFault });
}

/** In the copy: what to send with 'ready', where it kept its steps. */
export function copyTiming(): CopyTiming | undefined {
  return steps && { began, steps };
}
