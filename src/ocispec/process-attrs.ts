// What a process carries besides credentials, from its config to kernel values: scheduler, I/O
// priority, CPU affinity, and the container's personality and memory policy. Checked here, in the
// config step; applied in the process just before execve (process/exec-program.ts).
import type { CpuAffinity, MemoryPolicy, SchedulerConfig } from './config';
import type { Scheduler } from './oci';

const SCHED_POLICIES: Record<string, number> = {
  SCHED_OTHER: 0,
  SCHED_FIFO: 1,
  SCHED_RR: 2,
  SCHED_BATCH: 3,
  SCHED_IDLE: 5,
  SCHED_DEADLINE: 6,
};
const SCHED_FLAGS: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01,
  SCHED_FLAG_RECLAIM: 0x02,
  SCHED_FLAG_DL_OVERRUN: 0x04,
  SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};
const IOPRIO_CLASSES: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };
const MPOL_MODES: Record<string, number> = {
  MPOL_DEFAULT: 0,
  MPOL_PREFERRED: 1,
  MPOL_BIND: 2,
  MPOL_INTERLEAVE: 3,
  MPOL_LOCAL: 4,
  MPOL_PREFERRED_MANY: 5,
  MPOL_WEIGHTED_INTERLEAVE: 6,
};
const MPOL_FLAGS: Record<string, number> = { MPOL_F_NUMA_BALANCING: 1 << 13, MPOL_F_RELATIVE_NODES: 1 << 14, MPOL_F_STATIC_NODES: 1 << 15 };
export const MEMORY_POLICY_MODES: readonly string[] = Object.keys(MPOL_MODES);
export const MEMORY_POLICY_FLAGS: readonly string[] = Object.keys(MPOL_FLAGS);

/** The kernel's MAX_NUMNODES on x86_64 (CONFIG_NODES_SHIFT 10); CPUs as a 1024-bit cpu_set_t. */
export const MAX_NODES = 1024;
export const MAX_CPUS = 1024;
/** personality(2) domains runtime-spec names. */
const PERSONALITY_DOMAINS: Record<string, number> = { LINUX: 0x0000, LINUX32: 0x0008 };

/** process.scheduler, with runc's checks (its words where scripts grep them). */
export function parseScheduler(s: Scheduler, where: string): SchedulerConfig {
  const policy = SCHED_POLICIES[s.policy];
  if (policy === undefined) throw new Error(`${where}.policy: "${s.policy}" is not supported on Linux`);
  const nice = s.nice ?? 0;
  if (nice < -20 || nice > 19) throw new Error(`${where}.nice: ${nice} is not in -20..19`);
  const priority = s.priority ?? 0;
  if (priority !== 0 && s.policy !== 'SCHED_FIFO' && s.policy !== 'SCHED_RR') {
    throw new Error(`${where}.priority: can only be given for SCHED_FIFO or SCHED_RR`);
  }
  const deadline = s.policy === 'SCHED_DEADLINE';
  if (!deadline && (s.runtime || s.deadline || s.period)) {
    throw new Error(`${where}: runtime, deadline and period are for SCHED_DEADLINE only`);
  }
  let flags = 0;
  for (const f of s.flags ?? []) {
    const bit = SCHED_FLAGS[f];
    if (bit === undefined) throw new Error(`${where}.flags: unknown flag "${f}"`);
    flags |= bit;
  }
  return { policy, nice, priority, flags, runtime: s.runtime ?? 0, deadline: s.deadline ?? 0, period: s.period ?? 0 };
}

/** process.ioPriority as ioprio_set's value: class << 13 | level. */
export function parseIoPriority(p: { class: string; priority?: number }, where: string): number {
  const cls = IOPRIO_CLASSES[p.class];
  if (cls === undefined) throw new Error(`${where}.class: unknown class "${p.class}"`);
  const level = p.priority ?? 0;
  if (level < 0 || level > 7) throw new Error(`${where}.priority: ${level} is not in 0..7`);
  return (cls << 13) | level;
}

/** "0-3,7" → [0, 1, 2, 3, 7]; what is wrong is named by `what` ("CPU", "node"). */
export function parseIdList(list: string, max: number, what: string): number[] {
  const out = new Set<number>();
  for (const part of list.split(',').map((x) => x.trim())) {
    if (part === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`invalid ${what} list "${list}": "${part}" is not a number or a range`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`invalid ${what} list "${list}": ${part} is a backward range`);
    if (hi >= max) throw new Error(`invalid ${what} ${hi} in "${list}": above the kernel's limit of ${max - 1}`);
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

export function parseCpuAffinity(a: { initial?: string; final?: string }, where: string): CpuAffinity {
  const one = (v: string | undefined, k: string) => {
    if (v === undefined || v === '') return undefined;
    try {
      const cpus = parseIdList(v, MAX_CPUS, 'CPU');
      if (!cpus.length) throw new Error(`no CPU in "${v}"`);
      return cpus;
    } catch (e) {
      throw new Error(`${where}.${k}: ${(e as Error).message}`);
    }
  };
  return { initial: one(a.initial, 'initial'), final: one(a.final, 'final') };
}

/** linux.memoryPolicy; runc's words ("invalid memory policy mode", ...), which scripts grep. */
export function parseMemoryPolicy(p: { mode?: string; nodes?: string; flags?: string[] }): MemoryPolicy {
  const where = 'linux.memoryPolicy';
  if (p.mode === undefined) throw new Error(`${where}: invalid memory policy mode: none given`);
  const base = MPOL_MODES[p.mode];
  if (base === undefined) throw new Error(`${where}: invalid memory policy mode "${p.mode}"`);
  let mode = base;
  for (const f of p.flags ?? []) {
    const bit = MPOL_FLAGS[f];
    if (bit === undefined) throw new Error(`${where}: invalid memory policy flag "${f}"`);
    mode |= bit;
  }
  let nodes: number[];
  try {
    nodes = parseIdList(p.nodes ?? '', MAX_NODES, 'memory policy node');
  } catch (e) {
    throw new Error(`${where}.nodes: ${(e as Error).message}`);
  }
  if ((p.mode === 'MPOL_DEFAULT' || p.mode === 'MPOL_LOCAL') && nodes.length) {
    throw new Error(`${where}: ${p.mode} mode requires 0 nodes but got ${nodes.length}`);
  }
  if (p.mode !== 'MPOL_DEFAULT' && p.mode !== 'MPOL_LOCAL' && p.mode !== 'MPOL_PREFERRED' && !nodes.length) {
    throw new Error(`${where}: ${p.mode} mode requires nodes`);
  }
  return { mode, nodes };
}

/** linux.personality as personality(2)'s value. runtime-spec defines no flags yet. */
export function parsePersonality(p: { domain: string; flags?: string[] }): number {
  const domain = PERSONALITY_DOMAINS[p.domain];
  if (domain === undefined) throw new Error(`linux.personality.domain: unknown domain "${p.domain}"`);
  if (p.flags?.length) throw new Error(`linux.personality.flags: no flags are defined (got ${p.flags.join(', ')})`);
  return domain;
}
