#!/usr/bin/env node
// @ts-check
// Fuzzed configs (issue 13): reproducible mutations of the default config, each taken through
// create / start / delete --force with a deadline on every step. Every case ends as one of
//   refused  create failed with a message that names the config field
//   unnamed  create failed with a message that names no field
//   created  create succeeded (start and delete --force then ran)
//   crashed  a stack trace, an internal error, a signal, or no message at all
//   hung     a step passed its deadline (killed)
//   leaked   something stayed on the host after delete --force (mounts, cgroups, processes, state)
// Usage (root): node scripts/hardening/fuzz.js [--count 1000] [--seed 1] [--show] [--json FILE]
'use strict';
const fs = require('fs');
const path = require('path');
const lib = require('./lib');
const { mutate } = require('./mutate');

/** A message names a field when it names a config.json path (dotted, indexed, or the schema's). */
const NAMES_FIELD = /(^|[\s:'"(])(\/?)(ociVersion|process|root|hostname|domainname|mounts|hooks|annotations|linux)([.[/\s:(]|$)/m;
/** What the runtime must never print: its own failures instead of the user's. */
const CRASH =
  /\n\s+at .+:\d+:\d+\)?|TypeError|RangeError|ReferenceError|Cannot read propert|is not a function|is not iterable|undefined is not|\[object Object\]|internal error|Maximum call stack|AssertionError|ERR_INVALID_ARG_TYPE|ERR_OUT_OF_RANGE|Unhandled|Segmentation|^panic: |goroutine \d+ \[/m;

/**
 * What the campaign must not do to the host even if the runtime did exactly as told (see
 * mutate.js): without a mount namespace of its own the root stays the bundle's, and a bind's
 * source stays inside the bundle.
 */
function makeSafe(c) {
  if (!c || typeof c !== 'object') return;
  const nss = c.linux?.namespaces;
  const newMountNs = Array.isArray(nss) && nss.some((n) => n && n.type === 'mount' && n.path === undefined);
  if (!newMountNs && c.root && typeof c.root === 'object') c.root.path = 'rootfs';
  for (const m of Array.isArray(c.mounts) ? c.mounts : []) {
    if (!m || typeof m !== 'object') continue;
    const bind =
      m.type === 'bind' || (Array.isArray(m.options) && m.options.some((o) => typeof o === 'string' && /(^|,)r?bind(,|$)/.test(o)));
    if (bind && typeof m.source === 'string' && m.source.startsWith('/') && !m.source.startsWith('/nonexistent')) m.source = 'rootfs/bin';
    if (Array.isArray(m.options)) m.options = m.options.filter((o) => typeof o !== 'string' || !/remount/.test(o));
  }
}

function classify(steps) {
  for (const s of steps) if (s.r.timedOut) return 'hung';
  for (const s of steps) {
    if (CRASH.test(s.r.out) || (s.r.signal && !s.r.timedOut)) return 'crashed';
  }
  const create = steps[0].r;
  if (create.code !== 0) {
    if (!create.out.trim()) return 'crashed';
    return NAMES_FIELD.test(create.out) ? 'refused' : 'unnamed';
  }
  return 'created';
}

async function runCase(work, root, base, seed, n) {
  const r = lib.rng(seed * 100003 + n);
  const { config, what } = mutate(lib.baseConfig(), r);
  makeSafe(config);
  const id = `fz-${seed}-${n}`;
  const dir = lib.makeBundle(work, id, config);
  const steps = [];
  const step = async (name, args, timeoutMs) => {
    const res = await lib.tsrunc(root, args, { timeoutMs });
    steps.push({ name, r: res });
    return res;
  };
  const created = await step('create', ['create', '--bundle', dir, id], 30000);
  if (created.code === 0 && !created.timedOut) {
    await step('start', ['start', id], 15000);
    // a short-lived program ends by itself; a long one is what delete --force is for
    const end = Date.now() + 1000;
    while (Date.now() < end) {
      const st = await lib.tsrunc(root, ['state', id], { timeoutMs: 10000 });
      if (st.code !== 0 || /"status": *"stopped"/.test(st.out)) break;
      await new Promise((res) => setTimeout(res, 50));
    }
  }
  await step('delete', ['delete', '--force', id], 20000);
  let outcome = classify(steps);
  const left = await lib.settledLeaks(base, { ids: [id], root });
  if (left.length) {
    outcome = 'leaked';
    lib.sweep(base);
  }
  // a refusal must also be free of host damage: the bundle's own files are the user's
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    n,
    id,
    outcome,
    what,
    left,
    out: steps.map(
      (s) =>
        `${s.name}: rc=${s.r.code}${s.r.signal ? ` ${s.r.signal}` : ''}${s.r.timedOut ? ' TIMEOUT' : ''} ${s.r.out.trim().slice(0, 300)}`,
    ),
  };
}

/**
 * @param {{ count?: number, seed?: number, onCase?: (c: any) => void }} opts
 */
async function fuzz(opts = {}) {
  const count = opts.count ?? 1000;
  const seed = opts.seed ?? 1;
  const work = lib.workDir('fuzz');
  const root = path.join(work, 'root');
  lib.template();
  const base = lib.snapshot();
  const cases = [];
  const t0 = Date.now();
  try {
    await lib.withExeBinds(async () => {
      for (let n = 0; n < count; n++) {
        const c = await runCase(work, root, base, seed, n);
        cases.push(c);
        opts.onCase?.(c);
      }
    });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const totals = { refused: 0, unnamed: 0, created: 0, crashed: 0, hung: 0, leaked: 0 };
  for (const c of cases) totals[c.outcome]++;
  return { count, seed, seconds: Math.round((Date.now() - t0) / 1000), totals, cases };
}

module.exports = { fuzz, classify, NAMES_FIELD, CRASH };

if (require.main === module) {
  const arg = (name, def) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : def;
  };
  const show = process.argv.includes('--show');
  const json = arg('json', undefined);
  fuzz({
    count: Number(arg('count', 1000)),
    seed: Number(arg('seed', 1)),
    onCase: (c) => {
      const bad = !['refused', 'created'].includes(c.outcome);
      if (show || bad) {
        process.stdout.write(`#${c.n} ${c.outcome}: ${c.what.join(' | ')}\n`);
        if (bad) for (const l of [...c.out, ...c.left]) process.stdout.write(`    ${l}\n`);
      } else if (c.n % 50 === 49) process.stdout.write(`${c.n + 1} done\n`);
    },
  }).then(
    (rep) => {
      if (json) fs.writeFileSync(json, JSON.stringify(rep, null, 1));
      const t = rep.totals;
      console.log(
        `\nfuzz: ${rep.count} configs (seed ${rep.seed}, ${rep.seconds} s): ${t.refused} refused naming the field, ${t.unnamed} refused without naming it, ${t.created} created, ${t.crashed} crashed, ${t.hung} hung, ${t.leaked} leaked`,
      );
      process.exit(t.unnamed + t.crashed + t.hung + t.leaked ? 1 : 0);
    },
    (e) => {
      console.error(e);
      process.exit(2);
    },
  );
}
