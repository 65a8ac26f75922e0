import type { CommandContext } from '../context';
import { str } from '../context';
import { UserError } from '../../sys/errors';
import { StateStore, deriveStatus } from '../../state/store';
import { collectStats, oomKills } from '../../cgroups/stats';
import { out } from '../../util/log';

function parseInterval(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v);
  if (!m) throw new UserError(`--interval: "${v}" is not a duration (e.g. 5s, 500ms)`);
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60000 }[m[2] ?? 's'] ?? 1000);
}

/** events: --stats prints one stats event; otherwise stats every --interval and oom events, until the container stops. */
export async function run(ctx: CommandContext): Promise<number> {
  const id = String(ctx.args['container-id']);
  const store = new StateStore(ctx.root);
  const st = store.load(id);
  if (!st.cgroup || deriveStatus(st) === 'stopped') throw new UserError(`container "${id}" is not running`);
  const paths = st.cgroup.paths;
  const emit = (type: string, data?: unknown) => out(JSON.stringify(data === undefined ? { type, id } : { type, id, data }) + '\n');
  if (ctx.args.stats === true) {
    emit('stats', collectStats(paths));
    return 0;
  }
  const interval = parseInterval(str(ctx.args, 'interval') ?? '5s');
  let ooms = oomKills(paths);
  let next = Date.now() + interval;
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    if (deriveStatus(store.load(id)) === 'stopped') return 0;
    const now = oomKills(paths);
    if (now > ooms) emit('oom');
    ooms = now;
    if (Date.now() >= next) {
      emit('stats', collectStats(paths));
      next += interval;
    }
  }
}
