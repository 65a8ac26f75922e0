import fs = require('fs');
import { join } from 'path';
import { waitUntil } from '../../util/wait';

// v2's freezer: cgroup.freeze, and cgroup.events' "frozen" once the kernel is done.

/** Whether the cgroup has a freezer at all (5.2+). */
export function hasFreezerV2(dir: string): boolean {
  return fs.existsSync(join(dir, 'cgroup.freeze'));
}

export function isFrozenV2(dir: string): boolean {
  try {
    return fs.readFileSync(join(dir, 'cgroup.freeze'), 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

/** Frozen by itself (cgroup.freeze) or a parent (cgroup.events says frozen). */
export function frozenAlreadyV2(dir: string): boolean {
  try {
    if (fs.readFileSync(join(dir, 'cgroup.freeze'), 'utf8').trim() === '1') return true;
    return /^frozen 1$/m.test(fs.readFileSync(join(dir, 'cgroup.events'), 'utf8'));
  } catch {
    return false;
  }
}

export function setFrozenV2(dir: string, frozen: boolean): void {
  const file = join(dir, 'cgroup.freeze');
  fs.writeFileSync(file, frozen ? '1' : '0');
  const events = join(dir, 'cgroup.events');
  if (!waitUntil(() => fs.readFileSync(events, 'utf8').includes(`frozen ${frozen ? 1 : 0}`), 10000)) {
    if (frozen) fs.writeFileSync(file, '0'); // not left half-frozen
    throw new Error(`the cgroup did not ${frozen ? 'freeze' : 'thaw'} within 10 s`);
  }
}
