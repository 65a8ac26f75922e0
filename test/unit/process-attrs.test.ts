import { describe, expect, test } from '@jest/globals';
import {
  parseCpuAffinity,
  parseIdList,
  parseIoPriority,
  parseMemoryPolicy,
  parsePersonality,
  parseScheduler,
} from '../../src/ocispec/process-attrs';
import { applyMemoryPolicy, cpuMask, schedAttr } from '../../src/process/process-attrs';
import { offsetsText } from '../../src/namespaces/time';
import { recordingLibc } from '../fakes/recording-libc';

describe('checking (the config step)', () => {
  test('id lists: ranges, duplicates, limits', () => {
    expect(parseIdList('0-3,7,2', 1024, 'CPU')).toEqual([0, 1, 2, 3, 7]);
    expect(() => parseIdList('3-1', 1024, 'CPU')).toThrow(/backward range/);
    expect(() => parseIdList('0-9876543210', 1024, 'memory policy node')).toThrow(/invalid memory policy node 9876543210/);
    expect(() => parseIdList('x', 1024, 'CPU')).toThrow(/invalid CPU list "x"/);
  });
  test("scheduler: runc's rules", () => {
    expect(
      parseScheduler(
        { policy: 'SCHED_DEADLINE', flags: ['SCHED_FLAG_RESET_ON_FORK'], runtime: 42000, deadline: 100000, period: 1000000 },
        's',
      ),
    ).toEqual({ policy: 6, nice: 0, priority: 0, flags: 1, runtime: 42000, deadline: 100000, period: 1000000 });
    expect(() => parseScheduler({ policy: 'SCHED_BATCH', priority: 3 }, 's')).toThrow(
      /s.priority: can only be given for SCHED_FIFO or SCHED_RR/,
    );
    expect(() => parseScheduler({ policy: 'SCHED_OTHER', runtime: 1 }, 's')).toThrow(/for SCHED_DEADLINE only/);
    expect(() => parseScheduler({ policy: 'SCHED_OTHER', nice: 20 }, 's')).toThrow(/s.nice: 20/);
    expect(() => parseScheduler({ policy: 'SCHED_ISO' }, 's')).toThrow(/"SCHED_ISO" is not supported on Linux/);
  });
  test('I/O priority, CPU affinity, personality', () => {
    expect(parseIoPriority({ class: 'IOPRIO_CLASS_BE', priority: 4 }, 'p')).toBe((2 << 13) | 4);
    expect(parseIoPriority({ class: 'IOPRIO_CLASS_IDLE' }, 'p')).toBe(3 << 13);
    expect(parseCpuAffinity({ initial: '0-1', final: '' }, 'a')).toEqual({ initial: [0, 1], final: undefined });
    expect(parsePersonality({ domain: 'LINUX32' })).toBe(8);
    expect(() => parsePersonality({ domain: 'LINUX', flags: ['X'] })).toThrow(/no flags are defined/);
  });
  test("memory policy: runc's words for every refusal", () => {
    expect(parseMemoryPolicy({ mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] })).toEqual({
      mode: 2 | (1 << 15),
      nodes: [0],
    });
    expect(parseMemoryPolicy({ mode: 'MPOL_DEFAULT' })).toEqual({ mode: 0, nodes: [] });
    expect(() => parseMemoryPolicy({})).toThrow(/invalid memory policy mode/);
    expect(() => parseMemoryPolicy({ mode: 'INTERLEAVE' })).toThrow(/invalid memory policy mode "INTERLEAVE"/);
    expect(() => parseMemoryPolicy({ mode: 'MPOL_PREFERRED', nodes: '0', flags: ['badflag'] })).toThrow(
      /invalid memory policy flag "badflag"/,
    );
    expect(() => parseMemoryPolicy({ mode: 'MPOL_DEFAULT', nodes: '0-7' })).toThrow(/mode requires 0 nodes but got 8/);
  });
});

describe("applying (the kernel's encodings)", () => {
  test('set_mempolicy gets a mask and one more than its bits (0 would be EINVAL), also with no nodes', () => {
    const sys = recordingLibc();
    applyMemoryPolicy(sys, { mode: 3, nodes: [0, 2] });
    applyMemoryPolicy(sys, { mode: 0, nodes: [] });
    const [first, second] = sys.calls.filter((c) => c[0] === 'setMempolicy');
    expect(first[1]).toBe(3);
    expect([...(first[2] as Buffer)]).toEqual([5, 0, 0, 0, 0, 0, 0, 0]);
    expect(first[3]).toBe(65);
    expect(second[3]).toBe(65);
  });
  test('sched_attr and cpu masks', () => {
    const a = schedAttr({ policy: 6, nice: -1, priority: 0, flags: 1, runtime: 42000, deadline: 100000, period: 1000000 });
    expect([a.readUInt32LE(0), a.readUInt32LE(4), Number(a.readBigUInt64LE(8)), a.readInt32LE(16), Number(a.readBigUInt64LE(40))]).toEqual([
      56, 6, 1, -1, 1000000,
    ]);
    expect([...cpuMask([0, 9]).subarray(0, 2)]).toEqual([1, 2]);
    expect(cpuMask('all').every((b) => b === 0xff)).toBe(true);
  });
  test('timens_offsets text', () => {
    expect(offsetsText({ boottime: { secs: 1, nanosecs: 2 }, monotonic: { secs: -3, nanosecs: 0 } })).toBe(
      'monotonic -3 0\nboottime 1 2\n',
    );
  });
});
