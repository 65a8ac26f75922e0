import { closeSync } from 'fs';
import type { Libc } from '../sys/libc';
import { UserError } from '../sys/errors';
import * as C from '../sys/constants';
import { isSameLiveProcess } from '../state/proc';
import { StateStore, type StoredState } from '../state/store';
import { openCgroups } from '../cgroups/open';
import { waitUntil } from '../util/wait';
import type { Logger } from '../util/log';
import { mountPoints } from '../rootfs/mountinfo';

function signal(pid: number, sig: number): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * SIGKILL the process if it is still the one recorded, and wait until it is dead (a zombie counts).
 * With a Libc, the wait is on a pidfd, readable the moment the process has exited (a killed Node
 * copy takes ~3 ms to tear down its address space); without one, or where pidfds are refused,
 * /proc is polled every ms.
 */
export function killAndReap(
  pid: number,
  startTime: string | undefined,
  timeoutMs = 5000,
  sys?: Pick<Libc, 'pidfdOpen' | 'pollReadable'>,
): boolean {
  if (!isSameLiveProcess(pid, startTime)) return true;
  let pidfd: number | undefined;
  try {
    pidfd = sys?.pidfdOpen(pid);
  } catch {
    // gone already, or no pidfd here: /proc tells
  }
  try {
    // Checked again now that the pidfd is held: it is the recorded process's, not a reused pid's.
    if (!isSameLiveProcess(pid, startTime)) return true;
    signal(pid, 9);
    if (sys === undefined || pidfd === undefined) return waitUntil(() => !isSameLiveProcess(pid, startTime), timeoutMs);
    return sys.pollReadable([pidfd], timeoutMs).length > 0;
  } finally {
    if (pidfd !== undefined) closeSync(pidfd);
  }
}

/** Detaches every mount at or below dir in this mount namespace, deepest first. */
export function unmountUnder(sys: Libc, dir: string, log: Logger): void {
  const points = mountPoints()
    .map((m) => m.mountpoint)
    .filter((m) => m === dir || m.startsWith(dir + '/'));
  for (const m of points.reverse()) {
    try {
      sys.umount2(m, C.MNT_DETACH);
    } catch (e) {
      if (!/EINVAL|ENOENT/.test((e as Error).message)) log.warn(`cleanup: ${(e as Error).message}`);
    }
  }
}

/** Undoes everything create did: processes, cgroups, state. Mounts die with the mount namespace. */
export function destroyContainer(sys: Libc, store: StateStore, st: StoredState, log: Logger): void {
  // A frozen process cannot die: thaw after the kill is queued.
  const cgroups = st.cgroup && openCgroups(st.cgroup);
  const frozen = cgroups !== undefined && cgroups.isPaused();
  if (frozen && st.pid !== undefined) signal(st.pid, 9);
  if (frozen) cgroups.setFrozen(false);
  // State is kept for as long as init lives: a deleted container's process would be untracked.
  if (st.pid !== undefined && !killAndReap(st.pid, st.pidStartTime, 10000, sys)) {
    throw new UserError(`container init ${st.pid} is still running after SIGKILL`);
  }
  log.step('delete: init dead');
  if (cgroups) {
    // Without its own pid namespace the container's other processes outlive its init.
    cgroups.killAll(5000);
    log.step('delete: no process left in its cgroups');
    for (const f of cgroups.destroy(st.cgroup!.createdDirs)) log.warn(`cleanup: ${f}`);
    log.step('delete: cgroups removed');
  }
  if (st.hostMounts) unmountUnder(sys, st.rootfs, log);
  store.remove(st.id);
}
