import type { CommandContext } from '../context';
import { createParams, idOf, runtimeOf } from './create';

export function run(ctx: CommandContext): Promise<number> {
  return runtimeOf(ctx).run(idOf(ctx), {
    ...createParams(ctx),
    detach: ctx.args.detach === true,
    keep: ctx.args.keep === true,
    // one command, then this process exits: init may be born by vfork
    vfork: true,
  });
}
