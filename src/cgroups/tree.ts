import fs = require('fs');
import { dirname, join } from 'path';
import { isErrno, UserError } from '../sys/errors';
import { sleepSync, waitUntil } from '../util/wait';

// The directory work both cgroup versions share: making, listing, joining and removing cgroups.

/** Creates the directories that are missing; returns the ones it created (only those may be removed). */
export function makeDirs(paths: Readonly<Record<string, string>>, record: (dirs: string[]) => void): string[] {
  const planned: string[] = [];
  for (const dir of Object.values(paths)) {
    const missing: string[] = [];
    for (let d = dir; !fs.existsSync(d); d = dirname(d)) missing.unshift(d);
    planned.push(...missing);
  }
  // Recorded before creating, all at once (each record is a write of the state): a runtime killed
  // between the two leaves nothing delete can't find (it tolerates a recorded dir never made).
  if (planned.length) record(planned);
  const created: string[] = [];
  for (const d of planned) {
    try {
      fs.mkdirSync(d);
    } catch (e) {
      // made already through another name: co-mounted v1 controllers (cpu and cpuacct linked to
      // cpu,cpuacct) give one directory two paths
      if (isErrno(e, 'EEXIST') && fs.statSync(d, { throwIfNoEntry: false })?.isDirectory()) continue;
      // e.g. a cgroupsPath through a control file ("x/cgroup.procs"): the new parent has one
      throw new Error(`linux.cgroupsPath: creating ${d}: ${(e as Error).message}`);
    }
    created.push(d);
  }
  if (created.length !== planned.length) record(created);
  // what mkdir made is a directory; what was there already is checked
  const made = new Set(created);
  for (const dir of Object.values(paths)) {
    if (!made.has(dir) && !fs.statSync(dir).isDirectory()) throw new Error(`linux.cgroupsPath: ${dir} is a file, not a cgroup`);
  }
  return created;
}

/** Refuses a cgroup that has processes already, in runc's words; created: the ones just made (empty). */
export function refuseBusy(paths: Readonly<Record<string, string>>, created: readonly string[] = []): void {
  const fresh = new Set(created);
  const busy = Object.values(paths).find((d) => {
    if (fresh.has(d)) return false;
    try {
      return fs.readFileSync(join(d, 'cgroup.procs'), 'utf8').trim() !== '';
    } catch {
      return false;
    }
  });
  if (busy) {
    throw new UserError(`container's cgroup is not empty: processes are in ${busy} (linux.cgroupsPath names another container's cgroup?)`);
  }
}

/** Refuses a cgroup that is frozen (a process put there would stop at once, and create wait for it forever). */
export function refuseFrozen(paths: Readonly<Record<string, string>>): never {
  throw new UserError(
    `container's cgroup unexpectedly frozen: ${Object.values(paths)[0] ?? ''} (thaw it, or choose another linux.cgroupsPath)`,
  );
}

export function addToAll(paths: Readonly<Record<string, string>>, pid: number): void {
  for (const dir of Object.values(paths)) fs.writeFileSync(join(dir, 'cgroup.procs'), String(pid));
}

/** The directory and every cgroup below it, parents before children. */
export function subtree(dir: string): string[] {
  const out = [dir];
  for (let i = 0; i < out.length; i++) {
    let entries: fs.Dirent[];
    try {
      // A cgroup directory's link count is 2 + its child cgroups (kernfs, v1 and v2 alike): most
      // have none, and listing ~30 control files for nothing costs a delete ~3 ms over ten hierarchies.
      if (fs.statSync(out[i]).nlink <= 2) continue;
      entries = fs.readdirSync(out[i], { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) if (e.isDirectory()) out.push(join(out[i], e.name));
  }
  return out;
}

/**
 * Pids of every process in a cgroup and the cgroups below it (a container may make its own:
 * systemd, nested runtimes), from the first of dirs that can tell.
 */
export function pidsUnder(dirs: readonly (string | undefined)[]): number[] {
  for (const dir of dirs) {
    if (dir === undefined || !fs.existsSync(join(dir, 'cgroup.procs'))) continue;
    const pids = new Set<number>();
    for (const d of subtree(dir)) {
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

/** SIGKILLs what pids() finds until it finds nothing (forks race the first rounds); false if some stayed. */
export function killUntilEmpty(pids: () => number[], timeoutMs: number): boolean {
  return waitUntil(
    () => {
      const left = pids();
      for (const p of left) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // gone
        }
      }
      return left.length === 0;
    },
    timeoutMs,
    2,
  );
}

/**
 * runc's --cgroup for exec: "PATH" (every hierarchy) or "CONTROLLER[,CONTROLLER]:PATH" (the
 * hierarchies of those controllers; "" names the unified one), an existing cgroup below the
 * container's. The directories to join, by hierarchy key.
 */
export function subCgroupDirs(paths: Readonly<Record<string, string>>, subs: readonly string[]): Record<string, string> {
  const dirs = { ...paths };
  for (const spec of subs) {
    const colon = spec.indexOf(':');
    const controllers = colon >= 0 ? spec.slice(0, colon).split(',') : undefined;
    const sub = colon >= 0 ? spec.slice(colon + 1) : spec;
    if (sub === '' || sub.split('/').includes('..'))
      throw new UserError(`--cgroup "${spec}": bad sub cgroup path (not below the container's cgroup)`);
    const keys = Object.keys(paths).filter(
      (k) => !controllers || controllers.some((c) => k.split(',').includes(c) || (k === 'unified' && c === '')),
    );
    if (!keys.length)
      throw new UserError(`--cgroup "${spec}": unknown controller ${controllers!.join(',')} (the container has no cgroup for it)`);
    for (const k of keys) {
      const dir = join(paths[k], sub);
      if (!fs.existsSync(join(dir, 'cgroup.procs')))
        throw new UserError(`--cgroup "${spec}": error adding pid to ${dir}: no such file or directory (not a cgroup)`);
      dirs[k] = dir;
    }
  }
  return dirs;
}

/**
 * Moves an exec'd process into dirs. v2 refuses a cgroup whose controllers are delegated to
 * children (EBUSY, when the container made sub-cgroups): then it joins init's, as runc does.
 */
export function joinDirs(dirs: Readonly<Record<string, string>>, pid: number, initPid: number, v2Root: () => string | undefined): void {
  for (const [key, dir] of Object.entries(dirs)) {
    try {
      fs.writeFileSync(join(dir, 'cgroup.procs'), String(pid));
    } catch (e) {
      const root = isErrno(e, 'EBUSY') && key === 'unified' ? v2Root() : undefined;
      if (root === undefined) throw e;
      const own = fs
        .readFileSync(`/proc/${initPid}/cgroup`, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('0::'));
      if (!own) throw e;
      fs.writeFileSync(join(root, own.slice(3), 'cgroup.procs'), String(pid));
    }
  }
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
