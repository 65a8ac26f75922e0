// Moving a process into a cgroup (a write to cgroup.procs) first waits, asleep, for an RCU grace
// period: the kernel's cgroup_threadgroup_rwsem, one lock for every hierarchy, switching to its
// writer mode (5–27 ms on this VM, most of a container's birth). It stays in that mode for about
// one more grace period after its last writer, and a move then does not wait (measured here: a
// move 10–20 ms after a priming one took 0.1 ms instead of 5–27; `--debug` shows it as the step
// 'create: init placed in its cgroups'). So the wait is started early, on a libuv pool thread
// while the main thread forks the process, by a move that changes nothing: this process's pid
// into the cgroup.procs of the cgroup it is in already. The move that counts, moments later,
// finds the lock ready; one that comes too late waits as it would have anyway.
import fs = require('fs');
import { join } from 'path';
import type { CgroupLayout } from './hierarchy';

/**
 * Starts the wait in the background (nothing is reported: a cgroup this process may not write
 * only leaves the later move to wait). The unified hierarchy's cgroup where there is one.
 */
export function primeCgroupMove(layout: CgroupLayout): void {
  const h = layout.hierarchies.find((x) => x.version === 2) ?? layout.hierarchies[0];
  if (!h) return;
  let fd: number;
  try {
    fd = fs.openSync(join(h.mountpoint, h.ownPath, 'cgroup.procs'), fs.constants.O_WRONLY); // libuv adds O_CLOEXEC
  } catch {
    return;
  }
  // One request to the pool (open and close are this thread's): the write is what sleeps.
  fs.write(fd, String(process.pid), () => fs.closeSync(fd));
}
