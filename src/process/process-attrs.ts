// Applies what ocispec/process-attrs.ts checked, in the process, before credentials change (a
// deadline scheduler and a raised I/O class need root's capabilities) and before seccomp (a
// profile may deny these calls to the program, not to its runtime).
import type { Libc } from '../sys/libc';
import type { CpuAffinity, MemoryPolicy, SchedulerConfig } from '../ocispec/config';
import { MAX_CPUS } from '../ocispec/process-attrs';

/** What execProgram applies besides the ProcessConfig's own: the container's settings. */
export interface ContainerAttrs {
  personality?: number;
  memoryPolicy?: MemoryPolicy;
}

function bitmask(ids: readonly number[], bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (const i of ids) b[i >> 3] |= 1 << (i & 7);
  return b;
}

/** A cpu_set_t: the CPUs listed, or every CPU (the kernel keeps what the cpuset allows). */
export function cpuMask(cpus: readonly number[] | 'all'): Buffer {
  return cpus === 'all' ? Buffer.alloc(MAX_CPUS / 8, 0xff) : bitmask(cpus, MAX_CPUS / 8);
}

/** struct sched_attr, SCHED_ATTR_SIZE_VER1 (56 bytes, with the util clamps unused). */
export function schedAttr(s: SchedulerConfig): Buffer {
  const b = Buffer.alloc(56);
  b.writeUInt32LE(56, 0);
  b.writeUInt32LE(s.policy, 4);
  b.writeBigUInt64LE(BigInt(s.flags), 8);
  b.writeInt32LE(s.nice, 16);
  b.writeUInt32LE(s.priority, 20);
  b.writeBigUInt64LE(BigInt(s.runtime), 24);
  b.writeBigUInt64LE(BigInt(s.deadline), 32);
  b.writeBigUInt64LE(BigInt(s.period), 40);
  return b;
}

export function applyPersonality(sys: Libc, persona: number | undefined): void {
  if (persona === undefined) return;
  try {
    sys.personality(persona);
  } catch (e) {
    throw new Error(`linux.personality: ${(e as Error).message}`);
  }
}

export function applyMemoryPolicy(sys: Libc, p: MemoryPolicy | undefined): void {
  if (!p) return;
  const maxNode = p.nodes.length ? p.nodes[p.nodes.length - 1] + 1 : 0;
  const bytes = Math.max(8, Math.ceil(maxNode / 64) * 8);
  try {
    // maxnode counts one more than the bits the kernel reads (its historical off-by-one; 0 is EINVAL)
    sys.setMempolicy(p.mode, bitmask(p.nodes, bytes), bytes * 8 + 1);
  } catch (e) {
    throw new Error(`linux.memoryPolicy: ${(e as Error).message}`);
  }
}

export function applyScheduler(sys: Libc, s: SchedulerConfig | undefined): void {
  if (!s) return;
  try {
    sys.schedSetattr(0, schedAttr(s));
  } catch (e) {
    throw new Error(`process.scheduler: ${(e as Error).message}`);
  }
}

export function applyIoPriority(sys: Libc, ioprio: number | undefined): void {
  if (ioprio === undefined) return;
  try {
    sys.ioprioSet(0, ioprio);
  } catch (e) {
    throw new Error(`process.ioPriority: ${(e as Error).message}`);
  }
}

/**
 * The CPUs the program runs on: execCPUAffinity's final set, else all the cgroup's cpuset allows
 * (as runc: not the runtime's own affinity, which `taskset` may have narrowed).
 */
export function applyFinalAffinity(sys: Libc, a: CpuAffinity | undefined): void {
  try {
    sys.schedSetaffinity(0, cpuMask(a?.final ?? 'all'));
  } catch (e) {
    if (a?.final) throw new Error(`process.execCPUAffinity.final: ${(e as Error).message}`);
    // no CPU of the full mask allowed cannot happen; anything else leaves the inherited affinity
  }
}
