#!/usr/bin/env node
// Where a command's time goes, step by step: runs `tsrunc --debug run` of /bin/true (and `exec` of
// it into a running container) N times and prints, for each `--debug` timing step, the median of
// its time and page faults, the runtime's steps and its forked copy's (init's, the exec
// process's) in the order they end. A step's time is since the step before it in the same
// process; a copy's first is since the runtime set about the fork. (root required)
// Usage: node scripts/steps.js [iterations]
'use strict';
const { spawnSync, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const N = Number(process.argv[2] || 15);
delete process.env.NODE_EXTRA_CA_CERTS; // as bin/tsrunc does
const repo = path.resolve(__dirname, '..');
const TSRUNC = path.join(repo, 'bin', 'tsrunc');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrunc-steps-'));
const exeBinds = require('./exe-binds');
const exeBefore = exeBinds.snapshot();
const root = path.join(work, 'root');
const bundle = path.join(work, 'bundle');
execFileSync(path.join(repo, 'scripts', 'make-bundle.sh'), [bundle, '/bin/true']);
const sleeper = path.join(work, 'sleeper');
execFileSync(path.join(repo, 'scripts', 'make-bundle.sh'), [sleeper, 'sleep', '600']);

const LINE = /timing: (.+?) ([0-9.]+) ms, (\d+) page faults \(at ([0-9.]+) ms\)/;

/** One command under --debug: its steps, in the order they ended. */
function steps(args) {
  const log = path.join(work, 'debug.log');
  fs.rmSync(log, { force: true });
  // the container inherits the command's stdio: no pipes (spawnSync would wait for them)
  const r = spawnSync(TSRUNC, ['--root', root, '--debug', '--log', log, ...args], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`tsrunc ${args.join(' ')}: exit ${r.status}`);
  return fs
    .readFileSync(log, 'utf8')
    .split('\n')
    .map((l) => LINE.exec(l))
    .filter(Boolean)
    .map((m) => ({ name: m[1].replace(/ \(pid \d+.*?\)/, ''), ms: Number(m[2]), faults: Number(m[3]), at: Number(m[4]) }))
    .sort((a, b) => a.at - b.at);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function report(title, runs) {
  const names = [];
  const by = new Map();
  for (const run of runs) {
    for (const s of run) {
      if (!by.has(s.name)) {
        by.set(s.name, []);
        names.push(s.name);
      }
      by.get(s.name).push(s);
    }
  }
  console.log(`\n${title} (${runs.length} runs, medians)`);
  console.log(`${'step'.padEnd(62)} ${'ms'.padStart(7)} ${'faults'.padStart(7)} ${'ends at'.padStart(8)}`);
  for (const n of names) {
    const v = by.get(n);
    const f = (k) => median(v.map((s) => s[k]));
    console.log(`${n.padEnd(62)} ${f('ms').toFixed(1).padStart(7)} ${String(f('faults')).padStart(7)} ${f('at').toFixed(1).padStart(8)}`);
  }
}

try {
  const runs = [];
  for (let i = 0; i < N; i++) runs.push(steps(['run', '--bundle', bundle, `steps-run-${i}`]));
  report('run /bin/true', runs);
  spawnSync(TSRUNC, ['--root', root, 'run', '--detach', '--bundle', sleeper, 'steps-sleeper'], { stdio: 'ignore' });
  const execs = [];
  for (let i = 0; i < N; i++) execs.push(steps(['exec', 'steps-sleeper', '/bin/true']));
  report('exec /bin/true', execs);
} finally {
  spawnSync(TSRUNC, ['--root', root, 'delete', '--force', 'steps-sleeper'], { stdio: 'ignore' });
  exeBinds.restore(exeBefore);
  fs.rmSync(work, { recursive: true, force: true });
}
