import type { Libc } from '../../src/sys/libc';

/** A Libc that records every call and does nothing: for unit tests of code that drives the kernel. */
export function recordingLibc(overrides: Partial<Libc> = {}): Libc & { calls: [string, ...unknown[]][] } {
  const calls: [string, ...unknown[]][] = [];
  const rec = (name: string) => (...args: unknown[]) => {
    calls.push([name, ...args]);
    return 0;
  };
  const base = {
    unshare: rec('unshare'), setns: rec('setns'), nsType: rec('nsType'), mount: rec('mount'), umount2: rec('umount2'),
    pivotRoot: rec('pivotRoot'), chroot: rec('chroot'), fchdir: rec('fchdir'), sethostname: rec('sethostname'),
    setdomainname: rec('setdomainname'), mknod: rec('mknod'), mkfifo: rec('mkfifo'), fcntl: rec('fcntl'),
    flock: rec('flock'), closeRange: rec('closeRange'), setresuid: rec('setresuid'), setresgid: rec('setresgid'),
    setgroups: rec('setgroups'), prctl: rec('prctl'), capset: rec('capset'),
    getrlimit: () => ({ soft: 1024n, hard: 4096n }), setrlimit: rec('setrlimit'), resetSignals: rec('resetSignals'),
    seccomp: rec('seccomp'), bpfLoadCgroupDeviceProgram: rec('bpfLoadCgroupDeviceProgram'),
    bpfAttachCgroupDevice: rec('bpfAttachCgroupDevice'), bpfDetachCgroupDevice: rec('bpfDetachCgroupDevice'),
    bpfQueryCgroupDevice: (...args: unknown[]) => { calls.push(['bpfQueryCgroupDevice', ...args]); return []; },
    bpfProgFdById: rec('bpfProgFdById'), pidfdOpen: rec('pidfdOpen'), joinSessionKeyring: rec('joinSessionKeyring'),
    execve: (...args: unknown[]) => {
      calls.push(['execve', ...args]);
      throw new Error('execve (fake)');
    },
  } as unknown as Libc;
  return Object.assign(base, overrides, { calls });
}
