#!/usr/bin/env node
// Pod start latency through containerd's CRI plugin, per runtime handler, side by side in one run
// (root required): what kubelet waits for when it starts a pod of one container, that is
// RunPodSandbox + CreateContainer + StartContainer, timed from the first call's send to the last
// one's answer. Host-network pods, a private containerd and registry (scripts/cri-lab.js), the
// images pulled once before timing. Samples are interleaved across handlers; each pod is stopped
// and removed (untimed) before the next. Prints min and median of N samples per handler.
// CRI_LAB_DEBUG=1: containerd at debug level, so our shim logs each step's cost (its group's log
// in /run/containerd/tsrunc/s/).
// Usage: node scripts/bench-cri.js [N=10]   (npm run bench:cri)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const lab = require('./cri-lab');
const { buildOciArchive } = require('./oci-archive');
const exeBinds = require('./exe-binds');

const N = Number(process.argv[2] || 10);
const repo = path.resolve(__dirname, '..');
const runc = spawnSync('sh', ['-c', 'command -v runc'], { encoding: 'utf8' }).stdout.trim();
const HANDLERS = ['tsrunc-shim', 'runc', 'tsrunc'];
const CGROUP_PARENT = `/tsrunc-bench-cri-${process.pid}`;
// As kubelet sets them for a pod without shareProcessNamespace (its sandbox and each container in
// a pid namespace of its own); the host's network (no CNI here).
const NAMESPACES = { network: 'NODE', pid: 'CONTAINER' };

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)] };
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('bench-cri needs root');
  const exeBefore = exeBinds.snapshot(); // the read-only node the shims bind: taken away after
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsrunc-bench-cri-'));
  const bundle = path.join(dir, 'bundle');
  execFileSync(path.join(repo, 'scripts', 'make-bundle.sh'), [bundle], { stdio: 'ignore' });
  const rootfs = path.join(bundle, 'rootfs');
  buildOciArchive(rootfs, 'busybox:1', null, path.join(dir, 'img-busybox'));
  buildOciArchive(rootfs, 'pause:1', null, path.join(dir, 'img-pause'), ['sleep', '2147483647']);
  const registry = await lab.startRegistry({
    'tsrunc/busybox': path.join(dir, 'img-busybox'),
    'tsrunc/pause': path.join(dir, 'img-pause'),
  });
  const image = `${registry.host}/tsrunc/busybox:1`;
  const node = await lab.startContainerd({
    dir,
    registry: registry.host,
    sandboxImage: `${registry.host}/tsrunc/pause:1`,
    tsrunc: path.join(repo, 'bin', 'tsrunc'),
    runc,
  });
  const { runtime, image: images } = node.cri;
  const samples = Object.fromEntries(HANDLERS.map((h) => [h, /** @type {number[]} */ ([])]));
  const sandboxSamples = Object.fromEntries(HANDLERS.map((h) => [h, /** @type {number[]} */ ([])]));
  try {
    await images.PullImage({ image: { image } });
    await images.PullImage({ image: { image: `${registry.host}/tsrunc/pause:1` } });
    let n = 0;
    // one untimed pod per handler first: the first shim of each kind pays cold caches
    for (let i = -1; i < N; i++) {
      for (const handler of HANDLERS) {
        const uid = `bench-${n++}`;
        const pod = {
          metadata: { name: uid, uid, namespace: 'bench', attempt: 0 },
          log_directory: path.join(dir, 'logs', uid),
          linux: { cgroup_parent: `${CGROUP_PARENT}/pod${uid}`, security_context: { namespace_options: NAMESPACES } },
        };
        const t = process.hrtime.bigint();
        const { pod_sandbox_id } = await runtime.RunPodSandbox({ config: pod, runtime_handler: handler });
        const sandboxMs = Number(process.hrtime.bigint() - t) / 1e6;
        const { container_id } = await runtime.CreateContainer({
          pod_sandbox_id,
          sandbox_config: pod,
          config: {
            metadata: { name: 'c' },
            image: { image },
            command: ['sleep', '60'],
            log_path: 'c.log',
            linux: { security_context: { namespace_options: NAMESPACES } },
          },
        });
        await runtime.StartContainer({ container_id });
        const ms = Number(process.hrtime.bigint() - t) / 1e6;
        if (i >= 0) {
          samples[handler].push(ms);
          sandboxSamples[handler].push(sandboxMs);
        }
        await runtime.StopPodSandbox({ pod_sandbox_id });
        await runtime.RemovePodSandbox({ pod_sandbox_id });
      }
    }
  } finally {
    node.cri.close();
    node.daemon.kill('SIGTERM');
    await new Promise((r) => node.daemon.once('exit', r));
    await lab.processesGone(node.sock, 10000); // our shim's spare leaves with containerd's socket
    await registry.close();
    lab.unmountUnder(dir);
    lab.removeCgroupTree(CGROUP_PARENT);
    fs.rmSync(dir, { recursive: true, force: true });
    exeBinds.restore(exeBefore);
  }
  console.log(`pod start latency (RunPodSandbox + CreateContainer + StartContainer), ms, ${N} samples per handler, interleaved`);
  console.log('| handler | min | median | of which RunPodSandbox (median) |');
  console.log('| --- | ---: | ---: | ---: |');
  const names = {
    'tsrunc-shim': 'tsrunc-shim (io.containerd.tsrunc.v2)',
    runc: 'runc (runc-v2 shim + runc)',
    tsrunc: 'tsrunc (runc-v2 shim + tsrunc)',
  };
  for (const h of HANDLERS) {
    const s = stats(samples[h]);
    console.log(`| ${names[h]} | ${s.min.toFixed(1)} | ${s.median.toFixed(1)} | ${stats(sandboxSamples[h]).median.toFixed(1)} |`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
