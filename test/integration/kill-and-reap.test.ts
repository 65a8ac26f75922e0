// killAndReap (src/container/destroy.ts), on real processes: the recorded process is killed and
// waited for through a pidfd (or /proc, without a Libc); a pid whose start time differs (reused)
// is left alone; nothing is left open.
import { afterEach, describe, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import { killAndReap } from '../../src/container/destroy';
import { isSameLiveProcess, procStat } from '../../src/state/proc';
import { libc } from '../../src/sys';

const sys = libc();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function sleeper(): { pid: number; startTime: string } {
  const c = spawn('sleep', ['100'], { stdio: 'ignore' });
  children.push(c);
  const pid = c.pid!;
  return { pid, startTime: procStat(pid)!.startTime };
}

const fds = (): number => fs.readdirSync('/proc/self/fd').length;

describe('killAndReap', () => {
  test('kills the recorded process and returns once it is dead, through a pidfd, leaving no fd', () => {
    const { pid, startTime } = sleeper();
    const open = fds();
    const polled: number[][] = [];
    const watching = {
      pidfdOpen: (p: number) => sys.pidfdOpen(p),
      pollReadable: (f: readonly number[], t: number) => (polled.push([...f]), sys.pollReadable(f, t)),
    };
    expect(killAndReap(pid, startTime, 5000, watching)).toBe(true);
    expect(polled).toHaveLength(1); // one wait, on the pidfd, not a /proc poll loop
    expect(isSameLiveProcess(pid, startTime)).toBe(false); // a zombie (ours to reap) or gone
    expect(fds()).toBe(open);
  });

  test('without a Libc, /proc is polled to the same end', () => {
    const { pid, startTime } = sleeper();
    expect(killAndReap(pid, startTime, 5000)).toBe(true);
    expect(isSameLiveProcess(pid, startTime)).toBe(false);
  });

  test('a pid now held by another process (its start time differs) is not signalled', () => {
    const { pid, startTime } = sleeper();
    expect(killAndReap(pid, String(Number(startTime) + 1), 5000, sys)).toBe(true);
    expect(isSameLiveProcess(pid, startTime)).toBe(true);
  });

  test('a process that is gone already is no error', () => {
    expect(killAndReap(2 ** 22 + 1, undefined, 1000, sys)).toBe(true);
  });
});
