import type { CommandContext } from '../context';
import { str } from '../context';
import { createContainer, type CreateOptions } from '../../container/create';

export function createOptions(ctx: CommandContext): CreateOptions {
  const a = ctx.args;
  return {
    root: ctx.root,
    id: String(a['container-id']),
    bundle: str(a, 'bundle') ?? '.',
    pidFile: str(a, 'pid-file'),
    consoleSocket: str(a, 'console-socket'),
    noPivot: a['no-pivot'] === true,
    noNewKeyring: a['no-new-keyring'] === true,
    pidfdSocket: str(a, 'pidfd-socket'),
    preserveFds: Number(a['preserve-fds'] ?? 0),
    log: ctx.log,
  };
}

export function run(ctx: CommandContext): number {
  // The init lives on without us; containerd's shim (a subreaper) or init adopts it.
  createContainer(createOptions(ctx));
  return 0;
}
