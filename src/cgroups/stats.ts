import * as fs from 'fs';
import { join } from 'path';

function read(dir: string | undefined, file: string): string | undefined {
  if (!dir) return undefined;
  try {
    return fs.readFileSync(join(dir, file), 'utf8').trim();
  } catch {
    return undefined;
  }
}

const num = (s: string | undefined): number => (s === undefined || s === 'max' ? 0 : Number(s));

function keyed(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.split(/\s+/);
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}

/** Statistics of a container's cgroup in the shape runc's `events --stats` prints. */
export function collectStats(paths: Record<string, string>): Record<string, unknown> {
  const find = (c: string) => {
    const k = Object.keys(paths).find((x) => x.split(',').includes(c));
    return k ? paths[k] : undefined;
  };
  const v2 = paths.unified !== undefined && find('memory') === undefined ? paths.unified : undefined;
  if (v2) {
    const cpu = keyed(read(v2, 'cpu.stat'));
    const mem = keyed(read(v2, 'memory.stat'));
    return {
      cpu: { usage: { total: (cpu.usage_usec ?? 0) * 1000, user: (cpu.user_usec ?? 0) * 1000, kernel: (cpu.system_usec ?? 0) * 1000 },
        throttling: { periods: cpu.nr_periods ?? 0, throttled_periods: cpu.nr_throttled ?? 0, throttled_time: (cpu.throttled_usec ?? 0) * 1000 } },
      memory: { usage: { usage: num(read(v2, 'memory.current')), limit: num(read(v2, 'memory.max')) }, raw: mem },
      pids: { current: num(read(v2, 'pids.current')), limit: num(read(v2, 'pids.max')) },
    };
  }
  const cpuacct = find('cpuacct');
  const memory = find('memory');
  const cpuStat = keyed(read(find('cpu'), 'cpu.stat'));
  const acct = keyed(read(cpuacct, 'cpuacct.stat'));
  const ticks = 1e9 / 100; // USER_HZ
  return {
    cpu: {
      usage: {
        total: num(read(cpuacct, 'cpuacct.usage')),
        percpu: (read(cpuacct, 'cpuacct.usage_percpu') ?? '').split(/\s+/).filter(Boolean).map(Number),
        kernel: (acct.system ?? 0) * ticks,
        user: (acct.user ?? 0) * ticks,
      },
      throttling: { periods: cpuStat.nr_periods ?? 0, throttled_periods: cpuStat.nr_throttled ?? 0, throttled_time: cpuStat.throttled_time ?? 0 },
    },
    memory: {
      usage: {
        usage: num(read(memory, 'memory.usage_in_bytes')), max: num(read(memory, 'memory.max_usage_in_bytes')),
        failcnt: num(read(memory, 'memory.failcnt')), limit: num(read(memory, 'memory.limit_in_bytes')),
      },
      swap: {
        usage: num(read(memory, 'memory.memsw.usage_in_bytes')), max: num(read(memory, 'memory.memsw.max_usage_in_bytes')),
        failcnt: num(read(memory, 'memory.memsw.failcnt')), limit: num(read(memory, 'memory.memsw.limit_in_bytes')),
      },
      raw: keyed(read(memory, 'memory.stat')),
    },
    pids: { current: num(read(find('pids'), 'pids.current')), limit: num(read(find('pids'), 'pids.max')) },
  };
}

/** The kernel's count of OOM kills in the container's cgroup (v1 memory.oom_control, v2 memory.events). */
export function oomKills(paths: Record<string, string>): number {
  const k = Object.keys(paths).find((x) => x.split(',').includes('memory'));
  if (k) return keyed(read(paths[k], 'memory.oom_control')).oom_kill ?? 0;
  return keyed(read(paths.unified, 'memory.events')).oom_kill ?? 0;
}
