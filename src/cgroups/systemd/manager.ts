// The systemd cgroup driver's place (runc's --systemd-cgroup, containerd's SystemdCgroup): cgroups
// made as transient units through systemd's D-Bus API. Not built: every route to it is refused
// with this message before anything is touched.
import { UserError } from '../../sys/errors';

export const SYSTEMD_UNSUPPORTED = 'the systemd cgroup driver is not supported by tsrunc yet';

export function systemdManager(): never {
  throw new UserError(`--systemd-cgroup: ${SYSTEMD_UNSUPPORTED}`);
}
