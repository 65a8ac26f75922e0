// Steps of create that either birth of init takes (container/create.ts: a forked init;
// container/create-vfork.ts: run's init born by vfork), at different moments.
import fs = require('fs');
import type { Libc } from '../sys/libc';
import { UserError } from '../sys/errors';
import type { ContainerConfig } from '../ocispec/config';
import type { StoredState } from '../state/store';
import type { CgroupManager } from '../cgroups/manager';
import type { Logger } from '../util/log';
import { moveNetDevices } from '../namespaces/netdev';

/**
 * The container's cgroup in every hierarchy (none for a rootless caller), recorded in the state
 * as it is made; one that is in use or frozen is refused, in runc's words (it stays as it was).
 */
export function makeCgroups(state: StoredState, cgroups: CgroupManager, save: () => void): void {
  state.cgroup = { mode: cgroups.mode, paths: { ...cgroups.paths }, createdDirs: [] };
  cgroups.create((dirs) => {
    state.cgroup!.createdDirs = dirs;
    save();
  });
}

/**
 * The config's resources on the container's cgroups (none for a rootless caller: checkRootless
 * refused resources). As runc, the device policy starts from "deny all" whatever the config's
 * rules say, and linux.devices adds no rule of its own (a config that denies a device it also
 * creates means it). The pids limit only where asked: a forked init's create-time hooks, which
 * it runs before it is ready, count against it (pidsLimit then).
 */
export function applyResources(cfg: ContainerConfig, cgroups: CgroupManager, rootless: boolean, log: Logger, pids: boolean): void {
  if (rootless) return;
  try {
    const res = { ...cfg.resources, pids: pids ? cfg.resources.pids : undefined, devices: undefined };
    for (const w of cgroups.apply(res, cfg.deviceRules).warnings) log.warn(w);
  } catch (e) {
    throw new UserError(`config.json: ${(e as Error).message}`);
  }
  log.step('create: resources applied');
}

/**
 * As soon as a forked init's pid is known and its cgroups are made, while the copy waits:
 * recorded, into its cgroups, network devices moved, resources on.
 */
export function placeInit(
  sys: Libc,
  cfg: ContainerConfig,
  cgroups: CgroupManager,
  rootless: boolean,
  log: Logger,
  initPid: number,
  recorded: (pid: number) => void,
): void {
  recorded(initPid);
  cgroups.addProcess(initPid);
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
  applyResources(cfg, cgroups, rootless, log, false);
}

/** The pids limit, once a forked init is ready. */
export function pidsLimit(cfg: ContainerConfig, cgroups: CgroupManager): void {
  if (!cfg.resources.pids) return;
  try {
    cgroups.apply({ pids: cfg.resources.pids });
  } catch (e) {
    throw new UserError(`config.json: ${(e as Error).message}`);
  }
}

/** Once init is ready: its pidfd to whoever asked (runc's --pidfd-socket), the pid file. */
export function announceInit(sys: Libc, opts: { pidfdSocket?: string; pidFile?: string }, initPid: number): void {
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
}

function writePidFile(path: string, pid: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, String(pid));
  fs.renameSync(tmp, path);
}
