import { read, u64, keyed, n, cpuList, hugePageSizes, MAX_U64, type BlkioEntry, type U64 } from '../stats';
import type { OomState } from '../manager';

// v2 statistics: the unified cgroup's files, in runc's events --stats shape (v1's field names).

export function statsV2(dir: string): Record<string, unknown> {
  const cpu = keyed(read(dir, 'cpu.stat'));
  const raw = keyed(read(dir, 'memory.stat'));
  const usage = u64(read(dir, 'memory.current'));
  const limit = u64(read(dir, 'memory.max'));
  const swapUsage = u64(read(dir, 'memory.swap.current'));
  const swapLimit = u64(read(dir, 'memory.swap.max'));
  // As runc: v1 reported memory+swap, so v2's swap figures are given with memory added.
  const add = (a: U64, b: U64): U64 => (a === MAX_U64 || b === MAX_U64 ? MAX_U64 : u64(String(BigInt(a) + BigInt(b))));
  const io: BlkioEntry[][] = [[], []];
  for (const line of (read(dir, 'io.stat') ?? '').split('\n')) {
    const [dev, ...kv] = line.trim().split(/\s+/);
    if (!dev?.includes(':')) continue;
    const [major, minor] = dev.split(':').map(Number);
    const v = Object.fromEntries(kv.map((p) => p.split('=')).map(([k, x]) => [k, u64(x)]));
    io[0].push({ major, minor, op: 'Read', value: v.rbytes ?? 0 }, { major, minor, op: 'Write', value: v.wbytes ?? 0 });
    io[1].push({ major, minor, op: 'Read', value: v.rios ?? 0 }, { major, minor, op: 'Write', value: v.wios ?? 0 });
  }
  const hugetlb = (read(dir, 'cgroup.controllers') ?? '').split(/\s+/).includes('hugetlb');
  return {
    cpu: {
      usage: { total: n(cpu.usage_usec) * 1000, user: n(cpu.user_usec) * 1000, kernel: n(cpu.system_usec) * 1000 },
      throttling: { periods: n(cpu.nr_periods), throttledPeriods: n(cpu.nr_throttled), throttledTime: n(cpu.throttled_usec) * 1000 },
    },
    cpuset: { cpus: cpuList(read(dir, 'cpuset.cpus.effective')), mems: cpuList(read(dir, 'cpuset.mems.effective')) },
    memory: {
      cache: raw.file ?? 0,
      usage: { usage, limit, max: u64(read(dir, 'memory.peak')), failcnt: keyed(read(dir, 'memory.events')).max ?? 0 },
      swap: { usage: add(swapUsage, usage), limit: add(swapLimit, limit), failcnt: keyed(read(dir, 'memory.swap.events')).max ?? 0 },
      raw,
    },
    pids: { current: u64(read(dir, 'pids.current')), limit: u64(read(dir, 'pids.max'), 0) },
    blkio: { ioServiceBytesRecursive: io[0], ioServicedRecursive: io[1] },
    hugetlb: hugetlb
      ? Object.fromEntries(
          hugePageSizes().map((size) => [
            size,
            {
              usage: u64(read(dir, `hugetlb.${size}.current`)),
              failcnt: keyed(read(dir, `hugetlb.${size}.events`)).max ?? 0,
            },
          ]),
        )
      : {},
  };
}

/** OOM kills from memory.events (v2 has no "under OOM" state: its OOM killer cannot be turned off). */
export function oomV2(dir: string | undefined): OomState {
  return { kills: n(keyed(read(dir, 'memory.events')).oom_kill), under: false };
}
