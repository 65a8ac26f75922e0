import type { CommandContext } from '../context';
import { StateStore, ociState } from '../../state/store';
import { out } from '../../util/log';

export function run(ctx: CommandContext): number {
  out(JSON.stringify(ociState(new StateStore(ctx.root).load(String(ctx.args['container-id']))), null, 2) + '\n');
  return 0;
}
