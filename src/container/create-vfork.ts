// run's init born by vfork (process/vfork-birth.ts), where it fits: the CLI's `run` only, whose
// runtime lives no longer than it waits for the container (a child killed in its JavaScript
// aborts the runtime: vfork-birth.ts).
//
// A forked init says hello, is placed by the runtime, builds the rootfs and waits for 'start'
// while the runtime records it, makes its cgroups and runs the create-time hooks. A child born by
// vfork has the runtime's thread waiting in the kernel until it has exec'd, so everything the
// runtime did around a forked init comes before the clone (the cgroups made, the resources on) or
// is done by the child itself (its pid recorded in the state, its cgroups joined, its namespaces
// entered): process/init-copy.ts initTarget. What the runtime cannot do meanwhile is where it does not fit.
import fs = require('fs');
import type { Libc } from '../sys/libc';
import * as C from '../sys/constants';
import { UserError } from '../sys/errors';
import { mountNsMode, type ContainerConfig } from '../ocispec/config';
import type { CgroupManager } from '../cgroups/manager';
import { enterNamespaces, inNamespaces } from '../namespaces/enter';
import { initTarget, startFailure, type InitPlan } from '../process/init-copy';
import { VforkChildFailed, bearByVfork } from '../process/vfork-birth';
import { vforkMayBear, type VforkHost } from '../process/vfork-fits';
import { keptFdCount, type ChildFds } from '../process/channel';
import { takeVforkTiming, timedForks } from '../process/copy-steps';
import type { Logger } from '../util/log';

/** What decides the route besides the config (create.ts). */
export interface VforkInitRequest {
  /** the caller runs one command and exits (the CLI) */
  vfork: boolean;
  /** run starts init at once: a process, no startContainer or poststart hook (create.ts) */
  startAtReady: boolean;
  rootless: boolean;
  /** a library caller's stdio, or its pre-born inits */
  callerFds: boolean;
}

/**
 * Whether run's init may be born by vfork: what any such child needs (process/vfork-fits.ts), and
 * for init:
 *   - PID 1 of a new pid namespace: no process of the container exists to reach it (or kill it)
 *     during its JavaScript;
 *   - a new mount namespace: its mounts go with it should it fail, before the runtime could
 *     record anything;
 *   - no hooks but poststop: prestart and createRuntime run in the runtime, createContainer
 *     would start a process from the child, startContainer and poststart need start's own path;
 *   - no network devices to move (the runtime moves them into init's network namespace);
 *   - no cgroup core file in linux.resources.unified (cgroup.freeze would freeze the child);
 *   - cgroups (not rootless), and no stdio or pre-born inits of a library caller.
 */
export function initFitsVfork(cfg: ContainerConfig, req: VforkInitRequest, host: Pick<VforkHost, 'numa' | 'suidDumpable'>): boolean {
  if (!req.vfork || !req.startAtReady || req.rootless || req.callerFds || !cfg.process) return false;
  const pid = cfg.namespaces.find((n) => n.type === 'pid');
  if (pid === undefined || pid.path !== undefined || mountNsMode(cfg) !== 'new') return false;
  const h = cfg.hooks;
  if (h.prestart?.length || h.createRuntime?.length || h.createContainer?.length || h.startContainer?.length || h.poststart?.length) {
    return false;
  }
  if (Object.keys(cfg.netDevices).length) return false;
  // (the resources are on before the child joins: one frozen by them would hold the runtime)
  if (Object.keys(cfg.resources.unified ?? {}).some((k) => k.startsWith('cgroup.'))) return false;
  return vforkMayBear(cfg, cfg.namespaces, cfg.process, host);
}

export interface VforkInit {
  plan: InitPlan;
  /** made, with the resources on (the pids limit too: no create-time hook runs) */
  cgroups: CgroupManager;
  /** the console socket and bind trees init holds (no channel) */
  fds: ChildFds;
  preserveFds: number;
  /** in the child, first: its pid and start time into the state, saved */
  recorded: (pid: number) => void;
  deadlineMs: number;
  log: Logger;
}

const SIGKILL = 9;

/** The parent pid in /proc/PID/stat (its 4th field, after the command in parentheses). */
function parentOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** Born: init runs the program; or exited, with the status a forked init would have exited with. */
export interface VforkInitBorn {
  pid: number;
  /** it failed on its program's way, the container built: its exit status (the text is on stderr) */
  exited?: number;
}

/**
 * Bears run's init by vfork. A failure while it builds the container is create's error (the child
 * reaped, its mounts gone with its mount namespace); one after, on its program's way, is told on
 * stderr in a forked init's words and given as its exit status, the container created and
 * stopped, as a forked init's failure after 'start' leaves it.
 */
export function bearInitByVfork(sys: Libc, v: VforkInit): VforkInitBorn {
  const cfg = v.plan.config;
  // Its memory is this process's: so is this flag (no process can reach its /proc entries, as
  // for a forked copy; execve resets it for the program).
  sys.prctl(C.PR_SET_DUMPABLE, 0);
  let built = false;
  let hostPid: number | undefined;
  // as /proc names it (the child reads its parent there)
  const runtimePid = Number(fs.readlinkSync('/proc/self'));
  const enter = (): void => {
    // Killed with the runtime until it is built (pdeathsig: the runtime's waiting thread is its
    // parent): a forked init waiting for the runtime's word ends when the runtime does, and so
    // does this child, which would otherwise run its program with no runtime to see to it.
    sys.prctl(C.PR_SET_PDEATHSIG, SIGKILL);
    // /proc is still the host's: /proc/self names the host's pid, its stat the host's ppid
    hostPid = Number(fs.readlinkSync('/proc/self'));
    if (parentOf(hostPid) !== runtimePid) throw new Error("init is no longer the runtime's child (has the runtime exited?)");
    v.recorded(hostPid);
    if (cfg.process?.oomScoreAdj !== undefined) {
      try {
        // (by pid, as the runtime writes a forked init's: the same words where it fails)
        fs.writeFileSync(`/proc/${hostPid}/oom_score_adj`, String(cfg.process.oomScoreAdj));
      } catch (e) {
        throw new Error(`process.oomScoreAdj: ${(e as Error).message}`);
      }
    }
    // 0, the writer itself: its pid namespace is not the host's cgroup files'
    v.cgroups.addProcess(0);
    enterNamespaces(
      sys,
      cfg.namespaces.filter((n) => n.type !== 'pid'),
    );
  };
  let pid: number | undefined;
  try {
    pid = timedForks(v.log.debugging, () =>
      inNamespaces(
        sys,
        cfg.namespaces.filter((n) => n.type === 'pid'),
        () =>
          bearByVfork(sys, {
            deadlineMs: v.deadlineMs,
            keep: keptFdCount(v.preserveFds),
            fds: [...(v.fds.console !== undefined ? [v.fds.console] : []), ...Object.values(v.fds.trees ?? {})],
            body: () => {
              sys.setsid(); // its own session, as runc's init
              return initTarget(sys, v.fds, v.plan, enter, () => {
                built = true;
                // not the program's (it would die with the runtime, and a setresuid clears it only for some)
                sys.prctl(C.PR_SET_PDEATHSIG, 0);
              });
            },
          }),
      ),
    );
  } catch (e) {
    if (!(e instanceof VforkChildFailed)) throw e;
    if (!built && !e.atExec) throw new UserError(e.message);
    const failed = startFailure(e.cause);
    fs.writeSync(2, failed.text);
    return { pid: hostPid!, exited: failed.status };
  } finally {
    v.log.copySteps('init', takeVforkTiming());
  }
  if (pid === undefined) throw new Error('vfork is not supported on this machine'); // (initFitsVfork asked)
  v.log.step(`create: init born by vfork, program started (pid ${pid})`);
  return { pid };
}
