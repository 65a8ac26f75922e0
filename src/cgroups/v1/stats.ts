import { read, u64, keyed, n, cpuList, hugePageSizes, type BlkioEntry, type U64 } from '../stats';
import type { OomState } from '../manager';

// v1 statistics: each controller's files in its own hierarchy, in runc's events --stats shape.

/** v1 blkio files: "8:0 Read 4096" lines (a final "Total" line is not a device). */
function blkioEntries(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 3 || !f[0].includes(':')) continue;
    const [major, minor] = f[0].split(':').map(Number);
    out.push({ major, minor, op: f[1], value: u64(f[2]) });
  }
  return out;
}

function memoryEntryV1(dir: string | undefined, prefix: string): Record<string, U64> {
  return {
    usage: u64(read(dir, `${prefix}usage_in_bytes`)),
    max: u64(read(dir, `${prefix}max_usage_in_bytes`)),
    failcnt: u64(read(dir, `${prefix}failcnt`)),
    limit: u64(read(dir, `${prefix}limit_in_bytes`)),
  };
}

export function statsV1(find: (c: string) => string | undefined): Record<string, unknown> {
  const cpuacct = find('cpuacct');
  const memory = find('memory');
  const cpuset = find('cpuset');
  const blkio = find('blkio');
  const hugetlb = find('hugetlb');
  const cpuStat = keyed(read(find('cpu'), 'cpu.stat'));
  const acct = keyed(read(cpuacct, 'cpuacct.stat'));
  const ticks = 1e9 / 100; // USER_HZ
  const raw = keyed(read(memory, 'memory.stat'));
  // runc prefers the CFQ/BFQ files and falls back to the throttle ones.
  const blkioFile = (names: string[]) => names.map((f) => read(blkio, f)).find((t) => t !== undefined && t !== '');
  const hasCfq = read(blkio, 'blkio.io_service_bytes_recursive') !== undefined;
  const hasBfq = read(blkio, 'blkio.bfq.io_service_bytes_recursive') !== undefined;
  const pre = hasCfq ? 'blkio.' : hasBfq ? 'blkio.bfq.' : 'blkio.throttle.';
  return {
    cpu: {
      usage: {
        total: u64(read(cpuacct, 'cpuacct.usage')),
        percpu: (read(cpuacct, 'cpuacct.usage_percpu') ?? '')
          .split(/\s+/)
          .filter(Boolean)
          .map((v) => u64(v)),
        kernel: n(acct.system) * ticks,
        user: n(acct.user) * ticks,
      },
      throttling: { periods: n(cpuStat.nr_periods), throttledPeriods: n(cpuStat.nr_throttled), throttledTime: n(cpuStat.throttled_time) },
    },
    cpuset: cpuset ? { cpus: cpuList(read(cpuset, 'cpuset.cpus')), mems: cpuList(read(cpuset, 'cpuset.mems')) } : {},
    memory: {
      cache: raw.total_cache ?? raw.cache ?? 0,
      usage: memoryEntryV1(memory, 'memory.'),
      swap: memoryEntryV1(memory, 'memory.memsw.'),
      kernel: memoryEntryV1(memory, 'memory.kmem.'),
      kernelTCP: memoryEntryV1(memory, 'memory.kmem.tcp.'),
      raw,
    },
    pids: { current: u64(read(find('pids'), 'pids.current')), limit: u64(read(find('pids'), 'pids.max'), 0) },
    blkio: {
      ioServiceBytesRecursive: blkioEntries(blkioFile([`${pre}io_service_bytes_recursive`])),
      ioServicedRecursive: blkioEntries(blkioFile([`${pre}io_serviced_recursive`])),
      ioQueueRecursive: blkioEntries(blkioFile([`${pre}io_queued_recursive`])),
      ioServiceTimeRecursive: blkioEntries(blkioFile([`${pre}io_service_time_recursive`])),
      ioWaitTimeRecursive: blkioEntries(blkioFile([`${pre}io_wait_time_recursive`])),
      ioMergedRecursive: blkioEntries(blkioFile([`${pre}io_merged_recursive`])),
      ioTimeRecursive: blkioEntries(blkioFile([`${pre}time_recursive`])),
      sectorsRecursive: blkioEntries(blkioFile([`${pre}sectors_recursive`])),
    },
    hugetlb: hugetlb
      ? Object.fromEntries(
          hugePageSizes().map((size) => [
            size,
            {
              usage: u64(read(hugetlb, `hugetlb.${size}.usage_in_bytes`)),
              max: u64(read(hugetlb, `hugetlb.${size}.max_usage_in_bytes`)),
              failcnt: u64(read(hugetlb, `hugetlb.${size}.failcnt`)),
            },
          ]),
        )
      : {},
  };
}

/**
 * OOM events from memory.oom_control: the kernel's count of OOM kills, and whether tasks wait
 * under OOM now (with the OOM killer disabled nothing is killed), which runc's eventfd reports too.
 */
export function oomV1(memoryDir: string | undefined): OomState {
  const c = keyed(read(memoryDir, 'memory.oom_control'));
  return { kills: n(c.oom_kill), under: n(c.under_oom) === 1 };
}
