// Moving a process into a cgroup (a write to cgroup.procs) first waits, asleep, for an RCU grace
// period: the kernel's cgroup_threadgroup_rwsem, one lock for every hierarchy, switching to its
// writer mode (5–27 ms on this VM, most of a container's birth). It stays in that mode for about
// one more grace period after its last writer, and a move then does not wait (measured here: a
// move 10–20 ms after a priming one took 0.1 ms instead of 5–27; `--debug` shows it as the step
// 'create: init placed in its cgroups'). So the wait is started early, on a libuv pool thread
// while the main thread forks the process, by a move that changes nothing: this process's pid
// into the cgroup.procs of the cgroup it is in already. The move that counts, moments later,
// finds the lock ready; one that comes too late waits as it would have anyway, and one primed too
// early (the lock back in its reader mode) waits again. The first such move of create, run and
// exec is bin/tsrunc's own, from a helper it forks before node starts (where a grace period takes
// longer than node's ~20 ms start, the wait this process's own priming began was still on when
// create made its cgroups: their mkdirs, which take the mutex the priming move holds through it,
// waited 2–18 ms in 2 of 5 creates); this process's own moves then keep the lock in its writer
// mode until init's.
//
// Where the kernel expedites grace periods (/sys/kernel/rcu_expedited nonzero, rcu_normal zero,
// which would override it: a setting of the host's, found on some VMs of this kind) a move waits
// only for an expedited one (measured: 0.1–0.4 ms against 7–18 with rcu_expedited 0, on the same
// VM), and there is nothing to prime: neither bin/tsrunc's helper (its two forks cost a `run`
// ~4 ms there) nor this process moves. (Where cgroup v2's favordynmods keeps the lock in its
// writer mode for good, a move waits for none either; that is not told apart, and priming there
// is only its cost, as before.) Read once a process: a long-lived one (the shim) keeps what it
// found.
import fs = require('fs');
import { join } from 'path';
import type { CgroupLayout } from './hierarchy';

/**
 * Boot (its own module instance) and the bundle share one mark: a process primes once. On
 * `process`, as boot and the bundle share nothing else.
 */
const PRIMED = Symbol.for('tsrunc.cgroup-move-primed');
/**
 * /proc/self/cgroup as boot read it before priming, for create's host layout: read during the
 * move's grace period it would wait for its end (reading it takes the cgroup mutex, which the
 * move holds through it). The process stays in its cgroups (the move changes nothing).
 */
export const SELF_CGROUP_AT_BOOT = Symbol.for('tsrunc.self-cgroup-at-boot');
const marks = process as unknown as Record<symbol, boolean | string | undefined>;

/** Whether a move waits for a grace period here (movesWait); tests set it to prime all the same. */
export const MOVES_WAIT = Symbol.for('tsrunc.cgroup-moves-wait');

function sysKernel(name: string): string | undefined {
  try {
    return fs.readFileSync(`/sys/kernel/${name}`, 'latin1').trim();
  } catch {
    return undefined;
  }
}

/** A sysfs integer the kernel takes as true: any but 0 (a missing file: false). */
const set = (v: string | undefined): boolean => v !== undefined && v !== '' && v !== '0';

/**
 * Whether a move into a cgroup waits for a normal RCU grace period here: not where the kernel
 * expedites them (bin/tsrunc decides the same way). Read once a process.
 */
export function movesWait(): boolean {
  marks[MOVES_WAIT] ??= !(set(sysKernel('rcu_expedited')) && !set(sysKernel('rcu_normal')));
  return marks[MOVES_WAIT] === true;
}

/**
 * Starts the wait in the background (nothing is reported: a cgroup this process may not write
 * only leaves the later move to wait), unless boot started it already (then the layout is not
 * even read) and this is not a move to keep the lock in its writer mode (again: create's, after
 * boot's). The unified hierarchy's cgroup where there is one.
 */
export function primeCgroupMove(layout: () => CgroupLayout, again = false): void {
  if ((marks[PRIMED] && !again) || !movesWait()) return;
  const l = layout();
  const h = l.hierarchies.find((x) => x.version === 2) ?? l.hierarchies[0];
  if (h) primeAt(join(h.mountpoint, h.ownPath, 'cgroup.procs'));
}

/**
 * The same, earlier: from bin/tsrunc's boot for exec, before the bundle is read back (~7 ms
 * before the command's own priming; the lock is one for all hierarchies, so the unified one's
 * cgroup, at its usual mountpoints, is enough). Where it is not there, the command's priming is
 * the first.
 */
export function primeCgroupMoveEarly(): void {
  if (!movesWait()) return;
  let own: string | undefined;
  try {
    const text = fs.readFileSync('/proc/self/cgroup', 'latin1');
    marks[SELF_CGROUP_AT_BOOT] = text;
    own = /^0::(\/.*)$/m.exec(text)?.[1];
  } catch {
    return;
  }
  if (own === undefined) return;
  for (const mountpoint of ['/sys/fs/cgroup/unified', '/sys/fs/cgroup']) if (primeAt(join(mountpoint, own, 'cgroup.procs'))) return;
}

/** The cgroup.procs found to list this process (boot's, for create's priming again). */
const LISTED = Symbol.for('tsrunc.cgroup-procs-listing-this');

function primeAt(procs: string): boolean {
  // Only a cgroup.procs that lists this process, so that the move changes nothing: a path read in
  // one cgroup namespace against the cgroupfs of another names some other cgroup, and a v1
  // controller's root may sit where a unified cgroup's path leads.
  if (marks[LISTED] !== procs) {
    try {
      if (!`\n${fs.readFileSync(procs, 'latin1')}`.includes(`\n${process.pid}\n`)) return false;
    } catch {
      return false;
    }
    marks[LISTED] = procs;
  }
  let fd: number;
  try {
    fd = fs.openSync(procs, fs.constants.O_WRONLY); // libuv adds O_CLOEXEC
  } catch {
    return false;
  }
  // One request to the pool (open and close are this thread's): the write is what sleeps.
  fs.write(fd, String(process.pid), () => fs.closeSync(fd));
  marks[PRIMED] = true;
  return true;
}
