import { closeSync, openSync, statfsSync, writeSync } from 'fs';
import * as C from '../sys/constants';
import type { Libc } from '../sys/libc';

/**
 * Writes through the container's own /proc, after pivot_root, and only there: each file is opened
 * below /proc crossing no mount and following no link, so a mount over a /proc/sys file (made by
 * a hook, or racing in through shared propagation: the CVE-2025-52881 class) makes the write fail
 * instead of landing in whatever that mount put there.
 */
export function applySysctls(sys: Pick<Libc, 'openBeneath'>, sysctl: Record<string, string>): void {
  const keys = Object.keys(sysctl);
  if (!keys.length) return;
  const proc = openSync('/proc', C.O_PATH | C.O_DIRECTORY | C.O_CLOEXEC);
  try {
    if (statfsSync(`/proc/self/fd/${proc}`).type !== C.PROC_SUPER_MAGIC)
      throw new Error('linux.sysctl: /proc in the container is not a procfs');
    for (const key of keys) {
      const value = sysctl[key];
      let fd: number | undefined;
      try {
        fd = sys.openBeneath(proc, `sys/${key.replace(/\./g, '/')}`, C.O_WRONLY);
        writeSync(fd, value);
      } catch (e) {
        throw new Error(`linux.sysctl: setting ${key}=${value}: ${(e as Error).message}`);
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    }
  } finally {
    closeSync(proc);
  }
}
