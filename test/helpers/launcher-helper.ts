// What the tests of bin/tsrunc's helper (the cgroup-move priming, src/cgroups/prime.ts) share: a
// fake node that tells which children node's process has (the helper must be none), and the code
// by which a subreaper of their own collects what the launcher left behind once it is gone.

/** A fake node: prints "children=<its children's pids>". */
export const CHILDREN_NODE = '#!/bin/sh\nc=\nread -r c </proc/$$/task/$$/children\necho "children=$c"\n';

/**
 * Node code (for a script that made itself a child subreaper) that reaps every child left, each
 * as it exits, into `reaped`; a process still there after 10 s is an error. sys: the name of a
 * koffi Libc in the script.
 */
export function reapAll(sys: string): string {
  return `
    let reaped = 0;
    const deadline = Date.now() + 10000;
    for (;;) {
      let pid;
      try {
        pid = ${sys}.waitpid(-1, true).pid;
      } catch (e) {
        if (/ECHILD/.test(e.message)) break;
        throw e;
      }
      if (pid > 0) reaped++;
      else if (Date.now() > deadline) throw new Error('a process the launcher left is still there after 10 s');
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  `;
}
