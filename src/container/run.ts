import { constants } from 'os';
import { StateStore } from '../state/store';
import { createContainer, type CreateOptions } from './create';
import { startContainer, deleteContainer } from './operations';

// Signals a foreground `run` passes on to the container, as runc does.
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT', 'SIGALRM'];

/**
 * run = create + start (+ wait + delete in the foreground). Returns the exit status to exit with:
 * the program's status, or 128+signal when a signal ended it.
 */
export async function runContainer(opts: CreateOptions, detach: boolean): Promise<number> {
  const store = new StateStore(opts.root);
  const { child } = await createContainer(opts);
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code, sig) => resolve(sig ? 128 + (constants.signals[sig] ?? 0) : code ?? 0));
  });
  for (const s of child.stdio) (s as { destroy?: () => void } | null)?.destroy?.();
  try {
    startContainer(store, opts.id);
  } catch (e) {
    deleteContainer(store, opts.id, true, opts.log);
    throw e;
  }
  if (detach) {
    child.unref();
    return 0;
  }
  const pid = child.pid!;
  const forward = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // it is exiting
    }
  };
  for (const s of FORWARDED) process.on(s, forward);
  const status = await exited;
  for (const s of FORWARDED) process.removeListener(s, forward);
  deleteContainer(store, opts.id, true, opts.log);
  return status;
}
