import * as fs from 'fs';
import { join } from 'path';
import { sleepSync, waitUntil } from '../util/wait';

/** The freezer of a container's cgroup: v1's freezer controller or v2's cgroup.freeze. */
function freezerFile(paths: Record<string, string>): { file: string; v2: boolean } | undefined {
  const v1 = Object.keys(paths).find((k) => k.split(',').includes('freezer'));
  if (v1) return { file: join(paths[v1], 'freezer.state'), v2: false };
  if (paths.unified && fs.existsSync(join(paths.unified, 'cgroup.freeze'))) return { file: join(paths.unified, 'cgroup.freeze'), v2: true };
  return undefined;
}

/**
 * Whether the container is paused. v1: FROZEN by its own freezer.state (self_freezing), not merely
 * because a parent is frozen; a FREEZING cgroup is still on its way, as runc reports it.
 */
export function isFrozen(paths: Record<string, string>): boolean {
  const f = freezerFile(paths);
  if (!f) return false;
  try {
    const v = fs.readFileSync(f.file, 'utf8').trim();
    if (f.v2) return v === '1';
    if (v !== 'FROZEN') return false;
    const self = join(f.file, '..', 'freezer.self_freezing');
    return !fs.existsSync(self) || fs.readFileSync(self, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

/**
 * Whether a cgroup the container is about to use is frozen, by itself or a parent (v1: FROZEN or
 * FREEZING; v2: cgroup.events says frozen, or cgroup.freeze is set). A process put there would
 * stop in its tracks, and create would wait for it forever.
 */
export function frozenAlready(paths: Record<string, string>): boolean {
  const f = freezerFile(paths);
  if (!f) return false;
  try {
    if (!f.v2) return fs.readFileSync(f.file, 'utf8').trim() !== 'THAWED';
    if (fs.readFileSync(f.file, 'utf8').trim() === '1') return true;
    return /^frozen 1$/m.test(fs.readFileSync(join(paths.unified, 'cgroup.events'), 'utf8'));
  } catch {
    return false;
  }
}

/** Freezes (or thaws) every process of the container and waits until the kernel says it is done. */
export function setFrozen(paths: Record<string, string>, frozen: boolean): void {
  const f = freezerFile(paths);
  if (!f) throw new Error('this host has no cgroup freezer: pause and resume are not possible');
  if (f.v2) {
    fs.writeFileSync(f.file, frozen ? '1' : '0');
    const events = join(paths.unified, 'cgroup.events');
    if (!waitUntil(() => fs.readFileSync(events, 'utf8').includes(`frozen ${frozen ? 1 : 0}`), 10000)) {
      if (frozen) fs.writeFileSync(f.file, '0'); // not left half-frozen
      throw new Error(`the cgroup did not ${frozen ? 'freeze' : 'thaw'} within 10 s`);
    }
    return;
  }
  if (!frozen) {
    fs.writeFileSync(f.file, 'THAWED');
    if (!waitUntil(() => fs.readFileSync(f.file, 'utf8').trim() === 'THAWED', 5000))
      throw new Error('the cgroup freezer did not reach THAWED');
    return;
  }
  // A process that keeps forking can hold v1's freezer in FREEZING: write FROZEN again and again,
  // thawing for a moment now and then so the forks settle (runc's remedy), and give up thawed.
  for (let i = 0; i < 1000; i++) {
    if (i % 50 === 49) {
      fs.writeFileSync(f.file, 'THAWED');
      sleepSync(10);
    }
    fs.writeFileSync(f.file, 'FROZEN');
    const state = fs.readFileSync(f.file, 'utf8').trim();
    if (state === 'FROZEN') return;
    if (state !== 'FREEZING') break;
    if (i % 25 === 24) sleepSync(1);
  }
  fs.writeFileSync(f.file, 'THAWED');
  throw new Error('the cgroup freezer could not freeze every process (it stayed FREEZING)');
}
