import { exitStatus, watchExit, type ExitWatch } from '../process/reap';
import { proxyConsole } from './console-proxy';
import { StateStore } from '../state/store';
import { createContainer, type CreateOptions } from './create';
import { startContainer, deleteContainer } from './operations';

// Signals a foreground `run` passes on to the container, as runc does.
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT', 'SIGALRM'];

/**
 * run = create + start (+ wait + delete in the foreground). Returns the exit status to exit with:
 * the program's status, or 128+signal when a signal ended it.
 */
export async function runContainer(opts: CreateOptions, detach: boolean, keep = false): Promise<number> {
  const store = new StateStore(opts.root);
  // Listening before start (the program may be over before start returns), from while init
  // builds the rootfs: the runtime only waits then.
  let watch: ExitWatch | undefined;
  let created: ReturnType<typeof createContainer>;
  try {
    created = createContainer({
      ...opts,
      foreground: !detach,
      whileInitBuilds: detach ? undefined : (pid) => (watch = watchExit(opts.sys, pid)),
    });
  } catch (e) {
    watch?.stop();
    throw e;
  }
  const { pid, consoleMaster } = created;
  const exited = watch?.exited;
  const stopProxy = consoleMaster !== undefined ? proxyConsole(opts.sys, consoleMaster) : undefined;
  const forward = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // it is exiting
    }
  };
  // Before start (as runc): a signal that comes once the program runs, even before start has
  // returned, is the program's, not the end of this runtime.
  if (exited) for (const s of FORWARDED) process.on(s, forward);
  try {
    startContainer(opts.sys, store, opts.id, opts.log);
  } catch (e) {
    for (const s of FORWARDED) process.removeListener(s, forward);
    await stopProxy?.(); // what init said on its terminal (a failed hook, say) reaches the caller
    deleteContainer(opts.sys, store, opts.id, true, opts.log);
    throw e;
  }
  if (!exited) return 0;
  const status = exitStatus(await exited);
  await stopProxy?.();
  for (const s of FORWARDED) process.removeListener(s, forward);
  // --keep: the stopped container stays for state/delete, as runc leaves it.
  if (!keep) deleteContainer(opts.sys, store, opts.id, true, opts.log);
  return status;
}
