import * as fs from 'fs';
import { dirname, isAbsolute, join, posix } from 'path';
import { isErrno } from '../sys/errors';
import { sleepSync } from '../util/wait';
import type { CgroupLayout, Hierarchy } from './hierarchy';

export { enableV2Controllers } from './v2-controllers';

export interface CgroupPlan {
  mode: 'v1' | 'v2';
  /** hierarchy key ("cpu,cpuacct", "unified", ...) → absolute directory of the container's cgroup */
  paths: Record<string, string>;
}

function keyOf(h: Hierarchy): string {
  return h.version === 2 ? 'unified' : h.controllers.join(',');
}

/**
 * Where the container's cgroup lives in every hierarchy. A relative cgroupsPath is relative to the
 * runtime's own cgroup (as runc does); no cgroupsPath means /<id>, as runc's cgroupfs driver does.
 */
export function planCgroups(layout: CgroupLayout, cgroupsPath: string | undefined, id: string): CgroupPlan {
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
  return { mode: layout.mode, paths };
}

/** Creates the directories that are missing; returns the ones it created (only those may be removed). */
export function createCgroups(plan: CgroupPlan, record: (dirs: string[]) => void = () => undefined): string[] {
  const created: string[] = [];
  for (const [key, dir] of Object.entries(plan.paths)) {
    const missing: string[] = [];
    for (let d = dir; !fs.existsSync(d); d = dirname(d)) missing.unshift(d);
    // Record before creating: a runtime killed between the two leaves nothing delete can't find.
    record([...created, ...missing]);
    for (const d of missing) {
      try {
        fs.mkdirSync(d);
      } catch (e) {
        // e.g. a cgroupsPath through a control file ("x/cgroup.procs"): the new parent has one
        throw new Error(`linux.cgroupsPath: creating ${d}: ${(e as Error).message}`);
      }
      created.push(d);
    }
    if (!fs.statSync(dir).isDirectory()) throw new Error(`linux.cgroupsPath: ${dir} is a file, not a cgroup`);
    if (key.split(',').includes('cpuset')) ensureCpusets(dir);
  }
  return created;
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

export function addProcess(plan: CgroupPlan, pid: number): void {
  for (const dir of Object.values(plan.paths)) {
    fs.writeFileSync(join(dir, 'cgroup.procs'), String(pid));
  }
}

/** The directory and every cgroup below it, parents before children. */
function subtree(dir: string): string[] {
  const out = [dir];
  for (let i = 0; i < out.length; i++) {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(out[i], { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) if (e.isDirectory()) out.push(join(out[i], e.name));
  }
  return out;
}

/**
 * Pids of every process in the container's cgroup and the cgroups below it (a container may make
 * its own: systemd, nested runtimes), from the first hierarchy that can tell.
 */
export function cgroupPids(paths: Record<string, string>): number[] {
  const order = ['pids', 'freezer', 'memory', 'devices', 'unified'];
  const keys = Object.keys(paths).sort((a, b) => rank(a) - rank(b));
  function rank(k: string): number {
    const i = order.findIndex((o) => k.split(',').includes(o));
    return i < 0 ? order.length : i;
  }
  for (const k of keys) {
    if (!fs.existsSync(join(paths[k], 'cgroup.procs'))) continue;
    const pids = new Set<number>();
    for (const d of subtree(paths[k])) {
      try {
        for (const p of fs.readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n')) if (p) pids.add(Number(p));
      } catch {
        // a child cgroup removed meanwhile
      }
    }
    return [...pids];
  }
  return [];
}

/**
 * Removes the directories this runtime created, deepest first. The container's own cgroups may
 * need a moment for exiting tasks; a parent it created stays while other cgroups live in it
 * (containerd puts a namespace's containers under one parent).
 */
export function removeCgroups(created: readonly string[]): string[] {
  const failed: string[] = [];
  const leaves = new Set(created.filter((d) => !created.some((o) => o !== d && o.startsWith(d + '/'))));
  // Cgroups the container made below its own go first (their processes are dead by now).
  const nested = [...leaves].flatMap((d) => subtree(d).slice(1));
  for (const d of nested) leaves.add(d);
  const sorted = [...new Set([...created, ...nested])].sort((a, b) => b.length - a.length);
  for (const d of sorted) {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.rmdirSync(d);
        break;
      } catch (e) {
        // ENOTDIR: recorded before its mkdir, which failed on a control file of that name
        if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) break;
        if (!leaves.has(d) && (isErrno(e, 'EBUSY') || isErrno(e, 'ENOTEMPTY'))) break; // shared parent
        if (isErrno(e, 'EBUSY') && attempt < 500) {
          sleepSync(2);
          continue;
        }
        failed.push(`${d}: ${(e as Error).message}`);
        break;
      }
    }
  }
  return failed;
}
