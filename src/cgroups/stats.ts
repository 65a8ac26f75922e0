import * as fs from 'fs';
import { join } from 'path';

/**
 * Statistics of a container's cgroup in the shape runc's `events --stats` prints (runc's
 * types/events.go): go-runc and other clients decode them into uint64 fields, so "unlimited" is
 * 2^64-1 written out exactly (see statsJson), and the field names are runc's.
 */

/** uint64 values: a number while exact, else a bigint. */
export type U64 = number | bigint;
export const MAX_U64 = 0xffffffffffffffffn;

function read(dir: string | undefined, file: string): string | undefined {
  if (!dir) return undefined;
  try {
    return fs.readFileSync(join(dir, file), 'utf8').trim();
  } catch {
    return undefined;
  }
}

function u64(s: string | undefined, max: U64 = MAX_U64): U64 {
  if (s === undefined || s === '') return 0;
  if (s === 'max') return max;
  const n = Number(s);
  if (Number.isSafeInteger(n)) return n;
  try {
    return BigInt(s);
  } catch {
    return 0;
  }
}

function keyed(text: string | undefined): Record<string, U64> {
  const out: Record<string, U64> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.split(/\s+/);
    if (k && v !== undefined) out[k] = u64(v);
  }
  return out;
}

const n = (v: U64 | undefined): number => Number(v ?? 0);

/** "0-2,5" → [0, 1, 2, 5] */
function cpuList(s: string | undefined): number[] {
  const out: number[] = [];
  for (const part of (s ?? '').split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    for (let i = a; i <= (b ?? a); i++) out.push(i);
  }
  return out;
}

/** Huge page sizes the kernel has, as cgroup files name them ("2MB", "1GB"). */
function hugePageSizes(): string[] {
  try {
    return fs.readdirSync('/sys/kernel/mm/hugepages').map((d) => {
      const kb = Number(/hugepages-(\d+)kB/.exec(d)?.[1] ?? 0);
      return kb >= 1 << 20 ? `${kb >> 20}GB` : kb >= 1 << 10 ? `${kb >> 10}MB` : `${kb}KB`;
    });
  } catch {
    return [];
  }
}

interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: U64;
}

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

function statsV1(find: (c: string) => string | undefined): Record<string, unknown> {
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

function statsV2(dir: string): Record<string, unknown> {
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

export function collectStats(paths: Record<string, string>): Record<string, unknown> {
  const find = (c: string) => {
    const k = Object.keys(paths).find((x) => x.split(',').includes(c));
    return k ? paths[k] : undefined;
  };
  const v2 = paths.unified !== undefined && find('memory') === undefined ? paths.unified : undefined;
  return v2 ? statsV2(v2) : statsV1(find);
}

/** JSON with bigints written as the integers they are (JSON.stringify refuses them). */
export function statsJson(value: unknown): string {
  const marks: string[] = [];
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v !== 'bigint') return v;
    marks.push(v.toString());
    return `\u0000big${marks.length - 1}\u0000`;
  });
  return text.replace(/"\\u0000big(\d+)\\u0000"/g, (_m, i: string) => marks[Number(i)]);
}

/**
 * The container's OOM events so far: the kernel's count of OOM kills (v1 memory.oom_control,
 * v2 memory.events), plus, on v1, whether it is under OOM right now (with the OOM killer disabled
 * nothing is killed: the tasks wait), which runc's eventfd also reports.
 */
export function oomState(paths: Record<string, string>): { kills: number; under: boolean } {
  const k = Object.keys(paths).find((x) => x.split(',').includes('memory'));
  if (k) {
    const c = keyed(read(paths[k], 'memory.oom_control'));
    return { kills: n(c.oom_kill), under: n(c.under_oom) === 1 };
  }
  return { kills: n(keyed(read(paths.unified, 'memory.events')).oom_kill), under: false };
}
