import fs = require('fs');
import type { CommandContext } from '../context';
import { str } from '../context';
import { UserError } from '../../sys/errors';
import { runtimeOf } from './create';
import type { Resources } from '../../ocispec/oci';

/** Bytes with runc's unit suffixes (k, m, g, t; b optional), or -1 for unlimited. */
export function parseBytes(flag: string, v: string): number {
  const m = /^(-1|\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(v.trim());
  if (!m) throw new UserError(`--${flag}: "${v}" is not a size (e.g. 512m, 1g, -1)`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return m[1] === '-1' ? -1 : Math.round(Number(m[1]) * mult);
}

function intFlag(flag: string, v: string): number {
  if (!/^-?\d+$/.test(v)) throw new UserError(`--${flag}: "${v}" is not an integer`);
  return Number(v);
}

export function resourcesFromFlags(a: CommandContext['args']): Resources {
  const r: Resources = {};
  const memory: Record<string, number> = {};
  const cpu: Record<string, number | string> = {};
  const s = (k: string) => str(a, k);
  const size = (flag: string, into: Record<string, number>, key: string) => {
    if (s(flag) !== undefined) into[key] = parseBytes(flag, s(flag)!);
  };
  const int = (flag: string, into: Record<string, number | string>, key: string) => {
    if (s(flag) !== undefined) into[key] = intFlag(flag, s(flag)!);
  };
  size('memory', memory, 'limit');
  size('memory-reservation', memory, 'reservation');
  size('memory-swap', memory, 'swap');
  size('kernel-memory', memory, 'kernel');
  size('kernel-memory-tcp', memory, 'kernelTCP');
  int('cpu-shares', cpu, 'shares');
  int('cpu-share', cpu, 'shares'); // runc's spelling
  int('cpu-period', cpu, 'period');
  int('cpu-quota', cpu, 'quota');
  int('cpu-burst', cpu, 'burst');
  int('cpu-rt-period', cpu, 'realtimePeriod');
  int('cpu-rt-runtime', cpu, 'realtimeRuntime');
  int('cpu-idle', cpu, 'idle');
  if (s('cpuset-cpus') !== undefined) cpu.cpus = s('cpuset-cpus')!;
  if (s('cpuset-mems') !== undefined) cpu.mems = s('cpuset-mems')!;
  for (const f of ['l3-cache-schema', 'mem-bw-schema']) {
    if (s(f) !== undefined) throw new UserError(`--${f}: Intel RDT is not supported by tsrunc`);
  }
  if (Object.keys(memory).length) r.memory = memory;
  if (Object.keys(cpu).length) r.cpu = cpu;
  if (s('pids-limit') !== undefined) r.pids = { limit: intFlag('pids-limit', s('pids-limit')!) };
  if (s('blkio-weight') !== undefined) r.blockIO = { weight: intFlag('blkio-weight', s('blkio-weight')!) };
  return r;
}

/** update: new linux.resources for a created, running or paused container (--resources FILE or -, or flags). */
export function run(ctx: CommandContext): number {
  const id = String(ctx.args['container-id']);
  const file = str(ctx.args, 'resources');
  let res: Resources;
  if (file !== undefined) {
    try {
      res = JSON.parse(fs.readFileSync(file === '-' ? 0 : file, 'utf8')) as Resources;
    } catch (e) {
      throw new UserError(`--resources ${file}: ${(e as Error).message}`);
    }
    if (typeof res !== 'object' || res === null || Array.isArray(res)) throw new UserError(`--resources ${file}: not a JSON object`);
  } else {
    res = resourcesFromFlags(ctx.args);
  }
  // Device rules are fixed at create (runc's update ignores them too).
  for (const w of runtimeOf(ctx).update(id, res)) ctx.log.warn(w);
  return 0;
}
