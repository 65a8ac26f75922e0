import type { CommandContext } from '../context';
import { createOptions } from './create';
import { runContainer } from '../../container/run';

export async function run(ctx: CommandContext): Promise<number> {
  return runContainer(createOptions(ctx), ctx.args.detach === true, ctx.args.keep === true);
}
