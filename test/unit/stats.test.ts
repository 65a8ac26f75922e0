import { afterAll, describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { statsJson, MAX_U64 } from '../../src/cgroups/stats';
import { openCgroups } from '../../src/cgroups/open';
import { parseInterval } from '../../src/cli/commands/events';

// Fake cgroup trees: the shape and names must be runc's (types/events.go), which clients decode.
describe('events --stats, as runc prints them', () => {
  const tree = fs.mkdtempSync(join(os.tmpdir(), 'tsr-unit-stats-'));
  afterAll(() => fs.rmSync(tree, { recursive: true, force: true }));
  const files = (dir: string, f: Record<string, string>) => {
    fs.mkdirSync(dir, { recursive: true });
    for (const [k, v] of Object.entries(f)) fs.writeFileSync(join(dir, k), v);
  };
  test('v2: throttling in camelCase, an unlimited memory is 2^64-1, swap counts memory too, io.stat as blkio', () => {
    const dir = join(tree, 'v2');
    files(dir, {
      'cgroup.controllers': 'cpu memory pids io',
      'cpu.stat': 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 7\nnr_throttled 3\nthrottled_usec 20\n',
      'memory.current': '4096',
      'memory.max': 'max',
      'memory.peak': '8192',
      'memory.swap.current': '100',
      'memory.swap.max': 'max',
      'memory.stat': 'anon 1024\nfile 2048\n',
      'memory.events': 'low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n',
      'pids.current': '3',
      'pids.max': 'max',
      'io.stat': '8:0 rbytes=512 wbytes=1024 rios=1 wios=2 dbytes=0 dios=0\n',
    });
    const s = openCgroups({ paths: { unified: dir } }).stats() as Record<string, Record<string, unknown>>;
    expect(s.cpu).toEqual({
      usage: { total: 1500000, user: 1000000, kernel: 500000 },
      throttling: { periods: 7, throttledPeriods: 3, throttledTime: 20000 },
    });
    expect(s.memory).toMatchObject({
      cache: 2048,
      usage: { usage: 4096, limit: MAX_U64, max: 8192, failcnt: 2 },
      swap: { usage: 4196, limit: MAX_U64 },
    });
    expect(s.pids).toEqual({ current: 3, limit: 0 });
    expect(s.blkio).toEqual({
      ioServiceBytesRecursive: [
        { major: 8, minor: 0, op: 'Read', value: 512 },
        { major: 8, minor: 0, op: 'Write', value: 1024 },
      ],
      ioServicedRecursive: [
        { major: 8, minor: 0, op: 'Read', value: 1 },
        { major: 8, minor: 0, op: 'Write', value: 2 },
      ],
    });
    // Exactly 2^64-1 in the JSON (JSON.stringify cannot, and 1.8446744073709552e19 does not fit a uint64).
    expect(statsJson(s)).toContain('"limit":18446744073709551615');
  });
  test('v1: the memory entries, blkio lines and percpu usage', () => {
    const cpuacct = join(tree, 'v1', 'cpuacct');
    const memory = join(tree, 'v1', 'memory');
    const blkio = join(tree, 'v1', 'blkio');
    files(cpuacct, { 'cpuacct.usage': '900', 'cpuacct.usage_percpu': '400 500 ', 'cpuacct.stat': 'user 2\nsystem 1\n' });
    files(memory, {
      'memory.usage_in_bytes': '10',
      'memory.max_usage_in_bytes': '20',
      'memory.failcnt': '0',
      'memory.limit_in_bytes': '9223372036854771712',
      'memory.memsw.usage_in_bytes': '11',
      'memory.stat': 'cache 5\ntotal_cache 6\n',
    });
    files(blkio, { 'blkio.throttle.io_service_bytes_recursive': '8:0 Read 4096\n8:0 Write 0\nTotal 4096\n' });
    const s = openCgroups({ paths: { cpuacct, memory, blkio } }).stats() as Record<string, Record<string, unknown>>;
    expect(s.cpu).toMatchObject({ usage: { total: 900, percpu: [400, 500], user: 2e7, kernel: 1e7 } });
    expect(s.memory).toMatchObject({ cache: 6, usage: { usage: 10, max: 20, limit: 9223372036854771712n }, swap: { usage: 11 } });
    expect(s.blkio.ioServiceBytesRecursive).toEqual([
      { major: 8, minor: 0, op: 'Read', value: 4096 },
      { major: 8, minor: 0, op: 'Write', value: 0 },
    ]);
    expect(statsJson(s)).toContain('"limit":9223372036854771712');
  });
});

describe('events --interval takes Go durations', () => {
  test.each([
    ['5s', 5000],
    ['250ms', 250],
    ['1m30s', 90000],
    ['1h', 3600000],
    ['1.5s', 1500],
    ['100us', 0.1],
  ])('%s', (v, ms) => {
    expect(parseInterval(v)).toBe(ms);
  });
  test('zero and garbage are refused', () => {
    expect(() => parseInterval('0s')).toThrow(/must be greater than 0/);
    expect(() => parseInterval('5')).toThrow(/not a duration/);
    expect(() => parseInterval('5 s')).toThrow(/not a duration/);
  });
});
