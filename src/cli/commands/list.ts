import fs = require('fs');
import type { CommandContext } from '../context';
import { join } from 'path';
import { runtimeOf } from './create';
import { out } from '../../util/log';
import { UserError } from '../../sys/errors';

/** As runc: the owner of the container's state directory, by name, or "#uid". */
function ownerOf(dir: string, names: Map<number, string>): string {
  try {
    const uid = fs.statSync(dir).uid;
    return names.get(uid) ?? `#${uid}`;
  } catch {
    return '';
  }
}

function userNames(): Map<number, string> {
  const m = new Map<number, string>();
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length > 2 && !m.has(Number(f[2]))) m.set(Number(f[2]), f[0]);
    }
  } catch {
    // no passwd: numeric owners
  }
  return m;
}

export function run(ctx: CommandContext): number {
  // As runc: a missing default root is no container yet; a missing root the caller named is an error.
  if (ctx.rootGiven && !fs.existsSync(ctx.root)) throw new UserError(`--root ${ctx.root}: no such file or directory`);
  const names = userNames();
  const rows: Record<string, unknown>[] = runtimeOf(ctx)
    .list()
    .map((s) => ({ ...s, owner: ownerOf(join(ctx.root, s.id), names) }));
  if (ctx.args.quiet === true) {
    out(rows.map((r) => `${String(r.id)}\n`).join(''));
  } else if (ctx.args.format === 'json') {
    out(JSON.stringify(rows) + '\n');
  } else {
    const table = [
      ['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
      ...rows.map((r) => [r.id, r.pid, r.status, r.bundle, r.created, r.owner].map(String)),
    ];
    // runc's tabwriter: columns at least 12 wide, 3 spaces of padding.
    const widths = table[0].map((_, i) => Math.max(12, ...table.map((row) => row[i].length + 3)));
    out(
      table
        .map(
          (row) =>
            row
              .map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i])))
              .join('')
              .trimEnd() + '\n',
        )
        .join(''),
    );
  }
  return 0;
}
