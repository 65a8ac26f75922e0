import type { CommandContext } from '../context';
import { idOf, runtimeOf } from './create';

export function run(ctx: CommandContext): number {
  runtimeOf(ctx).kill(idOf(ctx), String(ctx.args.signal ?? 'SIGTERM'), { all: ctx.args.all === true });
  return 0;
}
