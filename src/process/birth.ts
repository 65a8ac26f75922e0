import { spawn, type StdioOptions } from 'child_process';
import { childProcessHandle, type InitHandle } from './init-handle';
import { bearInitInUserNamespace } from './birth-userns';
import { join } from 'path';
import type { Libc } from '../sys/libc';
import type { NamespaceConfig } from '../spec/config';
import type { IdMapping } from '../spec/oci';
import { inNamespaces } from '../namespaces/enter';
import { protectRuntime } from './protect-runtime';

// As few threads as can be: the container's pids limit counts them until init execs.
export const INIT_NODE_FLAGS = ['--single-threaded'];
export const INIT_ENV = { UV_THREADPOOL_SIZE: '1' };

export function initScript(script = 'init-main.js'): string {
  return join(__dirname, script);
}

export interface BirthOptions {
  namespaces: readonly NamespaceConfig[];
  uidMappings: readonly IdMapping[];
  gidMappings: readonly IdMapping[];
  /** the exec fifo, open read-write; it becomes init's fd syncFd + 1 (not for exec) */
  fifoFd?: number;
  /** the program to run: init-main.js (create) or exec-main.js (exec) */
  script?: string;
  /** the connected console socket (process.terminal); init's fd syncFd + 2 */
  consoleFd?: number;
  /** more fds for init, in order after the others (user namespaces of idmapped mounts) */
  extraFds?: number[];
  preserveFds: number;
}

/**
 * How the container's first process is born — the one place that knows. A fresh Node process is
 * forked (by libuv, from the main thread) while that thread sits in the container's namespaces, so
 * the child starts inside all of them, as PID 1 of a new pid namespace, with every one of its own
 * threads inside too. With a user namespace the birth is different (see birth-userns.ts): a
 * multi-threaded process can neither create nor join one.
 */
export function bearInit(sys: Libc, opts: BirthOptions): InitHandle {
  if (opts.namespaces.some((n) => n.type === 'user')) return bearInitInUserNamespace(sys, opts);
  const syncFd = 3 + opts.preserveFds;
  const stdio: StdioOptions = ['inherit', 'inherit', 'inherit'];
  for (let fd = 3; fd < syncFd; fd++) stdio.push(fd);
  stdio.push('pipe');
  if (opts.fifoFd !== undefined) stdio.push(opts.fifoFd);
  if (opts.consoleFd !== undefined) stdio.push(opts.consoleFd);
  stdio.push(...(opts.extraFds ?? []));
  const newMountNs = opts.namespaces.some((n) => n.type === 'mount' && n.path === undefined);
  const child = inNamespaces(sys, opts.namespaces, () => {
    if (newMountNs) protectRuntime(sys);
    return spawn(process.execPath, [...INIT_NODE_FLAGS, initScript(opts.script), String(syncFd)], {
      stdio,
      detached: true, // its own session, as runc's init
      env: INIT_ENV, // nothing of the runtime's environment (NODE_OPTIONS…) reaches the init
    });
  });
  if (child.pid === undefined) {
    throw new Error('could not start the container init process');
  }
  return childProcessHandle(child, syncFd);
}
