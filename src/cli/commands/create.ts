import type { CommandContext } from '../context';
import { str } from '../context';
import { Runtime, type CreateParams } from '../../api/runtime';

export function createParams(ctx: CommandContext): CreateParams {
  const a = ctx.args;
  return {
    bundle: str(a, 'bundle') ?? '.',
    pidFile: str(a, 'pid-file'),
    consoleSocket: str(a, 'console-socket'),
    noPivot: a['no-pivot'] === true,
    noNewKeyring: a['no-new-keyring'] === true,
    pidfdSocket: str(a, 'pidfd-socket'),
    preserveFds: Number(a['preserve-fds'] ?? 0),
  };
}

export const runtimeOf = (ctx: CommandContext) => new Runtime({ root: ctx.root, log: ctx.log });
export const idOf = (ctx: CommandContext) => String(ctx.args['container-id']);

export function run(ctx: CommandContext): number {
  // The init lives on without us; containerd's shim (a subreaper) or init adopts it.
  runtimeOf(ctx).create(idOf(ctx), createParams(ctx));
  return 0;
}
