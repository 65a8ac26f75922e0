#!/usr/bin/env node
// @ts-check
// Load (issue 13): on one --root, N concurrent `run`s, N concurrent create/start/delete chains,
// N concurrent creates of one id (the state store's lock: exactly one may win), and N concurrent
// `delete --force` of one container; then nothing may be left on the host.
// Usage (root): node scripts/hardening/load.js [--n 50]
'use strict';
const fs = require('fs');
const path = require('path');
const lib = require('./lib');

const T = { timeoutMs: 180000 };

async function chain(root, dir, id) {
  const c = await lib.tsrunc(root, ['create', '--bundle', dir, id], T);
  if (c.code !== 0) return `create ${id}: rc=${c.code}${c.timedOut ? ' TIMEOUT' : ''} ${c.out.trim()}`;
  const s = await lib.tsrunc(root, ['start', id], T);
  if (s.code !== 0) return `start ${id}: rc=${s.code} ${s.out.trim()}`;
  const d = await lib.tsrunc(root, ['delete', '--force', id], T);
  if (d.code !== 0) return `delete ${id}: rc=${d.code} ${d.out.trim()}`;
  return undefined;
}

async function load(opts = {}) {
  const n = opts.n ?? 50;
  const work = lib.workDir('load');
  const root = path.join(work, 'root');
  const base = lib.snapshot();
  const report = [];
  const ids = [];
  try {
    await lib.withExeBinds(async () => {
      const dir = lib.makeBundle(work, 'b', lib.baseConfig(['sh', '-c', 'echo ok-$(hostname)']));
      const sleeper = lib.makeBundle(work, 's', lib.baseConfig(['sleep', '300']));
      const phase = async (name, fn) => {
        const t0 = Date.now();
        const failures = (await fn()).filter(Boolean);
        report.push({ name, n, failures, seconds: (Date.now() - t0) / 1000 });
        opts.onPhase?.(report[report.length - 1]);
      };

      await phase(`${n} concurrent run`, () =>
        Promise.all(
          Array.from({ length: n }, async (_x, i) => {
            const id = `ld-run-${i}`;
            ids.push(id);
            const r = await lib.tsrunc(root, ['run', '--bundle', dir, id], T);
            if (r.code !== 0 || r.out.trim() !== 'ok-runc')
              return `run ${id}: rc=${r.code}${r.timedOut ? ' TIMEOUT' : ''} ${r.out.trim().slice(0, 200)}`;
            return undefined;
          }),
        ),
      );

      await phase(`${n} concurrent create/start/delete`, () =>
        Promise.all(
          Array.from({ length: n }, (_x, i) => {
            ids.push(`ld-chain-${i}`);
            return chain(root, dir, `ld-chain-${i}`);
          }),
        ),
      );

      await phase(`${n} concurrent create of one id (one wins)`, async () => {
        ids.push('ld-same');
        const rs = await Promise.all(Array.from({ length: n }, () => lib.tsrunc(root, ['create', '--bundle', sleeper, 'ld-same'], T)));
        const won = rs.filter((r) => r.code === 0).length;
        const out = rs
          .filter((r) => r.code !== 0 && !/already exists/.test(r.out))
          .map((r) => `create: rc=${r.code} ${r.out.trim().slice(0, 200)}`);
        if (won !== 1) out.push(`${won} creates of one id succeeded`);
        return out;
      });

      await phase(`${n} concurrent delete --force of that container`, async () => {
        const rs = await Promise.all(Array.from({ length: n }, () => lib.tsrunc(root, ['delete', '--force', 'ld-same'], T)));
        const out = rs.filter((r) => r.code !== 0).map((r) => `delete: rc=${r.code} ${r.out.trim().slice(0, 200)}`);
        const st = await lib.tsrunc(root, ['state', 'ld-same'], T);
        if (st.code === 0) out.push('the container is still there');
        return out;
      });
    });
    const left = await lib.settledLeaks(base, { ids, root }, 5000);
    report.push({ name: 'left on the host afterwards', n: left.length, failures: left, seconds: 0 });
    if (left.length) lib.sweep(base);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return report;
}

module.exports = { load };

if (require.main === module) {
  const i = process.argv.indexOf('--n');
  load({
    n: i > 0 ? Number(process.argv[i + 1]) : 50,
    onPhase: (p) => {
      console.log(`${p.name}: ${p.failures.length} failures (${p.seconds.toFixed(1)} s)`);
      for (const f of p.failures.slice(0, 10)) console.log(`    ${f}`);
    },
  }).then(
    (rep) => {
      const bad = rep.reduce((a, p) => a + p.failures.length, 0);
      const left = rep[rep.length - 1];
      console.log(`\nload: ${bad - left.failures.length} failures, ${left.failures.length} things left behind`);
      process.exit(bad ? 1 : 0);
    },
    (e) => {
      console.error(e);
      process.exit(2);
    },
  );
}
