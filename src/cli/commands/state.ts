import type { CommandContext } from '../context';
import { StateStore } from '../../state/store';
import { containerState } from '../../container/operations';
import { out } from '../../util/log';

export function run(ctx: CommandContext): number {
  out(JSON.stringify(containerState(new StateStore(ctx.root), String(ctx.args['container-id'])), null, 2) + '\n');
  return 0;
}
