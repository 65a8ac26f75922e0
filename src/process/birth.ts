import { spawn, type ChildProcess, type StdioOptions } from 'child_process';
import { join } from 'path';
import type { Libc } from '../sys/libc';
import type { NamespaceConfig } from '../spec/config';
import { inNamespaces } from '../namespaces/enter';

export interface BirthOptions {
  namespaces: readonly NamespaceConfig[];
  bootstrapPath: string;
  preserveFds: number;
}

/**
 * How the container's first process is born — the one place that knows. A fresh Node process is
 * forked (by libuv, from the main thread) while that thread sits in the container's namespaces, so
 * the child starts inside all of them, as PID 1 of a new pid namespace, with every one of its own
 * threads inside too. User namespaces will need a different birth (the caller must be
 * single-threaded to create one).
 */
export function bearInit(sys: Libc, opts: BirthOptions): { child: ChildProcess; syncFd: number } {
  const syncFd = 3 + opts.preserveFds;
  const stdio: StdioOptions = ['inherit', 'inherit', 'inherit'];
  for (let fd = 3; fd < syncFd; fd++) stdio.push(fd);
  stdio.push('pipe');
  const child = inNamespaces(sys, opts.namespaces, () =>
    spawn(process.execPath, [join(__dirname, 'init-main.js'), opts.bootstrapPath, String(syncFd)], {
      stdio,
      detached: true, // its own session, as runc's init
      env: {}, // nothing of the runtime's environment (NODE_OPTIONS…) reaches the init
    }));
  if (child.pid === undefined) {
    throw new Error('could not start the container init process');
  }
  return { child, syncFd };
}
