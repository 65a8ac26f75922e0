import * as fs from 'fs';
import { dirname, isAbsolute, join, posix } from 'path';
import { isErrno } from '../sys/errors';
import { sleepSync } from '../util/wait';
import type { DeviceRule, Resources } from '../spec/oci';
import type { CgroupLayout, Hierarchy } from './hierarchy';

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
      fs.mkdirSync(d);
      created.push(d);
      if (key.split(',').includes('cpuset')) inheritCpuset(d);
    }
  }
  return created;
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

/** Pids in the container's cgroup (from the first hierarchy that can tell). */
export function cgroupPids(paths: Record<string, string>): number[] {
  const order = ['pids', 'freezer', 'memory', 'devices', 'unified'];
  const keys = Object.keys(paths).sort((a, b) => rank(a) - rank(b));
  function rank(k: string): number {
    const i = order.findIndex((o) => k.split(',').includes(o));
    return i < 0 ? order.length : i;
  }
  for (const k of keys) {
    try {
      return fs.readFileSync(join(paths[k], 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      // try the next hierarchy
    }
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
  const sorted = [...created].sort((a, b) => b.length - a.length);
  const leaves = new Set(sorted.filter((d) => !sorted.some((o) => o !== d && o.startsWith(d + '/'))));
  for (const d of sorted) {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.rmdirSync(d);
        break;
      } catch (e) {
        if (isErrno(e, 'ENOENT')) break;
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

// runc's default device allow-list, appended after the config's own rules.
const DEFAULT_ALLOWED: DeviceRule[] = [
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
  { allow: true, type: 'c', major: 136, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' },
];

export function deviceRuleLine(r: DeviceRule): string {
  const n = (v: number | undefined) => (v === undefined || v < 0 ? '*' : String(v));
  return `${r.type ?? 'a'} ${n(r.major)}:${n(r.minor)} ${r.access ?? 'rwm'}`;
}

export interface ResourceResult { warnings: string[] }

/**
 * Applies linux.resources to the container's cgroup before the user program runs. What tsrunc
 * cannot apply yet is an error, never silently skipped.
 */
export function applyResources(plan: CgroupPlan, res: Resources, extraDevices: DeviceRule[]): ResourceResult {
  const warnings: string[] = [];
  const write = (controller: string, file: string, value: string | number): void => {
    const key = Object.keys(plan.paths).find((k) => k.split(',').includes(controller));
    if (!key) throw new Error(`linux.resources: the ${controller} cgroup controller is not available on this host`);
    const path = join(plan.paths[key], file);
    try {
      fs.writeFileSync(path, String(value));
    } catch (e) {
      throw new Error(`linux.resources: writing ${value} to ${path}: ${(e as Error).message}`);
    }
  };
  const rules = [...(res.devices ?? []), ...extraDevices];
  if (plan.mode === 'v2') {
    if (rules.length) warnings.push('linux.resources.devices: device rules are not enforced on cgroup v2 by tsrunc yet');
    applyV2(plan.paths.unified, res, warnings);
    return { warnings };
  }
  if (rules.length) {
    for (const r of [...rules, ...DEFAULT_ALLOWED]) write('devices', r.allow ? 'devices.allow' : 'devices.deny', deviceRuleLine(r));
  }
  const mem = res.memory as Record<string, number | boolean | undefined> | undefined;
  if (mem) {
    for (const [k, v] of Object.entries(mem)) {
      if (v === undefined) continue;
      switch (k) {
        case 'limit': write('memory', 'memory.limit_in_bytes', Number(v)); break;
        case 'reservation': write('memory', 'memory.soft_limit_in_bytes', Number(v)); break;
        case 'swap': write('memory', 'memory.memsw.limit_in_bytes', Number(v)); break;
        case 'swappiness': write('memory', 'memory.swappiness', Number(v)); break;
        case 'disableOOMKiller': if (v === true) write('memory', 'memory.oom_control', 1); break;
        case 'kernelTCP': write('memory', 'memory.kmem.tcp.limit_in_bytes', Number(v)); break;
        case 'kernel': {
          // Deprecated: newer kernels dropped kmem limits (the file may be gone, or ignore writes).
          const key = Object.keys(plan.paths).find((x) => x.split(',').includes('memory'));
          if (key && fs.existsSync(join(plan.paths[key], 'memory.kmem.limit_in_bytes'))) write('memory', 'memory.kmem.limit_in_bytes', Number(v));
          else warnings.push('linux.resources.memory.kernel: this kernel has no kernel memory limits; ignored');
          break;
        }
        case 'checkBeforeUpdate': break;
        default: throw new Error(`linux.resources.memory.${k}: not supported by tsrunc yet`);
      }
    }
  }
  const cpu = res.cpu as Record<string, number | string | undefined> | undefined;
  if (cpu) {
    for (const [k, v] of Object.entries(cpu)) {
      if (v === undefined) continue;
      switch (k) {
        case 'shares': write('cpu', 'cpu.shares', Number(v)); break;
        case 'period': write('cpu', 'cpu.cfs_period_us', Number(v)); break;
        case 'quota': write('cpu', 'cpu.cfs_quota_us', Number(v)); break;
        case 'cpus': write('cpuset', 'cpuset.cpus', String(v)); break;
        case 'mems': write('cpuset', 'cpuset.mems', String(v)); break;
        default: throw new Error(`linux.resources.cpu.${k}: not supported by tsrunc yet`);
      }
    }
  }
  if (res.pids?.limit !== undefined) write('pids', 'pids.max', res.pids.limit > 0 ? res.pids.limit : 'max');
  for (const k of ['blockIO', 'hugepageLimits', 'network', 'rdma', 'unified'] as const) {
    const v = res[k];
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) throw new Error(`linux.resources.${k}: not supported by tsrunc yet`);
  }
  return { warnings };
}

/** runc's conversion of cgroup v1 cpu.shares (2..262144) to v2 cpu.weight (1..10000). */
export function sharesToWeight(shares: number): number {
  return shares === 0 ? 0 : Math.floor(1 + ((shares - 2) * 9999) / 262142);
}

/**
 * Makes the controllers the container needs available to it: each ancestor below the v2 root
 * must list them in cgroup.subtree_control.
 */
export function enableV2Controllers(mountpoint: string, dir: string, wanted: readonly string[]): void {
  const rel = dir.slice(mountpoint.length).split('/').filter(Boolean);
  let cur = mountpoint;
  for (const part of rel) {
    let available: string[] = [];
    try {
      available = fs.readFileSync(join(cur, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
    } catch {
      return;
    }
    const add = wanted.filter((c) => available.includes(c)).map((c) => `+${c}`);
    if (add.length) {
      try {
        fs.writeFileSync(join(cur, 'cgroup.subtree_control'), add.join(' '));
      } catch {
        // a parent with processes of its own cannot delegate (no internal processes): the writes below will say so
      }
    }
    cur = join(cur, part);
  }
}

function applyV2(dir: string | undefined, res: Resources, warnings: string[]): void {
  if (!dir) throw new Error('linux.resources: no cgroup v2 hierarchy for the container');
  const write = (file: string, value: string | number, field: string): void => {
    try {
      fs.writeFileSync(join(dir, file), String(value));
    } catch (e) {
      throw new Error(`linux.resources.${field}: writing ${value} to ${join(dir, file)}: ${(e as Error).message}`);
    }
  };
  const max = (v: number) => (v < 0 ? 'max' : v);
  const mem = res.memory as Record<string, number | boolean | undefined> | undefined;
  if (mem) {
    const limit = mem.limit as number | undefined;
    for (const [k, v] of Object.entries(mem)) {
      if (v === undefined) continue;
      switch (k) {
        case 'limit': write('memory.max', max(Number(v)), 'memory.limit'); break;
        case 'reservation': write('memory.low', max(Number(v)), 'memory.reservation'); break;
        case 'swap': {
          // OCI's swap is memory+swap; v2's memory.swap.max is swap alone.
          const sw = Number(v);
          write('memory.swap.max', sw < 0 ? 'max' : limit !== undefined && limit >= 0 ? Math.max(0, sw - limit) : sw, 'memory.swap');
          break;
        }
        case 'swappiness': case 'kernel': case 'kernelTCP':
          warnings.push(`linux.resources.memory.${k}: has no cgroup v2 equivalent; ignored`);
          break;
        case 'disableOOMKiller': if (v === true) throw new Error('linux.resources.memory.disableOOMKiller: not possible on cgroup v2'); break;
        case 'checkBeforeUpdate': break;
        default: throw new Error(`linux.resources.memory.${k}: not supported by tsrunc yet`);
      }
    }
  }
  const cpu = res.cpu as Record<string, number | string | undefined> | undefined;
  if (cpu) {
    if (cpu.shares !== undefined) write('cpu.weight', sharesToWeight(Number(cpu.shares)), 'cpu.shares');
    if (cpu.quota !== undefined || cpu.period !== undefined) {
      const quota = cpu.quota === undefined || Number(cpu.quota) <= 0 ? 'max' : Number(cpu.quota);
      write('cpu.max', `${quota} ${cpu.period ?? 100000}`, 'cpu.quota');
    }
    if (cpu.cpus !== undefined) write('cpuset.cpus', String(cpu.cpus), 'cpu.cpus');
    if (cpu.mems !== undefined) write('cpuset.mems', String(cpu.mems), 'cpu.mems');
    for (const k of Object.keys(cpu)) {
      if (!['shares', 'quota', 'period', 'cpus', 'mems'].includes(k) && cpu[k] !== undefined) {
        throw new Error(`linux.resources.cpu.${k}: not supported on cgroup v2 by tsrunc yet`);
      }
    }
  }
  if (res.pids?.limit !== undefined) write('pids.max', res.pids.limit > 0 ? res.pids.limit : 'max', 'pids.limit');
  for (const [k, v] of Object.entries(res.unified ?? {})) {
    if (k.includes('/') || k.startsWith('.')) throw new Error(`linux.resources.unified: "${k}" is not a cgroup file name`);
    write(k, v, `unified.${k}`);
  }
  for (const k of ['blockIO', 'hugepageLimits', 'network', 'rdma'] as const) {
    const v = res[k];
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) throw new Error(`linux.resources.${k}: not supported on cgroup v2 by tsrunc yet`);
  }
}
