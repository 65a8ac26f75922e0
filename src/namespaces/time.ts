// The time namespace, which only a single-threaded process may enter (the kernel's setns refuses
// a multi-threaded caller with EUSERS): the runtime's main thread cannot, so the forked copy that
// becomes the process enters it, itself, before it says hello.
import fs = require('fs');
import type { Libc } from '../sys/libc';
import * as C from '../sys/constants';
import type { TimeOffsets } from '../ocispec/config';

/** What the process does about its time namespace: join one (an fd opened before the fork) or make one. */
export type TimePlan = { join: number } | { offsets?: TimeOffsets };

/** timens_offsets' text: one "clock secs nanosecs" line per clock given. */
export function offsetsText(offsets: TimeOffsets): string {
  return (['monotonic', 'boottime'] as const)
    .filter((k) => offsets[k] !== undefined)
    .map((k) => `${k} ${offsets[k]!.secs} ${offsets[k]!.nanosecs}\n`)
    .join('');
}

/**
 * In the copy. A new namespace applies to children only (time_for_children), and its offsets may
 * be written only while no process is in it: unshare, have them written, then setns into it
 * ourselves. The runtime writes them (askOffsets): the copy is non-dumpable, so its /proc files
 * belong to the host's root, which the container's root in a user namespace is not.
 */
export function enterTimeNamespace(
  sys: Libc,
  plan: TimePlan,
  askOffsets: () => void,
  /** wraps the setns that moves this process's clocks (linux.timeOffsets) */
  entering: (enter: () => void) => void = (enter) => enter(),
): void {
  if ('join' in plan) {
    try {
      entering(() => sys.setns(plan.join, C.CLONE_NEWTIME));
    } finally {
      fs.closeSync(plan.join);
    }
    return;
  }
  sys.unshare(C.CLONE_NEWTIME);
  if (plan.offsets) askOffsets();
  const fd = fs.openSync('/proc/self/ns/time_for_children', C.O_RDONLY | C.O_CLOEXEC);
  try {
    entering(() => sys.setns(fd, C.CLONE_NEWTIME));
  } finally {
    fs.closeSync(fd);
  }
}

/** In the runtime: the offsets of the still empty time namespace pid made for its children. */
export function writeTimeOffsets(pid: number, offsets: TimeOffsets): void {
  try {
    fs.writeFileSync(`/proc/${pid}/timens_offsets`, offsetsText(offsets));
  } catch (e) {
    throw new Error(`linux.timeOffsets: writing /proc/${pid}/timens_offsets: ${(e as Error).message}`);
  }
}
