import type { CommandContext } from '../context';
import { idOf, runtimeOf } from './create';

export function run(ctx: CommandContext): number {
  runtimeOf(ctx).resume(idOf(ctx));
  return 0;
}
