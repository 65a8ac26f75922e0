import type { Logger } from '../util/log';
import type { ParsedArgs } from './table';

export interface CommandContext {
  args: ParsedArgs;
  root: string;
  /** whether --root named the state root (not the default) */
  rootGiven: boolean;
  log: Logger;
}

export type CommandRun = (ctx: CommandContext) => Promise<number> | number;

export function str(args: ParsedArgs, key: string): string | undefined {
  const v = args[key];
  return v === undefined ? undefined : String(v);
}
