import fs = require('fs');
import type { Libc } from '../../sys/libc';
import { isErrno } from '../../sys/errors';
import { RLIMITS, RLIM_INFINITY } from '../../security/rlimits';
import type { DeviceRuleset } from './rules';
import { compileDeviceProgram, DEVICE_PROGRAM_LICENSE } from './bpf-program';

export type DeviceProgramLibc = Pick<
  Libc,
  | 'bpfLoadCgroupDeviceProgram'
  | 'bpfAttachCgroupDevice'
  | 'bpfQueryCgroupDevice'
  | 'bpfProgFdById'
  | 'bpfDetachCgroupDevice'
  | 'getrlimit'
  | 'setrlimit'
>;

/**
 * Makes the ruleset's device program the one on a cgroup v2 directory. The attachment holds the
 * program: it lives as long as the cgroup, with no fd of ours kept open. The new program goes on
 * before the old ones come off (ALLOW_MULTI: both apply meanwhile, so there is no moment without
 * a policy); programs attached above this cgroup (a parent's policy) stay in force.
 */
export function attachDeviceProgram(sys: DeviceProgramLibc, dir: string, set: DeviceRuleset): void {
  // Kernels before 5.11 charge programs to RLIMIT_MEMLOCK: raised for the load, then put back, so
  // that what this runtime forks later (a shim's next inits) inherits the limit it had.
  const memlock = sys.getrlimit(RLIMITS.RLIMIT_MEMLOCK);
  let raised = false;
  try {
    sys.setrlimit(RLIMITS.RLIMIT_MEMLOCK, RLIM_INFINITY, RLIM_INFINITY);
    raised = true;
  } catch {
    // not fatal: newer kernels account programs to the memory cgroup
  }
  const dirFd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  const old: number[] = [];
  try {
    for (const id of sys.bpfQueryCgroupDevice(dirFd)) {
      try {
        old.push(sys.bpfProgFdById(id));
      } catch (e) {
        // A program an LSM keeps from us can only restrict more: leave it.
        if (!isErrno(e, 'EPERM') && !isErrno(e, 'EACCES')) throw e;
      }
    }
    const prog = sys.bpfLoadCgroupDeviceProgram(compileDeviceProgram(set), DEVICE_PROGRAM_LICENSE);
    try {
      sys.bpfAttachCgroupDevice(dirFd, prog, true);
    } finally {
      fs.closeSync(prog);
    }
    for (const fd of old) sys.bpfDetachCgroupDevice(dirFd, fd);
  } finally {
    for (const fd of old) fs.closeSync(fd);
    fs.closeSync(dirFd);
    if (raised) sys.setrlimit(RLIMITS.RLIMIT_MEMLOCK, memlock.soft, memlock.hard);
  }
}
