import fs = require('fs');
import { join } from 'path';

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
