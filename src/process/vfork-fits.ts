// What every process born by vfork (process/vfork-birth.ts) needs of its config and the host,
// whichever it is (exec's process: container/exec.ts; run's init: container/create.ts). Each
// caller adds its own rules.
import fs = require('fs');
import type { ContainerConfig, NamespaceConfig, ProcessConfig } from '../ocispec/config';
import { RLIMITS } from '../security/rlimits';
import { seccompVerdict } from '../security/seccomp-eval';
import { AUDIT_ARCH_X86_64, SECCOMP_RET } from '../security/seccomp';

/** x86-64's rt_sigprocmask, and how glibc calls it (setcontext: SIG_SETMASK; getcontext: SIG_BLOCK). */
const NR_RT_SIGPROCMASK = 14;
const SIG_BLOCK = 0;
const SIG_SETMASK = 2;
const SECCOMP_RET_ACTION_FULL = 0xffff0000;

type Call = readonly [nr: number, ...argVectors: (readonly bigint[])[]];
const PROT_RW = 3n;
const PROT_RX = 5n;
const PROT_RWX = 7n;
const MAP_PRIVATE_ANON = 0x22n;

/**
 * x86-64's calls the child's JavaScript may make once its filter is loaded (before its
 * credentials where the process keeps no_new_privs off; at the very end otherwise), each with
 * the arguments it is made with where a filter may look at them (and all zero): V8's and malloc's
 * memory calls, which nothing may refuse (V8 aborts where they fail) ...
 */
const MEMORY_CALLS: Record<string, Call> = {
  mmap: [9, [0n, 4096n, PROT_RW, MAP_PRIVATE_ANON], [0n, 4096n, PROT_RWX, MAP_PRIVATE_ANON]],
  mprotect: [10, [0n, 4096n, PROT_RW], [0n, 4096n, PROT_RX], [0n, 4096n, PROT_RWX]],
  munmap: [11],
  brk: [12],
  mremap: [25],
  madvise: [28, [0n, 4096n, 4n], [0n, 4096n, 8n]], // DONTNEED, FREE
  futex: [202, [0n, 128n], [0n, 129n], [0n, 0n], [0n, 1n]], // WAIT, WAKE: private or not
  clock_gettime: [228], // where the vDSO has no clock
};
/**
 * ... and the program's last steps (credentials, capabilities, signals, fds) and Node's fs calls,
 * which may be refused with an errno (a clear error, as in a forked child) but not kill or trap.
 * glibc's set*id calls signal every thread it knows (tgkill): the runtime's, in the child.
 */
const LAST_STEP_CALLS: Record<string, Call> = {
  read: [0],
  write: [1],
  close: [3],
  fstat: [5],
  lseek: [8],
  rt_sigaction: [13],
  getpid: [39],
  exit: [60],
  fcntl: [72, [0n, 1n], [0n, 2n, 0n], [0n, 2n, 1n]], // F_GETFD, F_SETFD
  fchown: [93], // stdio made the user's
  getrusage: [98], // --debug's steps
  setgroups: [116],
  setresuid: [117],
  setresgid: [119],
  capget: [125],
  capset: [126],
  prctl: [157, [24n], [8n, 1n], [8n, 0n], [47n, 2n], [47n, 4n], [38n, 1n, 0n, 0n, 0n]], // CAPBSET_DROP, KEEPCAPS, CAP_AMBIENT, NO_NEW_PRIVS
  gettid: [186],
  tkill: [200],
  exit_group: [231],
  tgkill: [234],
  openat: [257],
  newfstatat: [262],
  statx: [332],
  close_range: [436],
};

/** What a vfork child's birth depends on besides the config: read from the host where it runs. */
export interface VforkHost {
  /** the bounding sets of the container's processes now (its init's, earlier exec processes') */
  boundingSets: () => bigint[];
  /** more than one NUMA memory node */
  numa: () => boolean;
  /** fs.suid_dumpable */
  suidDumpable: () => string;
}

/**
 * Whether a process of this config may be born by vfork at all: not to tell a seccomp listener
 * its pid (known to the runtime only once the program runs), nor to join a user or time namespace
 * (the kernel refuses both to a process sharing its memory). Nor where the child would expose or
 * bound the runtime's memory:
 *   - fs.suid_dumpable other than 0: the child's setresuid makes the memory dumpable again;
 *   - RLIMIT_AS or RLIMIT_DATA, set in the child, would bound the runtime's memory there;
 *   - joining a cpuset on a host with several memory nodes may move the runtime's memory;
 *   - a seccomp filter must let glibc's rt_sigprocmask through: setcontext calls it between the
 *     child's last contexts, and where that fails its trampoline calls exit() (the runtime's exit
 *     handlers, on its memory); nor may it kill the child (or refuse V8 its memory) on a call its
 *     JavaScript may make after the filter is loaded: a child killed inside its JavaScript aborts
 *     the runtime, where a forked child's death is a clean error.
 */
export function vforkMayBear(
  cfg: ContainerConfig,
  namespaces: readonly NamespaceConfig[],
  proc: ProcessConfig,
  host: Pick<VforkHost, 'numa' | 'suidDumpable'>,
): boolean {
  if (cfg.seccomp?.listenerPath || namespaces.some((n) => n.type === 'user' || n.type === 'time')) return false;
  if (proc.rlimits.some((r) => r.resource === RLIMITS.RLIMIT_AS || r.resource === RLIMITS.RLIMIT_DATA)) return false;
  if (host.suidDumpable().trim() !== '0' || host.numa()) return false;
  if (!cfg.seccomp) return true;
  try {
    const program = Buffer.from(cfg.seccomp.program, 'base64');
    // every form of each call: all zero, and the arguments listed
    const actions = ([nr, ...forms]: Call): number[] =>
      [[], ...forms].map((args) => (seccompVerdict(program, AUDIT_ARCH_X86_64, nr, [...args]) & SECCOMP_RET_ACTION_FULL) >>> 0);
    const passes = (call: Call): boolean => actions(call).every((a) => a === SECCOMP_RET.ALLOW || a === SECCOMP_RET.LOG);
    const fatal = [SECCOMP_RET.KILL_PROCESS, SECCOMP_RET.KILL_THREAD, SECCOMP_RET.TRAP];
    const survives = (call: Call): boolean => actions(call).every((a) => !fatal.includes(a));
    return (
      passes([NR_RT_SIGPROCMASK, [BigInt(SIG_SETMASK), 1n, 0n, 8n], [BigInt(SIG_BLOCK), 0n, 1n, 8n]]) &&
      Object.values(MEMORY_CALLS).every(passes) &&
      Object.values(LAST_STEP_CALLS).every(survives)
    );
  } catch {
    return false; // an opcode the interpreter does not know: not known to let it through
  }
}

/** The host as it is read here, for a container whose processes are these. */
export function vforkHost(pids: () => number[]): VforkHost {
  const read = (path: string): string | undefined => {
    try {
      return fs.readFileSync(path, 'latin1');
    } catch {
      return undefined;
    }
  };
  return {
    boundingSets: () =>
      pids().flatMap((pid) => {
        const m = /\nCapBnd:\s*([0-9a-f]+)/.exec(read(`/proc/${pid}/status`) ?? '');
        return m ? [BigInt(`0x${m[1]}`)] : []; // gone: none
      }),
    // ("0", or a list: "0-1", "0,2"; none where the kernel has no NUMA)
    numa: () => /[-,]/.test(read('/sys/devices/system/node/has_memory') ?? ''),
    suidDumpable: () => read('/proc/sys/fs/suid_dumpable') ?? '',
  };
}
