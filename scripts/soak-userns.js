#!/usr/bin/env node
// Soak of the user-namespace birth route (issue 6): N create/start/wait/delete cycles of a
// user-namespaced container while CPU hogs keep the machine busy. Prints hangs, crashes and timings.
// Usage (root): node scripts/soak-userns.js [cycles=500] [hogs=2]
'use strict';
const { spawn, spawnSync, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const N = Number(process.argv[2] || 500);
const HOGS = Number(process.argv[3] || 2);
const repo = path.resolve(__dirname, '..');
const TSRUNC = path.join(repo, 'bin', 'tsrunc');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrunc-soak-'));
const bundle = path.join(work, 'bundle');
const root = path.join(work, 'root');
execFileSync(path.join(repo, 'scripts', 'make-bundle.sh'), [bundle, 'true']);
fs.chmodSync(work, 0o755);
const cfg = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
cfg.linux.namespaces.push({ type: 'user' });
cfg.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
cfg.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(cfg));

const hogs = Array.from({ length: HOGS }, () => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
// stdio on a file: the container inherits create's, and a pipe would keep spawnSync waiting.
const errFile = path.join(work, 'stderr');
const T = (args) => {
  const fd = fs.openSync(errFile, 'w');
  const r = spawnSync(TSRUNC, ['--root', root, ...args], { stdio: ['ignore', fd, fd], timeout: 30000 });
  fs.closeSync(fd);
  return { ...r, stderr: fs.readFileSync(errFile, 'utf8') };
};
const results = { ok: 0, createFailed: 0, hung: 0, otherFailed: 0 };
const errors = new Map();
const times = [];
try {
  for (let i = 0; i < N; i++) {
    const id = `soak-${i}`;
    const t0 = process.hrtime.bigint();
    const c = T(['create', '--bundle', bundle, id]);
    if (c.error || c.status !== 0) {
      if (c.error && c.error.code === 'ETIMEDOUT') results.hung++; else results.createFailed++;
      const msg = (c.stderr || String(c.error)).trim().split('\n').pop();
      errors.set(msg, (errors.get(msg) || 0) + 1);
      T(['delete', '--force', id]);
      continue;
    }
    const s = T(['start', id]);
    const d = T(['delete', '--force', id]);
    if (s.status !== 0 || d.status !== 0) {
      results.otherFailed++;
      const msg = `${s.stderr}${d.stderr}`.trim().split('\n').pop();
      errors.set(msg, (errors.get(msg) || 0) + 1);
      continue;
    }
    results.ok++;
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
} finally {
  for (const h of hogs) h.kill('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
}
times.sort((a, b) => a - b);
const q = (p) => (times.length ? times[Math.floor(times.length * p)].toFixed(0) : '-');
console.log(`${N} cycles of create/start/delete --force with a new user namespace, ${HOGS} CPU hogs running`);
console.log(`ok ${results.ok}, create failed ${results.createFailed}, hung (30 s) ${results.hung}, start/delete failed ${results.otherFailed}`);
console.log(`cycle ms: median ${q(0.5)}, p95 ${q(0.95)}, max ${times.length ? times[times.length - 1].toFixed(0) : '-'}`);
for (const [m, n] of errors) console.log(`  ${n} × ${m}`);
