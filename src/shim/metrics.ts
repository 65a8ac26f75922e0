// The Task service's Stats: the library's statistics of a container's cgroup (runc's events
// --stats shape) as containerd's cgroups Metrics (io.containerd.cgroups.v1.Metrics on a v1 or
// hybrid host, io.containerd.cgroups.v2.Metrics on a pure v2 one), which `ctr task metrics` and
// the CRI plugin decode. The Any's type_url is the message's bare name, as runc's shim sends it.
// Field names are protobufjs's camelCase; a uint64 beyond 2^53 goes as its decimal string.

type Obj = Record<string, unknown>;

export const METRICS_V1 = 'io.containerd.cgroups.v1.Metrics';
export const METRICS_V2 = 'io.containerd.cgroups.v2.Metrics';

const u = (v: unknown): number | string => (typeof v === 'bigint' ? v.toString() : typeof v === 'number' ? v : 0);
const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : 0);
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});
const camel = (s: string): string => s.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/** memory.stat keys whose v1 Metrics field is named otherwise */
const V1_MEMORY_NAMES: Record<string, string> = {
  pgpgin: 'pg_pg_in',
  pgpgout: 'pg_pg_out',
  pgfault: 'pg_fault',
  pgmajfault: 'pg_maj_fault',
  hierarchical_memsw_limit: 'hierarchical_swap_limit',
  total_pgpgin: 'total_pg_pg_in',
  total_pgpgout: 'total_pg_pg_out',
  total_pgfault: 'total_pg_fault',
  total_pgmajfault: 'total_pg_maj_fault',
};

const V1_MEMORY_FIELDS = new Set(
  [
    'cache rss rss_huge mapped_file dirty writeback pg_pg_in pg_pg_out pg_fault pg_maj_fault inactive_anon active_anon',
    'inactive_file active_file unevictable hierarchical_memory_limit hierarchical_swap_limit total_cache total_rss',
    'total_rss_huge total_mapped_file total_dirty total_writeback total_pg_pg_in total_pg_pg_out total_pg_fault',
    'total_pg_maj_fault total_inactive_anon total_active_anon total_inactive_file total_active_file total_unevictable',
  ]
    .join(' ')
    .split(' '),
);

const V2_MEMORY_FIELDS = new Set(
  [
    'anon file kernel_stack slab sock shmem file_mapped file_dirty file_writeback anon_thp inactive_anon active_anon',
    'inactive_file active_file unevictable slab_reclaimable slab_unreclaimable pgfault pgmajfault workingset_refault',
    'workingset_activate workingset_nodereclaim pgrefill pgscan pgsteal pgactivate pgdeactivate pglazyfree pglazyfreed',
    'thp_fault_alloc thp_collapse_alloc',
  ]
    .join(' ')
    .split(' '),
);

function memoryEntry(e: unknown): Obj {
  const m = obj(e);
  return { limit: u(m.limit), usage: u(m.usage), max: u(m.max), failcnt: u(m.failcnt) };
}

function blkio(entries: unknown): Obj[] {
  return (Array.isArray(entries) ? entries : []).map((x) => {
    const e = obj(x);
    return { op: typeof e.op === 'string' ? e.op : '', device: '', major: u(e.major), minor: u(e.minor), value: u(e.value) };
  });
}

function v1(stats: Obj, oom: { kills: number; under: boolean }): Obj {
  const cpu = obj(stats.cpu);
  const usage = obj(cpu.usage);
  const thr = obj(cpu.throttling);
  const mem = obj(stats.memory);
  const memory: Obj = {
    usage: memoryEntry(mem.usage),
    swap: memoryEntry(mem.swap),
    kernel: memoryEntry(mem.kernel),
    kernelTcp: memoryEntry(mem.kernelTCP),
  };
  for (const [k, v] of Object.entries(obj(mem.raw))) {
    const field = V1_MEMORY_NAMES[k] ?? k;
    if (V1_MEMORY_FIELDS.has(field)) memory[camel(field)] = u(v);
  }
  const io = obj(stats.blkio);
  const pids = obj(stats.pids);
  return {
    // ctr's table dereferences cpu.usage and memory.usage: both are always there
    cpu: {
      usage: {
        total: u(usage.total),
        kernel: u(usage.kernel),
        user: u(usage.user),
        perCpu: (Array.isArray(usage.percpu) ? usage.percpu : []).map(u),
      },
      throttling: { periods: u(thr.periods), throttledPeriods: u(thr.throttledPeriods), throttledTime: u(thr.throttledTime) },
    },
    memory,
    pids: { current: u(pids.current), limit: u(pids.limit) },
    blkio: {
      ioServiceBytesRecursive: blkio(io.ioServiceBytesRecursive),
      ioServicedRecursive: blkio(io.ioServicedRecursive),
      ioQueuedRecursive: blkio(io.ioQueueRecursive),
      ioServiceTimeRecursive: blkio(io.ioServiceTimeRecursive),
      ioWaitTimeRecursive: blkio(io.ioWaitTimeRecursive),
      ioMergedRecursive: blkio(io.ioMergedRecursive),
      ioTimeRecursive: blkio(io.ioTimeRecursive),
      sectorsRecursive: blkio(io.sectorsRecursive),
    },
    hugetlb: Object.entries(obj(stats.hugetlb)).map(([pagesize, h]) => {
      const e = obj(h);
      return { pagesize, usage: u(e.usage), max: u(e.max), failcnt: u(e.failcnt) };
    }),
    memoryOomControl: { underOom: oom.under ? 1 : 0, oomKill: oom.kills },
  };
}

const MAX_U64 = 0xffffffffffffffffn;

/** v2's swap figures, which the library gives with memory added (as runc's v1-shaped events). */
function less(total: unknown, part: unknown): number | string {
  if (total === MAX_U64 || typeof total !== 'number' || typeof part !== 'number') return u(total);
  return Math.max(0, total - part);
}

function v2(stats: Obj, oom: { kills: number; under: boolean }): Obj {
  const cpu = obj(stats.cpu);
  const usage = obj(cpu.usage);
  const thr = obj(cpu.throttling);
  const mem = obj(stats.memory);
  const mu = obj(mem.usage);
  const swap = obj(mem.swap);
  const memory: Obj = {
    usage: u(mu.usage),
    usageLimit: u(mu.limit),
    swapUsage: less(swap.usage, mu.usage),
    swapLimit: less(swap.limit, mu.limit),
  };
  for (const [k, v] of Object.entries(obj(mem.raw))) if (V2_MEMORY_FIELDS.has(k)) memory[camel(k)] = u(v);
  const byDevice = new Map<string, Obj>();
  const io = obj(stats.blkio);
  for (const [list, read, write] of [
    [io.ioServiceBytesRecursive, 'rbytes', 'wbytes'],
    [io.ioServicedRecursive, 'rios', 'wios'],
  ] as const) {
    for (const x of Array.isArray(list) ? list : []) {
      const e = obj(x);
      const key = `${num(e.major)}:${num(e.minor)}`;
      const entry = byDevice.get(key) ?? { major: u(e.major), minor: u(e.minor) };
      entry[e.op === 'Read' ? read : write] = u(e.value);
      byDevice.set(key, entry);
    }
  }
  const pids = obj(stats.pids);
  return {
    pids: { current: u(pids.current), limit: num(pids.limit) === 0 ? MAX_U64.toString() : u(pids.limit) },
    cpu: {
      usageUsec: Math.floor(num(usage.total) / 1000),
      userUsec: Math.floor(num(usage.user) / 1000),
      systemUsec: Math.floor(num(usage.kernel) / 1000),
      nrPeriods: u(thr.periods),
      nrThrottled: u(thr.throttledPeriods),
      throttledUsec: Math.floor(num(thr.throttledTime) / 1000),
    },
    memory,
    io: { usage: [...byDevice.values()] },
    hugetlb: Object.entries(obj(stats.hugetlb)).map(([pagesize, h]) => ({ pagesize, current: u(obj(h).usage) })),
    memoryEvents: { max: u(mu.failcnt), oomKill: oom.kills },
  };
}

/** The Metrics message (its type, and the object protobufjs encodes) for a container's statistics. */
export function toMetrics(mode: 'v1' | 'v2', stats: Obj, oom: { kills: number; under: boolean }): { type: string; message: Obj } {
  return mode === 'v2' ? { type: METRICS_V2, message: v2(stats, oom) } : { type: METRICS_V1, message: v1(stats, oom) };
}
