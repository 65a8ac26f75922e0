import { describe, expect, test } from '@jest/globals';
import { parseSignal } from '../../src/util/signals';

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
