#!/usr/bin/env node
// Prints min and median wall time of tsrunc and runc side by side, in one run (root required).
// Usage: node scripts/bench.js [iterations]   (npm run bench)
'use strict';
const { spawnSync, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const N = Number(process.argv[2] || 20);
const repo = path.resolve(__dirname, '..');
const TSRUNC = path.join(repo, 'bin', 'tsrunc');
const RUNC = (() => { try { return execFileSync('sh', ['-c', 'command -v runc'], { encoding: 'utf8' }).trim(); } catch { return ''; } })();

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrunc-bench-'));
const bundle = path.join(work, 'bundle');
execFileSync(path.join(repo, 'scripts', 'make-bundle.sh'), [bundle, '/bin/true']);

// The container inherits create's stdio: a pipe would keep spawnSync waiting for the container.
function time(cmd, args) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}`);
  return ms;
}

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)] };
}

function measure(fn) {
  fn(-1); // warm-up
  const samples = [];
  for (let i = 0; i < N; i++) samples.push(fn(i));
  return stats(samples);
}

function runtimeCases(bin, name) {
  const root = path.join(work, `root-${name}`);
  const g = ['--root', root];
  let n = 0;
  const id = () => `bench-${name}-${n++}`;
  const out = {};
  out.run = measure(() => time(bin, [...g, 'run', '--bundle', bundle, id()]));
  out.lifecycle = measure(() => {
    const c = id();
    const t = process.hrtime.bigint();
    time(bin, [...g, 'create', '--bundle', bundle, c]);
    time(bin, [...g, 'start', c]);
    for (;;) { // wait: poll state until stopped
      const r = spawnSync(bin, [...g, 'state', c], { encoding: 'utf8' });
      if (JSON.parse(r.stdout).status === 'stopped') break;
    }
    time(bin, [...g, 'delete', c]);
    return Number(process.hrtime.bigint() - t) / 1e6;
  });
  const keep = id();
  time(bin, [...g, 'create', '--bundle', bundle, keep]);
  out.state = measure(() => time(bin, [...g, 'state', keep]));
  out.kill = measure(() => time(bin, [...g, 'kill', keep, '0']));
  out.delete = measure(() => {
    const c = id();
    time(bin, [...g, 'create', '--bundle', bundle, c]);
    return time(bin, [...g, 'delete', '--force', c]);
  });
  time(bin, [...g, 'delete', '--force', keep]);
  return out;
}

try {
  const floor = measure(() => time(process.execPath, ['-e', '0']));
  const ts = runtimeCases(TSRUNC, 'tsrunc');
  const rc = RUNC ? runtimeCases(RUNC, 'runc') : undefined;
  const f = (v) => (v === undefined ? '-' : v.toFixed(1));
  const rows = [['case', 'tsrunc min', 'tsrunc median', 'runc min', 'runc median', 'ratio (median)']];
  rows.push(['node -e 0 (floor)', f(floor.min), f(floor.median), '', '', '']);
  for (const k of ['run', 'lifecycle', 'state', 'kill', 'delete']) {
    const label = { run: 'run /bin/true', lifecycle: 'create+start+wait+delete', state: 'state', kill: 'kill (signal 0)', delete: 'delete --force (created)' }[k];
    rows.push([label, f(ts[k].min), f(ts[k].median), f(rc?.[k].min), f(rc?.[k].median), rc ? (ts[k].median / rc[k].median).toFixed(1) + 'x' : '-']);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  console.log(`${N} iterations, milliseconds, ${os.cpus().length} cores, node ${process.version}${RUNC ? '' : ' (runc not installed)'}`);
  for (const r of rows) console.log('| ' + r.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |');
  console.log(`tsrunc above the floor (median): state +${(ts.state.median - floor.median).toFixed(1)} ms, kill +${(ts.kill.median - floor.median).toFixed(1)} ms, delete +${(ts.delete.median - floor.median).toFixed(1)} ms`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
