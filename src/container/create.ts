import * as fs from 'fs';
import { libc } from '../sys';
import * as C from '../sys/constants';
import type { Libc } from '../sys/libc';
import { UserError, isErrno } from '../sys/errors';
import { readSpec, buildConfig } from '../spec/load';
import { hasNewNamespace, mountNsMode, type ContainerConfig, type MountConfig } from '../spec/config';
import type { NamespaceType } from '../spec/oci';
import { StateStore, type StoredState } from '../state/store';
import { withDirLock } from '../state/lock';
import { procStat } from '../state/proc';
import { hostLayout } from '../cgroups/hierarchy';
import { planCgroups, createCgroups, addProcess, removeCgroups, enableV2Controllers } from '../cgroups/manager';
import { applyResources } from '../cgroups/resources';
import { checkSysctls } from '../process/sysctl';
import { bear } from '../process/birth';
import { createUserNamespace } from '../process/userns-fd';
import { initLife, type InitPlan } from '../process/init-copy';
import { ChannelClosed, type RuntimeEnd } from '../process/channel';
import { encodeJson } from '../util/bigint-json';
import { ensureProtectedExe } from '../process/protected-exe';
import { join } from 'path';
import type { Logger } from '../util/log';
import { killAndReap, unmountUnder } from './destroy';
import { runHooks, runHooksWarn } from '../hooks/run';
import { frozenAlready } from '../cgroups/freezer';
import { moveNetDevices } from '../namespaces/netdev';
import { connectListener, listenerState } from '../security/seccomp-listener';
import { hookState } from './hook-state';

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
  log: Logger;
}

export interface Created {
  state: StoredState;
  /** init's pid: a child of this runtime (or reparented to it) */
  pid: number;
  /** forks it took (a copy that never answered is retried) */
  attempts: number;
  /** the pty master, when create kept it (foreground run with a terminal) */
  consoleMaster?: number;
  config: ContainerConfig;
}

const INIT_TIMEOUT_MS = 60_000;

function loadConfig(opts: CreateOptions): ContainerConfig {
  const spec = readSpec(opts.bundle);
  const cfg = buildConfig(spec, opts.bundle, opts.id, {
    warn: (m) => opts.log.warn(m),
    debug: (m) => opts.log.debug(m),
    // '@' is no container id's: the cache cannot meet a container's directory
    seccompCache: join(opts.root, '@seccomp'),
  });
  const fresh = new Set<NamespaceType>(cfg.namespaces.filter((n) => n.path === undefined).map((n) => n.type));
  try {
    checkSysctls(cfg.sysctl, fresh);
  } catch (e) {
    throw new UserError(`config.json: ${(e as Error).message}`);
  }
  return cfg;
}

/**
 * Waits for init's verdict on the channel, running the create-time hooks when it asks. init's
 * death before ready shows as the channel's end.
 */
function awaitInit(ch: RuntimeEnd, onHooks: () => void): void {
  const deadline = Date.now() + INIT_TIMEOUT_MS;
  for (;;) {
    let msg;
    try {
      msg = ch.receive(Math.max(0, deadline - Date.now()), 'container init (ready)');
    } catch (e) {
      if (e instanceof ChannelClosed) throw new Error('container init exited before it was ready');
      throw e;
    }
    if (msg.type === 'ready') return;
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

/** What an unprivileged caller cannot have: clear errors, not half a container. */
function checkRootless(cfg: ContainerConfig, log: Logger): void {
  if (!cfg.namespaces.some((n) => n.type === 'user')) {
    throw new UserError('config.json: linux.namespaces: a non-root caller needs a user namespace (see tsrunc spec --rootless)');
  }
  for (const [k, v] of Object.entries(cfg.resources)) {
    if (v === undefined || k === 'devices') continue;
    throw new UserError(`config.json: linux.resources.${k}: a non-root caller has no cgroups to apply it`);
  }
  if (cfg.deviceRules.some((r) => r.allow)) log.warn('linux.resources.devices: no device cgroup for a non-root caller; rules ignored');
  if (Object.keys(cfg.netDevices).length)
    throw new UserError('config.json: linux.netDevices: network devices are not supported for rootless containers');
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

function writePidFile(path: string, pid: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, String(pid));
  fs.renameSync(tmp, path);
}

/**
 * create: everything up to a container whose init waits for start. On any failure everything done
 * so far is undone before the error is reported.
 */
export function createContainer(opts: CreateOptions): Created {
  const log = opts.log;
  log.step('create: start');
  ensureProtectedExe(libc(), log, opts.preserveFds);
  const store = new StateStore(opts.root);
  const cfg = loadConfig(opts);
  log.step('create: config loaded and validated');
  opts = { ...opts, preserveFds: opts.preserveFds + socketActivation(cfg) };
  const terminal = cfg.process?.terminal === true;
  const rootless = process.geteuid?.() !== 0;
  if (rootless) checkRootless(cfg, opts.log);
  if (terminal && opts.consoleSocket === undefined && !opts.foreground) {
    throw new UserError('process.terminal is true: --console-socket is required to receive the pty master');
  }
  if (!terminal && opts.consoleSocket !== undefined) {
    throw new UserError('--console-socket is only for a process with process.terminal set to true');
  }
  const dir = store.createDir(opts.id);
  return withDirLock(dir, () => {
    const self = procStat(process.pid);
    const state: StoredState = {
      ociVersion: cfg.ociVersion,
      id: opts.id,
      bundle: cfg.bundle,
      rootfs: cfg.rootfs,
      annotations: cfg.annotations,
      created: new Date().toISOString(),
      owner: '',
      creatorPid: process.pid,
      creatorStartTime: self?.startTime,
      ready: false,
      started: false,
      newPidNamespace: hasNewNamespace(cfg, 'pid'),
      hooks: { poststart: cfg.hooks.poststart, poststop: cfg.hooks.poststop },
      hasProcess: cfg.process !== undefined,
      hostMounts: mountNsMode(cfg) === 'host',
      namespaceTypes: cfg.namespaces.map((n) => n.type),
    };
    let pid: number | undefined;
    let attempts: number;
    let channel: RuntimeEnd | undefined;
    let consoleFd: number | undefined;
    let consolePeer: number | undefined;
    try {
      store.save(state);
      // Kept for exec: the normalised configuration (mode 0600: it may hold secrets in env).
      fs.writeFileSync(join(dir, 'config.json'), encodeJson(cfg), { mode: 0o600 });
      const sys = libc();
      const fifoPath = store.fifoPath(opts.id);
      sys.mkfifo(fifoPath, 0o622);
      // Read-write: the open does not block, and start finds a reader for as long as init lives.
      const fifoFd = fs.openSync(fifoPath, C.O_RDWR | C.O_CLOEXEC);

      // Rootless: no cgroups (an unprivileged caller cannot create them here).
      const plan = rootless ? { mode: hostLayout().mode, paths: {} } : planCgroups(hostLayout(), cfg.cgroupsPath, opts.id);
      state.cgroup = { paths: plan.paths, createdDirs: [] };
      state.sessionKeyring = opts.noNewKeyring ? undefined : `_ses.${opts.id}`;
      createCgroups(plan, (dirs) => {
        state.cgroup!.createdDirs = dirs;
        store.save(state);
      });
      // runc's words, which scripts grep; the cgroup was there before us and stays as it was.
      const busy = Object.values(plan.paths).find((d) => {
        try {
          return fs.readFileSync(join(d, 'cgroup.procs'), 'utf8').trim() !== '';
        } catch {
          return false;
        }
      });
      if (busy)
        throw new UserError(
          `container's cgroup is not empty: processes are in ${busy} (linux.cgroupsPath names another container's cgroup?)`,
        );
      if (frozenAlready(plan.paths))
        throw new UserError(
          `container's cgroup unexpectedly frozen: ${Object.values(plan.paths)[0] ?? ''} (thaw it, or choose another linux.cgroupsPath)`,
        );
      if (plan.mode === 'v2' && plan.paths.unified) {
        enableV2Controllers('/sys/fs/cgroup', plan.paths.unified, ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc']);
      }

      log.step('create: state, fifo, cgroups made');
      const initPlan: InitPlan = {
        config: cfg,
        createHooks: Boolean(cfg.hooks.prestart?.length || cfg.hooks.createRuntime?.length),
        noPivot: opts.noPivot,
        sessionKeyring: state.sessionKeyring,
        preserveFds: opts.preserveFds,
        nofileSoft: process.env.TSRUNC_NOFILE_SOFT,
        cgroupMode: plan.mode,
        cgroupPaths: plan.paths,
        newCgroupNs: hasNewNamespace(cfg, 'cgroup'),
      };

      if (terminal) {
        if (opts.consoleSocket !== undefined) {
          try {
            consoleFd = sys.connectUnix(opts.consoleSocket);
          } catch (e) {
            throw new UserError(`--console-socket: ${(e as Error).message}`);
          }
        } else {
          [consoleFd, consolePeer] = sys.socketpair();
        }
      }
      // Bind mounts of a user-namespaced container, and idmapped ones, are cloned here, by the
      // runtime in its namespaces, as detached trees init moves into place: the root of a user
      // namespace may not reach a source, and idmapping needs CAP_SYS_ADMIN in the initial user
      // namespace. A source inside the rootfs is left to
      // init, which binds it when the mounts before it are there (the container's own tree as a
      // source).
      const inRootfs = (p: string) => p === cfg.rootfs || p.startsWith(`${cfg.rootfs}/`);
      const unsupported = cfg.mounts.find((m) => m.idmap && inRootfs(m.source));
      if (unsupported) {
        throw new UserError(
          `config.json: mounts[${unsupported.index}] (${unsupported.destination}): an idmapped mount whose source is inside the rootfs is not supported by tsrunc yet`,
        );
      }
      // Only where needed: a clone's mount is as old as the clone, so it comes first in the
      // container's mountinfo (which lists mounts by age), and runtime-tools reads that order as
      // the order of the mounts. Without a user namespace init binds them itself, in order. (An
      // unprivileged caller cannot clone at all: init binds its mounts.)
      const userns = cfg.namespaces.some((n) => n.type === 'user');
      const cloned = rootless ? [] : cfg.mounts.filter((m) => m.bind && !inRootfs(m.source) && (userns || m.idmap));
      const treeFds: number[] = [];
      try {
        for (const m of cloned) treeFds.push(cloneBindSource(sys, m));
      } catch (e) {
        for (const fd of treeFds) fs.closeSync(fd);
        throw e;
      }
      const trees = Object.fromEntries(cloned.map((m, i) => [m.index, treeFds[i]]));
      log.step('create: ready to fork');
      // As soon as init's pid is known, while the copy starts up: into its cgroups, resources on.
      const place = (initPid: number): void => {
        log.step('create: init forked, said hello');
        pid = initPid;
        state.pid = initPid;
        state.pidStartTime = procStat(initPid)?.startTime;
        store.save(state);
        addProcess(plan, initPid);
        log.step('create: init placed in its cgroups');
        if (Object.keys(cfg.netDevices).length) {
          const netns = cfg.namespaces.find((n) => n.type === 'network')!;
          try {
            moveNetDevices(sys, cfg.netDevices, netns.path ?? `/proc/${initPid}/ns/net`);
          } catch (e) {
            throw new UserError(`config.json: ${(e as Error).message}`);
          }
          log.step('create: network devices moved');
        }
        // Rootless: no cgroups (checkRootless refused resources). As runc, the device policy starts
        // from "deny all" whatever the config's rules say, and linux.devices adds no rule of its own
        // (a config that denies a device it also creates means it).
        if (!rootless) {
          try {
            // pids.max waits for ready: the create-time hooks init runs count against it.
            const res = { ...cfg.resources, pids: undefined, devices: undefined };
            for (const w of applyResources(plan, res, cfg.deviceRules).warnings) log.warn(w);
          } catch (e) {
            throw new UserError(`config.json: ${(e as Error).message}`);
          }
        }
        log.step('create: resources applied');
      };
      let seccompListener: number | undefined;
      try {
        seccompListener = connectListener(sys, cfg.seccomp);
      } catch (e) {
        throw new UserError(`config.json: ${(e as Error).message}`);
      }
      const born = bear(sys, {
        namespaces: cfg.namespaces,
        uidMappings: cfg.uidMappings,
        gidMappings: cfg.gidMappings,
        fds: { fifo: fifoFd, console: consoleFd, trees, seccompListener },
        preserveFds: opts.preserveFds,
        oomScoreAdj: cfg.process?.oomScoreAdj,
        timeOffsets: cfg.timeOffsets,
        life: (ch, fds) => initLife(sys, ch, fds, initPlan),
        onForked: place,
      });
      const initPid = born.pid;
      channel = born.channel;
      attempts = born.attempts;
      log.step(`create: init born (pid ${pid}, ${born.attempts} fork${born.attempts > 1 ? 's' : ''})`);
      for (const fd of treeFds) fs.closeSync(fd);
      if (seccompListener !== undefined) fs.closeSync(seccompListener);
      fs.closeSync(fifoFd);
      if (consoleFd !== undefined) fs.closeSync(consoleFd);
      const hookStateNow = { ...hookState(state), pid: initPid };
      const listener = cfg.seccomp?.listenerPath ? listenerState(cfg.seccomp, initPid, { ...hookStateNow, status: 'created' }) : undefined;
      channel.send({ type: 'go', hookState: hookStateNow, listenerState: listener });
      awaitInit(channel, () => {
        // In the runtime's namespaces, after the container's mounts and before its pivot_root.
        const st = { ...hookStateNow, status: 'creating' };
        runHooks('prestart', cfg.hooks.prestart, st);
        runHooks('createRuntime', cfg.hooks.createRuntime, st);
      });
      channel.close();
      log.step('create: init ready');

      if (cfg.resources.pids) {
        try {
          applyResources(plan, { pids: cfg.resources.pids });
        } catch (e) {
          throw new UserError(`config.json: ${(e as Error).message}`);
        }
      }
      if (opts.pidfdSocket !== undefined) {
        let sock: number;
        try {
          sock = sys.connectUnix(opts.pidfdSocket);
        } catch (e) {
          throw new UserError(`--pidfd-socket: ${(e as Error).message}`);
        }
        const pidfd = sys.pidfdOpen(initPid);
        try {
          sys.sendFd(sock, pidfd, '');
        } finally {
          fs.closeSync(pidfd);
          fs.closeSync(sock);
        }
      }
      if (opts.pidFile) writePidFile(opts.pidFile, initPid);
      state.ready = true;
      store.save(state);
      const consoleMaster = consolePeer !== undefined ? sys.recvFd(consolePeer).fd : undefined;
      if (consolePeer !== undefined) fs.closeSync(consolePeer);
      log.step('create: done');
      return { state, pid: initPid, attempts, config: cfg, consoleMaster };
    } catch (e) {
      channel?.close();
      if (pid !== undefined) {
        killAndReap(pid, state.pidStartTime);
        try {
          libc().waitpid(pid, true);
        } catch {
          // reaped, or not ours
        }
        // The spec: a failed create-time hook continues the lifecycle with the poststop hooks.
        runHooksWarn('poststop', cfg.hooks.poststop, { ...hookState(state), status: 'stopped' }, (m) => opts.log.warn(m));
      }
      if (state.hostMounts) unmountUnder(cfg.rootfs, opts.log);
      const left = removeCgroups(state.cgroup?.createdDirs ?? []);
      for (const l of left) opts.log.warn(`cleanup: ${l}`);
      store.remove(opts.id);
      throw e;
    }
  });
}
