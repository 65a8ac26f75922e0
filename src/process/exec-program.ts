import fs = require('fs');
import { posix } from 'path';
import type { Libc } from '../sys/libc';
import { resetSignals } from './copy';
import { isErrno } from '../sys/errors';
import * as C from '../sys/constants';
import type { ProcessConfig } from '../ocispec/config';
import { applyCapabilities, dropBounding } from '../security/capabilities';
import { applyAppArmorOnExec } from '../security/apparmor';
import { RLIMITS, applyRlimits, RLIM_INFINITY } from '../security/rlimits';
import { SECCOMP_FILTER_FLAG_NEW_LISTENER } from '../security/seccomp';
import {
  applyFinalAffinity,
  applyIoPriority,
  applyMemoryPolicy,
  applyPersonality,
  applyScheduler,
  type ContainerAttrs,
} from './process-attrs';

function envValue(env: readonly string[], key: string): string | undefined {
  const e = env.find((v) => v.startsWith(key + '='));
  return e?.slice(key.length + 1);
}

function isExecutableFile(p: string): boolean {
  try {
    const st = fs.statSync(p, { throwIfNoEntry: false }); // PATH's misses are the common case
    return st !== undefined && st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** execvp's lookup, done inside the container's root with the container's PATH. */
export function findExecutable(name: string, env: readonly string[], cwd: string): string {
  if (name.includes('/')) {
    const p = posix.resolve(cwd, name);
    if (!fs.existsSync(p)) throw new Error(`exec: "${name}": no such file or directory`);
    if (!isExecutableFile(p)) throw new Error(`exec: "${name}": permission denied`);
    return p;
  }
  const path = envValue(env, 'PATH') ?? '';
  for (const dir of path.split(':')) {
    const p = posix.resolve(cwd, dir || '.', name);
    if (isExecutableFile(p)) return p;
  }
  throw new Error(`exec: "${name}": executable file not found in $PATH`);
}

/**
 * The environment the program gets, as runc prepares it: a variable given twice keeps its last
 * value (exec's --env overrides the container's), an empty HOME counts as unset, and HOME is the
 * user's passwd entry (else "/") when unset.
 */
export function prepareEnv(env: readonly string[], uid: number): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  let home = false;
  for (let i = env.length - 1; i >= 0; i--) {
    const kv = env[i];
    const key = kv.slice(0, kv.indexOf('='));
    if (seen.has(key)) continue;
    seen.add(key);
    if (key === 'HOME') {
      if (kv.length === 5) continue;
      home = true;
    }
    out.push(kv);
  }
  out.reverse();
  if (!home) out.push(`HOME=${homeOf(uid)}`);
  return out;
}

function homeOf(uid: number): string {
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length >= 6 && f[2] !== '' && Number(f[2]) === uid) return f[5] || '/';
    }
  } catch {
    // no passwd in the image
  }
  return '/';
}

function listFds(): number[] {
  try {
    return fs.readdirSync('/proc/self/fd').map(Number);
  } catch {
    return Array.from({ length: 1024 }, (_, i) => i);
  }
}

function trySetFd(sys: Libc, fd: number, flags: number): void {
  try {
    sys.fcntl(fd, C.F_SETFD, flags);
  } catch {
    // not open: nothing to do
  }
}

export interface ExecOptions {
  preserveFds: number;
  /** the environment as prepareEnv made it, where the caller has it already */
  env?: string[];
  nofileSoft?: string;
  seccomp?: {
    program: Buffer;
    flags: number;
    /** SCMP_ACT_NOTIFY: a socket connected to linux.seccomp.listenerPath, and the process state to send with the fd */
    listener?: { fd: number; state: string };
  };
  /** the container's personality and memory policy (exec processes get them too, as runc's) */
  container?: ContainerAttrs;
}

/**
 * The pty slave becomes the controlling terminal and stdio right away, at create: the caller's
 * stdio must be let go (containerd's shim waits for EOF on the pipes it gave `create`).
 */
export function adoptTerminal(sys: Libc, slave: number): void {
  sys.setControllingTerminal(slave);
  for (const fd of [0, 1, 2]) sys.dup2(slave, fd);
  fs.closeSync(slave);
}

/**
 * As runc: the program's user owns its stdio, so a non-root program can use its terminal (the
 * group stays the mount's, tty's gid=5). Unlike runc, only a pty, pipe or socket is changed, never
 * a file or another device the caller passed (runc chowns the caller's files too). Refusals
 * (an unmapped owner, a read-only /dev) leave it as it is, as runc.
 */
function ownStdio(uid: number): void {
  for (const fd of [0, 1, 2]) {
    let st: fs.Stats;
    try {
      st = fs.fstatSync(fd);
    } catch {
      continue;
    }
    const major = Math.floor(st.rdev / 256) & 0xfff;
    const pty = st.isCharacterDevice() && major >= 136 && major <= 143;
    if (st.uid === uid || !(pty || st.isFIFO() || st.isSocket())) continue;
    try {
      fs.fchownSync(fd, uid, -1);
    } catch (e) {
      if (!isErrno(e, 'EPERM') && !isErrno(e, 'EROFS') && !isErrno(e, 'EINVAL')) throw e;
    }
  }
}

/**
 * The filter, and for SCMP_ACT_NOTIFY its notification fd to the listener (runtime-spec: with
 * the container process state as the message, fds ["seccompFd"]); the program never holds it.
 */
function installSeccomp(sys: Libc, sc: NonNullable<ExecOptions['seccomp']>): void {
  const notifyFd = sys.seccomp(sc.program, sc.flags);
  if (!(sc.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER)) return;
  if (!sc.listener) throw new Error('linux.seccomp.listenerPath: no connection to the listener');
  try {
    sys.sendFd(sc.listener.fd, notifyFd, sc.listener.state);
  } catch (e) {
    throw new Error(`linux.seccomp.listenerPath: sending the notification fd: ${(e as Error).message}`);
  } finally {
    fs.closeSync(notifyFd);
    fs.closeSync(sc.listener.fd);
  }
}

/**
 * The caller's soft RLIMIT_NOFILE, as bin/tsrunc recorded it before Node raised its own: a count
 * or "unlimited"; anything else (no launcher, no /proc) is none.
 */
export function callerNofileSoft(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = env.TSRUNC_NOFILE_SOFT;
  return v !== undefined && /^(\d+|unlimited)$/.test(v) ? v : undefined;
}

/** What a process execs: its program's path, arguments and environment. */
export interface ProgramTarget {
  path: string;
  argv: string[];
  envp: string[];
}

/**
 * The last steps of the container's init, on the main thread, ending in execve: from here on the
 * process becomes the user's program, so everything the program must not inherit is undone here.
 */
export function execProgram(sys: Libc, p: ProcessConfig, exe: string, opts: ExecOptions): never {
  const t = prepareProgram(sys, p, exe, opts);
  return sys.execve(t.path, t.argv, t.envp);
}

/**
 * execProgram's steps but the execve: what to exec. With signalsStayBlocked, signals are left
 * blocked (a process born by vfork unblocks them after its JavaScript: process/vfork-birth.ts).
 */
export function prepareProgram(
  sys: Libc,
  p: ProcessConfig,
  exe: string,
  opts: ExecOptions & { signalsStayBlocked?: boolean },
): ProgramTarget {
  process.chdir(p.cwd);
  process.umask(p.umask ?? 0o022);

  applyRlimits(sys, p.rlimits);
  if (opts.nofileSoft !== undefined && !p.rlimits.some((r) => r.resource === RLIMITS.RLIMIT_NOFILE)) {
    const cur = sys.getrlimit(RLIMITS.RLIMIT_NOFILE);
    const soft = opts.nofileSoft === 'unlimited' ? RLIM_INFINITY : BigInt(opts.nofileSoft);
    if (soft <= cur.hard) sys.setrlimit(RLIMITS.RLIMIT_NOFILE, soft, cur.hard);
  }

  applyPersonality(sys, opts.container?.personality);
  applyMemoryPolicy(sys, opts.container?.memoryPolicy);
  applyScheduler(sys, p.scheduler);
  applyIoPriority(sys, p.ioPriority);
  applyFinalAffinity(sys, p.cpuAffinity);

  const env = opts.env ?? prepareEnv(p.env, p.uid);
  const keep = 3 + opts.preserveFds;
  // Only stdio and the preserved fds (the exec fifo and sync socket included) reach the program.
  // Nothing is closed under the feet of Node's other threads: the rest is marked close-on-exec
  // now (fds opened later are close-on-exec already) and execve closes it atomically. Without
  // close_range, they are listed now, while reading /proc is sure to be allowed.
  let openFds: number[] | undefined;
  try {
    sys.closeRange(keep, 0xffffffff, true);
  } catch {
    openFds = listFds();
  }

  // Before seccomp and the capabilities change, as runc: the profile takes effect at execve.
  if (p.apparmorProfile) applyAppArmorOnExec(p.apparmorProfile);

  // Without no_new_privs, installing a filter needs CAP_SYS_ADMIN: do it before capabilities go
  // (the filter must then allow the few calls below, as with runc).
  if (opts.seccomp && !p.noNewPrivileges) installSeccomp(sys, opts.seccomp);

  // Credentials: glibc applies set*id to every thread; capabilities are per thread and this is the
  // thread that execs.
  if (p.capabilities) {
    dropBounding(sys, p.capabilities);
    sys.prctl(C.PR_SET_KEEPCAPS, 1);
  }
  try {
    sys.setgroups(p.additionalGids);
  } catch (e) {
    // A user namespace made by an unprivileged caller denies setgroups; with none to set, fine.
    if (p.additionalGids.length || !/EPERM/.test((e as Error).message)) throw e;
  }
  ownStdio(p.uid);
  sys.setresgid(p.gid);
  sys.setresuid(p.uid);
  if (p.capabilities) {
    applyCapabilities(sys, p.capabilities);
    sys.prctl(C.PR_SET_KEEPCAPS, 0);
  }

  resetSignals(sys, opts.signalsStayBlocked !== true);
  for (const fd of openFds ?? []) if (fd >= keep) trySetFd(sys, fd, C.FD_CLOEXEC);
  // Node marks even stdio close-on-exec, so that flag is cleared on what we keep.
  for (let fd = 0; fd < keep; fd++) trySetFd(sys, fd, 0);
  if (p.noNewPrivileges) {
    sys.prctl(C.PR_SET_NO_NEW_PRIVS, 1);
    if (opts.seccomp) installSeccomp(sys, opts.seccomp);
  }
  return { path: exe, argv: p.args, envp: env };
}
