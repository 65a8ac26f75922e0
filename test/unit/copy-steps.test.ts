// A forked copy's steps (process/copy-steps.ts) and the runtime's timing lines for them
// (Logger.copySteps): kept only where the runtime asked, on the runtime's clock, each line from
// the step before it.
import { afterEach, describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { copyStarts, copyStep, copyTiming, forkBegins, timeCopies } from '../../src/process/copy-steps';
import { Logger } from '../../src/util/log';

afterEach(() => {
  timeCopies(false);
  copyStarts(); // nothing kept: as in a copy of a runtime that logs no timing
});

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // a step that takes time
  }
}

describe('copy steps', () => {
  test('a copy of a runtime that logs no timing keeps nothing', () => {
    forkBegins();
    copyStarts();
    copyStep('said hello');
    expect(copyTiming()).toBeUndefined();
  });

  test("kept where asked: the fork's return first, then each step, in order, on one clock, faults counted", () => {
    timeCopies(true);
    forkBegins();
    busy(2);
    copyStarts();
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
