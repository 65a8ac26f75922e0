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
 *     handlers, on its memory).
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
    const passes = (args: bigint[]): boolean => {
      const full = (seccompVerdict(program, AUDIT_ARCH_X86_64, NR_RT_SIGPROCMASK, args) & SECCOMP_RET_ACTION_FULL) >>> 0;
      return full === SECCOMP_RET.ALLOW || full === SECCOMP_RET.LOG;
    };
    return passes([BigInt(SIG_SETMASK), 1n, 0n, 8n]) && passes([BigInt(SIG_BLOCK), 0n, 1n, 8n]);
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
    numa: () => fs.existsSync('/sys/devices/system/node/node1'),
    suidDumpable: () => read('/proc/sys/fs/suid_dumpable') ?? '',
  };
}
