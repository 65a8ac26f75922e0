import * as fs from 'fs';
import type { Libc } from '../../sys/libc';
import type { DeviceRuleset } from './rules';
import { compileDeviceProgram, DEVICE_PROGRAM_LICENSE } from './bpf-program';

/**
 * Loads the ruleset's device program and attaches it to a cgroup v2 directory. The attachment
 * holds the program: it lives as long as the cgroup, with no fd of ours kept open. ALLOW_MULTI
 * keeps programs attached above us (a parent's policy) in force: every one of them must allow.
 */
export function attachDeviceProgram(sys: Pick<Libc, 'bpfLoadCgroupDeviceProgram' | 'bpfAttachCgroupDevice'>, dir: string, set: DeviceRuleset): void {
  const prog = sys.bpfLoadCgroupDeviceProgram(compileDeviceProgram(set), DEVICE_PROGRAM_LICENSE);
  try {
    const dirFd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      sys.bpfAttachCgroupDevice(dirFd, prog, true);
    } finally {
      fs.closeSync(dirFd);
    }
  } finally {
    fs.closeSync(prog);
  }
}
