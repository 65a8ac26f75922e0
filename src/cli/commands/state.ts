import type { CommandContext } from '../context';
import { idOf, runtimeOf } from './create';
import { out } from '../../util/log';

export function run(ctx: CommandContext): number {
  out(JSON.stringify(runtimeOf(ctx).state(idOf(ctx)), null, 2) + '\n');
  return 0;
}
