import fs = require('fs');
import * as C from '../sys/constants';
import type { Libc } from '../sys/libc';
import { UserError, isErrno } from '../sys/errors';
import { readSpec, buildConfig } from '../loader/load';
import { hasNewNamespace, mountNsMode, type ContainerConfig, type MountConfig } from '../ocispec/config';
import { StateStore, type StoredState } from '../state/store';
import { withDirLock } from '../state/lock';
import { procStat } from '../state/proc';
import { hostLayout } from '../cgroups/hierarchy';
import { planCgroups } from '../cgroups/open';
import { primeCgroupMove } from '../cgroups/prime';
import { bear } from '../process/birth';
import { createUserNamespace } from '../process/userns-fd';
import { initLife, type InitPlan } from '../process/init-copy';
import { ChannelClosed, type RuntimeEnd } from '../process/channel';
import { encodeJson } from '../util/bigint-json';
import { timedForks, type CopyTiming } from '../process/copy-steps';
import { ensureProtectedExe } from '../process/protected-exe';
import { callerNofileSoft } from '../process/exec-program';
import { join } from 'path';
import type { Logger } from '../util/log';
import { killAndReap, unmountUnder } from './destroy';
import { runHooks, runHooksWarn } from '../hooks/run';
import { announceInit, applyResources, makeCgroups, pidsLimit, placeInit } from './create-steps';
import { bearInitByVfork, initFitsVfork } from './create-vfork';
import { vforkHost } from '../process/vfork-fits';
import { connectListener, listenerState } from '../security/seccomp-listener';
import { hookState } from './hook-state';
import { isInside } from '../rootfs/safe-path';
import { HeldFds, Rollback } from './rollback';
import type { PrebornInits } from './preborn-inits';

export interface CreateOptions {
  /** run in the foreground: with process.terminal and no --console-socket, the runtime keeps the pty. */
  foreground?: boolean;
  root: string;
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot: boolean;
  /** --no-new-keyring: the container keeps the caller's session keyring */
  noNewKeyring?: boolean;
  /** runc's --pidfd-socket: a pidfd of init is sent there once the container is created */
  pidfdSocket?: string;
  preserveFds: number;
  /** fds of this process (above 2) that are the container process's stdin, stdout and stderr */
  stdio?: readonly [number, number, number];
  log: Logger;
  /** the libc binding the operation makes its calls through (the caller's: a fake in tests) */
  sys: Libc;
  /** a long-lived caller's pre-born inits: one becomes init where it fits, instead of a fork now */
  preborn?: PrebornInits;
  /**
   * work of the caller's (run's watch for init's exit) done as soon as init's pid is known: while
   * a forked init builds the rootfs, when create would only wait; once one born by vfork runs
   */
  whileInitBuilds?: (pid: number) => void;
  /**
   * run's init born by vfork where that fits (container/create-vfork.ts): only for a caller that
   * runs one command and exits (the CLI), which a child killed in its JavaScript aborts.
   */
  vfork?: boolean;
  /**
   * run: start the container as soon as it is created, over init's channel (InitPlan.startAtReady),
   * unless a startContainer or poststart hook needs start's own path or the runtime relays the
   * terminal (Created.started says which).
   */
  start?: boolean;
}

export interface Created {
  state: StoredState;
  /** init's pid: a child of this runtime (or reparented to it) */
  pid: number;
  /** forks it took (a copy that never answered is retried) */
  attempts: number;
  /** init was a pre-born copy (CreateOptions.preborn): no fork now */
  preborn: boolean;
  /** the pty master, when create kept it (foreground run with a terminal) */
  consoleMaster?: number;
  config: ContainerConfig;
  /** started as well (CreateOptions.start): init is on its way to the program */
  started: boolean;
  /**
   * init (born by vfork) failed on its program's way, the container built: the status it exited
   * with, as a forked init's would be (its words are on stderr); the container is stopped
   */
  exited?: number;
}

const INIT_TIMEOUT_MS = 60_000;

function loadConfig(opts: CreateOptions, rootless: boolean): ContainerConfig {
  return buildConfig(readSpec(opts.bundle), opts.bundle, opts.id, {
    warn: (m) => opts.log.warn(m),
    debug: (m) => opts.log.debug(m),
    // '@' is no container id's: the cache cannot meet a container's directory
    seccompCache: join(opts.root, '@seccomp'),
    rootless,
  });
}

/**
 * Waits for init's verdict on the channel, running the create-time hooks when it asks. init's
 * death before ready shows as the channel's end. Returns init's steps, where it kept them.
 */
function awaitInit(ch: RuntimeEnd, onHooks: () => void): CopyTiming | undefined {
  const deadline = Date.now() + INIT_TIMEOUT_MS;
  for (;;) {
    let msg;
    try {
      msg = ch.receive(Math.max(0, deadline - Date.now()), 'container init (ready)');
    } catch (e) {
      if (e instanceof ChannelClosed) throw new Error('container init exited before it was ready');
      throw e;
    }
    if (msg.type === 'ready') return msg.timing;
    if (msg.type === 'error') throw new UserError(msg.msg);
    if (msg.type === 'hooks') {
      onHooks();
      ch.send({ type: 'continue' });
    }
  }
}

/**
 * systemd socket activation, as runc does it: LISTEN_FDS in the runtime's environment passes those
 * fds (from 3) on before any --preserve-fds, and tells the program with LISTEN_FDS and LISTEN_PID=1.
 */
function socketActivation(cfg: ContainerConfig): number {
  const n = Number(process.env.LISTEN_FDS ?? 0);
  if (!Number.isInteger(n) || n <= 0 || !cfg.process) return 0;
  cfg.process.env = [...cfg.process.env.filter((e) => !/^LISTEN_(FDS|PID)=/.test(e)), `LISTEN_FDS=${n}`, 'LISTEN_PID=1'];
  return n;
}

/** A bind mount's source as a detached tree (recursive for rbind), idmapped where the mount asks. */
function cloneBindSource(sys: Libc, m: MountConfig): number {
  const where = `config.json: mounts[${m.index}] (${m.destination})`;
  let tree: number;
  try {
    tree = sys.openTreeClone(m.source, m.recursive);
  } catch (e) {
    throw new UserError(
      `${where}: source ${m.source} ${isErrno(e, 'ENOENT') ? 'does not exist' : `cannot be bound: ${(e as Error).message}`}`,
    );
  }
  if (!m.idmap) return tree;
  try {
    // implied mapping of a joined user namespace: that namespace; else one with the mappings
    const userns =
      m.idmapUserns !== undefined
        ? fs.openSync(m.idmapUserns, C.O_RDONLY | C.O_CLOEXEC)
        : createUserNamespace(sys, m.uidMappings!, m.gidMappings!);
    try {
      sys.idmapTree(tree, userns, m.idmap === 'ridmap');
    } finally {
      fs.closeSync(userns);
    }
    return tree;
  } catch (e) {
    fs.closeSync(tree);
    throw new UserError(`${where}: idmapping ${m.source}: ${(e as Error).message}`);
  }
}

/** The config, and what the caller asked for, checked before anything is touched. */
function preflight(opts: CreateOptions): { cfg: ContainerConfig; opts: CreateOptions; rootless: boolean; terminal: boolean } {
  const rootless = process.geteuid?.() !== 0;
  const cfg = loadConfig(opts, rootless);
  opts.log.step('create: config loaded and validated');
  opts = { ...opts, preserveFds: opts.preserveFds + socketActivation(cfg) };
  const terminal = cfg.process?.terminal === true;
  if (terminal && opts.consoleSocket === undefined && !opts.foreground) {
    throw new UserError('process.terminal is true: --console-socket is required to receive the pty master');
  }
  if (!terminal && opts.consoleSocket !== undefined) {
    throw new UserError('--console-socket is only for a process with process.terminal set to true');
  }
  return { cfg, opts, rootless, terminal };
}

function initialState(cfg: ContainerConfig, opts: CreateOptions): StoredState {
  return {
    ociVersion: cfg.ociVersion,
    id: opts.id,
    bundle: cfg.bundle,
    rootfs: cfg.rootfs,
    annotations: cfg.annotations,
    created: new Date().toISOString(),
    owner: '',
    creatorPid: process.pid,
    creatorStartTime: procStat(process.pid)?.startTime,
    ready: false,
    started: false,
    newPidNamespace: hasNewNamespace(cfg, 'pid'),
    hooks: { poststart: cfg.hooks.poststart, poststop: cfg.hooks.poststop },
    startContainerHooks: Boolean(cfg.hooks.startContainer?.length),
    hasProcess: cfg.process !== undefined,
    hostMounts: mountNsMode(cfg) === 'host',
    namespaceTypes: cfg.namespaces.map((n) => n.type),
    sessionKeyring: opts.noNewKeyring ? undefined : `_ses.${opts.id}`,
  };
}

/** The caller's terminal's size, for a relayed pty (as proxyConsole sets it), where stdout is one. */
function callerWindow(): { rows: number; columns: number } | true {
  const out = process.stdout;
  return out.isTTY ? { rows: out.rows, columns: out.columns } : true;
}

/** The exec fifo, open read-write: the open does not block, and start finds a reader for as long as init lives. */
function makeExecFifo(sys: Libc, store: StateStore, id: string): number {
  const fifoPath = store.fifoPath(id);
  sys.mkfifo(fifoPath, 0o622);
  return fs.openSync(fifoPath, C.O_RDWR | C.O_CLOEXEC);
}

/** With a terminal: the console socket, or (a foreground run) a socketpair whose peer receives the master. */
function openConsole(sys: Libc, opts: CreateOptions, terminal: boolean): { consoleFd?: number; consolePeer?: number } {
  if (!terminal) return {};
  if (opts.consoleSocket === undefined) {
    const [consoleFd, consolePeer] = sys.socketpair();
    return { consoleFd, consolePeer };
  }
  try {
    return { consoleFd: sys.connectUnix(opts.consoleSocket) };
  } catch (e) {
    throw new UserError(`--console-socket: ${(e as Error).message}`);
  }
}

/**
 * Bind mounts of a user-namespaced container, and idmapped ones, cloned here by the runtime in its
 * namespaces as detached trees that init moves into place: the root of a user namespace may not
 * reach a source, and idmapping needs CAP_SYS_ADMIN in the initial user namespace. Only where
 * needed: a clone's mount is as old as the clone, so it comes first in the container's mountinfo
 * (which lists mounts by age), and runtime-tools reads that order as the order of the mounts.
 * Without a user namespace init binds them itself, in order; a source inside the rootfs always
 * (the mounts before it make it); an unprivileged caller cannot clone at all.
 */
function cloneBindMounts(sys: Libc, cfg: ContainerConfig, rootless: boolean, held: HeldFds): Record<number, number> {
  const userns = cfg.namespaces.some((n) => n.type === 'user');
  const cloned = rootless ? [] : cfg.mounts.filter((m) => m.bind && !isInside(cfg.rootfs, m.source) && (userns || m.idmap));
  return Object.fromEntries(cloned.map((m) => [m.index, held.add(cloneBindSource(sys, m))]));
}

function connectSeccompListener(sys: Libc, cfg: ContainerConfig): number | undefined {
  try {
    return connectListener(sys, cfg.seccomp);
  } catch (e) {
    throw new UserError(`config.json: ${(e as Error).message}`);
  }
}

/**
 * create: everything up to a container whose init waits for start, as the runtime-spec orders it.
 * Each step registers its own undo; on any failure what was done is undone, last first, before
 * the error is reported.
 */
export function createContainer(opts: CreateOptions): Created {
  const log = opts.log;
  log.step('create: start');
  const sys = opts.sys;
  // ~20 ms before init's move into its cgroups (placeInit), which then finds the kernel's lock
  // ready: boot's priming alone, ~10 ms earlier, had often let it leave its writer mode by then
  // (boot.ts). Again where boot primed already: the lock stays in that mode. (Only where a move
  // waits for a grace period: prime.ts movesWait.)
  const layout = hostLayout();
  if (process.geteuid?.() === 0) primeCgroupMove(() => layout, true);
  ensureProtectedExe(sys, log, opts.preserveFds);
  const store = new StateStore(opts.root);
  const checked = preflight(opts);
  const { cfg, rootless, terminal } = checked;
  opts = checked.opts;
  const dir = store.createDir(opts.id);
  return withDirLock(sys, dir, () => {
    const undo = new Rollback();
    const held = new HeldFds(); // the runtime's ends of what init inherits
    undo.add('the state directory', () => store.remove(opts.id));
    try {
      // First saved with init's pid and the cgroups' record, right after the fork (an ext4 rename
      // fewer before it): until then `state` does not know the container, as with runc; a create
      // killed before leaves only the directory, which delete --force removes.
      const state = initialState(cfg, opts);
      // run's start over init's channel, but where start's own path is needed: without a process
      // (start refuses that: the spec), with hooks of that path (start writes and reads the fifo,
      // then runs the poststart hooks), or where this runtime relays the terminal (its relay must
      // hold the pty, no \r\n and the caller's window size, before the program writes to it).
      const keepsTerminal = terminal && opts.consoleSocket === undefined;
      const startsAtOnce =
        opts.start === true && cfg.process !== undefined && !cfg.hooks.startContainer?.length && !cfg.hooks.poststart?.length;
      const startAtReady = startsAtOnce && !keepsTerminal;
      // run's init born by vfork where it fits (create-vfork.ts): it sets up the relayed terminal
      // itself, before its program runs
      const byVfork = initFitsVfork(
        cfg,
        {
          vfork: opts.vfork === true && sys.vforkSupported(),
          startAtReady: startsAtOnce,
          rootless,
          callerFds: Boolean(opts.stdio || opts.preborn),
        },
        vforkHost(() => []),
      );
      const fifoFd = startAtReady || byVfork ? undefined : held.add(makeExecFifo(sys, store, opts.id));
      const cgroups = planCgroups(layout, cfg.cgroupsPath, opts.id, { rootless });
      undo.add('the cgroups', () => {
        for (const l of cgroups.destroy(state.cgroup?.createdDirs ?? [])) log.warn(`cleanup: ${l}`);
      });
      log.step('create: state, fifo made');

      const { consoleFd, consolePeer } = openConsole(sys, opts, terminal);
      held.add(consoleFd);
      if (consolePeer !== undefined) undo.add('the console pair', () => fs.closeSync(consolePeer));
      const trees = cloneBindMounts(sys, cfg, rootless, held);
      const seccompListener = held.add(connectSeccompListener(sys, cfg));
      // Without a mount namespace of its own the container's mounts are the host's to take away.
      if (state.hostMounts) undo.add('the mounts under the rootfs', () => unmountUnder(sys, cfg.rootfs, log));
      log.step('create: ready to fork');

      const initPlan: InitPlan = {
        config: cfg,
        createHooks: Boolean(cfg.hooks.prestart?.length || cfg.hooks.createRuntime?.length),
        noPivot: opts.noPivot,
        sessionKeyring: state.sessionKeyring,
        preserveFds: opts.preserveFds,
        nofileSoft: callerNofileSoft(),
        cgroups: cgroups.mountView(),
        newCgroupNs: hasNewNamespace(cfg, 'cgroup'),
        startAtReady,
        relayTerminal: byVfork && keepsTerminal ? callerWindow() : undefined,
      };
      // init's pid and start time are in the state before init can run in the container (its
      // 'go'), so that delete finds it should this runtime die: saved with the cgroups' record
      // where they are made after the fork, on their own otherwise.
      let savedPid: number | undefined;
      const save = (): void => {
        store.save(state);
        savedPid = state.pid;
      };
      const noteInit = (pid: number): void => {
        if (state.pid === pid) return;
        state.pid = pid;
        state.pidStartTime = procStat(pid)?.startTime;
      };
      const initRecorded = (pid: number): void => {
        noteInit(pid);
        if (savedPid !== pid) save();
      };
      let cgroupsMade = false;
      const makeCgroupsOnce = (): void => {
        if (cgroupsMade) return;
        makeCgroups(state, cgroups, save);
        cgroupsMade = true;
        log.step('create: cgroups made');
      };
      // The spec: a failed create continues the lifecycle with the poststop hooks.
      const takeInitAway = (): void => {
        if (state.pid !== undefined) {
          killAndReap(state.pid, state.pidStartTime, 5000, sys);
          try {
            sys.waitpid(state.pid, true);
          } catch {
            // reaped, or not ours
          }
        }
        runHooksWarn('poststop', cfg.hooks.poststop, { ...hookState(state), status: 'stopped' }, (m) => log.warn(m));
      };
      if (byVfork) {
        makeCgroupsOnce();
        applyResources(cfg, cgroups, rootless, log, true);
        undo.add('init', takeInitAway);
        const born = bearInitByVfork(sys, {
          plan: initPlan,
          cgroups,
          fds: { channel: -1, console: consoleFd, trees },
          preserveFds: opts.preserveFds,
          recorded: initRecorded,
          deadlineMs: INIT_TIMEOUT_MS,
          log,
        });
        held.closeAll();
        // (sent before the program's steps: there whenever init was built)
        const consoleMaster = consolePeer !== undefined ? sys.recvFd(consolePeer).fd : undefined;
        if (consoleMaster !== undefined) undo.add('the console master', () => fs.closeSync(consoleMaster));
        fs.writeFileSync(join(dir, 'config.json'), encodeJson(cfg), { mode: 0o600 });
        if (born.exited === undefined) {
          // before run's watch may reap it (the program may be over already): a zombie still has a pidfd
          announceInit(sys, opts, born.pid);
          opts.whileInitBuilds?.(born.pid);
        }
        state.ready = true;
        state.started = true;
        store.save(state);
        undo.commit();
        if (consolePeer !== undefined) fs.closeSync(consolePeer);
        log.step('create: done');
        return { state, pid: born.pid, attempts: 1, preborn: false, config: cfg, consoleMaster, started: true, exited: born.exited };
      }
      // (with --debug, init keeps its own steps: process/copy-steps.ts)
      const born = timedForks(log.debugging, () =>
        bear(sys, {
          namespaces: cfg.namespaces,
          uidMappings: cfg.uidMappings,
          gidMappings: cfg.gidMappings,
          fds: { fifo: fifoFd, console: consoleFd, trees, seccompListener },
          preserveFds: opts.preserveFds,
          stdio: opts.stdio,
          oomScoreAdj: cfg.process?.oomScoreAdj,
          timeOffsets: cfg.timeOffsets,
          life: (ch, fds) => initLife(sys, ch, fds, initPlan),
          preborn: opts.preborn && { take: () => opts.preborn!.take(), plan: () => encodeJson(initPlan) },
          // Made only once init is forked, while it starts up: making a cgroup takes the lock that
          // the priming move (above, where moves wait) holds through its grace period, which the
          // fork has overlapped.
          // A refusal (in use, frozen) takes init away (birth.ts) before it counts as created.
          whileStarting: (pid) => {
            log.step('create: init forked');
            noteInit(pid);
            makeCgroupsOnce();
          },
          onForked: (initPid) => {
            log.step('create: init said hello');
            noteInit(initPid);
            makeCgroupsOnce();
            undo.add('init', takeInitAway);
            placeInit(sys, cfg, cgroups, rootless, log, initPid, initRecorded);
          },
        }),
      );
      const { pid: initPid, channel } = born;
      undo.add('the channel', () => channel.close());
      log.step(`create: init born (pid ${initPid}, ${born.preborn ? 'pre-born' : `${born.attempts} fork${born.attempts > 1 ? 's' : ''}`})`);
      held.closeAll();

      const hookStateNow = { ...hookState(state), pid: initPid };
      const listener = cfg.seccomp?.listenerPath ? listenerState(cfg.seccomp, initPid, { ...hookStateNow, status: 'created' }) : undefined;
      try {
        channel.send({ type: 'go', hookState: hookStateNow, listenerState: listener });
      } catch {
        // init is gone: it failed building the rootfs (awaitInit reads why) or was killed
      }
      // Kept for exec (mode 0600: it may hold secrets in env), written while init builds the
      // rootfs: nothing reads it before the container is created.
      fs.writeFileSync(join(dir, 'config.json'), encodeJson(cfg), { mode: 0o600 });
      opts.whileInitBuilds?.(initPid);
      const initSteps = awaitInit(channel, () => {
        // In the runtime's namespaces, after the container's mounts and before its pivot_root.
        const st = { ...hookStateNow, status: 'creating' };
        runHooks('prestart', cfg.hooks.prestart, st);
        runHooks('createRuntime', cfg.hooks.createRuntime, st);
      });
      log.copySteps('init', initSteps);
      log.step('create: init ready');

      pidsLimit(cfg, cgroups);
      announceInit(sys, opts, initPid);
      state.ready = true;
      state.started = startAtReady;
      store.save(state);
      if (startAtReady) {
        try {
          channel.send({ type: 'start' });
        } catch {
          throw new UserError(`cannot start container "${opts.id}": its init process is gone`);
        }
        log.step('create: done, init started');
      }
      channel.close();
      const consoleMaster = consolePeer !== undefined ? sys.recvFd(consolePeer).fd : undefined;
      if (consolePeer !== undefined) fs.closeSync(consolePeer);
      undo.commit();
      log.step('create: done');
      return {
        state,
        pid: initPid,
        attempts: born.attempts,
        preborn: born.preborn === true,
        config: cfg,
        consoleMaster,
        started: startAtReady,
      };
    } catch (e) {
      undo.run(log);
      throw e;
    } finally {
      held.closeAll();
    }
  });
}
