import type { CommandContext } from '../context';
import { str } from '../context';
import { UserError } from '../../sys/errors';
import { StateStore, deriveStatus } from '../../state/store';
import { statsJson } from '../../cgroups/stats';
import { openCgroups } from '../../cgroups/open';
import { out } from '../../util/log';
import { runtimeOf } from './create';

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, '\u00b5s': 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };

/** A Go duration as runc's --interval takes it ("5s", "1m30s", "250ms"), in milliseconds; > 0. */
export function parseInterval(v: string): number {
  const parts = [...v.matchAll(/(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== v)
    throw new UserError(`--interval: "${v}" is not a duration (e.g. 5s, 500ms, 1m30s)`);
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]], 0);
  if (!(ms > 0)) throw new UserError('--interval: duration interval must be greater than 0');
  return ms;
}

/** events: --stats prints one stats event; otherwise stats every --interval and oom events, until the container stops. */
export async function run(ctx: CommandContext): Promise<number> {
  const id = String(ctx.args['container-id']);
  const store = new StateStore(ctx.root);
  const st = store.load(id);
  if (!st.cgroup || deriveStatus(st) === 'stopped') throw new UserError(`container "${id}" is not running`);
  // Opened once: the stream reads the cgroup's files until the container stops or is deleted.
  const cgroups = openCgroups(st.cgroup);
  const emit = (type: string, data?: unknown) => out(statsJson(data === undefined ? { type, id } : { type, id, data }) + '\n');
  if (ctx.args.stats === true) {
    emit('stats', runtimeOf(ctx).stats(id));
    return 0;
  }
  const interval = parseInterval(str(ctx.args, 'interval') ?? '5s');
  // The stream ends when the container stops or is deleted under it.
  const gone = (): boolean => {
    try {
      return deriveStatus(store.load(id)) === 'stopped';
    } catch {
      return true;
    }
  };
  let oom = cgroups.oom();
  let next = Date.now() + interval;
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    // The OOM first: a container whose init was OOM-killed has stopped by now.
    const now = cgroups.oom();
    if (now.kills > oom.kills || (now.under && !oom.under)) emit('oom');
    oom = now;
    if (gone()) return 0;
    if (Date.now() >= next) {
      emit('stats', cgroups.stats());
      next += interval;
    }
  }
}
