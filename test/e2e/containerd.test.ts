// containerd drives tsrunc end to end, through its runc v2 shim (`ctr run --runc-binary`) and
// through our own shim (`ctr run --runtime io.containerd.tsrunc.v2`, bin/containerd-shim-tsrunc-v2
// on containerd's PATH): our own containerd (unix socket only, CRI off, no TCP listener), a busybox
// image built here and imported (no registry). Every scenario runs against both routes of tsrunc
// and against Debian's runc.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { REPO, TSRUNC, makeBundle } from '../helpers/bundle';
import { buildOciArchive } from '../helpers/oci-image';

const IMAGE = 'docker.io/library/busybox:tsrunc-e2e';
const NS = `tsrunc-e2e-${process.pid}`;
const RUNC = spawnSync('sh', ['-c', 'command -v runc'], { encoding: 'utf8' }).stdout.trim();
// The same scenarios on a v1 host (this CI machine) and on a pure v2 host (a lent machine).
const V2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
let dir: string;
let daemon: ChildProcess;
let sock: string;

function ctr(args: string[], opts: { timeout?: number; tty?: boolean } = {}): { status: number | null; stdout: string; stderr: string } {
  const argv = ['-a', sock, '-n', NS, ...args];
  // --tty needs a terminal on ctr's side: script(1) provides one.
  const r = opts.tty
    ? spawnSync('script', ['-qec', ['ctr', ...argv].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' '), '/dev/null'], {
        encoding: 'utf8',
        timeout: opts.timeout ?? 60000,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawnSync('ctr', argv, { encoding: 'utf8', timeout: opts.timeout ?? 60000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** containerd, with the repository's bin/ (our shim) first on its PATH. */
async function startDaemon(): Promise<void> {
  const log = fs.openSync(join(dir, 'containerd.log'), 'a');
  daemon = spawn('containerd', ['--config', join(dir, 'config.toml')], {
    stdio: ['ignore', log, log],
    detached: true,
    env: { ...process.env, PATH: `${join(REPO, 'bin')}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` },
  });
  fs.closeSync(log);
  for (let i = 0; i < 200 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
  expect(fs.existsSync(sock)).toBe(true);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(join(os.tmpdir(), 'tsr-test-containerd-'));
  sock = join(dir, 'containerd.sock');
  fs.writeFileSync(
    join(dir, 'config.toml'),
    [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]',
      '[grpc]',
      `  address = "${sock}"`,
      '[ttrpc]',
      `  address = "${sock}.ttrpc"`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
    ].join('\n') + '\n',
  );
  await startDaemon();
  // A busybox image from the same rootfs the other tests use.
  const b = makeBundle(['true']);
  buildOciArchive(join(b.dir, 'rootfs'), IMAGE, join(dir, 'image.tar'), join(dir, 'image'));
  b.remove();
  const imp = ctr(['images', 'import', join(dir, 'image.tar')]);
  expect(imp.stderr).toBe('');
}, 120000);

afterAll(() => {
  for (const t of ctr(['task', 'ls', '-q']).stdout.split('\n').filter(Boolean)) {
    ctr(['task', 'kill', '-s', 'SIGKILL', t]);
  }
  for (const c of ctr(['containers', 'ls', '-q']).stdout.split('\n').filter(Boolean)) {
    ctr(['task', 'delete', '-f', c]);
    ctr(['containers', 'delete', c]);
  }
  if (daemon?.pid) process.kill(daemon.pid, 'SIGTERM');
  // containerd's mounts (rootfs snapshots) are gone with their containers; detach any left anyway.
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').reverse()) {
    const mp = line.split(' ')[4];
    if (mp && mp.startsWith(dir)) spawnSync('umount', ['-l', mp]);
  }
  if (!process.env.E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true }); // E2E_KEEP=1: containerd.log stays
  fs.rmSync(`/run/containerd/runc/${NS}`, { recursive: true, force: true });
  fs.rmSync(`/run/containerd/tsrunc/${NS}`, { recursive: true, force: true });
  // containerd puts a namespace's containers under /<namespace> in every hierarchy; runc leaves
  // that parent behind, and tsrunc keeps it while other containers use it: remove what is empty.
  for (const h of ['', ...fs.readdirSync('/sys/fs/cgroup')]) {
    try {
      fs.rmdirSync(join('/sys/fs/cgroup', h, NS));
    } catch {
      // not there, or not a hierarchy
    }
  }
}, 60000);

const SHIM_RUNTIME = 'io.containerd.tsrunc.v2';
// [name, ctr's options that choose the route, the state root of its containers]
const runtimes: [string, string[], string][] = [
  ['tsrunc', ['--runc-binary', process.env.E2E_WRAP ?? TSRUNC], '/run/containerd/runc'],
  ['runc', ['--runc-binary', RUNC], '/run/containerd/runc'],
  ['tsrunc-shim', ['--runtime', SHIM_RUNTIME], '/run/containerd/tsrunc'],
];

describe.each(runtimes)('ctr through %s', (name, route, stateBase) => {
  const id = (s: string) => `${name}-${s}`;
  const binary = name === 'runc' ? RUNC : TSRUNC;

  test('echo: output and exit code 0', () => {
    const r = ctr(['run', '--rm', ...route, IMAGE, id('echo'), 'echo', 'hello from containerd']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello from containerd\n');
    expect(r.status).toBe(0);
  });

  test('exit code 7 is propagated', () => {
    expect(ctr(['run', '--rm', ...route, IMAGE, id('exit7'), 'sh', '-c', 'exit 7']).status).toBe(7);
  });

  test('a detached task: exec into it, ps, pause and resume, kill --all', async () => {
    const t = id('detached');
    expect(ctr(['run', '-d', ...route, IMAGE, t, 'sh', '-c', 'sleep 60 & sleep 61']).status).toBe(0);
    const e = ctr(['task', 'exec', '--exec-id', 'e1', t, 'sh', '-c', 'echo exec-ok; cat /proc/1/cmdline | tr "\\0" " "']);
    // busybox sh execs its last command: pid 1 is "sleep 61"
    expect(e.stdout).toBe('exec-ok\nsleep 61 ');
    expect(e.status).toBe(0);
    // the cgroup's figures, decoded by ctr (the shims' Stats)
    const metrics = ctr(['task', 'metrics', t]);
    expect(metrics.status).toBe(0);
    expect(metrics.stdout).toMatch(/pids\.current\s+2\b/);
    expect(metrics.stdout).toMatch(V2 ? /memory\.usage\s+[1-9]/ : /memory\.usage_in_bytes\s+[1-9]/);
    const ps = ctr(['task', 'ps', t]).stdout.trim().split('\n');
    expect(ps.length).toBe(1 + 2); // header + the two sleeps
    expect(ctr(['task', 'pause', t]).status).toBe(0);
    expect(ctr(['task', 'ls']).stdout).toMatch(new RegExp(`${t}\\s+\\d+\\s+PAUSED`));
    expect(ctr(['task', 'resume', t]).status).toBe(0);
    expect(ctr(['task', 'ls']).stdout).toMatch(new RegExp(`${t}\\s+\\d+\\s+RUNNING`));
    expect(ctr(['task', 'kill', '--all', '-s', 'SIGKILL', t]).status).toBe(0);
    for (
      let i = 0;
      i < 100 &&
      !/STOPPED/.test(
        ctr(['task', 'ls'])
          .stdout.split('\n')
          .find((l) => l.startsWith(t)) ?? '',
      );
      i++
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(ctr(['task', 'delete', t]).status).toBe(0);
    expect(ctr(['containers', 'delete', t]).status).toBe(0);
  });

  test('--tty', () => {
    const r = ctr(['run', '--rm', '-t', ...route, IMAGE, id('tty'), 'sh', '-c', 'tty; echo tty-ok'], { tty: true });
    // script(1) shows the NUL that the pty relay starts with as ^@
    expect(r.stdout.replace(/\r/g, '').replace(/^(\^@|\0)/, '')).toBe('/dev/pts/0\ntty-ok\n');
  });

  test('a memory limit seen inside', () => {
    const r = ctr([
      'run',
      '--rm',
      ...route,
      '--memory-limit',
      String(32 * 1024 * 1024),
      '--mount',
      'type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro',
      IMAGE,
      id('mem'),
      'cat',
      V2 ? '/sys/fs/cgroup/memory.max' : '/sys/fs/cgroup/memory/memory.limit_in_bytes',
    ]);
    if (V2 && binary === RUNC) {
      // runc divergence (1.1.5, pure v2, no cgroup namespace, as ctr makes it): runc mounts a fresh
      // cgroup2, which shows the host's root cgroup (no memory.max there); tsrunc binds the
      // container's own cgroup at /sys/fs/cgroup.
      expect(r.stderr).toMatch(/memory.max': No such file or directory/);
      return;
    }
    expect({ out: r.stdout, err: r.stderr }).toEqual({ out: `${32 * 1024 * 1024}\n`, err: '' });
  });

  test('a read-only rootfs', () => {
    const r = ctr(['run', '--rm', '--read-only', ...route, IMAGE, id('ro'), 'sh', '-c', 'touch /x 2>&1; echo done']);
    expect(r.stdout).toMatch(/Read-only file system\ndone\n$/);
  });

  test('20 sequential run --rm leave no mounts, cgroups, state or processes', () => {
    const start = Date.now();
    for (let i = 0; i < 20; i++) {
      const r = ctr(['run', '--rm', ...route, IMAGE, id(`seq${i}`), 'true']);
      expect([i, r.status, r.stderr]).toEqual([i, 0, '']);
    }
    const perRun = (Date.now() - start) / 20;
    process.stdout.write(`ctr run --rm with ${name}: ${perRun.toFixed(0)} ms per run\n`);
    expect(
      ctr(['containers', 'ls', '-q'])
        .stdout.split('\n')
        .filter((l) => l.startsWith(id('seq'))),
    ).toEqual([]);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toMatch(new RegExp(id('seq')));
    const base = V2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/memory';
    const cg = fs.readdirSync(base).concat(fs.existsSync(`${base}/${NS}`) ? fs.readdirSync(`${base}/${NS}`) : []);
    expect(cg.filter((c) => c.startsWith(id('seq')))).toEqual([]);
    const stateRoot = `${stateBase}/${NS}`;
    const left = fs.existsSync(stateRoot) ? fs.readdirSync(stateRoot).filter((c) => c.startsWith(id('seq'))) : [];
    expect(left).toEqual([]);
    const procs = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(id('seq')));
    expect(procs).toEqual([]);
  }, 120000);
});

test('what the shim asks of the runtime binary, captured by a logging wrapper, and no shim fd reaches the container', async () => {
  const log = join(dir, 'argv.log');
  const wrapper = join(dir, 'tsrunc-logging');
  fs.writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> ${log}\nexec ${TSRUNC} "$@"\n`, { mode: 0o755 });
  const fds = ctr(['run', '--rm', '--runc-binary', wrapper, IMAGE, 'wrapped-fds', 'ls', '/proc/self/fd']);
  expect(fds.stdout.trim().split('\n')).toEqual(['0', '1', '2', '3']); // 3: ls's own directory
  const t = 'wrapped-task';
  expect(ctr(['run', '-d', '--runc-binary', wrapper, IMAGE, t, 'sleep', '60']).status).toBe(0);
  expect(ctr(['task', 'exec', '--exec-id', 'x', t, 'true']).status).toBe(0);
  ctr(['task', 'ps', t]);
  ctr(['task', 'pause', t]);
  ctr(['task', 'resume', t]);
  ctr(['task', 'kill', '-s', 'SIGKILL', t]);
  for (let i = 0; i < 100 && !/STOPPED/.test(ctr(['task', 'ls']).stdout); i++) await new Promise((r) => setTimeout(r, 50));
  ctr(['task', 'delete', t]);
  ctr(['containers', 'delete', t]);
  const calls = fs.readFileSync(log, 'utf8');
  const g = `--root /run/containerd/runc/${NS} --log \\S+/log.json --log-format json`;
  for (const re of [
    `${g} create --bundle \\S+ --pid-file \\S+/init.pid wrapped-task`,
    `${g} start wrapped-task`,
    `${g} exec --process \\S+ --detach --pid-file \\S+ wrapped-task`,
    `${g} ps --format json wrapped-task`,
    `${g} pause wrapped-task`,
    `${g} resume wrapped-task`,
    `${g} kill wrapped-task 9`,
    `${g} delete wrapped-task`,
  ])
    expect(calls).toMatch(new RegExp(`^${re}$`, 'm'));
});

describe('our own shim (io.containerd.tsrunc.v2)', () => {
  const shimPids = (): number[] =>
    execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes('shim/main.js serve') && l.includes(`-namespace ${NS}`))
      .map((l) => Number(l.trim().split(/\s+/)[0]));
  const waitStopped = async (t: string) => {
    for (
      let i = 0;
      i < 100 &&
      !/STOPPED/.test(
        ctr(['task', 'ls'])
          .stdout.split('\n')
          .find((l) => l.startsWith(t)) ?? '',
      );
      i++
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  test('no fd of the shim reaches the container; one shim serves the namespace', () => {
    const fds = ctr(['run', '--rm', '--runtime', SHIM_RUNTIME, IMAGE, 'shim-fds', 'ls', '/proc/self/fd']);
    expect(fds.stdout.trim().split('\n')).toEqual(['0', '1', '2', '3']); // 3: ls's own directory
    expect(ctr(['run', '-d', '--runtime', SHIM_RUNTIME, IMAGE, 'shim-a', 'sleep', '60']).status).toBe(0);
    expect(ctr(['run', '-d', '--runtime', SHIM_RUNTIME, IMAGE, 'shim-b', 'sleep', '60']).status).toBe(0);
    expect(shimPids().length).toBe(1);
    for (const t of ['shim-a', 'shim-b']) {
      ctr(['task', 'kill', '-s', 'SIGKILL', t]);
    }
  });

  test('containerd restarts while a task runs: it finds the shim again, and kill and delete work', async () => {
    const t = 'shim-restart';
    expect(ctr(['run', '-d', '--runtime', SHIM_RUNTIME, IMAGE, t, 'sleep', '60']).status).toBe(0);
    process.kill(daemon.pid!, 'SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
    fs.rmSync(sock, { force: true });
    await startDaemon();
    expect(ctr(['task', 'ls']).stdout).toMatch(new RegExp(`${t}\\s+\\d+\\s+RUNNING`));
    expect(ctr(['task', 'exec', '--exec-id', 'after', t, 'echo', 'still here']).stdout).toBe('still here\n');
    expect(ctr(['task', 'kill', '-s', 'SIGKILL', t]).status).toBe(0);
    await waitStopped(t);
    expect(ctr(['task', 'delete', t]).status).toBe(0);
    expect(ctr(['containers', 'delete', t]).status).toBe(0);
    for (const x of ['shim-a', 'shim-b']) {
      ctr(['task', 'delete', x]);
      ctr(['containers', 'delete', x]);
    }
  }, 60000);

  test('the shim killed: containerd reports the task gone, and nothing is left', async () => {
    const t = 'shim-killed';
    expect(ctr(['run', '-d', '--runtime', SHIM_RUNTIME, IMAGE, t, 'sleep', '60']).status).toBe(0);
    const pid = Number(
      /\s(\d+)\s+RUNNING/.exec(
        ctr(['task', 'ls'])
          .stdout.split('\n')
          .find((l) => l.startsWith(t)) ?? '',
      )?.[1],
    );
    expect(pid).toBeGreaterThan(1);
    for (const s of shimPids()) process.kill(s, 'SIGKILL');
    // containerd sees the connection go, runs the binary's delete, and forgets the task
    for (let i = 0; i < 100 && ctr(['task', 'ls']).stdout.includes(t); i++) await new Promise((r) => setTimeout(r, 50));
    expect(ctr(['task', 'ls']).stdout).not.toContain(t);
    expect(ctr(['containers', 'delete', t]).status).toBe(0);
    // containerd forgets the task first; its clean-up (the binary's delete) may still be running
    const gone = () => !fs.existsSync(`/proc/${pid}`) || /^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    for (let i = 0; i < 200 && !(gone() && !fs.existsSync(`/run/containerd/tsrunc/${NS}/${t}`)); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(gone()).toBe(true);
    expect(fs.existsSync(`/run/containerd/tsrunc/${NS}/${t}`)).toBe(false);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(`/${t}/rootfs`);
    const base = V2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/memory';
    expect(fs.existsSync(join(base, NS, t))).toBe(false);
  }, 60000);
});

test("the namespace's parent cgroup keeps the device policy it was born with, after every route's scenarios", async () => {
  // On v1 a container's device rules belong to its own cgroup: a parent that lost "a *:* rwm"
  // would refuse every later container of the namespace (EPERM writing devices.allow).
  if (V2) return; // no devices controller: the eBPF policy is the container's cgroup's own
  const t = 'parent-policy';
  expect(ctr(['run', '-d', '--runtime', SHIM_RUNTIME, IMAGE, t, 'sleep', '60']).status).toBe(0);
  expect(fs.readFileSync(join('/sys/fs/cgroup/devices', NS, 'devices.list'), 'utf8')).toBe('a *:* rwm\n');
  ctr(['task', 'kill', '-s', 'SIGKILL', t]);
  for (let i = 0; i < 100 && ctr(['task', 'delete', t]).status !== 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(ctr(['containers', 'delete', t]).status).toBe(0);
});

test('the README documents the containerd configuration', () => {
  const readme = fs.readFileSync(join(REPO, 'README.md'), 'utf8');
  expect(readme).toMatch(/BinaryName = ".*tsrunc"/);
  expect(readme).toMatch(/--runc-binary/);
});
