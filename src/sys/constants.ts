// Linux x86-64/aarch64 constants used by the runtime (values from the kernel's UAPI headers).

export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;
export const CLONE_NEWTIME = 0x00000080;
export const CLONE_FS = 0x00000200;

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_SYNCHRONOUS = 0x10;
export const MS_REMOUNT = 0x20;
export const MS_MANDLOCK = 0x40;
export const MS_DIRSYNC = 0x80;
export const MS_NOSYMFOLLOW = 0x100;
export const MS_NOATIME = 0x400;
export const MS_NODIRATIME = 0x800;
export const MS_BIND = 0x1000;
export const MS_MOVE = 0x2000;
export const MS_REC = 0x4000;
export const MS_SILENT = 0x8000;
export const MS_UNBINDABLE = 0x20000;
export const MS_PRIVATE = 0x40000;
export const MS_SLAVE = 0x80000;
export const MS_SHARED = 0x100000;
export const MS_RELATIME = 0x200000;
export const MS_STRICTATIME = 0x1000000;
export const MS_LAZYTIME = 0x2000000;

export const MNT_DETACH = 0x2;

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_APPEND = 0o2000;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_NONBLOCK = 0o4000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;

export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const FD_CLOEXEC = 1;

export const LOCK_EX = 2;
export const LOCK_NB = 4;

export const S_IFMT = 0o170000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;

export const PR_SET_PDEATHSIG = 1;
export const PR_SET_DUMPABLE = 4;
export const PR_SET_KEEPCAPS = 8;
export const PR_CAPBSET_READ = 23;
export const PR_CAPBSET_DROP = 24;
export const PR_SET_NO_NEW_PRIVS = 38;
export const PR_CAP_AMBIENT = 47;
export const PR_CAP_AMBIENT_RAISE = 2;
export const PR_CAP_AMBIENT_CLEAR_ALL = 4;

export const NS_GET_NSTYPE = 0xb703;

export const SIG_SETMASK = 2;

/** statfs f_type of procfs */
export const PROC_SUPER_MAGIC = 0x9fa0;

// What the libc binding (sys/koffi-libc.ts) passes to the kernel, grouped by call.
export const AF_UNIX = 1;
export const AF_NETLINK = 16;
export const NETLINK_ROUTE = 0;
export const SOCK_STREAM = 1;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_CMSG_CLOEXEC = 0x40000000;
export const POLLIN = 1;
export const SIG_BLOCK = 0;
export const SFD_CLOEXEC = 0o2000000;
export const PR_SET_NAME = 15;
export const MADV_DOFORK = 11;
// getauxval: the page size, and where the vDSO's text was mapped
export const AT_PAGESZ = 6;
export const AT_SYSINFO_EHDR = 33;
export const MADV_POPULATE_WRITE = 23;
export const IOPRIO_WHO_PROCESS = 1;
export const TCGETS = 0x5401;
export const TCSETS = 0x5402;
export const TIOCSCTTY = 0x540e;
export const TIOCSWINSZ = 0x5414;
/** termios c_oflag: map NL to CR-NL on output */
export const ONLCR = 0o4;
export const AT_FDCWD = -100;
export const AT_EMPTY_PATH = 0x1000;
export const AT_RECURSIVE = 0x8000;
export const OPEN_TREE_CLONE = 1;
/** openat2's RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH */
export const RESOLVE_STRICTLY_BENEATH = 0x01 | 0x02 | 0x04 | 0x08;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const MOUNT_ATTR_IDMAP = 0x100000;
export const MOVE_MOUNT_F_EMPTY_PATH = 0x4;
export const MOVE_MOUNT_T_EMPTY_PATH = 0x40;
/** a key permission: the possessor may set its attributes */
export const KEY_POS_SETATTR = 0x080000;
export const KEYCTL_JOIN_SESSION_KEYRING = 1;
export const KEYCTL_SETPERM = 5;
export const KEYCTL_DESCRIBE = 6;
export const SECCOMP_SET_MODE_FILTER = 1;
export const BPF_PROG_LOAD = 5;
export const BPF_PROG_ATTACH = 8;
export const BPF_PROG_DETACH = 9;
export const BPF_PROG_GET_FD_BY_ID = 13;
export const BPF_PROG_QUERY = 16;
export const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
export const BPF_CGROUP_DEVICE = 6;
export const BPF_F_ALLOW_MULTI = 2;

// errno values the binding retries on or tells apart
export const EINTR = 4;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EINVAL = 22;
export const ENOSPC = 28;
export const ENOSYS = 38;

// Calls made through syscall(2): pivot_root and the rest have no glibc wrapper (x86_64's
// numbers; arm64's where they differ; the new mount API has the same numbers everywhere).
// process.arch is os.arch(), without loading os.
const ARM64 = process.arch === 'arm64';
export const SYS_PIVOT_ROOT = ARM64 ? 41 : 155;
export const SYS_SECCOMP = ARM64 ? 277 : 317;
export const SYS_KEYCTL = ARM64 ? 219 : 250;
export const SYS_BPF = ARM64 ? 280 : 321;
export const SYS_SCHED_SETATTR = ARM64 ? 274 : 314;
export const SYS_SCHED_SETAFFINITY = ARM64 ? 122 : 203;
export const SYS_IOPRIO_SET = ARM64 ? 30 : 251;
export const SYS_SET_MEMPOLICY = ARM64 ? 237 : 238;
export const SYS_OPEN_TREE = 428;
export const SYS_MOVE_MOUNT = 429;
export const SYS_PIDFD_OPEN = 434;
export const SYS_OPENAT2 = 437;
export const SYS_MOUNT_SETATTR = 442;

/** struct statfs on 64-bit Linux (x86_64 and arm64 alike): f_flags follows ten 8-byte fields */
export const STATFS_SIZE = 120;
export const STATFS_FLAGS_OFFSET = 80;
