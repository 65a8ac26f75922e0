import type { CommandContext } from '../context';
import { StateStore } from '../../state/store';
import { killContainer } from '../../container/kill';
import { parseSignal } from '../../util/signals';

export function run(ctx: CommandContext): number {
  const sig = parseSignal(String(ctx.args.signal ?? 'SIGTERM'));
  killContainer(new StateStore(ctx.root), String(ctx.args['container-id']), sig, ctx.args.all === true);
  return 0;
}
