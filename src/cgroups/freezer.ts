import * as fs from 'fs';
import { join } from 'path';
import { waitUntil } from '../util/wait';

/** The freezer of a container's cgroup: v1's freezer controller or v2's cgroup.freeze. */
function freezerFile(paths: Record<string, string>): { file: string; v2: boolean } | undefined {
  const v1 = Object.keys(paths).find((k) => k.split(',').includes('freezer'));
  if (v1) return { file: join(paths[v1], 'freezer.state'), v2: false };
  if (paths.unified && fs.existsSync(join(paths.unified, 'cgroup.freeze'))) return { file: join(paths.unified, 'cgroup.freeze'), v2: true };
  return undefined;
}

export function isFrozen(paths: Record<string, string>): boolean {
  const f = freezerFile(paths);
  if (!f) return false;
  try {
    const v = fs.readFileSync(f.file, 'utf8').trim();
    return f.v2 ? v === '1' : v === 'FROZEN' || v === 'FREEZING';
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
    waitUntil(() => fs.readFileSync(events, 'utf8').includes(`frozen ${frozen ? 1 : 0}`), 5000);
    return;
  }
  fs.writeFileSync(f.file, frozen ? 'FROZEN' : 'THAWED');
  const want = frozen ? 'FROZEN' : 'THAWED';
  if (!waitUntil(() => fs.readFileSync(f.file, 'utf8').trim() === want, 5000)) {
    throw new Error(`the cgroup freezer did not reach ${want}`);
  }
}
