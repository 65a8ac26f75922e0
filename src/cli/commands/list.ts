import type { CommandContext } from '../context';
import { StateStore, ociState, deriveStatus } from '../../state/store';
import { out } from '../../util/log';

export function run(ctx: CommandContext): number {
  const store = new StateStore(ctx.root);
  const rows: Record<string, unknown>[] = [];
  for (const id of store.list()) {
    try {
      const st = store.load(id);
      rows.push(ociState(st, deriveStatus(st)));
    } catch {
      // deleted while listing
    }
  }
  if (ctx.args.quiet === true) {
    out(rows.map((r) => `${String(r.id)}\n`).join(''));
  } else if (ctx.args.format === 'json') {
    out(JSON.stringify(rows) + '\n');
  } else {
    const table = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
      ...rows.map((r) => [r.id, r.pid, r.status, r.bundle, r.created, r.owner].map(String))];
    const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
    out(table.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i] + 3))).join('').trimEnd() + '\n').join(''));
  }
  return 0;
}
