import fs = require('fs');

/** As runc decides it: the securityfs directory exists and the module says "Y". */
export function appArmorEnabled(root = ''): boolean {
  try {
    return (
      fs.existsSync(`${root}/sys/kernel/security/apparmor`) &&
      fs.readFileSync(`${root}/sys/module/apparmor/parameters/enabled`, 'utf8').startsWith('Y')
    );
  } catch {
    return false;
  }
}

/**
 * Asks AppArmor to confine the next execve of this thread by `profile` (change_onexec). Written to
 * the calling thread's attribute: init and exec run this on the thread that then calls execve.
 */
export function applyAppArmorOnExec(profile: string, root = ''): void {
  const files = [`${root}/proc/thread-self/attr/apparmor/exec`, `${root}/proc/thread-self/attr/exec`];
  let last: unknown;
  for (const f of files) {
    try {
      fs.writeFileSync(f, `exec ${profile}`);
      return;
    } catch (e) {
      last = e;
    }
  }
  throw new Error(`apparmorProfile "${profile}": ${(last as Error).message}`);
}
