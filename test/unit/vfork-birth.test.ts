// process/vfork-birth.ts over the recording fake: the fake's vfork runs the child's function here,
// as the child would, and tells what it would then do (exec or exit).
import { describe, expect, test } from '@jest/globals';
import fs = require('fs');
import { recordingLibc } from '../fakes/recording-libc';
import { VforkChildFailed, bearByVfork } from '../../src/process/vfork-birth';
import { withoutAsync } from '../../src/process/copy';
import { SysError } from '../../src/sys/errors';

const target = { path: '/bin/true', argv: ['true'], envp: ['PATH=/bin'] };

describe('bearByVfork', () => {
  test('runs the set-up in the child with signals blocked and a kill timer armed, and the child execs what it returned', () => {
    const sys = recordingLibc();
    const pid = bearByVfork(sys, { body: () => target, deadlineMs: 60_000 });
    expect(pid).toBe(4242);
    const names = sys.calls.map((c) => c[0]);
    // blocked before the clone, restored after it; the timer armed in the child
    expect(names.indexOf('vfork: next')).toBeGreaterThan(names.indexOf('armKillTimer'));
    expect(names.at(-1)).toBe('restoreSignalMask');
    expect(sys.calls).toContainEqual(['armKillTimer', 60_000]);
    expect(sys.calls).toContainEqual(['vfork: next', { exec: target }]);
    expect(names).not.toContain('waitpid');
  });

  test("a set-up that throws: the child exits 1, is reaped, and the failure is the caller's", () => {
    const sys = recordingLibc();
    const why = new Error('exec: "x": executable file not found in $PATH');
    let thrown: unknown;
    try {
      bearByVfork(sys, {
        body: () => {
          throw why;
        },
        deadlineMs: 1000,
      });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(VforkChildFailed);
    expect((thrown as VforkChildFailed).cause).toBe(why);
    expect(sys.calls).toContainEqual(['vfork: next', { exit: 1 }]);
    expect(sys.calls).toContainEqual(['waitpid', 4242, false]);
    expect(sys.calls.at(-1)?.[0]).toBe('waitpid'); // after the signal mask is back
  });

  test("a failed execve comes back as execve's errno, with the program's path", () => {
    const sys = recordingLibc({
      vfork: (child) => {
        child();
        return { pid: 77, execReached: true, execErrno: 13 };
      },
    });
    let thrown: unknown;
    try {
      bearByVfork(sys, { body: () => target, deadlineMs: 1000 });
    } catch (e) {
      thrown = e;
    }
    const cause = (thrown as VforkChildFailed).cause as SysError;
    expect(cause).toBeInstanceOf(SysError);
    expect([cause.op, cause.errno, cause.path]).toEqual(['execve', 13, '/bin/true']);
    expect(sys.calls).toContainEqual(['waitpid', 77, false]);
  });

  test('a child killed on its way, before its execve, is an error naming the signal (not a program that ran)', () => {
    const sys = recordingLibc({
      vfork: () => ({ pid: 78, execReached: false }),
      waitpid: (pid) => ({ pid, status: 9 }),
    });
    expect(() => bearByVfork(sys, { body: () => target, deadlineMs: 1000 })).toThrow(
      new VforkChildFailed(new Error('the process was killed by signal 9 before its program started')),
    );
  });

  test('where vfork is not supported nothing is done: the caller forks', () => {
    const sys = recordingLibc({ vforkSupported: () => false });
    expect(bearByVfork(sys, { body: () => target, deadlineMs: 1000 })).toBeUndefined();
    expect(sys.calls).toEqual([]);
  });

  test('the set-up runs without what waits for the event loop', () => {
    const sys = recordingLibc();
    const tried: string[] = [];
    const attempt = (name: string, f: () => unknown) => {
      try {
        f();
      } catch (e) {
        tried.push(`${name}: ${(e as Error).message}`);
      }
    };
    bearByVfork(sys, {
      body: () => {
        attempt('setTimeout', () => setTimeout(() => undefined, 1));
        attempt('nextTick', () => process.nextTick(() => undefined));
        attempt('readFile', () => fs.readFile('/etc/hostname', () => undefined));
        attempt('exit', () => process.exit(3));
        return target;
      },
      deadlineMs: 1000,
    });
    expect(tried).toHaveLength(4);
    for (const t of tried) expect(t).toMatch(/is not available in a forked copy of the runtime/);
  });
});

describe('withoutAsync', () => {
  test('puts back every function it replaced, the same ones, also when its function throws', () => {
    // the functions themselves, compared by identity (none is called)
    const now = (): unknown[] => [
      setTimeout,
      setImmediate,
      queueMicrotask,
      ...['nextTick', 'exit'].map((k) => Reflect.get(process, k)),
      ...['readFile', 'stat'].map((k) => Reflect.get(fs, k)),
    ];
    const before = now();
    const promises = fs.promises;
    expect(() =>
      withoutAsync(() => {
        expect(setTimeout).not.toBe(before[0]);
        expect(() => fs.promises).toThrow(/fs.promises/);
        throw new Error('out');
      }),
    ).toThrow('out');
    now().forEach((f, i) => expect(f).toBe(before[i]));
    expect(fs.promises).toBe(promises);
    expect(withoutAsync(() => 5)).toBe(5);
  });
});
