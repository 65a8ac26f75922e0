import * as C from './constants';
import { SysError } from './errors';
import type { Libc } from './libc';
import { loadKoffi } from './koffi-load';
import { makeVfork } from './koffi-vfork';

/** How long connecting to a unix socket may wait for room in its listener's backlog. */
const CONNECT_TIMEOUT_MS = 10_000;
const LINUX_CAPABILITY_VERSION_3 = 0x20080522;
// glibc reserves the first two real-time signals for its own use.
const NSIG = 65;

// Named koffi types live as long as the native module, which may outlive this module's instance
// (test runners reload JavaScript, not native code): declare each once.
function structOnce(name: string, def: Record<string, string>): void {
  try {
    koffi.struct(name, def);
  } catch (e) {
    if (!/Duplicate type name/.test((e as Error).message)) throw e;
  }
}

const koffi = loadKoffi();

export function makeKoffiLibc(): Libc {
  const lib = koffi.load('libc.so.6');
  // Each function is declared when first called: a command calls a few of these ~70 (declaring
  // them all cost every command ~2 ms). A copy forked later inherits those declared before.
  // types: the named structs the declaration uses, registered with it (~0.2 ms a command otherwise)
  const f = <T extends (...args: never[]) => unknown>(decl: string, types?: () => void): T => {
    let fn: T | undefined;
    return ((...args: Parameters<T>) => (fn ??= (types?.(), lib.func(decl) as unknown as T))(...args)) as T;
  };

  const unshare = f<(flags: number) => number>('int unshare(int)');
  const setns = f<(fd: number, t: number) => number>('int setns(int, int)');
  const ioctl = f<(fd: number, req: number, arg: number) => number>('int ioctl(int, unsigned long, unsigned long)');
  const mount = f<(s: string | null, t: string, fs: string | null, fl: number, d: string | null) => number>(
    'int mount(const char *, const char *, const char *, unsigned long, const char *)',
  );
  const umount2 = f<(t: string, fl: number) => number>('int umount2(const char *, int)');
  const syscall2s = f<(nr: number, a: string, b: string) => number>('long syscall(long, const char *, const char *)');
  const chroot = f<(p: string) => number>('int chroot(const char *)');
  const fchdir = f<(fd: number) => number>('int fchdir(int)');
  const sethostname = f<(n: string, l: number) => number>('int sethostname(const char *, size_t)');
  const setdomainname = f<(n: string, l: number) => number>('int setdomainname(const char *, size_t)');
  const mknod = f<(p: string, m: number, d: bigint) => number>('int mknod(const char *, uint32_t, uint64_t)');
  const mkfifo = f<(p: string, m: number) => number>('int mkfifo(const char *, uint32_t)');
  const fcntl = f<(fd: number, cmd: number, arg: number) => number>('int fcntl(int, int, int)');
  const flock = f<(fd: number, op: number) => number>('int flock(int, int)');
  const closeRange = f<(a: number, b: number, fl: number) => number>('int close_range(unsigned int, unsigned int, int)');
  const setresuid = f<(a: number, b: number, c: number) => number>('int setresuid(uint32_t, uint32_t, uint32_t)');
  const setresgid = f<(a: number, b: number, c: number) => number>('int setresgid(uint32_t, uint32_t, uint32_t)');
  const setgroups = f<(n: number, g: Uint32Array | null) => number>('int setgroups(size_t, const uint32_t *)');
  const prctl = f<(o: number, a: number, b: number, c: number, d: number) => number>(
    'int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)',
  );
  const prctlStr = f<(o: number, a: string, b: number, c: number, d: number) => number>(
    'int prctl(int, const char *, unsigned long, unsigned long, unsigned long)',
  );
  const capset = f<(h: Buffer, d: Buffer) => number>('int capset(void *, void *)');
  const getrlimit = f<(r: number, b: Buffer) => number>('int getrlimit(int, void *)');
  const statfs = f<(p: string, b: Buffer) => number>('int statfs(const char *, void *)');
  const setrlimit = f<(r: number, b: Buffer) => number>('int setrlimit(int, void *)');
  const signal = f<(s: number, h: null) => unknown>('void *signal(int, void *)');
  const sigmask = f<(how: number, set: Buffer, old: null) => number>('int pthread_sigmask(int, void *, void *)');
  // Declared by prepareFork, not on first call (through f's rest parameters, an allocation each):
  // process/copy.ts calls them where nothing may be allocated on V8's heap.
  type Madvise = (a: number, l: number, adv: number) => number;
  let forkRaw: (() => number) | undefined;
  let madviseRaw: Madvise | undefined;
  const forkFn = (): (() => number) => (forkRaw ??= lib.func('int fork()') as () => number);
  const madvise = (): Madvise => (madviseRaw ??= lib.func('int madvise(uintptr_t, size_t, int)') as Madvise);
  const markDoforkRanges = (flat: readonly number[]): number => {
    const m = madvise();
    for (let i = 0; i < flat.length; i += 2) {
      if (m(flat[i], flat[i + 1], C.MADV_DOFORK) < 0) {
        const e = koffi.errno();
        if (e !== C.ENOMEM) return e;
      }
    }
    return 0;
  };
  const getauxval = f<(t: number) => number | bigint>('uintptr_t getauxval(unsigned long)');
  const exit_ = f<(s: number) => void>('void _exit(int)');
  const waitpid = f<(pid: number, st: Int32Array, opt: number) => number>('int waitpid(int, int *, int)');
  const socketpair = f<(d: number, t: number, p: number, sv: Int32Array) => number>('int socketpair(int, int, int, int *)');
  const pipe2 = f<(fds: Int32Array, flags: number) => number>('int pipe2(int *, int)');
  const dup2 = f<(a: number, b: number) => number>('int dup2(int, int)');
  const poll = f<(fds: Buffer, n: number, t: number) => number>('int poll(void *, unsigned long, int)');
  const setsid = f<() => number>('int setsid()');
  const getpid = f<() => number>('int getpid()');
  const sigmaskOld = f<(how: number, set: Buffer, old: Buffer) => number>('int pthread_sigmask(int, void *, void *)');
  const signalfd = f<(fd: number, mask: Buffer, flags: number) => number>('int signalfd(int, void *, int)');
  const signalIgn = f<(s: number, h: bigint) => unknown>('void *signal(int, uintptr_t)');
  const sigset = (signals: readonly number[]): Buffer => {
    const set = Buffer.alloc(128);
    for (const s of signals) set[(s - 1) >> 3] |= 1 << ((s - 1) & 7);
    return set;
  };
  const read = f<(fd: number, b: Buffer, n: number) => number>('long read(int, void *, size_t)');
  const msghdrTypes = (): void => {
    structOnce('tsrunc_iovec', { base: 'void *', len: 'size_t' });
    structOnce('tsrunc_msghdr', {
      name: 'void *',
      namelen: 'uint32_t',
      iov: 'tsrunc_iovec *',
      iovlen: 'size_t',
      control: 'void *',
      controllen: 'size_t',
      flags: 'int',
    });
  };
  type Msghdr = {
    name: null;
    namelen: number;
    iov: { base: Buffer; len: number }[];
    iovlen: number;
    control: Buffer;
    controllen: number;
    flags: number;
  };
  const sendmsg = f<(fd: number, m: Msghdr, fl: number) => number>('long sendmsg(int, const tsrunc_msghdr *, int)', msghdrTypes);
  const recvmsg = f<(fd: number, m: Msghdr, fl: number) => number>('long recvmsg(int, _Inout_ tsrunc_msghdr *, int)', msghdrTypes);
  const socket = f<(d: number, t: number, p: number) => number>('int socket(int, int, int)');
  const connect = f<(fd: number, addr: Buffer, len: number) => number>('int connect(int, void *, uint32_t)');
  const close = f<(fd: number) => number>('int close(int)');
  const posixOpenpt = f<(fl: number) => number>('int posix_openpt(int)');
  const grantpt = f<(fd: number) => number>('int grantpt(int)');
  const unlockpt = f<(fd: number) => number>('int unlockpt(int)');
  const ptsnameR = f<(fd: number, b: Buffer, l: number) => number>('int ptsname_r(int, _Out_ char *, size_t)');
  const ioctlPtr = f<(fd: number, req: number, arg: Buffer) => number>('int ioctl(int, unsigned long, void *)');
  const seccomp = f<(nr: number, op: number, flags: number, prog: { len: number; filter: Buffer }) => number>(
    'long syscall(long, unsigned int, unsigned int, tsrunc_sock_fprog *)',
    () => structOnce('tsrunc_sock_fprog', { len: 'uint16_t', filter: 'void *' }),
  );
  const openat2 = f<(nr: number, dfd: number, p: string, how: Buffer, size: number) => number>(
    'long syscall(long, int, const char *, void *, size_t)',
  );
  const openTree = f<(nr: number, dfd: number, p: string, fl: number) => number>('long syscall(long, int, const char *, unsigned int)');
  const mountSetattr = f<(nr: number, dfd: number, p: string, fl: number, attr: Buffer, size: number) => number>(
    'long syscall(long, int, const char *, unsigned int, void *, size_t)',
  );
  const moveMount = f<(nr: number, fd: number, fp: string, tfd: number, tp: string, fl: number) => number>(
    'long syscall(long, int, const char *, int, const char *, unsigned int)',
  );
  const syscallII = f<(nr: number, a: number, b: number) => number>('long syscall(long, int, unsigned int)');
  const keyctlStr = f<(nr: number, cmd: number, name: string) => number>('long syscall(long, int, const char *)');
  const keyctlBuf = f<(nr: number, cmd: number, id: number, buf: Buffer, len: number) => number>(
    'long syscall(long, int, int, void *, unsigned long)',
  );
  const keyctlII = f<(nr: number, cmd: number, id: number, v: number) => number>('long syscall(long, int, int, unsigned int)');
  const bpfRaw = f<(nr: number, cmd: number, attr: Buffer, size: number) => number>('long syscall(long, int, void *, unsigned int)');
  const syscallIB = f<(nr: number, a: number, b: Buffer, c: number) => number>('long syscall(long, int, void *, unsigned long)');
  const syscallILB = f<(nr: number, a: number, b: number, c: Buffer) => number>('long syscall(long, int, unsigned long, void *)');
  const syscallIII = f<(nr: number, a: number, b: number, c: number) => number>('long syscall(long, int, int, int)');
  const personality = f<(p: number) => number>('int personality(unsigned long)');
  const execve = f<(p: string, a: (string | null)[], e: (string | null)[]) => number>(
    'int execve(const char *, const char **, const char **)',
  );

  const check = (rc: number | bigint, op: string, path?: string): number => {
    if (Number(rc) < 0) throw new SysError(op, koffi.errno(), path);
    return Number(rc);
  };

  const vf = makeVfork(koffi, lib);

  return {
    vforkSupported: vf.vforkSupported,
    vfork: vf.vfork,
    armKillTimer: vf.armKillTimer,
    unshare: (flags) => void check(unshare(flags), 'unshare'),
    setns: (fd, t) => void check(setns(fd, t), 'setns'),
    nsType: (fd) => check(ioctl(fd, C.NS_GET_NSTYPE, 0), 'ioctl(NS_GET_NSTYPE)'),
    mount: (s, t, fs, fl, d) => void check(mount(s, t, fs, fl, d), `mount(${fs ?? ''}${s ? ` from ${s}` : ''})`, t),
    umount2: (t, fl) => void check(umount2(t, fl), 'umount2', t),
    pivotRoot: (n, o) => void check(syscall2s(C.SYS_PIVOT_ROOT, n, o), 'pivot_root', n),
    chroot: (p) => void check(chroot(p), 'chroot', p),
    fchdir: (fd) => void check(fchdir(fd), 'fchdir'),
    sethostname: (n) => void check(sethostname(n, Buffer.byteLength(n)), 'sethostname'),
    setdomainname: (n) => void check(setdomainname(n, Buffer.byteLength(n)), 'setdomainname'),
    mknod: (p, m, major, minor) => {
      const dev = BigInt(minor & 0xff) | (BigInt(major & 0xfff) << 8n) | (BigInt(minor & ~0xff) << 12n) | (BigInt(major & ~0xfff) << 32n);
      check(mknod(p, m, dev), 'mknod', p);
    },
    mkfifo: (p, m) => void check(mkfifo(p, m), 'mkfifo', p),
    fcntl: (fd, cmd, arg) => check(fcntl(fd, cmd, arg), 'fcntl'),
    flock: (fd, op) => void check(flock(fd, op), 'flock'),
    closeRange: (a, b, cloexec = false) => void check(closeRange(a, b, cloexec ? 4 : 0), 'close_range'),
    setresuid: (u) => void check(setresuid(u, u, u), 'setresuid'),
    setresgid: (g) => void check(setresgid(g, g, g), 'setresgid'),
    setgroups: (gids) => void check(setgroups(gids.length, gids.length ? Uint32Array.from(gids) : null), 'setgroups'),
    prctl: (o, a, b = 0) => check(prctl(o, a, b, 0, 0), `prctl(${o})`),
    setThreadName: (name) => void check(prctlStr(C.PR_SET_NAME, name, 0, 0, 0), 'prctl(PR_SET_NAME)'),
    capset: (eff, perm, inh) => {
      const hdr = Buffer.alloc(8);
      hdr.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, 0);
      const data = Buffer.alloc(24);
      const lo = (v: bigint) => Number(v & 0xffffffffn);
      const hi = (v: bigint) => Number((v >> 32n) & 0xffffffffn);
      data.writeUInt32LE(lo(eff), 0);
      data.writeUInt32LE(lo(perm), 4);
      data.writeUInt32LE(lo(inh), 8);
      data.writeUInt32LE(hi(eff), 12);
      data.writeUInt32LE(hi(perm), 16);
      data.writeUInt32LE(hi(inh), 20);
      check(capset(hdr, data), 'capset');
    },
    statfsFlags: (p) => {
      const b = Buffer.alloc(C.STATFS_SIZE);
      check(statfs(p, b), 'statfs', p);
      return Number(b.readBigUInt64LE(C.STATFS_FLAGS_OFFSET));
    },
    getrlimit: (r) => {
      const b = Buffer.alloc(16);
      check(getrlimit(r, b), 'getrlimit');
      return { soft: b.readBigUInt64LE(0), hard: b.readBigUInt64LE(8) };
    },
    setrlimit: (r, soft, hard) => {
      const b = Buffer.alloc(16);
      b.writeBigUInt64LE(soft, 0);
      b.writeBigUInt64LE(hard, 8);
      check(setrlimit(r, b), 'setrlimit');
    },
    seccomp: (program, flags) =>
      check(seccomp(C.SYS_SECCOMP, C.SECCOMP_SET_MODE_FILTER, flags, { len: program.length / 8, filter: program }), 'seccomp'),
    fork: () => check(forkFn()(), 'fork'),
    prepareFork: () => {
      forkFn();
      markDoforkRanges([]);
    },
    markDoforkRanges,
    auxv: (t) => Number(getauxval(t)),
    madviseDofork: (a, l) => void check(madvise()(a, l, C.MADV_DOFORK), 'madvise'),
    madvisePopulateWrite: (a, l) => void check(madvise()(a, l, C.MADV_POPULATE_WRITE), 'madvise'),
    exit: (s) => {
      exit_(s);
      throw new Error('unreachable');
    },
    waitpid: (pid, nohang) => {
      const st = new Int32Array(1);
      const r = check(waitpid(pid, st, nohang ? 1 : 0), 'waitpid');
      return { pid: r, status: st[0] };
    },
    pipe: () => {
      const fds = new Int32Array(2);
      check(pipe2(fds, C.O_CLOEXEC), 'pipe2');
      return [fds[0], fds[1]];
    },
    socketpair: () => {
      const sv = new Int32Array(2);
      check(socketpair(C.AF_UNIX, C.SOCK_STREAM | C.SOCK_CLOEXEC, 0, sv), 'socketpair');
      return [sv[0], sv[1]];
    },
    dup2: (a, b) => void check(dup2(a, b), 'dup2'),
    pollReadable: (fds, t) => {
      const b = Buffer.alloc(8 * fds.length);
      fds.forEach((fd, i) => {
        b.writeInt32LE(fd, i * 8);
        b.writeInt16LE(C.POLLIN, i * 8 + 4);
      });
      for (;;) {
        const rc = poll(b, fds.length, t);
        if (rc < 0 && koffi.errno() === C.EINTR) continue;
        check(rc, 'poll');
        return fds.filter((_, i) => b.readInt16LE(i * 8 + 6) !== 0);
      }
    },
    pollHangup: (fd, t) => {
      const b = Buffer.alloc(8);
      b.writeInt32LE(fd, 0); // events 0: poll reports POLLHUP and POLLERR whatever is asked
      const end = Date.now() + t;
      for (;;) {
        const rc = poll(b, 1, Math.max(0, end - Date.now()));
        if (rc < 0 && koffi.errno() === C.EINTR) continue;
        return check(rc, 'poll') > 0 && (b.readInt16LE(6) & (C.POLLHUP | C.POLLERR)) !== 0;
      }
    },
    setsid: () => void check(setsid(), 'setsid'),
    getpid: () => getpid(),
    blockAllSignals: () => {
      const old = Buffer.alloc(128);
      check(sigmaskOld(C.SIG_BLOCK, Buffer.alloc(128, 0xff), old), 'pthread_sigmask');
      return old;
    },
    restoreSignalMask: (old) => void check(sigmask(C.SIG_SETMASK, old, null), 'pthread_sigmask'),
    setSignalMask: (blocked) => void check(sigmask(C.SIG_SETMASK, sigset(blocked), null), 'pthread_sigmask'),
    defaultSignalHandlers: (signals) => {
      if (signals) for (const s of signals) signal(s, null);
      else for (let s = 1; s < NSIG; s++) if (s !== 9 && s !== 19 && s !== 32 && s !== 33) signal(s, null);
    },
    ignoreSignal: (s) => void signalIgn(s, 1n),
    signalFd: (signals) => check(signalfd(-1, sigset(signals), C.SFD_CLOEXEC), 'signalfd'),
    readSignal: (fd) => {
      const info = Buffer.alloc(128); // struct signalfd_siginfo
      for (;;) {
        const n = Number(read(fd, info, 128));
        if (n < 0 && koffi.errno() === C.EINTR) continue;
        check(n, 'read(signalfd)');
        return info.readUInt32LE(0);
      }
    },
    sendFd: (sock, fd, name) => {
      const cmsg = Buffer.alloc(24);
      cmsg.writeBigUInt64LE(20n, 0); // CMSG_LEN(sizeof(int))
      cmsg.writeInt32LE(1, 8); // SOL_SOCKET
      cmsg.writeInt32LE(1, 12); // SCM_RIGHTS
      cmsg.writeInt32LE(fd, 16);
      const data = Buffer.from(name || ' ');
      check(
        sendmsg(
          sock,
          { name: null, namelen: 0, iov: [{ base: data, len: data.length }], iovlen: 1, control: cmsg, controllen: 24, flags: 0 },
          C.MSG_NOSIGNAL,
        ),
        'sendmsg',
      );
    },
    recvFd: (sock) => {
      const data = Buffer.alloc(4096);
      const control = Buffer.alloc(64);
      const m: Msghdr = { name: null, namelen: 0, iov: [{ base: data, len: data.length }], iovlen: 1, control, controllen: 64, flags: 0 };
      const n = check(recvmsg(sock, m, C.MSG_CMSG_CLOEXEC), 'recvmsg');
      if (m.controllen < 20 || control.readInt32LE(8) !== 1 || control.readInt32LE(12) !== 1)
        throw new Error('recvmsg: no file descriptor received');
      return { fd: control.readInt32LE(16), name: data.toString('utf8', 0, n) };
    },
    netlinkRouteSocket: () => check(socket(C.AF_NETLINK, C.SOCK_RAW | C.SOCK_CLOEXEC, C.NETLINK_ROUTE), 'socket(AF_NETLINK)'),
    connectUnix: (path) => {
      if (Buffer.byteLength(path) > 107) throw new Error(`${path}: socket path too long`);
      // Non-blocking: a listener whose backlog is full (it never accepts) would block connect
      // forever; EAGAIN is retried until the deadline instead.
      const fd = check(socket(C.AF_UNIX, C.SOCK_STREAM | C.SOCK_CLOEXEC | C.SOCK_NONBLOCK, 0), 'socket');
      const addr = Buffer.alloc(110);
      addr.writeUInt16LE(1, 0); // AF_UNIX
      addr.write(path, 2);
      const deadline = Date.now() + CONNECT_TIMEOUT_MS;
      for (;;) {
        if (connect(fd, addr, 110) === 0) break;
        const errno = koffi.errno();
        if (errno === C.EAGAIN && Date.now() < deadline) {
          poll(Buffer.alloc(8), 0, 5);
          continue;
        }
        close(fd);
        if (errno === 11) throw new Error(`connect ${path}: the listener accepted nothing within ${CONNECT_TIMEOUT_MS / 1000}s`);
        throw new SysError('connect', errno, path);
      }
      fcntl(fd, C.F_SETFL, fcntl(fd, C.F_GETFL, 0) & ~C.SOCK_NONBLOCK);
      return fd;
    },
    openPty: () => {
      const master = check(posixOpenpt(C.O_RDWR | C.O_NOCTTY | C.O_CLOEXEC), 'posix_openpt');
      check(grantpt(master), 'grantpt');
      check(unlockpt(master), 'unlockpt');
      const buf = Buffer.alloc(128);
      const rc = ptsnameR(master, buf, 128);
      if (rc !== 0) throw new SysError('ptsname_r', rc);
      return { master, slavePath: buf.toString('utf8', 0, buf.indexOf(0)) };
    },
    setWinsize: (fd, rows, cols) => {
      const ws = Buffer.alloc(8);
      ws.writeUInt16LE(rows, 0);
      ws.writeUInt16LE(cols, 2);
      check(ioctlPtr(fd, C.TIOCSWINSZ, ws), 'ioctl(TIOCSWINSZ)');
    },
    personality: (p) => void check(personality(p), 'personality'),
    schedSetattr: (pid, attr) => void check(syscallIB(C.SYS_SCHED_SETATTR, pid, attr, 0), 'sched_setattr'),
    schedSetaffinity: (pid, mask) => void check(syscallILB(C.SYS_SCHED_SETAFFINITY, pid, mask.length, mask), 'sched_setaffinity'),
    ioprioSet: (pid, ioprio) => void check(syscallIII(C.SYS_IOPRIO_SET, C.IOPRIO_WHO_PROCESS, pid, ioprio), 'ioprio_set'),
    setMempolicy: (mode, mask, maxnode) => void check(syscallIB(C.SYS_SET_MEMPOLICY, mode, mask, maxnode), 'set_mempolicy'),
    clearOnlcr: (fd) => {
      const t = Buffer.alloc(64); // the kernel's struct termios (36 bytes); c_oflag at offset 4
      check(ioctlPtr(fd, C.TCGETS, t), 'ioctl(TCGETS)');
      t.writeUInt32LE(t.readUInt32LE(4) & ~C.ONLCR, 4);
      check(ioctlPtr(fd, C.TCSETS, t), 'ioctl(TCSETS)');
    },
    setControllingTerminal: (fd) => void check(ioctl(fd, C.TIOCSCTTY, 0), 'ioctl(TIOCSCTTY)'),
    openBeneath: (dirfd, p, flags) => {
      const how = Buffer.alloc(24); // struct open_how: flags, mode, resolve
      how.writeBigUInt64LE(BigInt(flags | C.O_CLOEXEC), 0);
      how.writeBigUInt64LE(BigInt(C.RESOLVE_STRICTLY_BENEATH), 16);
      return check(openat2(C.SYS_OPENAT2, dirfd, p, how, 24), 'openat2', p);
    },
    openTreeClone: (p, recursive) =>
      check(openTree(C.SYS_OPEN_TREE, C.AT_FDCWD, p, C.OPEN_TREE_CLONE | C.O_CLOEXEC | (recursive ? C.AT_RECURSIVE : 0)), 'open_tree', p),
    idmapTree: (tree, userns, recursive = false) => {
      const attr = Buffer.alloc(32); // struct mount_attr
      attr.writeBigUInt64LE(BigInt(C.MOUNT_ATTR_IDMAP), 0); // attr_set
      attr.writeBigUInt64LE(BigInt(userns), 24);
      const flags = C.AT_EMPTY_PATH | (recursive ? C.AT_RECURSIVE : 0);
      check(mountSetattr(C.SYS_MOUNT_SETATTR, tree, '', flags, attr, 32), 'mount_setattr(MOUNT_ATTR_IDMAP)');
    },
    setMountAttrsRecursive: (fd, set, clear) => {
      const attr = Buffer.alloc(32); // struct mount_attr: attr_set, attr_clr, propagation, userns_fd
      attr.writeBigUInt64LE(BigInt(set), 0);
      attr.writeBigUInt64LE(BigInt(clear), 8);
      check(mountSetattr(C.SYS_MOUNT_SETATTR, fd, '', C.AT_EMPTY_PATH | C.AT_RECURSIVE, attr, 32), 'mount_setattr(AT_RECURSIVE)');
    },
    moveMountToFd: (tree, target) =>
      void check(moveMount(C.SYS_MOVE_MOUNT, tree, '', target, '', C.MOVE_MOUNT_F_EMPTY_PATH | C.MOVE_MOUNT_T_EMPTY_PATH), 'move_mount'),
    bpfLoadCgroupDeviceProgram: (insns, license) => {
      // union bpf_attr's C.BPF_PROG_LOAD part; pointers are the addresses of buffers that live
      // (and, being off-heap, stay put) until the call returns.
      const lic = Buffer.from(`${license}\0`);
      const log = Buffer.alloc(65536);
      const attr = Buffer.alloc(48);
      attr.writeUInt32LE(C.BPF_PROG_TYPE_CGROUP_DEVICE, 0);
      attr.writeUInt32LE(insns.length / 8, 4);
      attr.writeBigUInt64LE(koffi.address(insns), 8);
      attr.writeBigUInt64LE(koffi.address(lic), 16);
      for (let tries = 0; ; tries++) {
        const fd = Number(bpfRaw(C.SYS_BPF, C.BPF_PROG_LOAD, attr, 48));
        if (fd >= 0) return fd;
        const errno = koffi.errno();
        // The verifier may be interrupted by a signal.
        if (errno === C.EAGAIN && tries < 30) continue;
        if (attr.readUInt32LE(24))
          throw new SysError('bpf(C.BPF_PROG_LOAD)', errno, undefined, log.toString('utf8', 0, log.indexOf(0)).trim());
        // Again with the verifier's log, so the error says why.
        attr.writeUInt32LE(1, 24);
        attr.writeUInt32LE(log.length, 28);
        attr.writeBigUInt64LE(koffi.address(log), 32);
      }
    },
    bpfAttachCgroupDevice: (cgroupFd, progFd, allowMulti) => {
      const attr = Buffer.alloc(20);
      attr.writeUInt32LE(cgroupFd, 0);
      attr.writeUInt32LE(progFd, 4);
      attr.writeUInt32LE(C.BPF_CGROUP_DEVICE, 8);
      attr.writeUInt32LE(allowMulti ? C.BPF_F_ALLOW_MULTI : 0, 12);
      check(bpfRaw(C.SYS_BPF, C.BPF_PROG_ATTACH, attr, 20), 'bpf(C.BPF_PROG_ATTACH)');
    },
    bpfQueryCgroupDevice: (cgroupFd) => {
      for (let size = 64; ;) {
        const ids = Buffer.alloc(size * 4);
        // The whole query part of bpf_attr: kernels 6.17+ write its last field whatever size is passed.
        const attr = Buffer.alloc(64);
        attr.writeUInt32LE(cgroupFd, 0);
        attr.writeUInt32LE(C.BPF_CGROUP_DEVICE, 4);
        attr.writeBigUInt64LE(koffi.address(ids), 16);
        attr.writeUInt32LE(size, 24);
        const rc = Number(bpfRaw(C.SYS_BPF, C.BPF_PROG_QUERY, attr, 64));
        const count = attr.readUInt32LE(24);
        if (rc < 0) {
          const errno = koffi.errno();
          if (errno === C.ENOSPC && count > size) {
            size = count;
            continue;
          }
          throw new SysError('bpf(C.BPF_PROG_QUERY)', errno);
        }
        return Array.from({ length: count }, (_, i) => ids.readUInt32LE(i * 4));
      }
    },
    bpfProgFdById: (id) => {
      const attr = Buffer.alloc(16);
      attr.writeUInt32LE(id, 0);
      return check(bpfRaw(C.SYS_BPF, C.BPF_PROG_GET_FD_BY_ID, attr, 16), `bpf(C.BPF_PROG_GET_FD_BY_ID ${id})`);
    },
    bpfDetachCgroupDevice: (cgroupFd, progFd) => {
      const attr = Buffer.alloc(20);
      attr.writeUInt32LE(cgroupFd, 0);
      attr.writeUInt32LE(progFd, 4);
      attr.writeUInt32LE(C.BPF_CGROUP_DEVICE, 8);
      check(bpfRaw(C.SYS_BPF, C.BPF_PROG_DETACH, attr, 20), 'bpf(C.BPF_PROG_DETACH)');
    },
    joinSessionKeyring: (name) => {
      const id = Number(keyctlStr(C.SYS_KEYCTL, C.KEYCTL_JOIN_SESSION_KEYRING, name));
      if (id < 0) {
        const errno = koffi.errno();
        if (errno === C.ENOSYS) return undefined;
        throw new SysError('keyctl(KEYCTL_JOIN_SESSION_KEYRING)', errno, name);
      }
      // "type;uid;gid;perm;description": add search for the possessor's user, as runc does.
      const buf = Buffer.alloc(512);
      const n = check(keyctlBuf(C.SYS_KEYCTL, C.KEYCTL_DESCRIBE, id, buf, buf.length), 'keyctl(KEYCTL_DESCRIBE)');
      const perm = parseInt(buf.toString('utf8', 0, Math.max(0, n - 1)).split(';')[3], 16);
      check(keyctlII(C.SYS_KEYCTL, C.KEYCTL_SETPERM, id, (perm | C.KEY_POS_SETATTR) >>> 0), 'keyctl(KEYCTL_SETPERM)');
      return id;
    },
    pidfdOpen: (pid) => check(syscallII(C.SYS_PIDFD_OPEN, pid, 0), `pidfd_open(${pid})`),
    execve: (p, argv, envp) => {
      check(execve(p, [...argv, null], [...envp, null]), 'execve', p);
      throw new SysError('execve', 0, p);
    },
  };
}
