import type { CommandContext } from '../context';
import { StateStore } from '../../state/store';
import { deleteContainer } from '../../container/operations';

export function run(ctx: CommandContext): number {
  deleteContainer(new StateStore(ctx.root), String(ctx.args['container-id']), ctx.args.force === true, ctx.log);
  return 0;
}
