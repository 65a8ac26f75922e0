import fs = require('fs');
import { join } from 'path';

/**
 * Statistics of a container's cgroup in the shape runc's `events --stats` prints (runc's
 * types/events.go): go-runc and other clients decode them into uint64 fields, so "unlimited" is
 * 2^64-1 written out exactly (see statsJson), and the field names are runc's.
 */

/** uint64 values: a number while exact, else a bigint. */
export type U64 = number | bigint;
export const MAX_U64 = 0xffffffffffffffffn;

export function read(dir: string | undefined, file: string): string | undefined {
  if (!dir) return undefined;
  try {
    return fs.readFileSync(join(dir, file), 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function u64(s: string | undefined, max: U64 = MAX_U64): U64 {
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

export function keyed(text: string | undefined): Record<string, U64> {
  const out: Record<string, U64> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.split(/\s+/);
    if (k && v !== undefined) out[k] = u64(v);
  }
  return out;
}

export const n = (v: U64 | undefined): number => Number(v ?? 0);

/** "0-2,5" → [0, 1, 2, 5] */
export function cpuList(s: string | undefined): number[] {
  const out: number[] = [];
  for (const part of (s ?? '').split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    for (let i = a; i <= (b ?? a); i++) out.push(i);
  }
  return out;
}

/** Huge page sizes the kernel has, as cgroup files name them ("2MB", "1GB"). */
export function hugePageSizes(): string[] {
  try {
    return fs.readdirSync('/sys/kernel/mm/hugepages').map((d) => {
      const kb = Number(/hugepages-(\d+)kB/.exec(d)?.[1] ?? 0);
      return kb >= 1 << 20 ? `${kb >> 20}GB` : kb >= 1 << 10 ? `${kb >> 10}MB` : `${kb}KB`;
    });
  } catch {
    return [];
  }
}

export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: U64;
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
