// Kept apart from the other operations: kill is a hot path and loads only what it needs.
import { UserError, isErrno } from '../sys/errors';
import { StateStore, deriveStatus } from '../state/store';
import { cgroupPids } from '../cgroups/manager';

/** kill: signals init (or, with all, every process of the container's cgroup). */
export function killContainer(store: StateStore, id: string, sig: number, all: boolean): void {
  const st = store.load(id);
  const status = deriveStatus(st);
  if (status !== 'created' && status !== 'running' && status !== 'paused') {
    throw new UserError(`cannot kill container "${id}": container not running (${status})`);
  }
  const targets = new Set<number>([st.pid!]);
  if (all && st.cgroup) for (const p of cgroupPids(st.cgroup.paths)) targets.add(p);
  for (const pid of targets) {
    try {
      process.kill(pid, sig);
    } catch (e) {
      if (!isErrno(e, 'ESRCH')) throw e;
    }
  }
}

