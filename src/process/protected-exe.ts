// The node binary a container's processes are copies of, made unwritable (CVE-2019-5736 class).
//
// init and exec processes are forked copies of the runtime, so until they execve, /proc/<pid>/exe
// is the node binary the runtime runs. Non-dumpable (set before the fork) keeps every process of
// the container away from it, except one that holds CAP_SYS_PTRACE in the runtime's user
// namespace: a privileged container without a user namespace of its own. Such a process could
// hold the exe open and, once no node runs, reopen it for writing and replace the host's node.
// So the runtime runs node from a read-only bind mount of it, made once (until reboot) under
// PROTECTED_DIR, where the launcher (bin/tsrunc) finds it: every open of that exe is on a
// read-only mount. The first container command after boot makes the mount and re-execs itself
// through it (one more Node start, once). A rootless runtime needs none of this: its containers
// always have a user namespace, in which no process has any capability over the runtime's.
import fs = require('fs');
import { dirname, join } from 'path';
import type { Libc } from '../sys/libc';
import * as C from '../sys/constants';
import type { Logger } from '../util/log';
import { keptFdCount } from './channel';

export const PROTECTED_DIR = '/run/tsrunc-exe';

function readOnly(path: string): boolean {
  try {
    fs.accessSync(path, fs.constants.W_OK);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EROFS';
  }
}

/**
 * Running from the bind, but the node the launcher names is another file now (an upgrade
 * replaced it): the bind still holds the old one, until it is made anew.
 */
function stale(launched: string): boolean {
  try {
    const [running, named] = [fs.statSync('/proc/self/exe'), fs.statSync(launched)];
    return running.ino !== named.ino || running.dev !== named.dev;
  } catch {
    return false;
  }
}

/** A read-only bind of source at target, made (or remade, when source changed) under a lock. */
function bindReadOnly(sys: Libc, source: string, target: string): void {
  fs.mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
  const lock = fs.openSync(PROTECTED_DIR, C.O_RDONLY | C.O_DIRECTORY);
  try {
    sys.flock(lock, C.LOCK_EX);
    if (fs.existsSync(target)) {
      const [s, t] = [fs.statSync(source), fs.statSync(target)];
      if (readOnly(target) && s.ino === t.ino && s.dev === t.dev) return;
      // A node upgraded since (a new inode), or a plain file left by a failed attempt.
      if (readOnly(target)) sys.umount2(target, C.MNT_DETACH);
    } else {
      fs.writeFileSync(target, '', { mode: 0o600 }); // the mount point; not executable on its own
    }
    sys.mount(source, target, null, C.MS_BIND, null);
    sys.mount(null, target, null, C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY | C.MS_NOSUID | C.MS_NODEV, null);
  } finally {
    fs.closeSync(lock);
  }
}

/**
 * Returns when the runtime runs from a read-only node (or needs none); otherwise makes one and
 * re-execs this very command through it, keeping stdio and the preserved fds. Call it before
 * the command has done anything.
 */
export function ensureProtectedExe(sys: Libc, log: Logger, preserveFds: number): void {
  if (process.geteuid?.() !== 0) return;
  const launched = process.env.TSRUNC_NODE_PATH || process.execPath;
  if (readOnly(process.execPath) && !stale(launched)) return;
  const target = join(PROTECTED_DIR, launched);
  try {
    bindReadOnly(sys, fs.realpathSync(launched), target);
  } catch (e) {
    log.warn(
      `cannot bind node read-only at ${target} (CVE-2019-5736 protection for containers holding CAP_SYS_PTRACE): ${(e as Error).message}`,
    );
    return;
  }
  if (process.env.TSRUNC_EXE_REEXEC === '1') {
    // Re-exec'd once already and still not protected: something else is wrong; do not loop.
    log.warn(`${process.execPath} is still writable, or not ${launched}, after re-exec`);
    return;
  }
  log.debug(`re-executing through the read-only ${target}`);
  const keep = keptFdCount(preserveFds + Number(process.env.LISTEN_FDS ?? 0));
  for (let fd = 0; fd < keep; fd++) {
    try {
      sys.fcntl(fd, C.F_SETFD, 0); // Node marks inherited fds close-on-exec at start-up
    } catch {
      // not open
    }
  }
  const env = Object.entries({ ...process.env, TSRUNC_EXE_REEXEC: '1' }).map(([k, v]) => `${k}=${v ?? ''}`);
  sys.execve(target, [target, ...process.execArgv, process.argv[1], ...process.argv.slice(2)], env);
}
