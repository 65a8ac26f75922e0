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
const sleeper = path.join(work, 'sleeper');
execFileSync(path.join(repo, 'scripts', 'make-bundle.sh'), [sleeper, 'sleep', '600']);

/** Proportional set size of a process, in MiB (what it costs the host, shared pages split). */
function pssMiB(pid) {
  const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

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
  out.list = measure(() => time(bin, [...g, 'list']));
  // A created, not started init: what a waiting container costs in memory.
  const pid = JSON.parse(spawnSync(bin, [...g, 'state', keep], { encoding: 'utf8' }).stdout).pid;
  out.pss = pssMiB(pid);
  const running = id();
  time(bin, [...g, 'run', '--detach', '--bundle', sleeper, running]);
  out.exec = measure(() => time(bin, [...g, 'exec', running, '/bin/true']));
  time(bin, [...g, 'delete', '--force', running]);
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
  const fl = floor.median;
  const rows = [['case', 'tsrunc min', 'tsrunc median', 'x floor', 'runc min', 'runc median', 'tsrunc/runc']];
  rows.push(['node -e 0 (floor)', f(floor.min), f(floor.median), '1.0', '', '', '']);
  const cases = {
    run: 'run /bin/true', lifecycle: 'create+start+wait+delete', exec: 'exec /bin/true (running)', state: 'state',
    kill: 'kill (signal 0)', list: 'list', delete: 'delete --force (created)',
  };
  for (const [k, label] of Object.entries(cases)) {
    rows.push([label, f(ts[k].min), f(ts[k].median), (ts[k].median / fl).toFixed(2), f(rc?.[k].min), f(rc?.[k].median),
      rc ? (ts[k].median / rc[k].median).toFixed(1) + 'x' : '-']);
  }
  rows.push(['PSS of a created init, MiB', '', f(ts.pss), '', '', rc ? f(rc.pss) : '-', rc ? (ts.pss / rc.pss).toFixed(1) + 'x' : '-']);
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  console.log(`${N} iterations, milliseconds, ${os.cpus().length} cores, node ${process.version}${RUNC ? '' : ' (runc not installed)'}`);
  for (const r of rows) console.log('| ' + r.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |');
  // The targets of issue 10, against this run's floor.
  const targets = [
    ['run /bin/true', ts.run.median, fl + 30, 'floor + 30'],
    ['create+start+wait+delete', ts.lifecycle.median, 4 * fl + 40, '4 x floor + 40'],
    ['exec /bin/true', ts.exec.median, fl + 30, 'floor + 30'],
    ['delete --force', ts.delete.median, fl + 15, 'floor + 15'],
    ['state', ts.state.median, fl + 5, 'floor + 5'],
    ['kill', ts.kill.median, fl + 5, 'floor + 5'],
    ['list', ts.list.median, fl + 5, 'floor + 5'],
  ];
  for (const [name, v, limit, rule] of targets) {
    console.log(`${v <= limit ? 'met   ' : 'MISSED'} ${name}: ${f(v)} ms, target ${rule} = ${f(limit)} ms (${v - fl >= 0 ? '+' : ''}${f(v - fl)} above the floor)`);
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
