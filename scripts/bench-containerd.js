#!/usr/bin/env node
// tsrunc under containerd, side by side in one run (root required): a private containerd (its own
// socket and state, CRI off), a busybox image imported from an archive made here, and three
// routes: our own shim (io.containerd.tsrunc.v2), containerd's runc-v2 shim with runc, and the
// runc-v2 shim with tsrunc as its binary. Prints, per route:
//   - `ctr run --rm` of /bin/true, min and median of N samples, interleaved with the other routes;
//   - 20 containers started at once (`ctr run -d` each, in parallel): wall time until all ran,
//     median of R rounds;
//   - memory per running container with those 20 up: the PSS of the shims (ours: the one shim
//     of the namespace; runc-v2: one per container), summed and divided by 20.
// Usage: node scripts/bench-containerd.js [N=10] [R=3]   (npm run bench:containerd)
'use strict';
const { spawn, spawnSync, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { buildOciArchive } = require('./oci-archive');

const N = Number(process.argv[2] || 10);
const ROUNDS = Number(process.argv[3] || 3);
const PARALLEL = 20;
const repo = path.resolve(__dirname, '..');
const IMAGE = 'docker.io/library/busybox:tsrunc-bench';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrunc-bench-ctd-'));
const sock = path.join(dir, 'containerd.sock');
const exeBinds = require('./exe-binds');
const exeBefore = exeBinds.snapshot();

const routes = {
  'tsrunc shim (io.containerd.tsrunc.v2)': { ns: 'bench-shim', args: ['--runtime', 'io.containerd.tsrunc.v2'], shim: 'shim/main.js serve' },
  'runc-v2 shim + runc': { ns: 'bench-runc', args: [], shim: 'containerd-shim-runc-v2' },
  'runc-v2 shim + tsrunc': {
    ns: 'bench-tsrunc',
    args: ['--runc-binary', path.join(repo, 'bin', 'tsrunc')],
    shim: 'containerd-shim-runc-v2',
  },
};

function ctrArgs(ns, args) {
  return ['-a', sock, '-n', ns, ...args];
}

function ctr(ns, args) {
  const r = spawnSync('ctr', ctrArgs(ns, args), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
  if (r.status !== 0) throw new Error(`ctr ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function ms(t) {
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)] };
}

function pssKiB(pid) {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The shims serving a namespace: their pids. */
function shimsOf(route) {
  return execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(route.shim) && l.includes(`-namespace ${route.ns}`))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

function runOnce(route, id) {
  const t = process.hrtime.bigint();
  ctr(route.ns, ['run', '--rm', ...route.args, IMAGE, id, 'true']);
  return ms(t);
}

function startParallel(route, round) {
  const t = process.hrtime.bigint();
  return Promise.all(
    Array.from({ length: PARALLEL }, (_, i) => {
      return new Promise((resolve, reject) => {
        const p = spawn('ctr', ctrArgs(route.ns, ['run', '-d', ...route.args, IMAGE, `p${round}-${i}`, 'sleep', '600']), {
          stdio: 'ignore',
        });
        p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ctr run -d p${round}-${i}: exit ${code}`))));
      });
    }),
  ).then(() => ms(t));
}

async function stopAll(route) {
  const ids = ctr(route.ns, ['containers', 'ls', '-q']).split('\n').filter(Boolean);
  for (const id of ids) spawnSync('ctr', ctrArgs(route.ns, ['task', 'kill', '-s', 'SIGKILL', id]), { stdio: 'ignore' });
  for (const id of ids) {
    for (let i = 0; i < 100; i++) {
      if (spawnSync('ctr', ctrArgs(route.ns, ['task', 'delete', id]), { stdio: 'ignore' }).status === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    spawnSync('ctr', ctrArgs(route.ns, ['containers', 'delete', id]), { stdio: 'ignore' });
  }
}

async function main() {
  fs.writeFileSync(
    path.join(dir, 'config.toml'),
    [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]',
      `[grpc]\n  address = "${sock}"`,
      `[ttrpc]\n  address = "${sock}.ttrpc"`,
      '[debug]\n  address = ""',
      '[metrics]\n  address = ""',
    ].join('\n') + '\n',
  );
  const log = fs.openSync(path.join(dir, 'containerd.log'), 'w');
  const daemon = spawn('containerd', ['--config', path.join(dir, 'config.toml')], {
    stdio: ['ignore', log, log],
    detached: true,
    env: { ...process.env, PATH: `${path.join(repo, 'bin')}:${process.env.PATH}` },
  });
  try {
    for (let i = 0; i < 200 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    const bundle = path.join(dir, 'bundle');
    execFileSync(path.join(repo, 'scripts', 'make-bundle.sh'), [bundle, 'true']);
    buildOciArchive(path.join(bundle, 'rootfs'), IMAGE, path.join(dir, 'image.tar'), path.join(dir, 'image'));
    for (const r of Object.values(routes)) ctr(r.ns, ['images', 'import', path.join(dir, 'image.tar')]);

    // ctr run --rm, interleaved; the first of each route (a shim's start, node's bind) apart
    const samples = Object.fromEntries(Object.keys(routes).map((k) => [k, []]));
    for (const r of Object.values(routes)) runOnce(r, 'warm');
    for (let i = 0; i < N; i++) for (const [k, r] of Object.entries(routes)) samples[k].push(runOnce(r, `run${i}`));

    const parallel = Object.fromEntries(Object.keys(routes).map((k) => [k, []]));
    const memory = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const [k, r] of Object.entries(routes)) {
        parallel[k].push(await startParallel(r, round));
        if (round === 0) {
          const shims = shimsOf(r);
          memory[k] = { shims: shims.length, perContainer: shims.reduce((s, p) => s + pssKiB(p), 0) / PARALLEL / 1024 };
        }
        await stopAll(r);
      }
    }

    const f = (x) => x.toFixed(1).padStart(8);
    console.log(
      `containerd ${execFileSync('containerd', ['--version'], { encoding: 'utf8' }).split(' ')[2]}, ${os.cpus().length} CPUs; ms unless said`,
    );
    console.log(
      `${'route'.padEnd(40)} ${'run --rm min'.padStart(12)} ${'median'.padStart(8)} ${`${PARALLEL} at once`.padStart(10)} ${'shims'.padStart(6)} ${'MiB/container'.padStart(14)}`,
    );
    for (const k of Object.keys(routes)) {
      const s = stats(samples[k]);
      const p = stats(parallel[k]).median;
      console.log(
        `${k.padEnd(40)} ${f(s.min).padStart(12)} ${f(s.median)} ${f(p).padStart(10)} ${String(memory[k].shims).padStart(6)} ${f(memory[k].perContainer).padStart(14)}`,
      );
    }
  } finally {
    for (const r of Object.values(routes)) await stopAll(r).catch(() => undefined);
    for (const r of Object.values(routes)) for (const p of shimsOf(r)) process.kill(p, 'SIGTERM');
    process.kill(daemon.pid, 'SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
    for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').reverse()) {
      const mp = line.split(' ')[4];
      if (mp && mp.startsWith(dir)) spawnSync('umount', ['-l', mp]);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    for (const r of Object.values(routes)) {
      for (const base of ['/run/containerd/runc', '/run/containerd/tsrunc'])
        fs.rmSync(path.join(base, r.ns), { recursive: true, force: true });
      for (const h of ['', ...fs.readdirSync('/sys/fs/cgroup')]) {
        try {
          fs.rmdirSync(path.join('/sys/fs/cgroup', h, r.ns));
        } catch {
          // not there, or not a hierarchy
        }
      }
    }
    exeBinds.restore(exeBefore);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
