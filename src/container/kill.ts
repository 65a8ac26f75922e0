// Kept apart from the other operations: kill is a hot path and loads only what it needs.
import { readlinkSync } from 'fs';
import { ContainerStateError, isErrno } from '../sys/errors';
import { StateStore, deriveStatus } from '../state/store';
import { openCgroups } from '../cgroups/open';

function sharesOurPidNamespace(pid: number): boolean {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`) === readlinkSync('/proc/self/ns/pid');
  } catch {
    return false;
  }
}

/**
 * kill: signals init (or, with all, every process of the container's cgroup), as runc does it:
 * SIGKILL reaches every process when the container has no pid namespace of its own (nothing
 * else would take them down with init), and a paused container is thawed after it (a frozen
 * task cannot die on v1). --all on a container that has stopped is no error.
 */
export function killContainer(store: StateStore, id: string, sig: number, all: boolean): void {
  const st = store.load(id);
  const status = deriveStatus(st);
  if (status !== 'created' && status !== 'running' && status !== 'paused') {
    if (all && status === 'stopped') return;
    throw new ContainerStateError(`cannot kill container "${id}": container not running (${status})`, id, status);
  }
  const targets = new Set<number>([st.pid!]);
  const cgroups = st.cgroup && openCgroups(st.cgroup);
  if (cgroups && (all || (sig === 9 && sharesOurPidNamespace(st.pid!)))) {
    for (const p of cgroups.pids()) targets.add(p);
  }
  for (const pid of targets) {
    try {
      process.kill(pid, sig);
    } catch (e) {
      if (!isErrno(e, 'ESRCH')) throw e;
    }
  }
  if (sig === 9 && status === 'paused' && cgroups) cgroups.setFrozen(false);
}
