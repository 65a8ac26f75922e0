import { isSameLiveProcess } from '../state/proc';
import { StateStore, type StoredState } from '../state/store';
import { cgroupPids, removeCgroups } from '../cgroups/manager';
import { waitUntil } from '../util/wait';
import type { Logger } from '../util/log';

function signal(pid: number, sig: number): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGKILL the process if it is still the one recorded, and wait until it is dead (a zombie counts). */
export function killAndReap(pid: number, startTime: string | undefined, timeoutMs = 5000): boolean {
  if (!isSameLiveProcess(pid, startTime)) return true;
  signal(pid, 9);
  return waitUntil(() => !isSameLiveProcess(pid, startTime), timeoutMs);
}

/** Undoes everything create did: processes, cgroups, state. Mounts die with the mount namespace. */
export function destroyContainer(store: StateStore, st: StoredState, log: Logger): void {
  if (st.pid !== undefined && !killAndReap(st.pid, st.pidStartTime)) {
    log.warn(`container init ${st.pid} did not die after SIGKILL`);
  }
  if (st.cgroup) {
    const paths = st.cgroup.paths;
    // Without its own pid namespace the container's other processes outlive its init.
    waitUntil(() => {
      const pids = cgroupPids(paths);
      for (const p of pids) signal(p, 9);
      return pids.length === 0;
    }, 5000, 10);
    for (const f of removeCgroups(st.cgroup.createdDirs)) log.warn(`cleanup: ${f}`);
  }
  store.remove(st.id);
}
