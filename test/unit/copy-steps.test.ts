// A forked copy's steps (process/copy-steps.ts) and the runtime's timing lines for them
// (Logger.copySteps): kept only where the runtime asked, on the runtime's clock, each line from
// the step before it.
import { afterEach, describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { clockMayMove, copyStarts, copyStep, copyTiming, forkBegins, timedForks } from '../../src/process/copy-steps';
import { Logger } from '../../src/util/log';

afterEach(() => {
  copyStarts(); // nothing kept: as in a copy forked outside timedForks
});

/** What a fork inside timedForks(on) leaves in the copy: its runtime's began, then its own start. */
function forkedCopy(on: boolean, setAbout = 0): void {
  timedForks(on, () => {
    forkBegins();
    busy(setAbout);
    copyStarts();
  });
}

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // a step that takes time
  }
}

describe('copy steps', () => {
  test('a copy of a runtime that logs no timing keeps nothing, nor one forked outside timedForks', () => {
    forkedCopy(false);
    copyStep('said hello');
    expect(copyTiming()).toBeUndefined();
    forkBegins();
    copyStarts();
    expect(copyTiming()).toBeUndefined();
  });

  test("kept where asked: the fork's return first, then each step, in order, on one clock, faults counted", () => {
    forkedCopy(true, 2);
    busy(2);
    copyStep('said hello');
    copyStep('ready');
    const t = copyTiming()!;
    expect(t.steps.map((s) => s.name)).toEqual(['forked', 'said hello', 'ready']);
    expect(t.steps[0].at - t.began).toBeGreaterThanOrEqual(2);
    expect(t.steps[1].at - t.steps[0].at).toBeGreaterThanOrEqual(2);
    expect(t.steps[2].at).toBeGreaterThanOrEqual(t.steps[1].at);
    // a real copy counts from 0 at its fork; this process counts from its start
    expect(t.steps[0].faults).toBe(0);
    expect(t.steps[2].faults).toBeGreaterThanOrEqual(t.steps[1].faults);
  });

  test("a copy that forks again keeps its runtime's began (the user-namespace helper forking the process)", () => {
    forkedCopy(true);
    const runtimeBegan = copyTiming()!.began;
    busy(2);
    // the helper forks the process: a fork inside the copy, which inherits what the copy keeps
    timedForks(true, () => {
      forkBegins();
      copyStarts();
    });
    const t = copyTiming()!;
    expect(t.began).toBe(runtimeBegan);
    expect(t.steps[0].at - t.began).toBeGreaterThanOrEqual(2);
  });

  test("what entering a time namespace moves the clock by is taken off the copy's steps", () => {
    forkedCopy(true);
    copyStep('before');
    clockMayMove(() => busy(5)); // stands for the setns that moves the monotonic clock
    copyStep('after');
    const [, before, after] = copyTiming()!.steps;
    expect(after.at - before.at).toBeLessThan(2);
  });

  test("the runtime's lines: one a step, each from the one before, the first from the fork's start; none without --debug", () => {
    const dir = fs.mkdtempSync(join(os.tmpdir(), 'tsr-unit-steps-'));
    try {
      const timing = {
        began: 100,
        steps: [
          { name: 'forked', at: 104.5, faults: 0 },
          { name: 'said hello', at: 110, faults: 300 },
          { name: 'ready', at: 112.25, faults: 321 },
        ],
      };
      const quiet = join(dir, 'quiet.log');
      new Logger(quiet, 'text', false).copySteps('init', timing);
      expect(fs.existsSync(quiet)).toBe(false);

      const file = join(dir, 'debug.log');
      const log = new Logger(file, 'text', true);
      log.copySteps('init', timing);
      log.copySteps('init', undefined); // a copy that kept none
      const lines = [...fs.readFileSync(file, 'utf8').matchAll(/msg="(timing: [^"]+)"/g)].map((m) => m[1]);
      expect(lines).toEqual([
        'timing: init: forked 4.5 ms, 0 page faults (at 104.5 ms)',
        'timing: init: said hello 5.5 ms, 300 page faults (at 110.0 ms)',
        'timing: init: ready 2.3 ms, 21 page faults (at 112.3 ms)',
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
