#!/usr/bin/env node
// Prints min and median wall time of tsrunc and runc side by side, in one run, every sample of a
// case interleaved with the other runtime's and with `node -e 0` (root required).
// Usage: node scripts/bench.js [iterations]   (npm run bench)
'use strict';
const { spawnSync, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const N = Number(process.argv[2] || 20);
// bin/tsrunc drops NODE_EXTRA_CA_CERTS (Node parses the bundle it names at every start-up, ~40 ms
// for a distribution's, and tsrunc makes no TLS connection): the floor, `node -e 0`, is measured
// without it too, or tsrunc would be compared with a floor it does not pay.
if (process.env.NODE_EXTRA_CA_CERTS) {
  console.log(`(NODE_EXTRA_CA_CERTS was set here: unset for every case, the floor too, as bin/tsrunc does)`);
  delete process.env.NODE_EXTRA_CA_CERTS;
}
const repo = path.resolve(__dirname, '..');
const TSRUNC = path.join(repo, 'bin', 'tsrunc');
const RUNC = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v runc'], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
})();

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrunc-bench-'));
const exeBinds = require('./exe-binds');
const exeBefore = exeBinds.snapshot(); // the node binds tsrunc makes are taken away at the end
const bundle = path.join(work, 'bundle');
execFileSync(path.join(repo, 'scripts', 'make-bundle.sh'), [bundle, '/bin/true']);
const sleeper = path.join(work, 'sleeper');
execFileSync(path.join(repo, 'scripts', 'make-bundle.sh'), [sleeper, 'sleep', '600']);

/**
 * A field of a process's smaps_rollup, in MiB. Pss: what it costs the host, shared pages split
 * (it moves with how many processes share node's pages: compare it within one run only);
 * Private_Dirty: the pages it wrote itself (a forked copy's copy-on-write faults), steadier.
 */
function rollupMiB(pid, field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * The minor page faults of every process this one has waited for, and theirs (cminflt: field 11 of
 * /proc/self/stat, the 9th after the command name): exact, unlike CPU time (in clock ticks here),
 * and steady from run to run where wall time is not (~0.1 % against several %), so it shows what
 * a change does to the work the kernel and this VM's page tables do.
 */
function childFaults() {
  const stat = fs.readFileSync('/proc/self/stat', 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[8]);
}

// What the commands a sample counts have faulted (reset by measureAll before each sample).
let sampleFaults = 0;

/**
 * Runs a command and returns its wall time; its page faults (and those of the processes it reaped:
 * run's and exec's container process, not a created init, which is reaped elsewhere) go to the
 * sample unless counted is false. The container inherits create's stdio: a pipe would keep
 * spawnSync waiting for the container.
 */
function time(cmd, args, counted = true) {
  const f = childFaults();
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (counted) sampleFaults += childFaults() - f;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}`);
  return ms;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function stats(samples, faults) {
  return { min: Math.min(...samples), median: median(samples), faults: median(faults) };
}

/** Samples of each runtime's fn, interleaved (floor, tsrunc, runc, floor, …): noise hits all alike. */
function measureAll(fns) {
  for (const fn of Object.values(fns)) if (fn) fn(-1); // warm-up
  const samples = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  const faults = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  for (let i = 0; i < N; i++) {
    for (const [k, fn] of Object.entries(fns)) {
      if (!fn) continue;
      sampleFaults = 0;
      samples[k].push(fn(i));
      faults[k].push(sampleFaults);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.length ? stats(v, faults[k]) : undefined]));
}

function runtimeSetup(bin, name) {
  const root = path.join(work, `root-${name}`);
  const g = ['--root', root];
  let n = 0;
  const id = () => `bench-${name}-${n++}`;
  const keep = id();
  time(bin, [...g, 'create', '--bundle', bundle, keep]);
  const running = id();
  time(bin, [...g, 'run', '--detach', '--bundle', sleeper, running]);
  // A created, not started init: what a waiting container costs in memory.
  const pid = JSON.parse(spawnSync(bin, [...g, 'state', keep], { encoding: 'utf8' }).stdout).pid;
  const cases = {
    run: () => time(bin, [...g, 'run', '--bundle', bundle, id()]),
    lifecycle: () => {
      const c = id();
      const t = process.hrtime.bigint();
      time(bin, [...g, 'create', '--bundle', bundle, c]);
      time(bin, [...g, 'start', c]);
      for (;;) {
        // wait: poll state until stopped (their faults not counted: how many polls it takes varies)
        const r = spawnSync(bin, [...g, 'state', c], { encoding: 'utf8' });
        if (JSON.parse(r.stdout).status === 'stopped') break;
      }
      time(bin, [...g, 'delete', c]);
      return Number(process.hrtime.bigint() - t) / 1e6;
    },
    exec: () => time(bin, [...g, 'exec', running, '/bin/true']),
    state: () => time(bin, [...g, 'state', keep]),
    kill: () => time(bin, [...g, 'kill', keep, '0']),
    list: () => time(bin, [...g, 'list']),
    delete: () => {
      const c = id();
      time(bin, [...g, 'create', '--bundle', bundle, c], false);
      return time(bin, [...g, 'delete', '--force', c]);
    },
  };
  return {
    cases,
    pss: rollupMiB(pid, 'Pss'),
    dirty: rollupMiB(pid, 'Private_Dirty'),
    done: () => {
      time(bin, [...g, 'delete', '--force', keep]);
      time(bin, [...g, 'delete', '--force', running]);
    },
  };
}

try {
  const t = runtimeSetup(TSRUNC, 'tsrunc');
  const r = RUNC ? runtimeSetup(RUNC, 'runc') : undefined;
  const floorFn = () => time(process.execPath, ['-e', '0']);
  const ts = {};
  const rc = r ? {} : undefined;
  let floor;
  for (const k of Object.keys(t.cases)) {
    const m = measureAll({ floor: floorFn, tsrunc: t.cases[k], runc: r?.cases[k] });
    ts[k] = m.tsrunc;
    if (rc) rc[k] = m.runc;
    floor = floor ? [...floor, m.floor] : [m.floor];
  }
  ts.pss = t.pss;
  ts.dirty = t.dirty;
  if (rc) rc.pss = r.pss;
  if (rc) rc.dirty = r.dirty;
  t.done();
  r?.done();
  // the floor: the median of the medians measured beside each case
  floor = floor.sort((a, b) => a.median - b.median)[Math.floor(floor.length / 2)];
  const f = (v) => (v === undefined ? '-' : v.toFixed(1));
  const fl = floor.median;
  const rows = [
    ['case', 'tsrunc min', 'tsrunc median', 'x floor', 'runc min', 'runc median', 'tsrunc/runc', 'faults tsrunc', 'faults runc'],
  ];
  rows.push(['node -e 0 (floor)', f(floor.min), f(floor.median), '1.0', '', '', '', String(floor.faults), '']);
  const cases = {
    run: 'run /bin/true',
    lifecycle: 'create+start+wait+delete',
    exec: 'exec /bin/true (running)',
    state: 'state',
    kill: 'kill (signal 0)',
    list: 'list',
    delete: 'delete --force (created)',
  };
  for (const [k, label] of Object.entries(cases)) {
    rows.push([
      label,
      f(ts[k].min),
      f(ts[k].median),
      (ts[k].median / fl).toFixed(2),
      f(rc?.[k].min),
      f(rc?.[k].median),
      rc ? (ts[k].median / rc[k].median).toFixed(1) + 'x' : '-',
      String(ts[k].faults),
      rc ? String(rc[k].faults) : '-',
    ]);
  }
  // a created init's memory: tsrunc's and runc's side by side, no times or faults
  const memoryRow = (label, key) => {
    const [t, r] = [ts[key], rc?.[key]];
    rows.push([label, '', f(t), '', '', rc ? f(r) : '-', rc ? (t / r).toFixed(1) + 'x' : '-', '', '']);
  };
  memoryRow('PSS of a created init, MiB', 'pss');
  memoryRow('its private dirty, MiB', 'dirty');
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  console.log(`${N} iterations, milliseconds, ${os.cpus().length} cores, node ${process.version}${RUNC ? '' : ' (runc not installed)'}`);
  console.log(
    "faults: the median of the minor page faults of each sample, in every process its commands waited for (a created init is not one; the lifecycle's: its create, start and delete, not its state polls)",
  );
  for (const r of rows) console.log('| ' + r.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |');
  // The targets of issue 10, against this run's floor.
  const targets = [
    ['run /bin/true', ts.run.median, fl + 30, 'floor + 30', 1],
    // four commands, each a Node start: what is above four floors
    ['create+start+wait+delete', ts.lifecycle.median, 4 * fl + 40, '4 x floor + 40', 4],
    ['exec /bin/true', ts.exec.median, fl + 30, 'floor + 30', 1],
    ['delete --force', ts.delete.median, fl + 15, 'floor + 15', 1],
    ['state', ts.state.median, fl + 5, 'floor + 5', 1],
    ['kill', ts.kill.median, fl + 5, 'floor + 5', 1],
    ['list', ts.list.median, fl + 5, 'floor + 5', 1],
  ];
  for (const [name, v, limit, rule, floors] of targets) {
    const above = v - floors * fl;
    console.log(
      `${v <= limit ? 'met   ' : 'MISSED'} ${name}: ${f(v)} ms, target ${rule} = ${f(limit)} ms (${above >= 0 ? `+${f(above)} above` : `${f(-above)} below`} ${floors > 1 ? `${floors} floors` : 'the floor'})`,
    );
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
  exeBinds.restore(exeBefore);
}
