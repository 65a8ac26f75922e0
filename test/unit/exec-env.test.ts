// The program's environment (process/exec-program.ts prepareEnv), as runc prepares it.
import { describe, expect, test } from '@jest/globals';
import { prepareEnv } from '../../src/process/exec-program';

describe("the program's environment", () => {
  test('a variable given twice keeps its last value, where that one stands', () => {
    expect(prepareEnv(['A=1', 'B=2', 'A=3', 'C=4', 'B=5', 'HOME=/h'], 0)).toEqual(['A=3', 'C=4', 'B=5', 'HOME=/h']);
  });

  test("names are whole: one that begins another's is its own", () => {
    expect(prepareEnv(['AB=1', 'A=2', 'A_=3', 'HOME=/h', 'AB='], 0)).toEqual(['A=2', 'A_=3', 'HOME=/h', 'AB=']);
  });

  test("HOME unset or empty is the user's passwd entry, else /", () => {
    expect(prepareEnv(['A=1'], 0)).toEqual(['A=1', 'HOME=/root']);
    expect(prepareEnv(['HOME=/x', 'A=1', 'HOME='], 0)).toEqual(['A=1', 'HOME=/root']);
    expect(prepareEnv(['A=1'], 4242421)).toEqual(['A=1', 'HOME=/']);
  });

  test('every name of a long list is kept once', () => {
    const env = Array.from({ length: 20000 }, (_, i) => `V${i}=${i}`);
    const out = prepareEnv([...env, 'V7=again', 'HOME=/h'], 0);
    expect(out).toHaveLength(20001);
    expect(out.filter((e) => e.startsWith('V7='))).toEqual(['V7=again']);
    expect(out[0]).toBe('V0=0');
  });
});
