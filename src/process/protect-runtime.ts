import { realpathSync } from 'fs';
import { join } from 'path';
import type { Libc } from '../sys/libc';
import * as C from '../sys/constants';

/**
 * Runs in the container's fresh mount namespace just before init is exec'd from it: the node
 * binary and tsrunc's own files are bound read-only over themselves there, so /proc/<init>/exe
 * (and init's view of our code before pivot_root) can never be reopened for writing, even by a
 * process holding CAP_SYS_PTRACE (the CVE-2019-5736 attack). The host's mounts are untouched:
 * the namespace is made a slave first, and the binds vanish with the old root at pivot_root.
 */
export function protectRuntime(sys: Libc): void {
  sys.mount(null, '/', null, C.MS_REC | C.MS_SLAVE, null);
  const paths = [realpathSync(process.execPath), realpathSync(join(__dirname, '..', '..'))];
  for (const p of paths) {
    sys.mount(p, p, 'bind', C.MS_BIND, null);
    sys.mount(null, p, null, C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY, null);
  }
}
