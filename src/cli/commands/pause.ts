import type { CommandContext } from '../context';
import { StateStore } from '../../state/store';
import { setPaused } from '../../container/operations';

export function run(ctx: CommandContext): number {
  setPaused(new StateStore(ctx.root), String(ctx.args['container-id']), true);
  return 0;
}
