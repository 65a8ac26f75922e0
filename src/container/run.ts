import { closeSync } from 'fs';
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
  let initPid: number | undefined;
  const forward = (sig: NodeJS.Signals) => {
    try {
      if (initPid !== undefined) process.kill(initPid, sig);
    } catch {
      // it is exiting
    }
  };
  const stopForwarding = () => {
    for (const s of FORWARDED) process.removeListener(s, forward);
  };
  let created: ReturnType<typeof createContainer>;
  // From before create, as runc's handler: a signal that comes while create runs is held (create
  // is synchronous) and passed on once it returns, so one that comes once the program may run,
  // even before create or start has returned, is the container's and not the end of this runtime
  // (which would leave the container behind). An init born by vfork runs its program before
  // create returns.
  if (!detach) for (const s of FORWARDED) process.on(s, forward);
  try {
    created = createContainer({
      ...opts,
      foreground: !detach,
      start: true,
      whileInitBuilds: detach
        ? undefined
        : (pid) => {
            watch = watchExit(opts.sys, pid);
            initPid = pid;
          },
    });
  } catch (e) {
    stopForwarding();
    watch?.stop();
    throw e;
  }
  if (created.exited !== undefined) {
    // init failed on its program's way (born by vfork): as a forked init's exit then
    stopForwarding();
    if (created.consoleMaster !== undefined) closeSync(created.consoleMaster);
    if (detach) return 0;
    if (!keep) deleteContainer(opts.sys, store, opts.id, true, opts.log);
    return created.exited;
  }
  const exited = watch?.exited;
  const stopProxy = created.consoleMaster !== undefined ? proxyConsole(opts.sys, created.consoleMaster) : undefined;
  try {
    // create started it where no hook needs start's own path (CreateOptions.start)
    if (!created.started) startContainer(opts.sys, store, opts.id, opts.log);
  } catch (e) {
    stopForwarding();
    await stopProxy?.(); // what init said on its terminal (a failed hook, say) reaches the caller
    deleteContainer(opts.sys, store, opts.id, true, opts.log);
    throw e;
  }
  if (!exited) return 0;
  const status = exitStatus(await exited);
  await stopProxy?.();
  stopForwarding();
  // --keep: the stopped container stays for state/delete, as runc leaves it.
  if (!keep) deleteContainer(opts.sys, store, opts.id, true, opts.log);
  return status;
}
