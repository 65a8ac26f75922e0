import type { CommandContext } from '../context';
import { createOptions } from './create';
import { runContainer } from '../../container/run';

export async function run(ctx: CommandContext): Promise<number> {
  if (ctx.args.keep === true) throw new Error('--keep: not supported by tsrunc yet');
  return runContainer(createOptions(ctx), ctx.args.detach === true);
}
