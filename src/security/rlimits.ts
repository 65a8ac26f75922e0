import type { Libc } from '../sys/libc';
import type { Rlimit } from '../ocispec/oci';
import type { ResolvedRlimit } from '../ocispec/config';

export const RLIMITS: Record<string, number> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
};

export const RLIM_INFINITY = 0xffffffffffffffffn;

/** JSON numbers above 2^53 lose precision; anything at the top of the uint64 range means unlimited. */
export function toRlimValue(v: number): bigint {
  if (v >= 1.8446744073709552e19) return RLIM_INFINITY;
  return BigInt(Math.trunc(v));
}

export type { ResolvedRlimit };

export function resolveRlimits(rlimits: readonly Rlimit[]): ResolvedRlimit[] {
  const seen = new Set<string>();
  return rlimits.map((r, i) => {
    const resource = RLIMITS[r.type];
    if (resource === undefined) throw new Error(`process.rlimits[${i}].type: unknown rlimit "${r.type}"`);
    if (seen.has(r.type)) throw new Error(`process.rlimits[${i}].type: duplicate rlimit "${r.type}"`);
    seen.add(r.type);
    const soft = toRlimValue(r.soft);
    const hard = toRlimValue(r.hard);
    if (soft > hard) throw new Error(`process.rlimits[${i}]: soft limit ${r.soft} is greater than hard limit ${r.hard}`);
    return { resource, soft, hard, type: r.type };
  });
}

export function applyRlimits(sys: Libc, rlimits: readonly ResolvedRlimit[]): void {
  for (const r of rlimits) {
    try {
      sys.setrlimit(r.resource, r.soft, r.hard);
    } catch (e) {
      throw new Error(`setting ${r.type} (soft ${r.soft}, hard ${r.hard}): ${(e as Error).message}`);
    }
  }
}
