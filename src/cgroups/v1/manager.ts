// A container's cgroups on a cgroup v1 host (a hybrid one too: its cgroup in the unified
// hierarchy, key "unified", is made, joined and removed with the others).
import fs = require('fs');
import { dirname, join } from 'path';
import type { DeviceRule, Resources } from '../../ocispec/oci';
import type { CgroupJoin, CgroupManager, CgroupMountView, OomState } from '../manager';
import { addToAll, joinDirs, killUntilEmpty, makeDirs, pidsUnder, refuseBusy, refuseFrozen, removeCgroups, subCgroupDirs } from '../tree';
import { frozenAlreadyV1, isFrozenV1, setFrozenV1 } from './freezer';
import { frozenAlreadyV2, hasFreezerV2, isFrozenV2, setFrozenV2 } from '../v2/freezer';

// Resources and statistics load when used: state, kill and list need only the freezer and pids.
/* eslint-disable @typescript-eslint/no-require-imports */
const lazy = {
  resources: () => require('./resources') as typeof import('./resources'),
  policy: () => require('../devices/policy') as typeof import('../devices/policy'),
  stats: () => require('./stats') as typeof import('./stats'),
  v2stats: () => require('../v2/stats') as typeof import('../v2/stats'),
};
/* eslint-enable @typescript-eslint/no-require-imports */

// Which hierarchy tells the pids best: one that every task is in, cheapest first.
const PIDS_ORDER = ['pids', 'freezer', 'memory', 'devices'];

export class V1Manager implements CgroupManager {
  readonly mode = 'v1' as const;

  /**
   * @param paths hierarchy key → the container's directory
   * @param unifiedRoot where a hybrid host mounts the unified hierarchy (read only when needed: it parses mountinfo)
   */
  constructor(
    readonly paths: Readonly<Record<string, string>>,
    private readonly unifiedRoot: () => string | undefined = () => undefined,
  ) {}

  /** The container's directory in the hierarchy that has this controller. */
  private dirOf(controller: string): string | undefined {
    const key = Object.keys(this.paths).find((k) => k.split(',').includes(controller));
    return key === undefined ? undefined : this.paths[key];
  }

  create(record: (dirs: string[]) => void): string[] {
    const created = makeDirs(this.paths, record);
    const cpuset = this.dirOf('cpuset');
    if (cpuset) ensureCpusets(cpuset);
    refuseBusy(this.paths, created);
    if (this.frozenAlready()) refuseFrozen(this.paths);
    return created;
  }

  mountView(): CgroupMountView {
    return {
      kind: 'hierarchies',
      hierarchies: Object.entries(this.paths).map(([key, dir]) => {
        const parts = key.split(',');
        return { name: key.replace(/^name=/, ''), dir, aliases: parts.length > 1 ? parts : [] };
      }),
    };
  }

  addProcess(pid: number): void {
    addToAll(this.paths, pid);
  }

  execJoin(subs: readonly string[]): CgroupJoin {
    const dirs = subCgroupDirs(this.paths, subs);
    return { join: (pid, initPid) => joinDirs(dirs, pid, initPid, this.unifiedRoot) };
  }

  apply(res: Resources, devices?: readonly DeviceRule[]): { warnings: string[] } {
    const warnings: string[] = [];
    const policy = devices ? lazy.policy().devicePolicy(devices) : undefined;
    lazy.resources().applyV1({ paths: this.paths, unifiedRoot: this.unifiedRoot }, res, policy, warnings);
    return { warnings };
  }

  /** v1's freezer controller; a hybrid host without one may have the unified hierarchy's. */
  private freezer(): { v1: string } | { v2: string } | undefined {
    const v1 = this.dirOf('freezer');
    if (v1) return { v1 };
    const u = this.paths.unified;
    return u && hasFreezerV2(u) ? { v2: u } : undefined;
  }

  isPaused(): boolean {
    const f = this.freezer();
    return f === undefined ? false : 'v1' in f ? isFrozenV1(f.v1) : isFrozenV2(f.v2);
  }

  frozenAlready(): boolean {
    const f = this.freezer();
    return f === undefined ? false : 'v1' in f ? frozenAlreadyV1(f.v1) : frozenAlreadyV2(f.v2);
  }

  setFrozen(frozen: boolean): void {
    const f = this.freezer();
    if (!f) throw new Error('this host has no cgroup freezer: pause and resume are not possible');
    if ('v1' in f) setFrozenV1(f.v1, frozen);
    else setFrozenV2(f.v2, frozen);
  }

  pids(): number[] {
    return pidsUnder([...PIDS_ORDER.map((c) => this.dirOf(c)), this.paths.unified, ...Object.values(this.paths)]);
  }

  killAll(timeoutMs: number): boolean {
    // The unified hierarchy's cgroup.kill (5.14+) takes the subtree at once, racing no fork.
    if (this.paths.unified) {
      try {
        fs.writeFileSync(join(this.paths.unified, 'cgroup.kill'), '1');
      } catch {
        // an older kernel: the loop does it
      }
    }
    return killUntilEmpty(() => this.pids(), timeoutMs);
  }

  // A hybrid host without a v1 memory hierarchy (cgroup_no_v1=memory) keeps the memory
  // controller on the unified one: the statistics are read there, in v2's files.
  private memoryOnUnified(): string | undefined {
    return this.dirOf('memory') === undefined ? this.paths.unified : undefined;
  }

  stats(): Record<string, unknown> {
    const unified = this.memoryOnUnified();
    return unified ? lazy.v2stats().statsV2(unified) : lazy.stats().statsV1((c) => this.dirOf(c));
  }

  oom(): OomState {
    const unified = this.memoryOnUnified();
    return unified ? lazy.v2stats().oomV2(unified) : lazy.stats().oomV1(this.dirOf('memory'));
  }

  destroy(createdDirs: readonly string[]): string[] {
    return removeCgroups(createdDirs);
  }
}

/**
 * As runc: every cpuset from the first one with CPUs down to dir gets its parent's CPUs and
 * memory nodes where it has none, the ones that were there before us too (a pod's cgroup made
 * by its manager, say): an empty one refuses tasks (ENOSPC).
 */
function ensureCpusets(dir: string): void {
  const chain: string[] = [];
  for (let d = dir; fs.existsSync(join(d, 'cpuset.cpus')) && dirname(d) !== d; d = dirname(d)) {
    if (!fs.existsSync(join(dirname(d), 'cpuset.cpus'))) break; // the hierarchy's root
    chain.unshift(d);
  }
  for (const d of chain) inheritCpuset(d);
}

// A new v1 cpuset starts empty and refuses tasks until cpus and mems are set.
function inheritCpuset(dir: string): void {
  for (const f of ['cpuset.cpus', 'cpuset.mems']) {
    const mine = join(dir, f);
    if (fs.readFileSync(mine, 'utf8').trim() === '') {
      fs.writeFileSync(mine, fs.readFileSync(join(dirname(dir), f), 'utf8').trim());
    }
  }
}
