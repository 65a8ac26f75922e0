import type { CommandContext } from '../context';
import { StateStore } from '../../state/store';
import { startContainer } from '../../container/operations';

export function run(ctx: CommandContext): number {
  startContainer(new StateStore(ctx.root), String(ctx.args['container-id']), ctx.log);
  return 0;
}
