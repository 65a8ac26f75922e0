// @ts-check
// What the hardening campaigns (fuzz.js, crash.js, load.js) share: bundles made from the test
// bundle, tsrunc runs with a deadline, and a leak check of the host (mounts, cgroup directories,
// processes, state) against a snapshot taken before the campaign.
'use strict';
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const REPO = path.resolve(__dirname, '..', '..');
const TSRUNC = process.env.RUNTIME || path.join(REPO, 'bin', 'tsrunc');
const TEMPLATE = path.join(REPO, 'build', 'test-bundle');

/** The busybox bundle the tests use (made once into build/, git-ignored). */
function template() {
  if (!fs.existsSync(path.join(TEMPLATE, 'config.json'))) {
    const tmp = `${TEMPLATE}.${process.pid}`;
    execFileSync(path.join(REPO, 'scripts', 'make-bundle.sh'), [tmp], { stdio: 'inherit' });
    fs.rmSync(TEMPLATE, { recursive: true, force: true });
    fs.renameSync(tmp, TEMPLATE);
  }
  return TEMPLATE;
}

/** @returns {Record<string, any>} the default config, with process.args set */
function baseConfig(args = ['true']) {
  const c = JSON.parse(fs.readFileSync(path.join(template(), 'config.json'), 'utf8'));
  c.process.args = args;
  return c;
}

/** A bundle under work/: the rootfs hard-linked from the template, config.json as given. */
function makeBundle(work, name, config) {
  const dir = path.join(work, name);
  fs.mkdirSync(dir, { mode: 0o755 });
  execFileSync('cp', ['-al', path.join(template(), 'rootfs'), path.join(dir, 'rootfs')]);
  fs.writeFileSync(path.join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config, null, 1));
  return dir;
}

/**
 * @typedef {{ code: number | null, signal: string | null, out: string, timedOut: boolean, ms: number }} RunResult
 * Runs tsrunc with its stdout and stderr in one file (a container's init must not hold pipes of
 * ours), killed (and reported) past the deadline.
 * @param {string} root @param {string[]} args
 * @param {{ timeoutMs?: number, outFile?: string, onSpawn?: (pid: number) => void }} [opts]
 * @returns {Promise<RunResult>}
 */
function tsrunc(root, args, opts = {}) {
  const outFile = opts.outFile ?? path.join(os.tmpdir(), `tsrunc-hardening-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const fd = fs.openSync(outFile, 'w');
  const t0 = Date.now();
  const child = spawn(TSRUNC, ['--root', root, ...args], { stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  if (opts.onSpawn && child.pid) opts.onSpawn(child.pid);
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 30000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const out = fs.readFileSync(outFile, 'utf8');
      if (!opts.outFile) fs.rmSync(outFile, { force: true });
      resolve({ code, signal, out, timedOut, ms: Date.now() - t0 });
    });
  });
}

function mountPoints() {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4]);
}

/** Every cgroup directory of every hierarchy (a few dozen on a quiet host). */
function cgroupDirs() {
  const found = [];
  const walk = (d, depth) => {
    found.push(d);
    if (depth > 8) return;
    let entries;
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name), depth + 1);
  };
  for (const h of fs.readdirSync('/sys/fs/cgroup')) walk(path.join('/sys/fs/cgroup', h), 0);
  return found;
}

function nsOf(pid, type) {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/${type}`);
  } catch {
    return undefined;
  }
}

function pids() {
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p));
}

/** What is on the host before a campaign: what is there then is not a leak. */
function snapshot() {
  const pidNs = new Set();
  for (const p of pids()) {
    const ns = nsOf(p, 'pid');
    if (ns) pidNs.add(ns);
  }
  return { mounts: new Set(mountPoints()), cgroups: new Set(cgroupDirs()), pidNs };
}

function cmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return undefined;
  }
}

/**
 * A pre-born init (src/process/preborn.ts) waits in a pid namespace of its own under a long-lived
 * shim's spare, which may fork one while a campaign runs (another test's containerd): the CLI a
 * campaign drives never makes them, so they are not its leaks.
 */
function isPrebornInit(pid) {
  try {
    return /^Name:\ttsrunc:preborn$/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

function isZombieOrGone(pid) {
  try {
    return /^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

/**
 * What a container (or the runtime) left on the host since `base`: mounts (the runtime's node
 * bind under /run/tsrunc-exe stays by design), cgroup directories, processes in a pid namespace
 * that was not there or naming one of `ids`, and entries in the state root.
 * @param {ReturnType<typeof snapshot>} base
 * @param {{ ids: string[], root: string }} what
 */
function leaks(base, what) {
  const found = [];
  for (const m of mountPoints()) if (!base.mounts.has(m) && !m.startsWith('/run/tsrunc-exe')) found.push(`mount ${m}`);
  for (const d of cgroupDirs()) if (!base.cgroups.has(d)) found.push(`cgroup ${d}`);
  for (const p of pids()) {
    if (String(process.pid) === p || isZombieOrGone(p) || isPrebornInit(p)) continue;
    const ns = nsOf(p, 'pid');
    const cmd = cmdline(p);
    if (cmd === undefined) continue;
    if ((ns && !base.pidNs.has(ns)) || what.ids.some((id) => cmd.includes(id))) found.push(`process ${p} (${cmd.slice(0, 80)})`);
  }
  try {
    // entries starting with @ are the store's own (the seccomp cache), not a container's
    for (const e of fs.readdirSync(what.root)) if (!e.startsWith('@')) found.push(`state ${path.join(what.root, e)}`);
  } catch {
    // no root: nothing in it
  }
  return found;
}

/**
 * Leaks can take a moment to go (an orphaned init notices its runtime is gone; the kernel frees a
 * cgroup after its last process is reaped): looked at again until `ms` have passed.
 */
async function settledLeaks(base, what, ms = 1500) {
  const end = Date.now() + ms;
  for (;;) {
    const found = leaks(base, what);
    if (!found.length || Date.now() > end) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Takes away what a campaign left, so that the next case starts clean (and says what it was). */
function sweep(base) {
  for (const m of mountPoints().reverse()) {
    if (!base.mounts.has(m) && !m.startsWith('/run/tsrunc-exe')) {
      try {
        execFileSync('umount', ['-l', m], { stdio: 'ignore' });
      } catch {
        // gone with a parent
      }
    }
  }
  for (const p of pids()) {
    const ns = nsOf(p, 'pid');
    if (ns && !base.pidNs.has(ns)) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  for (const d of cgroupDirs().reverse()) {
    if (!base.cgroups.has(d)) {
      try {
        fs.rmdirSync(d);
      } catch {
        // busy still
      }
    }
  }
}

/** A seeded PRNG (mulberry32): the same seed gives the same campaign. */
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (arr) => arr[Math.floor(next() * arr.length)],
    chance: (p) => next() < p,
  };
}

function workDir(tag) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `tsrunc-${tag}-`));
  fs.chmodSync(d, 0o755);
  return d;
}

/** The runtime's node bind (/run/tsrunc-exe) made during a campaign is taken away after it. */
function withExeBinds(fn) {
  const exeBinds = require('../exe-binds');
  const before = exeBinds.snapshot();
  return Promise.resolve()
    .then(fn)
    .finally(() => exeBinds.restore(before));
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}

module.exports = {
  REPO,
  TSRUNC,
  template,
  baseConfig,
  makeBundle,
  tsrunc,
  snapshot,
  leaks,
  settledLeaks,
  sweep,
  rng,
  workDir,
  withExeBinds,
  median,
};
