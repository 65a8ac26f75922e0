// Kubernetes' path: the test is kubelet. It speaks CRI (runtime.v1, gRPC) to a containerd of its
// own with the CRI plugin on, which runs pods through a runtime handler, as a RuntimeClass would
// choose it: tsrunc behind containerd's runc-v2 shim (BinaryName), Debian's runc the same way, and
// our own shim (io.containerd.tsrunc.v2). Images come from a registry on 127.0.0.1 that the test
// serves (busybox and a pause image made from the rootfs the other tests use); pods use the host's
// network (no CNI). Every scenario runs against every handler.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { TSRUNC, makeBundle } from '../helpers/bundle';
import { buildOciArchive } from '../helpers/oci-image';
import { type CriClient, type CriNode, lab, openStream } from '../helpers/cri';

const RUNC = spawnSync('sh', ['-c', 'command -v runc'], { encoding: 'utf8' }).stdout.trim();
const V2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
// kubelet's pod cgroups live under one parent (/kubepods); the test's under its own
const CGROUP_PARENT = `/tsrunc-e2e-cri-${process.pid}`;
// The runc-v2 shim keeps runc's state per containerd namespace, ours likewise; CRI's namespace is k8s.io.
const STATE_ROOTS = ['/run/containerd/runc/k8s.io', '/run/containerd/tsrunc/k8s.io'];
const STATE_ROOTS_BEFORE = STATE_ROOTS.filter((d) => fs.existsSync(d));

let dir: string;
let registry: { host: string; close(): Promise<void> };
let node: CriNode;
let cri: CriClient;
let IMAGE: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(join(os.tmpdir(), 'tsr-test-cri-'));
  const b = makeBundle(['true']);
  const rootfs = join(b.dir, 'rootfs');
  buildOciArchive(rootfs, 'busybox:1', null, join(dir, 'img-busybox'));
  // the pause image: a process that only waits (the sandbox is stopped with SIGKILL)
  buildOciArchive(rootfs, 'pause:1', null, join(dir, 'img-pause'), ['sleep', '2147483647']);
  b.remove();
  registry = await lab.startRegistry({ 'tsrunc/busybox': join(dir, 'img-busybox'), 'tsrunc/pause': join(dir, 'img-pause') });
  IMAGE = `${registry.host}/tsrunc/busybox:1`;
  node = await lab.startContainerd({
    dir,
    registry: registry.host,
    sandboxImage: `${registry.host}/tsrunc/pause:1`,
    tsrunc: process.env.E2E_WRAP ?? TSRUNC,
    runc: RUNC,
    // our shim leaves a second after its pod's last task, so the clean-up checks need not wait long
    env: { TSRUNC_SHIM_IDLE_MS: '1000' },
  });
  cri = node.cri;
}, 120000);

afterAll(async () => {
  if (cri) {
    try {
      for (const p of (await cri.runtime.ListPodSandbox({})).items as { id: string }[]) {
        await cri.runtime.StopPodSandbox({ pod_sandbox_id: p.id }).catch(() => undefined);
        await cri.runtime.RemovePodSandbox({ pod_sandbox_id: p.id }).catch(() => undefined);
      }
    } finally {
      cri.close();
    }
  }
  if (node?.daemon.exitCode === null) {
    const gone = new Promise((r) => node.daemon.once('exit', r));
    node.daemon.kill('SIGTERM');
    await gone;
    await lab.processesGone(node.sock, 10000); // our shim's spare leaves once containerd's socket is gone
  }
  await registry?.close();
  if (!dir) return;
  lab.unmountUnder(dir);
  lab.removeCgroupTree(CGROUP_PARENT);
  if (!process.env.E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true }); // E2E_KEEP=1: containerd.log stays
  for (const d of STATE_ROOTS) {
    // only a root this test made, holding nothing but tsrunc's seccomp program cache: a container
    // left in it is a failure the clean-up test reports
    if (STATE_ROOTS_BEFORE.includes(d) || !fs.existsSync(d)) continue;
    if (fs.readdirSync(d).every((n) => n === '@seccomp')) fs.rmSync(d, { recursive: true, force: true });
  }
}, 60000);

// CRI's messages: many and wide; the tests read the fields they assert
type Msg = Record<string, any>;

describe.each([['tsrunc'], ['runc'], ['tsrunc-shim']])('CRI with the runtime handler %s', (handler) => {
  const made: string[] = []; // sandbox and container ids, for the clean-up check
  let n = 0;

  function podConfig(name: string, opts: { sharePid?: boolean; security?: Msg } = {}): Msg {
    const uid = `${handler}-${name}-${n++}`;
    return {
      metadata: { name: `${handler}-${name}`, uid, namespace: 'tsrunc-e2e', attempt: 0 },
      log_directory: join(dir, 'logs', uid),
      linux: {
        cgroup_parent: `${CGROUP_PARENT}/pod${uid}`,
        security_context: {
          namespace_options: { network: 'NODE', pid: opts.sharePid ? 'POD' : 'CONTAINER', ipc: 'POD' },
          ...opts.security,
        },
      },
    };
  }

  async function runPod(config: Msg): Promise<string> {
    const { pod_sandbox_id } = await cri.runtime.RunPodSandbox({ config, runtime_handler: handler });
    made.push(pod_sandbox_id);
    return pod_sandbox_id;
  }

  async function startContainer(pod: string, podConf: Msg, name: string, command: string[], security: Msg = {}): Promise<string> {
    // kubelet gives a container the pod's namespace options (the CRI's default would be POD for all)
    const namespaces = podConf.linux.security_context.namespace_options;
    const { container_id } = await cri.runtime.CreateContainer({
      pod_sandbox_id: pod,
      sandbox_config: podConf,
      config: {
        metadata: { name },
        image: { image: IMAGE },
        command,
        log_path: `${name}.log`,
        linux: { security_context: { namespace_options: namespaces, ...security } },
      },
    });
    made.push(container_id);
    await cri.runtime.StartContainer({ container_id });
    return container_id;
  }

  async function execSync(id: string, cmd: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
    const r = await cri.runtime.ExecSync({ container_id: id, cmd, timeout: 20 });
    return { stdout: r.stdout.toString(), stderr: r.stderr.toString(), code: r.exit_code };
  }

  async function removePod(pod: string): Promise<void> {
    await cri.runtime.StopPodSandbox({ pod_sandbox_id: pod });
    await cri.runtime.RemovePodSandbox({ pod_sandbox_id: pod });
  }

  /** A pod for body, removed afterwards even when body fails (a failure stays the test's own). */
  async function withPod(conf: Msg, body: (pod: string) => Promise<void>): Promise<void> {
    const pod = await runPod(conf);
    try {
      await body(pod);
    } finally {
      await removePod(pod).catch(() => undefined); // removed by body already, or failing: the clean-up test says
    }
  }

  test("a pod's life: pull, create, start, status, ExecSync, exec and attach by the streaming URL, update, stats, graceful stop, removal", async () => {
    const pulled = await cri.image.PullImage({ image: { image: IMAGE } });
    expect(pulled.image_ref).toMatch(/^sha256:[0-9a-f]{64}$/);
    const st = await cri.image.ImageStatus({ image: { image: IMAGE } });
    expect(st.image.id).toBe(pulled.image_ref);
    expect(st.image.repo_tags).toContain(IMAGE);

    const conf = podConfig('life');
    await withPod(conf, async (pod) => {
      expect((await cri.runtime.PodSandboxStatus({ pod_sandbox_id: pod })).status.state).toBe('SANDBOX_READY');
      // a SIGTERM trap that says so and ends cleanly: the graceful stop must let it run
      const id = await startContainer(pod, conf, 'main', [
        'sh',
        '-c',
        'trap "echo got-term; exit 0" TERM; echo started; while :; do echo tick; sleep 0.2; done',
      ]);
      const status = (await cri.runtime.ContainerStatus({ container_id: id })).status;
      expect(status.state).toBe('CONTAINER_RUNNING');
      expect(status.image_ref).toContain('tsrunc/busybox@sha256:');
      const listed = await cri.runtime.ListContainers({ filter: { pod_sandbox_id: pod } });
      expect(listed.containers.map((c: Msg) => c.id)).toEqual([id]);

      const ex = await execSync(id, ['sh', '-c', 'echo out; echo err >&2; cat /proc/1/cmdline | tr "\\0" " "; exit 3']);
      // its own pid namespace (no shareProcessNamespace): pid 1 is the container's shell
      expect(ex).toEqual({
        stdout: 'out\nsh -c trap "echo got-term; exit 0" TERM; echo started; while :; do echo tick; sleep 0.2; done ',
        stderr: 'err\n',
        code: 3,
      });

      const { url } = await cri.runtime.Exec({
        container_id: id,
        cmd: ['sh', '-c', 'echo streamed; echo e >&2; exit 5'],
        stdout: true,
        stderr: true,
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/exec\//);
      const streamed = await openStream(url);
      expect([streamed.stdout, streamed.stderr, streamed.exitCode]).toEqual(['streamed\n', 'e\n', 5]);
      const ok = await openStream((await cri.runtime.Exec({ container_id: id, cmd: ['true'], stdout: true })).url);
      expect(ok.status?.status).toBe('Success');
      // attach: the running program's output, live
      const attach = await cri.runtime.Attach({ container_id: id, stdout: true, stderr: true });
      expect((await openStream(attach.url, { until: /tick\n/ })).stdout).toMatch(/tick\n/);

      await cri.runtime.UpdateContainerResources({ container_id: id, linux: { memory_limit_in_bytes: 64 << 20 } });
      const mem = await execSync(id, ['cat', V2 ? '/sys/fs/cgroup/memory.max' : '/sys/fs/cgroup/memory/memory.limit_in_bytes']);
      expect(mem.stdout.trim()).toBe(String(64 << 20));
      const stats = (await cri.runtime.ContainerStats({ container_id: id })).stats;
      expect(stats.attributes.id).toBe(id);
      expect(stats.cpu.usage_core_nano_seconds.value).toBeGreaterThan(0);
      expect(stats.memory.working_set_bytes.value).toBeGreaterThan(0);

      await cri.runtime.StopContainer({ container_id: id, timeout: 10 });
      const stopped = (await cri.runtime.ContainerStatus({ container_id: id })).status;
      expect([stopped.state, stopped.exit_code]).toEqual(['CONTAINER_EXITED', 0]);
      // CRI's log format: time, stream, P(artial)/F(ull), the line
      const log = fs.readFileSync(join(conf.log_directory, 'main.log'), 'utf8');
      expect(log).toMatch(/^\S+ stdout F started$/m);
      expect(log).toMatch(/^\S+ stdout F got-term$/m);

      await cri.runtime.RemoveContainer({ container_id: id });
      await expect(cri.runtime.ContainerStatus({ container_id: id })).rejects.toThrow(/NOT_FOUND|not found/i);
      await cri.runtime.StopPodSandbox({ pod_sandbox_id: pod });
      expect((await cri.runtime.PodSandboxStatus({ pod_sandbox_id: pod })).status.state).toBe('SANDBOX_NOTREADY');
      await cri.runtime.RemovePodSandbox({ pod_sandbox_id: pod });
      await expect(cri.runtime.PodSandboxStatus({ pod_sandbox_id: pod })).rejects.toThrow(/NOT_FOUND|not found/i);
    });
  }, 90000);

  test("two containers share the sandbox's ipc, network and (shareProcessNamespace) pid namespaces", async () => {
    const conf = podConfig('shared', { sharePid: true });
    await withPod(conf, async (pod) => {
      const a = await startContainer(pod, conf, 'a', ['sleep', '1001']);
      const b = await startContainer(pod, conf, 'b', ['sleep', '1002']);
      const ns = 'for n in ipc net pid; do readlink /proc/self/ns/$n; done';
      const inA = await execSync(a, ['sh', '-c', ns]);
      const inB = await execSync(b, ['sh', '-c', ns]);
      expect(inA.code).toBe(0);
      expect(inB.stdout).toBe(inA.stdout);
      const [ipc, net, pid] = inA.stdout.trim().split('\n');
      expect(ipc).not.toBe(fs.readlinkSync('/proc/self/ns/ipc'));
      expect(net).toBe(fs.readlinkSync('/proc/self/ns/net')); // the host's network: a hostNetwork pod
      expect(pid).not.toBe(fs.readlinkSync('/proc/self/ns/pid'));
      // b sees a's process, and the pause process is everyone's pid 1
      const ps = await execSync(b, ['sh', '-c', 'for p in /proc/[0-9]*; do tr "\\0" " " <$p/cmdline; echo; done']);
      expect(ps.stdout).toContain('sleep 1001 ');
      expect((await execSync(a, ['sh', '-c', 'tr "\\0" " " </proc/1/cmdline'])).stdout).toBe('sleep 2147483647 ');
      // an ipc object made in a is b's to see
      await execSync(a, ['sh', '-c', 'echo shared > /dev/shm/x']);
      expect((await execSync(b, ['cat', '/dev/shm/x'])).stdout).toBe('shared\n');
    });
  }, 60000);

  test('a locked-down pod: read-only root, no capabilities, a non-root user, seccomp RuntimeDefault', async () => {
    const conf = podConfig('locked', { security: { seccomp: { profile_type: 'RuntimeDefault' }, run_as_user: { value: 1000 } } });
    await withPod(conf, async (pod) => {
      const id = await startContainer(pod, conf, 'locked', ['sleep', '1000'], {
        run_as_user: { value: 1000 },
        run_as_group: { value: 1000 },
        readonly_rootfs: true,
        no_new_privs: true,
        capabilities: { drop_capabilities: ['ALL'] },
        seccomp: { profile_type: 'RuntimeDefault' },
      });
      const r = await execSync(id, [
        'sh',
        '-c',
        'id -u; id -g; grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status; touch /x 2>/dev/null && echo rw || echo ro',
      ]);
      expect(r.stdout).toBe('1000\n1000\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\nro\n');
      // the main process too, not only the exec
      expect((await execSync(id, ['grep', '-E', '^(Uid|Seccomp):', '/proc/1/status'])).stdout).toMatch(
        /^Uid:\t1000\t1000\t1000\t1000\nSeccomp:\t2\n$/,
      );
    });
  }, 60000);

  test('nothing is left behind: no mount, container cgroup, state or shim', async () => {
    expect(made.length).toBeGreaterThan(0);
    const pods = ((await cri.runtime.ListPodSandbox({})).items as Msg[]).filter((p) => made.includes(p.id));
    expect(pods).toEqual([]);
    // shims leave once their pod is gone (ours a second after its last task): wait for them
    // (our shim's one spare, started ahead for the next pod, stays while containerd runs)
    const shims = () => lab.processes(node.sock).filter((p) => !/^\d+: containerd --config/.test(p) && !/ spare /.test(p));
    for (let i = 0; i < 100 && shims().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(shims()).toEqual([]);
    // pre-born inits (process/preborn.ts) wait only under the spare: none outlives the shim that forked it.
    // Only this containerd's shims count: another test file's containerd (run alongside) has its own.
    const prebornParents = () =>
      fs
        .readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .flatMap((p) => {
          try {
            const status = fs.readFileSync(`/proc/${p}/status`, 'utf8');
            if (!/^Name:\ttsrunc:preborn$/m.test(status)) return [];
            const ppid = /^PPid:\t(\d+)$/m.exec(status)![1];
            const parent = fs.readFileSync(`/proc/${ppid}/cmdline`, 'utf8').split('\0').join(' ');
            return parent.includes(node.sock) ? [parent] : [];
          } catch {
            return [];
          }
        });
    for (let i = 0; i < 50 && prebornParents().some((c) => !c.includes(' spare ')); i++) await new Promise((r) => setTimeout(r, 100));
    expect(prebornParents().filter((c) => !c.includes(' spare '))).toEqual([]);
    expect(
      fs
        .readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .filter((l) => l.split(' ')[4]?.startsWith(dir)),
    ).toEqual([]);
    // only the pod cgroups (kubelet's to remove) stay under the parent: no container's
    const containerCgroups = lab
      .cgroupTree(CGROUP_PARENT)
      .filter((d) => d.split(`${CGROUP_PARENT}/`)[1]?.includes('/'))
      .filter((d) => made.some((id) => d.includes(id)) || !/\/pod[^/]*$/.test(d));
    expect(containerCgroups).toEqual([]);
    const state = STATE_ROOTS.flatMap((root) => made.map((id) => join(root, id))).filter((p) => fs.existsSync(p));
    expect(state).toEqual([]);
  }, 30000);
});
