// The runtime's read-only bind of node (/run/tsrunc-exe, src/process/protected-exe.ts) stays on a
// host until reboot by design. Tools that run tsrunc (the tests, the benchmark, the soak) take
// away the binds they made: snapshot() before, restore() after.
'use strict';
const fs = require('fs');
const { spawnSync } = require('child_process');

function binds() {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m && m.startsWith('/run/tsrunc-exe/'));
}

function snapshot() {
  return { binds: binds(), dir: fs.existsSync('/run/tsrunc-exe') };
}

function restore(before) {
  const had = new Set(before.binds);
  for (const m of binds().reverse()) if (!had.has(m)) spawnSync('umount', ['-l', m]);
  if (!before.dir && binds().length === 0) fs.rmSync('/run/tsrunc-exe', { recursive: true, force: true });
}

module.exports = { binds, snapshot, restore };
