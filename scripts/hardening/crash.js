#!/usr/bin/env node
// @ts-check
// Crash anywhere (issue 13): SIGKILL the runtime at delays spread over the whole of `create`
// (plain, with a user namespace, without a mount namespace), `run` and `exec`, then
// `delete --force`; after it nothing may be left on the host (mounts, cgroup directories,
// processes, state). The delays cover 0 to 1.2x the operation's measured median, so every step
// of it is hit. Usage (root): node scripts/hardening/crash.js [--kills 300] [--seed 1]
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const lib = require('./lib');

const USERNS = (c) => {
  c.linux.namespaces.push({ type: 'user' });
  c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
};
const NO_MOUNT_NS = (c) => {
  c.linux.namespaces = c.linux.namespaces.filter((n) => n.type !== 'mount');
  // runc's rule, and tsrunc's: masking needs a mount namespace of its own
  delete c.linux.maskedPaths;
  delete c.linux.readonlyPaths;
};

/** @type {{ name: string, share: number, edit?: (c: any) => void, kind: 'create' | 'run' | 'exec' }[]} */
const SCENARIOS = [
  { name: 'create', share: 0.35, kind: 'create' },
  { name: 'create, user namespace', share: 0.2, kind: 'create', edit: USERNS },
  { name: 'create, no mount namespace', share: 0.1, kind: 'create', edit: NO_MOUNT_NS },
  { name: 'run', share: 0.15, kind: 'run' },
  { name: 'exec', share: 0.2, kind: 'exec' },
];

function spawnTsrunc(root, args, out) {
  const fd = fs.openSync(out, 'w');
  const child = spawn(lib.TSRUNC, ['--root', root, ...args], { stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  return { child, exited: new Promise((r) => child.on('exit', r)) };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The median wall time of an operation, uninterrupted: the span the kills are spread over. */
async function measure(run) {
  const times = [];
  for (let i = 0; i < 3; i++) {
    const t0 = Date.now();
    await run();
    times.push(Date.now() - t0);
  }
  return lib.median(times);
}

async function campaign(opts = {}) {
  const kills = opts.kills ?? 300;
  const r = lib.rng(opts.seed ?? 1);
  const work = lib.workDir('crash');
  const root = path.join(work, 'root');
  const base = lib.snapshot();
  const results = [];
  const t0 = Date.now();
  let seq = 0;
  try {
    await lib.withExeBinds(async () => {
      for (const sc of SCENARIOS) {
        const n = Math.max(1, Math.round(kills * sc.share));
        const config = lib.baseConfig(sc.kind === 'create' ? ['sleep', '30'] : sc.kind === 'run' ? ['sleep', '30'] : ['sleep', '300']);
        sc.edit?.(config);
        const dir = lib.makeBundle(work, `b${seq++}`, config);
        const out = path.join(work, 'out');
        const res = { scenario: sc.name, kills: 0, leaked: 0, deleteFailed: 0, leaks: [], spanMs: 0 };
        let host; // exec's container
        const newHost = async () => {
          host = `cr-host-${seq++}`;
          const c = await lib.tsrunc(root, ['run', '-d', '--bundle', dir, host], { timeoutMs: 30000 });
          if (c.code !== 0) throw new Error(`exec's container: ${c.out}`);
        };
        // the operation, whole: create (+ delete), run -d (+ delete), exec of a short program
        const op = async (id) => {
          if (sc.kind === 'exec') return lib.tsrunc(root, ['exec', host, 'true'], { timeoutMs: 30000 });
          const c = await lib.tsrunc(root, sc.kind === 'run' ? ['run', '-d', '--bundle', dir, id] : ['create', '--bundle', dir, id], {
            timeoutMs: 30000,
          });
          await lib.tsrunc(root, ['delete', '--force', id], { timeoutMs: 30000 });
          return c;
        };
        if (sc.kind === 'exec') await newHost();
        res.spanMs = await measure(() => op(`cr-m-${seq++}`));
        for (let k = 0; k < n; k++) {
          const id = `cr-${seq++}`;
          const delay = Math.round(r.next() * res.spanMs * 1.2);
          const args =
            sc.kind === 'exec'
              ? ['exec', host, 'sleep', '300']
              : sc.kind === 'run'
                ? ['run', '--bundle', dir, id]
                : ['create', '--bundle', dir, id];
          const { child, exited } = spawnTsrunc(root, args, out);
          await sleep(delay);
          child.kill('SIGKILL');
          await exited;
          res.kills++;
          // exec: the container goes every 10 kills (its execs with it); the rest: every time
          const target = sc.kind === 'exec' ? (k % 10 === 9 || k === n - 1 ? host : undefined) : id;
          if (!target) continue;
          const d = await lib.tsrunc(root, ['delete', '--force', target], { timeoutMs: 30000 });
          if (d.code !== 0 || d.timedOut) {
            res.deleteFailed++;
            res.leaks.push(`delete --force ${target} after a kill at ${delay} ms: rc=${d.code} ${d.out.trim()}`);
          }
          const left = await lib.settledLeaks(base, { ids: [target, id], root });
          if (left.length) {
            res.leaked++;
            res.leaks.push(`kill at ${delay} ms of ${args[0]}: ${left.join('; ')}`);
            lib.sweep(base);
          }
          if (sc.kind === 'exec' && k < n - 1) await newHost();
        }
        fs.rmSync(dir, { recursive: true, force: true });
        results.push(res);
        opts.onScenario?.(res);
      }
    });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return { seconds: Math.round((Date.now() - t0) / 1000), results };
}

module.exports = { campaign };

if (require.main === module) {
  const arg = (name, def) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : def;
  };
  campaign({
    kills: Number(arg('kills', 300)),
    seed: Number(arg('seed', 1)),
    onScenario: (s) => {
      console.log(
        `${s.scenario}: ${s.kills} SIGKILLs over 0-${Math.round(s.spanMs * 1.2)} ms, ${s.leaked} left something, ${s.deleteFailed} deletes failed`,
      );
      for (const l of s.leaks) console.log(`    ${l}`);
    },
  }).then(
    (rep) => {
      const kills = rep.results.reduce((a, s) => a + s.kills, 0);
      const leaked = rep.results.reduce((a, s) => a + s.leaked + s.deleteFailed, 0);
      console.log(`\ncrash-anywhere: ${kills} SIGKILLs in ${rep.seconds} s, ${leaked} left something after delete --force`);
      process.exit(leaked ? 1 : 0);
    },
    (e) => {
      console.error(e);
      process.exit(2);
    },
  );
}
