// Which CgroupManager a container gets: chosen by the host's layout when it is created, and by
// what its state recorded afterwards. The only place that tells v1 from v2.
import type { CgroupLayout } from './hierarchy';
import type { CgroupManager, CgroupMode, CgroupRecord } from './manager';
import { planCgroupPaths } from './plan';
import { V1Manager } from './v1/manager';
import { V2Manager } from './v2/manager';

/** Where a hybrid host mounts the unified hierarchy, read when first needed. */
function hostUnifiedRoot(): string | undefined {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { hostLayout } = require('./hierarchy') as typeof import('./hierarchy');
  return hostLayout().hierarchies.find((h) => h.version === 2)?.mountpoint;
}

function managerOf(mode: CgroupMode, paths: Readonly<Record<string, string>>): CgroupManager {
  return mode === 'v2' ? new V2Manager(paths) : new V1Manager(paths, hostUnifiedRoot);
}

/**
 * A new container's cgroups: /<id>, or linux.cgroupsPath, in every hierarchy of the host. A
 * rootless container gets none (its manager has no directories: no pids, no freezer).
 */
export function planCgroups(
  layout: CgroupLayout,
  cgroupsPath: string | undefined,
  id: string,
  opts: { rootless?: boolean } = {},
): CgroupManager {
  return managerOf(layout.mode, opts.rootless ? {} : planCgroupPaths(layout, cgroupsPath, id));
}

/** The manager of an existing container, from its state. */
export function openCgroups(rec: Pick<CgroupRecord, 'mode' | 'paths'>): CgroupManager {
  // States from before the mode was recorded: only a pure v2 host has the unified key alone.
  const keys = Object.keys(rec.paths);
  const mode = rec.mode ?? (keys.length === 1 && keys[0] === 'unified' ? 'v2' : 'v1');
  return managerOf(mode, rec.paths);
}
