#!/usr/bin/env node
// Soak of the fork birth (issue 10): N create/start/delete cycles, with and without a user
// namespace, while CPU hogs keep the machine busy and the runtime forks from a GC-heavy heap.
// The parent is this process, driving tsrunc's library in-process (as the runtime does itself):
// it keeps ~HEAP MiB of live objects and churns garbage between cycles, so each fork copies a big,
// fragmented heap that V8 is busy collecting. Prints hangs, failures, retried forks and timings.
// Variants: plain, userns (a user namespace), preborn (init is a pre-born copy forked before each
// cycle's create, as the shim's spare forks them: container/preborn-inits.ts).
// Usage (root): node scripts/soak-birth.js [cycles=2000] [hogs=2] [heapMiB=150] [variants=plain,userns,preborn]
// SOAK_NODE_FLAGS: node flags besides --single-threaded, e.g. the shim's (bin/containerd-shim-tsrunc-v2).
'use strict';
const { spawn, spawnSync, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const repo = path.resolve(__dirname, '..');
const N = Number(process.argv[2] || 2000);
const HOGS = Number(process.argv[3] || 2);
const HEAP = Number(process.argv[4] || 150);
const VARIANTS = (process.argv[5] || 'plain,userns,preborn').split(',');

// tsrunc's containers are copies of the process that makes them: run as tsrunc runs, from the
// read-only node (src/process/protected-exe.ts) with --single-threaded.
const launched = execFileSync('sh', ['-c', 'command -v node'], { encoding: 'utf8' }).trim();
const protectedNode = `/run/tsrunc-exe${launched}`;
if (!process.execArgv.includes('--single-threaded') || process.execPath !== fs.realpathSync(protectedNode)) {
  const exeBinds = require('./exe-binds');
  const exeBefore = exeBinds.snapshot(); // the node bind made here is taken away at the end
  if (!fs.existsSync(protectedNode)) {
    // Any container command makes it: one that fails at once is enough.
    spawnSync(path.join(repo, 'bin', 'tsrunc'), ['--root', os.tmpdir() + '/tsrunc-soak-none', 'run', '--bundle', '/nonexistent', 'x'], {
      stdio: 'ignore',
    });
  }
  const extra = (process.env.SOAK_NODE_FLAGS || '').split(' ').filter(Boolean);
  const r = spawnSync(protectedNode, ['--single-threaded', ...extra, __filename, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, TSRUNC_NODE_PATH: launched },
  });
  exeBinds.restore(exeBefore);
  process.exit(r.status ?? 1);
}

const { createContainer } = require(path.join(repo, 'dist', 'container', 'create.js'));
const { startContainer, deleteContainer } = require(path.join(repo, 'dist', 'container', 'operations.js'));
const { StateStore } = require(path.join(repo, 'dist', 'state', 'store.js'));
const { Logger } = require(path.join(repo, 'dist', 'util', 'log.js'));
const { libc } = require(path.join(repo, 'dist', 'sys', 'index.js'));
const { PrebornInits } = require(path.join(repo, 'dist', 'container', 'preborn-inits.js'));
const sys = libc(); // the operations take the Libc they call through

/** The inits are our children here: reap the ones that ended. */
function reapAll() {
  for (;;) {
    try {
      if (libc().waitpid(-1, true).pid <= 0) return;
    } catch {
      return; // ECHILD
    }
  }
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrunc-soak-'));
fs.chmodSync(work, 0o755);
const root = path.join(work, 'root');
const errFile = path.join(work, 'log');
const log = new Logger(errFile, 'text');

function bundle(name, userns) {
  const dir = path.join(work, name);
  execFileSync(path.join(repo, 'scripts', 'make-bundle.sh'), [dir, 'true']);
  if (userns) {
    const f = path.join(dir, 'config.json');
    const cfg = JSON.parse(fs.readFileSync(f, 'utf8'));
    cfg.linux.namespaces.push({ type: 'user' });
    cfg.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    cfg.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    fs.writeFileSync(f, JSON.stringify(cfg));
  }
  return dir;
}

// A GC-heavy heap: HEAP MiB kept alive in many small objects, and garbage made between cycles.
const live = [];
for (let i = 0; i < HEAP * 1024; i++) live.push({ i, s: 'x'.repeat(900), a: [i, i + 1] });
function churn() {
  let keep = 0;
  for (let i = 0; i < 20000; i++) {
    const o = { i, s: String(i).repeat(20), a: new Array(8).fill(i) };
    if (i % 97 === 0) live[(keep++ * 7919 + i) % live.length] = o; // old-generation writes too
  }
}

const hogs = Array.from({ length: HOGS }, () => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
const store = new StateStore(root);
const report = [];
try {
  for (const variant of VARIANTS) {
    const b = bundle(variant, variant === 'userns');
    const r = { variant, ok: 0, failed: 0, hung: 0, retried: 0, preborn: 0, times: [], errors: new Map() };
    const pool = variant === 'preborn' ? new PrebornInits(sys, log) : undefined;
    // a pre-born copy serves only a process given its stdio (the shim's fifos)
    const stdio = pool ? [fs.openSync('/dev/null', 'r'), fs.openSync('/dev/null', 'w'), fs.openSync('/dev/null', 'w')] : undefined;
    for (let i = 0; i < N; i++) {
      churn();
      const id = `soak-${variant}-${i}`;
      pool?.arm(1, 60_000);
      const t0 = process.hrtime.bigint();
      try {
        const c = createContainer({ root, id, bundle: b, noPivot: false, preserveFds: 0, log, sys, stdio, preborn: pool });
        if (c.attempts > 1) r.retried++;
        if (c.preborn) r.preborn++;
        startContainer(sys, store, id, log);
        deleteContainer(sys, store, id, true, log);
        reapAll();
        r.ok++;
        r.times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      } catch (e) {
        const msg = String(e.message || e).split('\n')[0];
        if (/within|no word/.test(msg)) r.hung++;
        else r.failed++;
        r.errors.set(msg, (r.errors.get(msg) || 0) + 1);
        try {
          deleteContainer(sys, store, id, true, log);
        } catch {
          // nothing left
        }
      }
    }
    pool?.drop();
    for (const fd of stdio ?? []) fs.closeSync(fd);
    report.push(r);
  }
} finally {
  for (const h of hogs) h.kill('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
}
console.log(
  `${N} create/start/delete --force cycles per variant, ${HOGS} CPU hogs, parent heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB live with garbage churned between cycles, ${os.cpus().length} cores`,
);
for (const r of report) {
  r.times.sort((a, b) => a - b);
  const q = (p) => (r.times.length ? r.times[Math.min(r.times.length - 1, Math.floor(r.times.length * p))].toFixed(0) : '-');
  console.log(
    `${r.variant}: ok ${r.ok}, failed ${r.failed}, hung ${r.hung}, forks retried ${r.retried}${r.variant === 'preborn' ? `, pre-born ${r.preborn}` : ''}; cycle ms median ${q(0.5)}, p95 ${q(0.95)}, max ${r.times.length ? r.times[r.times.length - 1].toFixed(0) : '-'}`,
  );
  for (const [m, n] of r.errors) console.log(`  ${n} x ${m}`);
}
