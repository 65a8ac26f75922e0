import type { CommandContext } from '../context';
import { idOf, runtimeOf } from './create';

export function run(ctx: CommandContext): number {
  runtimeOf(ctx).delete(idOf(ctx), { force: ctx.args.force === true });
  return 0;
}
