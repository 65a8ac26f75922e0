import fs = require('fs');
import { join } from 'path';
import { sleepSync, waitUntil } from '../../util/wait';

// v1's freezer controller: freezer.state (THAWED, FREEZING, FROZEN) of the container's cgroup.

/** FROZEN by its own freezer.state (self_freezing), not merely because a parent is; FREEZING is still on its way, as runc reports it. */
export function isFrozenV1(dir: string): boolean {
  try {
    if (fs.readFileSync(join(dir, 'freezer.state'), 'utf8').trim() !== 'FROZEN') return false;
    const self = join(dir, 'freezer.self_freezing');
    return !fs.existsSync(self) || fs.readFileSync(self, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

/** FROZEN or FREEZING, by itself or a parent. */
export function frozenAlreadyV1(dir: string): boolean {
  try {
    return fs.readFileSync(join(dir, 'freezer.state'), 'utf8').trim() !== 'THAWED';
  } catch {
    return false;
  }
}

export function setFrozenV1(dir: string, frozen: boolean): void {
  const file = join(dir, 'freezer.state');
  if (!frozen) {
    fs.writeFileSync(file, 'THAWED');
    if (!waitUntil(() => fs.readFileSync(file, 'utf8').trim() === 'THAWED', 5000))
      throw new Error('the cgroup freezer did not reach THAWED');
    return;
  }
  // A process that keeps forking can hold v1's freezer in FREEZING: write FROZEN again and again,
  // thawing for a moment now and then so the forks settle (runc's remedy), and give up thawed.
  for (let i = 0; i < 1000; i++) {
    if (i % 50 === 49) {
      fs.writeFileSync(file, 'THAWED');
      sleepSync(10);
    }
    fs.writeFileSync(file, 'FROZEN');
    const state = fs.readFileSync(file, 'utf8').trim();
    if (state === 'FROZEN') return;
    if (state !== 'FREEZING') break;
    if (i % 25 === 24) sleepSync(1);
  }
  fs.writeFileSync(file, 'THAWED');
  throw new Error('the cgroup freezer could not freeze every process (it stayed FREEZING)');
}
