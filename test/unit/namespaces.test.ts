import { describe, expect, test } from '@jest/globals';
import { inNamespaces } from '../../src/namespaces/enter';
import * as C from '../../src/sys/constants';
import { recordingLibc } from '../fakes/recording-libc';

describe('inNamespaces (fake libc)', () => {
  test('new namespaces: one unshare, then back to the saved ones; the cgroup ns is left to init', () => {
    const sys = recordingLibc();
    const r = inNamespaces(
      sys,
      [
        { type: 'pid', flag: C.CLONE_NEWPID },
        { type: 'mount', flag: C.CLONE_NEWNS },
        { type: 'cgroup', flag: C.CLONE_NEWCGROUP },
      ],
      () => 42,
    );
    expect(r).toBe(42);
    const names = sys.calls.map((c) => c[0]);
    expect(sys.calls[0]).toEqual(['unshare', C.CLONE_FS]);
    expect(sys.calls[1]).toEqual(['unshare', C.CLONE_NEWPID | C.CLONE_NEWNS]);
    // restore: mount first, then pid
    expect(sys.calls.slice(2).map((c) => [c[0], c[2]])).toEqual([
      ['setns', C.CLONE_NEWNS],
      ['setns', C.CLONE_NEWPID],
    ]);
    expect(names).not.toContain('execve');
  });
  test('a path of the wrong namespace type is refused before anything is joined', () => {
    const sys = recordingLibc({ nsType: () => C.CLONE_NEWNET });
    expect(() => inNamespaces(sys, [{ type: 'uts', flag: C.CLONE_NEWUTS, path: '/proc/self/ns/net' }], () => 1)).toThrow(
      /is not a uts namespace/,
    );
    expect(sys.calls.filter((c) => c[0] === 'setns' || c[0] === 'unshare')).toEqual([]); // nothing moved, nothing to restore
  });
  test('joined namespaces: mount joined last, and the thread returns even when fn throws', () => {
    const sys = recordingLibc({ nsType: ((fd: number) => (fd === -1 ? 0 : undefined)) as never });
    const types = new Map<string, number>([
      ['/proc/self/ns/net', C.CLONE_NEWNET],
      ['/proc/self/ns/mnt', C.CLONE_NEWNS],
    ]);
    let opened = 0;
    sys.nsType = () => [...types.values()][opened++];
    expect(() => inNamespaces(sys, [{ type: 'mount', flag: C.CLONE_NEWNS, path: '/proc/self/mnt-does-not-matter' }], () => 1)).toThrow(
      /mount path/,
    );
    const sys2 = recordingLibc();
    let i = 0;
    sys2.nsType = () => [C.CLONE_NEWNS, C.CLONE_NEWNET][i++];
    expect(() =>
      inNamespaces(
        sys2,
        [
          { type: 'mount', flag: C.CLONE_NEWNS, path: '/proc/self/ns/mnt' },
          { type: 'network', flag: C.CLONE_NEWNET, path: '/proc/self/ns/net' },
        ],
        () => {
          throw new Error('boom');
        },
      ),
    ).toThrow('boom');
    const setns = sys2.calls.filter((c) => c[0] === 'setns').map((c) => c[2]);
    expect(setns).toEqual([C.CLONE_NEWNET, C.CLONE_NEWNS, C.CLONE_NEWNS, C.CLONE_NEWNET]);
  });
});
