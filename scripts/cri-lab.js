// A private Kubernetes node without kubelet, for the CRI tests and benchmark: a read-only image
// registry on 127.0.0.1 serving OCI layouts made here, a containerd of our own with its CRI plugin
// on (unix socket under a temp dir, no TCP service, the streaming server on 127.0.0.1), runtime
// handlers for tsrunc (runc-v2 shim + BinaryName), runc, and our own shim, and a CRI client
// (runtime.v1 over gRPC, as kubelet speaks it). Used by test/helpers/cri.ts and scripts/bench-cri.js.
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const REPO = path.resolve(__dirname, '..');
const CRI_PROTO = 'k8s.io/cri-api/pkg/apis/runtime/v1/api.proto';

/** A TCP port free on 127.0.0.1 now (the streaming server needs one named in its config). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });
}

/**
 * The pull side of the OCI distribution API, read-only, over plain HTTP on 127.0.0.1: enough for
 * containerd's resolver and fetcher. `images` maps a repository name ("tsrunc/busybox") to an
 * OCI layout directory (scripts/oci-archive.js's work dir); tags come from its index.json.
 * @param {Record<string, string>} images
 * @returns {Promise<{ host: string, close: () => Promise<void> }>}
 */
function startRegistry(images) {
  const server = http.createServer((req, res) => {
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(req.url ?? '');
    if (req.url === '/v2/' || req.url === '/v2') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Docker-Distribution-Api-Version': 'registry/2.0' });
      res.end('{}');
      return;
    }
    const layout = m ? images[m[1]] : undefined;
    if (!m || !layout || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN', message: `no ${req.url}` }] }));
      return;
    }
    let digest = m[3];
    let type = 'application/octet-stream';
    if (m[2] === 'manifests') {
      const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
      const entry = index.manifests.find((d) => d.digest === digest || d.annotations?.['org.opencontainers.image.ref.name'] === digest);
      digest = entry?.digest ?? '';
      type = entry?.mediaType ?? type;
    }
    const file = /^sha256:[0-9a-f]{64}$/.test(digest) ? path.join(layout, 'blobs', 'sha256', digest.slice(7)) : '';
    if (!file || !fs.existsSync(file)) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: m[2] === 'blobs' ? 'BLOB_UNKNOWN' : 'MANIFEST_UNKNOWN', message: m[3] }] }));
      return;
    }
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': fs.statSync(file).size, 'Docker-Content-Digest': digest });
    if (req.method === 'HEAD') res.end();
    else fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (server.address());
      resolve({ host: `localhost:${port}`, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

/**
 * The runtime handlers a pod's RuntimeClass can name.
 * @param {{ tsrunc: string, runc: string }} bins
 */
function handlers(bins) {
  return {
    tsrunc: { runtime_type: 'io.containerd.runc.v2', BinaryName: bins.tsrunc },
    runc: { runtime_type: 'io.containerd.runc.v2', BinaryName: bins.runc },
    'tsrunc-shim': { runtime_type: 'io.containerd.tsrunc.v2' },
  };
}

/**
 * containerd's config.toml with the CRI plugin on.
 * @param {{ dir: string, sock: string, registry: string, streamPort: number, sandboxImage: string, tsrunc: string, runc: string }} o
 */
function containerdConfig(o) {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  const lines = [
    'version = 2',
    `root = "${o.dir}/root"`,
    `state = "${o.dir}/state"`,
    'disabled_plugins = ["io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp",',
    '  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",',
    '  "io.containerd.snapshotter.v1.devmapper"]',
    '[grpc]',
    `  address = "${o.sock}"`,
    '[ttrpc]',
    `  address = "${o.sock}.ttrpc"`,
    '[debug]',
    '  address = ""',
    ...(process.env.CRI_LAB_DEBUG ? ['  level = "debug"'] : []),
    '[metrics]',
    '  address = ""',
    `[${cri}]`,
    '  disable_tcp_service = true',
    '  stream_server_address = "127.0.0.1"',
    `  stream_server_port = "${o.streamPort}"`,
    // root here lacks CAP_SYS_RESOURCE: a sandbox's oom_score_adj of -998 would be refused (runc too)
    '  restrict_oom_score_adj = true',
    `  sandbox_image = "${o.sandboxImage}"`,
    `[${cri}.containerd]`,
    '  default_runtime_name = "runc"',
  ];
  for (const [name, h] of Object.entries(handlers(o))) {
    lines.push(`[${cri}.containerd.runtimes."${name}"]`, `  runtime_type = "${h.runtime_type}"`);
    if ('BinaryName' in h) lines.push(`[${cri}.containerd.runtimes."${name}".options]`, `  BinaryName = "${h.BinaryName}"`);
  }
  lines.push(
    `[${cri}.cni]`,
    '  bin_dir = "/usr/lib/cni"',
    `  conf_dir = "${o.dir}/cni"`,
    `[${cri}.registry.mirrors."${o.registry}"]`,
    `  endpoint = ["http://${o.registry.replace(/^localhost/, '127.0.0.1')}"]`,
  );
  return lines.join('\n') + '\n';
}

/**
 * Starts containerd with the CRI plugin and waits until its CRI service answers.
 * bin/ (our shim's launcher) goes first on its PATH; env is added to containerd's (and so its shims').
 * @param {{ dir: string, registry: string, sandboxImage: string, tsrunc: string, runc: string, env?: Record<string, string> }} o
 */
async function startContainerd(o) {
  const sock = path.join(o.dir, 'containerd.sock');
  const streamPort = await freePort();
  fs.mkdirSync(path.join(o.dir, 'cni'), { recursive: true });
  fs.writeFileSync(path.join(o.dir, 'config.toml'), containerdConfig({ ...o, sock, streamPort }));
  const log = fs.openSync(path.join(o.dir, 'containerd.log'), 'a');
  const daemon = spawn('containerd', ['--config', path.join(o.dir, 'config.toml')], {
    stdio: ['ignore', log, log],
    detached: true,
    env: { ...process.env, ...o.env, PATH: `${path.join(REPO, 'bin')}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` },
  });
  fs.closeSync(log);
  const cri = criClient(sock);
  const deadline = Date.now() + 20000;
  for (;;) {
    try {
      await cri.runtime.Version({});
      break;
    } catch (e) {
      if (daemon.exitCode !== null || Date.now() > deadline) {
        cri.close();
        if (daemon.exitCode === null) daemon.kill('SIGKILL');
        throw new Error(`containerd's CRI did not answer within 20 s (${e}); see ${o.dir}/containerd.log`, { cause: e });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { sock, streamPort, daemon, cri };
}

/**
 * @typedef {(req: object, opts?: { timeoutMs?: number }) => Promise<any>} Call
 * @typedef {{ runtime: Record<string, Call>, image: Record<string, Call>, close: () => void }} CriClient
 */

/**
 * kubelet's side of CRI: RuntimeService and ImageService of runtime.v1 on a unix socket, each
 * method a promise (30 s deadline unless told).
 * @param {string} sock
 * @returns {CriClient}
 */
function criClient(sock) {
  const def = protoLoader.loadSync(CRI_PROTO, {
    includeDirs: [path.join(REPO, 'proto')],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const v1 = /** @type {any} */ (grpc.loadPackageDefinition(def)).runtime.v1;
  const address = `unix://${sock}`;
  const creds = grpc.credentials.createInsecure();
  // 16 MiB: a container's ExecSync output or a list can be large (kubelet allows the same)
  const options = { 'grpc.max_receive_message_length': 16 << 20 };
  /** @param {any} client */
  const wrap = (client) =>
    new Proxy(
      {},
      {
        get:
          (_t, name) =>
          (/** @type {object} */ req, /** @type {{ timeoutMs?: number }} */ opts = {}) =>
            new Promise((resolve, reject) => {
              const fn = client[name];
              if (typeof fn !== 'function') return reject(new Error(`CRI has no method ${String(name)}`));
              fn.call(
                client,
                req,
                { deadline: Date.now() + (opts.timeoutMs ?? 30000) },
                (/** @type {Error|null} */ err, /** @type {any} */ res) =>
                  err ? reject(new Error(`${String(name)}: ${err.message}`)) : resolve(res),
              );
            }),
      },
    );
  const runtime = new v1.RuntimeService(address, creds, options);
  const image = new v1.ImageService(address, creds, options);
  return { runtime: wrap(runtime), image: wrap(image), close: () => (runtime.close(), image.close()) };
}

/** Each hierarchy's directory (v1) or the unified root (v2). */
function cgroupRoots() {
  if (fs.existsSync('/sys/fs/cgroup/cgroup.controllers')) return ['/sys/fs/cgroup'];
  return fs
    .readdirSync('/sys/fs/cgroup')
    .map((h) => path.join('/sys/fs/cgroup', h))
    .filter((d) => !fs.lstatSync(d).isSymbolicLink() && fs.statSync(d).isDirectory());
}

/**
 * The cgroup directories below parent (a pod's cgroup parent, as kubelet names it), in every
 * hierarchy, deepest first: what kubelet would remove after its pods.
 * @param {string} parent
 */
function cgroupTree(parent) {
  /** @type {string[]} */
  const found = [];
  /** @param {string} d */
  const walk = (d) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
    found.push(d);
  };
  for (const root of cgroupRoots()) walk(path.join(root, parent));
  return found;
}

/** Removes parent's cgroup tree (empty cgroups only: rmdir fails on a busy one). @param {string} parent */
function removeCgroupTree(parent) {
  for (const d of cgroupTree(parent)) {
    try {
      fs.rmdirSync(d);
    } catch {
      // busy: a process is still in it; the caller's check says so
    }
  }
}

/**
 * The processes whose command line (arguments joined by spaces) contains needle, as "pid: line".
 * @param {string} needle
 */
function processes(needle) {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((pid) => {
      try {
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
        return cmd.includes(needle) ? [`${pid}: ${cmd}`] : [];
      } catch {
        return []; // gone
      }
    });
}

/**
 * Waits up to ms until no process's command line contains needle (a containerd socket: its
 * shims'); returns those still there.
 * @param {string} needle
 * @param {number} ms
 */
async function processesGone(needle, ms) {
  for (const end = Date.now() + ms; processes(needle).length > 0 && Date.now() < end;) await new Promise((r) => setTimeout(r, 100));
  return processes(needle);
}

/** Detaches every mount below dir (containerd's snapshots and sandbox mounts), deepest first. @param {string} dir */
function unmountUnder(dir) {
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').reverse()) {
    const mp = line.split(' ')[4];
    if (mp && mp.startsWith(dir)) spawnSync('umount', ['-l', mp]);
  }
}

module.exports = {
  processes,
  processesGone,
  unmountUnder,
  startRegistry,
  startContainerd,
  criClient,
  handlers,
  freePort,
  cgroupTree,
  removeCgroupTree,
};
