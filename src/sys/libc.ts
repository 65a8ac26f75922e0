/** What a child born by Libc.vfork does once its JavaScript is over. */
export type VforkNext = { exec: { path: string; argv: readonly string[]; envp: readonly string[] } } | { exit: number };

/**
 * The one typed seam between the runtime and the kernel. Everything that needs a system call that
 * Node does not offer goes through this interface; tests substitute a recording fake.
 * Every method throws SysError (errno name + operation + path) on failure.
 */
export interface Libc {
  unshare(flags: number): void;
  setns(fd: number, nstype: number): void;
  /** Returns the CLONE_NEW* type of a namespace file descriptor. */
  nsType(fd: number): number;
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: string, flags: number): void;
  pivotRoot(newRoot: string, putOld: string): void;
  chroot(path: string): void;
  fchdir(fd: number): void;
  sethostname(name: string): void;
  setdomainname(name: string): void;
  mknod(path: string, mode: number, major: number, minor: number): void;
  mkfifo(path: string, mode: number): void;
  fcntl(fd: number, cmd: number, arg: number): number;
  flock(fd: number, op: number): void;
  /** close_range(2); with cloexec, marks the range close-on-exec instead of closing it. */
  closeRange(first: number, last: number, cloexec?: boolean): void;
  setresuid(uid: number): void;
  setresgid(gid: number): void;
  setgroups(gids: number[]): void;
  prctl(option: number, arg2: number, arg3?: number): number;
  /** PR_SET_NAME: the calling thread's comm. */
  setThreadName(name: string): void;
  /** Sets this thread's effective/permitted/inheritable capability sets (64-bit masks). */
  capset(effective: bigint, permitted: bigint, inheritable: bigint): void;
  getrlimit(resource: number): { soft: bigint; hard: bigint };
  /** statfs(2)'s f_flags (ST_*) of the mount at path: needs no /proc, unlike mountinfo. */
  statfsFlags(path: string): number;
  setrlimit(resource: number, soft: bigint, hard: bigint): void;
  /** personality(2): the execution domain (PER_LINUX, PER_LINUX32) of the process. */
  personality(persona: number): void;
  /** sched_setattr(2) for pid (0: the caller); attr is a struct sched_attr. */
  schedSetattr(pid: number, attr: Buffer): void;
  /** sched_setaffinity(2) for pid (0: the calling thread); mask is a cpu_set_t bit mask. */
  schedSetaffinity(pid: number, mask: Buffer): void;
  /** ioprio_set(2) with IOPRIO_WHO_PROCESS. */
  ioprioSet(pid: number, ioprio: number): void;
  /** set_mempolicy(2): mode with its MPOL_F_* flags, nodes as an unsigned long bit mask. */
  setMempolicy(mode: number, nodemask: Buffer, maxnode: number): void;
  /** Installs a seccomp BPF program (sock_filter array) on the calling thread; with NEW_LISTENER, returns the notification fd. */
  seccomp(program: Buffer, flags: number): number;
  /** glibc fork(): returns 0 in the child. Only through process/copy.ts, which makes it safe. */
  fork(): number;
  /**
   * Declares fork and markDoforkRanges's madvise now and runs the marking once on nothing, so that
   * between the marking and the fork neither is declared or first run (process/copy.ts: nothing
   * may be allocated on V8's heap there).
   */
  prepareFork(): void;
  /**
   * MADV_DOFORK over each [flat[2i], flat[2i] + flat[2i+1]), with nothing thrown or allocated on
   * the way: 0, or the first errno but ENOMEM (the holes a range steps over).
   */
  markDoforkRanges(flat: readonly number[]): number;
  /**
   * Whether vfork (below) works here: glibc's ucontext layout is known for x86-64 only.
   */
  vforkSupported(): boolean;
  /**
   * clone(CLONE_VM | CLONE_VFORK | SIGCHLD): a child process that shares this process's memory
   * runs child() (its JavaScript on this thread's stack, below the caller's frames, as a callback
   * would) while the calling thread waits in the kernel. child() must return (never exit, exec or
   * throw): the child then execve()s what it returned, with every signal unblocked, or _exit()s
   * with the status. Returns once the child has exec'd or exited: its pid (in this process's pid
   * namespace for children), whether it reached its execve and, where that failed (the child then
   * exits 127), execve's errno. A child that died inside its JavaScript leaves this process unable
   * to run JavaScript: it is ended (status 255, a line on stderr). process/vfork-birth.ts says
   * what child() may do.
   */
  vfork(child: () => VforkNext): { pid: number; execReached: boolean; execErrno?: number };
  /** A POSIX timer of this process that SIGKILLs it after ms (execve deletes it; a stopped process dies too). */
  armKillTimer(ms: number): void;
  /** getauxval(type): a value the kernel gave the process at exec (0 where it gave none). */
  auxv(type: number): number;
  /** Marks [addr, addr+len) to be copied into forked children (V8 marks its heap MADV_DONTFORK). */
  madviseDofork(addr: number, len: number): void;
  /** madvise(MADV_POPULATE_WRITE): the range's pages made present and writable (a page shared with a forked child is copied now). */
  madvisePopulateWrite(addr: number, len: number): void;
  exit(status: number): never;
  waitpid(pid: number, nohang: boolean): { pid: number; status: number };
  socketpair(): [number, number];
  /** pipe2(O_CLOEXEC): [read end, write end]. */
  pipe(): [number, number];
  dup2(from: number, to: number): void;
  /** poll(2) for readability of several fds; the ones readable (or hung up) within timeoutMs (-1: no limit). */
  pollReadable(fds: readonly number[], timeoutMs: number): number[];
  /** poll(2) for the hang-up alone (no events asked): true when fd is hung up within timeoutMs. */
  pollHangup(fd: number, timeoutMs: number): boolean;
  /** setsid(2): a new session and process group led by the caller. */
  setsid(): void;
  /** getpid(2), uncached (in a forked copy, Node's process.pid is the parent's). */
  getpid(): number;
  /** Blocks every signal for the calling thread; returns the old mask for restoreSignalMask. */
  blockAllSignals(): Buffer;
  restoreSignalMask(old: Buffer): void;
  /** Sets the calling thread's signal mask to exactly these signals. */
  setSignalMask(blocked: readonly number[]): void;
  /** These signals' dispositions (default: every signal's) back to the default (the mask is left alone). */
  defaultSignalHandlers(signals?: readonly number[]): void;
  ignoreSignal(sig: number): void;
  /** A close-on-exec signalfd for these signals (they must be blocked to be read from it). */
  signalFd(signals: readonly number[]): number;
  /** Reads one signal from a signalfd (blocking): its number. */
  readSignal(fd: number): number;
  /** Sends fd over a unix socket with SCM_RIGHTS, with name as the payload (runc's console protocol). */
  sendFd(sock: number, fd: number, name: string): void;
  recvFd(sock: number): { fd: number; name: string };
  /** socket(AF_UNIX) + connect to path; the fd is close-on-exec. */
  connectUnix(path: string): number;
  /** socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE), in the calling thread's network namespace. */
  netlinkRouteSocket(): number;
  /** posix_openpt + grantpt + unlockpt; returns the master (close-on-exec) and the slave's path. */
  openPty(): { master: number; slavePath: string };
  setWinsize(fd: number, rows: number, cols: number): void;
  /** Clears ONLCR on a terminal (on a pty master: its slave's), so relayed output keeps bare \n. */
  clearOnlcr(fd: number): void;
  /** TIOCSCTTY: makes fd the calling process's controlling terminal. */
  setControllingTerminal(fd: number): void;
  /**
   * openat2 of path below dirfd, crossing no mount and following no symlink (magic links
   * included): what a racing mount or a swapped link would redirect fails (EXDEV, ELOOP) instead.
   */
  openBeneath(dirfd: number, path: string, flags: number): number;
  /** open_tree(OPEN_TREE_CLONE) of path (recursive: AT_RECURSIVE): a detached copy of the mount. */
  openTreeClone(path: string, recursive: boolean): number;
  /** mount_setattr(MOUNT_ATTR_IDMAP) on a detached tree with a user namespace fd (recursive: every mount of the tree). */
  idmapTree(treeFd: number, usernsFd: number, recursive?: boolean): void;
  /** mount_setattr(AT_RECURSIVE) on the mount an O_PATH fd refers to, and every mount below it. */
  setMountAttrsRecursive(fd: number, set: number, clear: number): void;
  /** move_mount of a detached tree onto the object an O_PATH fd refers to. */
  moveMountToFd(treeFd: number, targetFd: number): void;
  /** bpf(BPF_PROG_LOAD) of a BPF_PROG_TYPE_CGROUP_DEVICE program (eBPF instructions); returns its fd. */
  bpfLoadCgroupDeviceProgram(insns: Buffer, license: string): number;
  /** bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE) of a loaded program to a cgroup v2 directory fd. */
  bpfAttachCgroupDevice(cgroupFd: number, progFd: number, allowMulti: boolean): void;
  /** bpf(BPF_PROG_QUERY): ids of the BPF_CGROUP_DEVICE programs attached to a cgroup v2 directory fd. */
  bpfQueryCgroupDevice(cgroupFd: number): number[];
  /** bpf(BPF_PROG_GET_FD_BY_ID). */
  bpfProgFdById(id: number): number;
  /** bpf(BPF_PROG_DETACH, BPF_CGROUP_DEVICE). */
  bpfDetachCgroupDevice(cgroupFd: number, progFd: number): void;
  /**
   * keyctl(KEYCTL_JOIN_SESSION_KEYRING) of a new keyring with that name, made searchable by its
   * possessor's user (runc's permissions); undefined where the kernel has no keyrings.
   */
  joinSessionKeyring(name: string): number | undefined;
  /** pidfd_open(2): a close-on-exec fd that refers to the process. */
  pidfdOpen(pid: number): number;
  /** Replaces the process image; returns only by throwing. */
  execve(path: string, argv: string[], envp: string[]): never;
}
