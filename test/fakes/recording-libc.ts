import type { Libc } from '../../src/sys/libc';

/** A Libc that records every call and does nothing: for unit tests of code that drives the kernel. */
export function recordingLibc(overrides: Partial<Libc> = {}): Libc & { calls: [string, ...unknown[]][] } {
  const calls: [string, ...unknown[]][] = [];
  const rec =
    (name: string) =>
    (...args: unknown[]) => {
      calls.push([name, ...args]);
      return 0;
    };
  // Every method of Libc, or this does not compile: the fake is complete.
  const methods: Record<keyof Libc, unknown> = {
    unshare: rec('unshare'),
    setns: rec('setns'),
    nsType: rec('nsType'),
    mount: rec('mount'),
    umount2: rec('umount2'),
    pivotRoot: rec('pivotRoot'),
    chroot: rec('chroot'),
    fchdir: rec('fchdir'),
    sethostname: rec('sethostname'),
    setdomainname: rec('setdomainname'),
    mknod: rec('mknod'),
    mkfifo: rec('mkfifo'),
    fcntl: rec('fcntl'),
    flock: rec('flock'),
    closeRange: rec('closeRange'),
    setresuid: rec('setresuid'),
    setresgid: rec('setresgid'),
    setgroups: rec('setgroups'),
    prctl: rec('prctl'),
    capset: rec('capset'),
    getrlimit: () => ({ soft: 1024n, hard: 4096n }),
    statfsFlags: () => 0,
    setrlimit: rec('setrlimit'),
    seccomp: rec('seccomp'),
    bpfLoadCgroupDeviceProgram: rec('bpfLoadCgroupDeviceProgram'),
    bpfAttachCgroupDevice: rec('bpfAttachCgroupDevice'),
    bpfDetachCgroupDevice: rec('bpfDetachCgroupDevice'),
    bpfQueryCgroupDevice: (...args: unknown[]) => {
      calls.push(['bpfQueryCgroupDevice', ...args]);
      return [];
    },
    fork: rec('fork'),
    vforkSupported: () => true,
    // runs the child's JavaScript here, as if in the child, and records what it would exec
    vfork: (child: () => unknown) => {
      calls.push(['vfork']);
      const next = child() as { exec?: unknown };
      calls.push(['vfork: next', next]);
      return { pid: 4242, execReached: next.exec !== undefined };
    },
    armKillTimer: rec('armKillTimer'),
    auxv: () => 0,
    madviseDofork: rec('madviseDofork'),
    prepareFork: rec('prepareFork'),
    markDoforkRanges: rec('markDoforkRanges'),
    madvisePopulateWrite: rec('madvisePopulateWrite'),
    waitpid: (...args: unknown[]) => {
      calls.push(['waitpid', ...args]);
      return { pid: 0, status: 0 };
    },
    exit: (...args: unknown[]) => {
      calls.push(['exit', ...args]);
      throw new Error('exit (fake)');
    },
    pipe: (...args: unknown[]) => {
      calls.push(['pipe', ...args]);
      return [-1, -1];
    },
    socketpair: (...args: unknown[]) => {
      calls.push(['socketpair', ...args]);
      return [-1, -1];
    },
    dup2: rec('dup2'),
    pollReadable: (fds: number[], ...rest: unknown[]) => {
      calls.push(['pollReadable', fds, ...rest]);
      return fds;
    },
    pollHangup: () => true,
    setsid: rec('setsid'),
    getpid: () => 1,
    blockAllSignals: () => Buffer.alloc(128),
    restoreSignalMask: rec('restoreSignalMask'),
    setSignalMask: rec('setSignalMask'),
    defaultSignalHandlers: rec('defaultSignalHandlers'),
    ignoreSignal: rec('ignoreSignal'),
    signalFd: rec('signalFd'),
    readSignal: () => 15,
    setThreadName: rec('setThreadName'),
    sendFd: rec('sendFd'),
    recvFd: () => ({ fd: -1, name: '' }),
    connectUnix: rec('connectUnix'),
    netlinkRouteSocket: rec('netlinkRouteSocket'),
    openPty: () => ({ master: -1, slavePath: '/dev/pts/0' }),
    setWinsize: rec('setWinsize'),
    clearOnlcr: rec('clearOnlcr'),
    personality: rec('personality'),
    schedSetattr: rec('schedSetattr'),
    schedSetaffinity: rec('schedSetaffinity'),
    ioprioSet: rec('ioprioSet'),
    setMempolicy: rec('setMempolicy'),
    setControllingTerminal: rec('setControllingTerminal'),
    openTreeClone: rec('openTreeClone'),
    openBeneath: rec('openBeneath'),
    idmapTree: rec('idmapTree'),
    moveMountToFd: rec('moveMountToFd'),
    setMountAttrsRecursive: rec('setMountAttrsRecursive'),
    bpfProgFdById: rec('bpfProgFdById'),
    pidfdOpen: rec('pidfdOpen'),
    joinSessionKeyring: rec('joinSessionKeyring'),
    execve: (...args: unknown[]) => {
      calls.push(['execve', ...args]);
      throw new Error('execve (fake)');
    },
  };
  const base = methods as unknown as Libc;
  return Object.assign(base, overrides, { calls });
}
