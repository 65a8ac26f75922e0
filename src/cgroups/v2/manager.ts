// A container's cgroup on a pure cgroup v2 host: one directory in the unified hierarchy.
import fs = require('fs');
import { join } from 'path';
import type { DeviceRule, Resources } from '../../ocispec/oci';
import type { CgroupJoin, CgroupManager, CgroupMountView, OomState } from '../manager';
import { addToAll, joinDirs, killUntilEmpty, makeDirs, pidsUnder, refuseBusy, refuseFrozen, removeCgroups, subCgroupDirs } from '../tree';
import { frozenAlreadyV2, hasFreezerV2, isFrozenV2, setFrozenV2 } from './freezer';
import { enableV2Controllers } from './controllers';
import type { BpfLibc } from './resources';

// Resources and statistics load when used: state, kill and list need only the freezer and pids.
/* eslint-disable @typescript-eslint/no-require-imports */
const lazy = {
  resources: () => require('./resources') as typeof import('./resources'),
  policy: () => require('../devices/policy') as typeof import('../devices/policy'),
  stats: () => require('./stats') as typeof import('./stats'),
  v1stats: () => require('../v1/stats') as typeof import('../v1/stats'),
  v1resources: () => require('../v1/resources') as typeof import('../v1/resources'),
  libc: () => (require('../../sys') as typeof import('../../sys')).libc(),
};
/* eslint-enable @typescript-eslint/no-require-imports */

// What the container may use of the controllers its parents have.
const CONTROLLERS = ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc'];

export class V2Manager implements CgroupManager {
  readonly mode = 'v2' as const;

  /**
   * @param paths { unified: the container's directory } ({} for a rootless container: no cgroup)
   * @param root the unified hierarchy's mountpoint
   * @param bpf the calls that load and attach the device program
   */
  constructor(
    readonly paths: Readonly<Record<string, string>>,
    private readonly root = '/sys/fs/cgroup',
    private readonly bpf: () => BpfLibc = lazy.libc,
  ) {}

  private get dir(): string | undefined {
    return this.paths.unified;
  }

  create(record: (dirs: string[]) => void): string[] {
    const created = makeDirs(this.paths, record);
    refuseBusy(this.paths, created);
    if (this.frozenAlready()) refuseFrozen(this.paths);
    if (this.dir) enableV2Controllers(this.root, this.dir, CONTROLLERS);
    return created;
  }

  mountView(): CgroupMountView {
    return { kind: 'unified', dir: this.dir };
  }

  addProcess(pid: number): void {
    addToAll(this.paths, pid);
  }

  execJoin(subs: readonly string[]): CgroupJoin {
    const dirs = subCgroupDirs(this.paths, subs);
    return { join: (pid, initPid) => joinDirs(dirs, pid, initPid, () => this.root) };
  }

  apply(res: Resources, devices?: readonly DeviceRule[]): { warnings: string[] } {
    const warnings: string[] = [];
    const policy = devices ? lazy.policy().devicePolicy(devices) : undefined;
    // A rootless container has no cgroup: every setting is refused as "controller not available", none written.
    if (!this.dir) lazy.v1resources().applyV1({ paths: {}, unifiedRoot: () => undefined }, res, policy, warnings);
    else lazy.resources().applyV2(this.dir, res, policy, warnings, this.bpf);
    return { warnings };
  }

  isPaused(): boolean {
    return this.dir !== undefined && isFrozenV2(this.dir);
  }

  frozenAlready(): boolean {
    return this.dir !== undefined && frozenAlreadyV2(this.dir);
  }

  setFrozen(frozen: boolean): void {
    if (!this.dir || !hasFreezerV2(this.dir)) throw new Error('this host has no cgroup freezer: pause and resume are not possible');
    setFrozenV2(this.dir, frozen);
  }

  pids(): number[] {
    return pidsUnder([this.dir]);
  }

  killAll(timeoutMs: number): boolean {
    // cgroup.kill (5.14+) takes the whole subtree at once, racing no fork.
    if (this.dir) {
      try {
        fs.writeFileSync(join(this.dir, 'cgroup.kill'), '1');
      } catch {
        // an older kernel: the loop does it
      }
    }
    return killUntilEmpty(() => this.pids(), timeoutMs);
  }

  stats(): Record<string, unknown> {
    // A rootless container has no cgroup: zeros, in the shape clients decode.
    if (!this.dir) return lazy.v1stats().statsV1(() => undefined);
    return lazy.stats().statsV2(this.dir);
  }

  oom(): OomState {
    return lazy.stats().oomV2(this.dir);
  }

  destroy(createdDirs: readonly string[]): string[] {
    return removeCgroups(createdDirs);
  }
}
