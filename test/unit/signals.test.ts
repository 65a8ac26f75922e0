import { describe, expect, test } from '@jest/globals';
import { parseSignal } from '../../src/util/signals';
import { copySignals } from '../../src/process/copy';

describe('signal parsing (runc forms)', () => {
  test.each([
    ['SIGTERM', 15],
    ['TERM', 15],
    ['15', 15],
    ['term', 15],
    ['KILL', 9],
    ['sigkill', 9],
    ['9', 9],
    ['SIGUSR1', 10],
    ['HUP', 1],
    ['RTMIN', 34],
    ['SIGRTMIN+3', 37],
    ['RTMAX', 64],
    ['64', 64],
    ['0', 0],
  ])('%s is %d', (s, n) => {
    expect(parseSignal(s)).toBe(n);
  });
  test.each(['', 'SIGFOO', '65', '-1', 'KILL9'])('%j is refused', (s) => {
    expect(() => parseSignal(s)).toThrow(/signal/);
  });
});

describe("a forked copy's signal dispositions (process/copy.ts)", () => {
  test('SIGPIPE the parent ignores is inherited: neither reset nor set again', () => {
    expect(copySignals([2, 10, 13, 15], true)).toEqual({ reset: [2, 10, 15], ignorePipe: false });
  });
  test('SIGPIPE the parent catches is reset and then ignored', () => {
    expect(copySignals([2, 13, 15], false)).toEqual({ reset: [2, 13, 15], ignorePipe: true });
  });
  test('where /proc/self cannot tell (undefined: every signal is reset), SIGPIPE is ignored after', () => {
    expect(copySignals(undefined, false)).toEqual({ reset: undefined, ignorePipe: true });
    expect(copySignals(undefined, true)).toEqual({ reset: undefined, ignorePipe: true });
  });
});
