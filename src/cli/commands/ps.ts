import { execFileSync } from 'child_process';
import type { CommandContext } from '../context';
import { idOf, runtimeOf } from './create';
import { out } from '../../util/log';

/** ps: json prints the pids; table runs ps(1) (default -ef) and keeps the container's lines, as runc. */
export function run(ctx: CommandContext): number {
  const pids = runtimeOf(ctx).ps(idOf(ctx));
  if (ctx.args.format === 'json') {
    out(JSON.stringify(pids) + '\n');
    return 0;
  }
  // Everything after the id (yargs hands it over as `command`); a leading "--" only ends our options.
  const given = [ctx.args.command, ctx.args['ps-args']].find((v): v is string[] => Array.isArray(v) && v.length > 0) ?? [];
  const extra = given[0] === '--' ? given.slice(1) : given;
  const args = extra.length ? extra : ['-ef'];
  const lines = execFileSync('ps', args, { encoding: 'utf8' }).split('\n');
  const pidCol = lines[0].trim().split(/\s+/).indexOf('PID');
  if (pidCol < 0) throw new Error(`ps ${args.join(' ')}: no PID column in its output`);
  const wanted = new Set(pids);
  out([lines[0], ...lines.slice(1).filter((l) => wanted.has(Number(l.trim().split(/\s+/)[pidCol])))].join('\n') + '\n');
  return 0;
}
