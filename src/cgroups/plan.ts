import { isAbsolute, join, posix } from 'path';
import type { CgroupLayout, Hierarchy } from './hierarchy';

/** The hierarchy's key in a container's paths: its controllers ("cpu,cpuacct"), or "unified". */
function keyOf(h: Hierarchy): string {
  return h.version === 2 ? 'unified' : h.controllers.join(',');
}

/**
 * Where the container's cgroup lives in every hierarchy. A relative cgroupsPath is relative to the
 * runtime's own cgroup (as runc does); no cgroupsPath means /<id>, as runc's cgroupfs driver does.
 */
export function planCgroupPaths(layout: CgroupLayout, cgroupsPath: string | undefined, id: string): Record<string, string> {
  const paths: Record<string, string> = {};
  const rel = cgroupsPath ?? `/${id}`;
  for (const h of layout.hierarchies) {
    if (layout.mode === 'v2' && h.mountpoint !== '/sys/fs/cgroup') continue;
    const inHierarchy = isAbsolute(rel) ? posix.normalize(rel) : posix.join(h.ownPath, rel);
    if (inHierarchy === '/' || inHierarchy.split('/').includes('..')) {
      throw new Error(`linux.cgroupsPath: "${cgroupsPath}" does not name a cgroup below the hierarchy root`);
    }
    paths[keyOf(h)] = join(h.mountpoint, inHierarchy);
  }
  return paths;
}
