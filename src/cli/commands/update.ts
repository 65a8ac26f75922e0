import * as fs from 'fs';
import type { CommandContext } from '../context';
import { str } from '../context';
import { UserError } from '../../sys/errors';
import { StateStore, deriveStatus } from '../../state/store';
import { withDirLock } from '../../state/lock';
import { applyResources } from '../../cgroups/manager';
import type { Resources } from '../../spec/oci';

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
  if (s('memory') !== undefined) memory.limit = parseBytes('memory', s('memory')!);
  if (s('memory-reservation') !== undefined) memory.reservation = parseBytes('memory-reservation', s('memory-reservation')!);
  if (s('memory-swap') !== undefined) memory.swap = parseBytes('memory-swap', s('memory-swap')!);
  if (s('cpu-shares') !== undefined) cpu.shares = intFlag('cpu-shares', s('cpu-shares')!);
  if (s('cpu-period') !== undefined) cpu.period = intFlag('cpu-period', s('cpu-period')!);
  if (s('cpu-quota') !== undefined) cpu.quota = intFlag('cpu-quota', s('cpu-quota')!);
  if (s('cpuset-cpus') !== undefined) cpu.cpus = s('cpuset-cpus')!;
  if (s('cpuset-mems') !== undefined) cpu.mems = s('cpuset-mems')!;
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
  delete res.devices;
  const store = new StateStore(ctx.root);
  withDirLock(store.dir(id), () => {
    const st = store.load(id);
    const status = deriveStatus(st);
    if (status === 'stopped' || !st.cgroup) throw new UserError(`cannot update container "${id}": it is ${status}`);
    const mode = st.cgroup.paths.unified !== undefined && Object.keys(st.cgroup.paths).length === 1 ? 'v2' : 'v1';
    try {
      for (const w of applyResources({ mode, paths: st.cgroup.paths }, res).warnings) ctx.log.warn(w);
    } catch (e) {
      throw new UserError((e as Error).message.replace(/^linux\.resources/, 'resources'));
    }
  });
  return 0;
}
