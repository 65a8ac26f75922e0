// containerd's view of our shim (bin/containerd-shim-tsrunc-v2), without containerd: the test is
// containerd. It runs the binary's `start` in a bundle, speaks ttrpc to the address it prints
// (Task service calls in containerd's order, with the namespace metadata), plays containerd's
// events service on TTRPC_ADDRESS, and holds the fifos a client would. Real containers, real shim.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import { join } from 'path';
import { REPO, bundleTracker, uniqueId, type Bundle } from '../helpers/bundle';
import { Proto } from '../../src/shim/proto';
import { lab } from '../helpers/cri';
import { Code, RpcError, TtrpcClient, TtrpcServer } from '../../src/shim/ttrpc';

const SHIM = join(REPO, 'bin', 'containerd-shim-tsrunc-v2');
const NS = `tsr-shim-${process.pid}`;
const TASK = 'containerd.task.v2.Task';
const proto = Proto.load(join(REPO, 'dist', 'shim', 'protos.json'));
const tracked = bundleTracker();
// ids unique to the run: a container's cgroup is /<id>
const ID = Object.fromEntries(['life', 'ex', 'tty', 'pr', 'bin', 'oom', 'idle', 'dead', 'idle2'].map((n) => [n, uniqueId(n)])) as Record<
  string,
  string
>;
let dir: string;
let events: { topic: string; type: string; event: Record<string, unknown> }[] = [];
let eventServer: net.Server;
let client: TtrpcClient;
let address = '';

function shimBin(args: string[], cwd: string, env: Record<string, string> = {}) {
  return spawnSync(SHIM, ['-namespace', NS, '-address', join(dir, 'containerd.sock'), '-publish-binary', '/bin/false', ...args], {
    cwd,
    encoding: 'buffer',
    env: { ...process.env, TTRPC_ADDRESS: join(dir, 'events.sock'), TSRUNC_SHIM_IDLE_MS: '1500', ...env },
    timeout: 30000,
  });
}

async function call<T = Record<string, unknown>>(
  method: string,
  reqType: string,
  resType: string,
  req: Record<string, unknown>,
): Promise<T> {
  const full = (t: string) => (t.startsWith('google.') ? t : `containerd.task.v2.${t}`);
  const res = await client.call(TASK, method, proto.encode(full(reqType), req), { 'containerd-namespace-ttrpc': NS }, 30000);
  return proto.decode<T>(full(resType), res);
}

async function rpcError(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RpcError) return e.code;
    throw e;
  }
  return Code.OK;
}

/** A client's fifos: made, the output ones opened for reading before the task exists (as ctr does). */
function fifos(name: string, withStdin = false) {
  const paths = {
    stdin: withStdin ? join(dir, `${name}-stdin`) : '',
    stdout: join(dir, `${name}-stdout`),
    stderr: join(dir, `${name}-stderr`),
  };
  for (const p of Object.values(paths)) if (p) spawnSync('mkfifo', [p]);
  const out = fs.openSync(paths.stdout, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const err = fs.openSync(paths.stderr, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const read = (fd: number) => {
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(65536);
    for (;;) {
      try {
        const n = fs.readSync(fd, buf);
        if (n <= 0) break;
        chunks.push(Buffer.from(buf.subarray(0, n)));
      } catch {
        break; // EAGAIN: nothing more now
      }
    }
    return Buffer.concat(chunks).toString();
  };
  return {
    paths,
    stdout: () => read(out),
    stderr: () => read(err),
    close: () => {
      fs.closeSync(out);
      fs.closeSync(err);
    },
  };
}

function processSpec(args: string[]): Record<string, unknown> {
  const spec = { args, cwd: '/', env: ['PATH=/bin:/usr/bin'], user: { uid: 0, gid: 0 } };
  return { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Process', value: Buffer.from(JSON.stringify(spec)) };
}

async function createTask(id: string, b: Bundle, io: { stdin: string; stdout: string; stderr: string }, terminal = false) {
  const r = shimBin(['-id', id, 'start'], b.dir);
  expect({ status: r.status, stderr: r.stderr.toString() }).toEqual({ status: 0, stderr: '' });
  const addr = r.stdout.toString();
  expect(addr).toMatch(/^unix:\/\/\/run\/containerd\/tsrunc\/s\/[0-9a-f]{24}$/);
  expect(fs.readFileSync(join(b.dir, 'address'), 'utf8')).toBe(addr); // containerd reads it back after a restart
  if (addr !== address || !client || client.closed) {
    client?.close();
    client = await TtrpcClient.connect(proto, addr);
    address = addr;
  }
  return call<{ pid: number }>('Create', 'CreateTaskRequest', 'CreateTaskResponse', { id, bundle: b.dir, rootfs: [], terminal, ...io });
}

async function removeTask(id: string) {
  await call('Delete', 'DeleteRequest', 'DeleteResponse', { id });
  await call('Shutdown', 'ShutdownRequest', 'google.protobuf.Empty', { id });
}

const until = async (cond: () => boolean, ms = 10000) => {
  for (const end = Date.now() + ms; !cond() && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
};

beforeAll(async () => {
  dir = fs.mkdtempSync(join(os.tmpdir(), 'tsr-test-shim-'));
  const server = new TtrpcServer(proto);
  server.register('containerd.services.events.ttrpc.v1.Events', 'Forward', (payload, ctx) => {
    const { envelope } = proto.decode<{ envelope: { topic: string; namespace: string; event: { type_url: string; value: Buffer } } }>(
      'containerd.services.events.ttrpc.v1.ForwardRequest',
      payload,
    );
    expect(ctx.metadata['containerd-namespace-ttrpc']).toBe(NS);
    events.push({
      topic: envelope.topic,
      type: envelope.event.type_url,
      event: proto.decode(envelope.event.type_url, envelope.event.value),
    });
    return proto.encode('google.protobuf.Empty', {});
  });
  eventServer = net.createServer((s) => server.handle(s));
  await new Promise<void>((r) => eventServer.listen(join(dir, 'events.sock'), r));
});

afterAll(async () => {
  client?.close();
  const pidFile = address.replace('unix://', '') + '.pid';
  if (fs.existsSync(pidFile)) {
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone
    }
  }
  await new Promise<void>((r) => eventServer.close(() => r()));
  tracked.removeAll();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(`/run/containerd/tsrunc/${NS}`, { recursive: true, force: true });
  // this run's group (its own containerd address): the lock, and what a killed shim left
  const sock = address.replace('unix://', '');
  for (const f of ['', '.lock', '.log', '.start', '.pid']) fs.rmSync(`${sock}${f}`, { force: true });
});

describe('the Task service as containerd drives it', () => {
  test('create, wait (before start), start, state, delete: output, exit status, and the events in order', async () => {
    const b = tracked.make(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    const io = fifos(ID.life);
    events = [];
    const { pid } = await createTask(ID.life, b, io.paths);
    expect(pid).toBeGreaterThan(1);
    const conn = await call<{ shimPid: number; taskPid: number }>('Connect', 'ConnectRequest', 'ConnectResponse', { id: ID.life });
    expect(conn.taskPid).toBe(pid);
    const created = await call<{ status: number }>('State', 'StateRequest', 'StateResponse', { id: ID.life });
    expect(created.status).toBe(1); // CREATED
    const waited = call<{ exitStatus: number }>('Wait', 'WaitRequest', 'WaitResponse', { id: ID.life });
    expect((await call<{ pid: number }>('Start', 'StartRequest', 'StartResponse', { id: ID.life })).pid).toBe(pid);
    expect((await waited).exitStatus).toBe(3);
    const st = await call<{ status: number; exitStatus: number; pid: number }>('State', 'StateRequest', 'StateResponse', { id: ID.life });
    expect(st).toMatchObject({ status: 3, exitStatus: 3, pid }); // STOPPED
    expect({ out: io.stdout(), err: io.stderr() }).toEqual({ out: 'out\n', err: 'err\n' });
    const del = await call<{ exitStatus: number; pid: number }>('Delete', 'DeleteRequest', 'DeleteResponse', { id: ID.life });
    expect(del).toMatchObject({ exitStatus: 3, pid });
    await call('Shutdown', 'ShutdownRequest', 'google.protobuf.Empty', { id: ID.life });
    io.close();
    await until(() => events.length >= 4);
    expect(events.map((e) => [e.topic, e.type])).toEqual([
      ['/tasks/create', 'containerd.events.TaskCreate'],
      ['/tasks/start', 'containerd.events.TaskStart'],
      ['/tasks/exit', 'containerd.events.TaskExit'],
      ['/tasks/delete', 'containerd.events.TaskDelete'],
    ]);
    expect(events[2].event).toMatchObject({ containerId: ID.life, id: ID.life, pid, exitStatus: 3 });
    expect(fs.existsSync(`/run/containerd/tsrunc/${NS}/${ID.life}`)).toBe(false);
    // The binary's delete after a task the shim removed: nothing left, an empty DeleteResponse, no Node started.
    const d = shimBin(['-id', ID.life, '-bundle', b.dir, 'delete'], b.dir, { TSRUNC_NODE: 'no-such-node' });
    expect({ status: d.status, out: d.stdout.length }).toEqual({ status: 0, out: 0 });
  });

  test('exec: stdin fed and closed by CloseIO, pids name the exec, kill, and the exec exit before init', async () => {
    const b = tracked.make(['sleep', '60']);
    const io = fifos(ID.ex);
    events = [];
    await createTask(ID.ex, b, io.paths);
    await call('Start', 'StartRequest', 'StartResponse', { id: ID.ex });
    const eio = fifos('ex-e1', true);
    await call('Exec', 'ExecProcessRequest', 'google.protobuf.Empty', {
      id: ID.ex,
      execId: 'e1',
      ...eio.paths,
      spec: processSpec(['sh', '-c', 'cat; echo " cat done"']),
    });
    expect(
      await rpcError(call('Exec', 'ExecProcessRequest', 'google.protobuf.Empty', { id: ID.ex, execId: 'e1', spec: processSpec(['true']) })),
    ).toBe(Code.ALREADY_EXISTS);
    const { pid: epid } = await call<{ pid: number }>('Start', 'StartRequest', 'StartResponse', { id: ID.ex, execId: 'e1' });
    const pids = await call<{ processes: { pid: number; info?: { type_url: string; value: Buffer } }[] }>(
      'Pids',
      'PidsRequest',
      'PidsResponse',
      { id: ID.ex },
    );
    const mine = pids.processes.find((p) => p.info);
    expect(proto.decode(mine!.info!.type_url, mine!.info!.value)).toEqual({ execId: 'e1' });
    const stdin = fs.openSync(eio.paths.stdin, fs.constants.O_WRONLY);
    fs.writeSync(stdin, 'hello');
    await call('CloseIO', 'CloseIORequest', 'google.protobuf.Empty', { id: ID.ex, execId: 'e1', stdin: true });
    const w = await call<{ exitStatus: number }>('Wait', 'WaitRequest', 'WaitResponse', { id: ID.ex, execId: 'e1' });
    expect(w.exitStatus).toBe(0);
    expect(eio.stdout()).toBe('hello cat done\n');
    fs.closeSync(stdin);
    await call('Delete', 'DeleteRequest', 'DeleteResponse', { id: ID.ex, execId: 'e1' });
    expect(await rpcError(call('State', 'StateRequest', 'StateResponse', { id: ID.ex, execId: 'e1' }))).toBe(Code.NOT_FOUND);
    // a second exec that init's death ends: its exit is published before init's
    await call('Exec', 'ExecProcessRequest', 'google.protobuf.Empty', {
      id: ID.ex,
      execId: 'e2',
      stdout: '',
      stderr: '',
      spec: processSpec(['sleep', '60']),
    });
    await call('Start', 'StartRequest', 'StartResponse', { id: ID.ex, execId: 'e2' });
    await call('Kill', 'KillRequest', 'google.protobuf.Empty', { id: ID.ex, signal: 9 });
    expect((await call<{ exitStatus: number }>('Wait', 'WaitRequest', 'WaitResponse', { id: ID.ex })).exitStatus).toBe(137);
    expect(await rpcError(call('Kill', 'KillRequest', 'google.protobuf.Empty', { id: ID.ex, signal: 9 }))).toBe(Code.NOT_FOUND);
    await removeTask(ID.ex);
    eio.close();
    io.close();
    await until(() => events.filter((e) => e.topic === '/tasks/exit').length >= 3);
    const exits = events.filter((e) => e.topic === '/tasks/exit').map((e) => e.event.id);
    expect(exits).toEqual(['e1', 'e2', ID.ex]);
    expect(events.map((e) => e.topic)).toEqual(expect.arrayContaining(['/tasks/exec-added', '/tasks/exec-started']));
    expect(epid).toBeGreaterThan(1);
  });

  test('a terminal: the pty relayed to stdout, sized by ResizePty', async () => {
    const b = tracked.make(['sh', '-c', 'stty size; tty']);
    b.config.process.terminal = true;
    b.write();
    const io = fifos(ID.tty);
    await createTask(ID.tty, b, { ...io.paths, stderr: '' }, true);
    await call('ResizePty', 'ResizePtyRequest', 'google.protobuf.Empty', { id: ID.tty, width: 100, height: 40 });
    await call('Start', 'StartRequest', 'StartResponse', { id: ID.tty });
    expect((await call<{ exitStatus: number }>('Wait', 'WaitRequest', 'WaitResponse', { id: ID.tty })).exitStatus).toBe(0);
    let out = '';
    await until(() => (out += io.stdout()).includes('/dev/pts/0'), 3000);
    expect(out).toBe('40 100\n/dev/pts/0\n'); // ONLCR cleared, as runc
    // a resize after the exit is no error (ctr's first resize may come late)
    await call('ResizePty', 'ResizePtyRequest', 'google.protobuf.Empty', { id: ID.tty, width: 80, height: 24 });
    await removeTask(ID.tty);
    io.close();
  });

  test('pause, resume and update, with their events; errors in the codes containerd maps', async () => {
    const b = tracked.make(['sleep', '60']);
    const io = fifos(ID.pr);
    events = [];
    await createTask(ID.pr, b, io.paths);
    expect(await rpcError(createTask(ID.pr, b, io.paths))).toBe(Code.ALREADY_EXISTS);
    await call('Start', 'StartRequest', 'StartResponse', { id: ID.pr });
    await call('Pause', 'PauseRequest', 'google.protobuf.Empty', { id: ID.pr });
    expect((await call<{ status: number }>('State', 'StateRequest', 'StateResponse', { id: ID.pr })).status).toBe(4); // PAUSED
    await call('Resume', 'ResumeRequest', 'google.protobuf.Empty', { id: ID.pr });
    expect((await call<{ status: number }>('State', 'StateRequest', 'StateResponse', { id: ID.pr })).status).toBe(2); // RUNNING
    const resources = {
      type_url: 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources',
      value: Buffer.from(JSON.stringify({ pids: { limit: 42 } })),
    };
    await call('Update', 'UpdateTaskRequest', 'google.protobuf.Empty', { id: ID.pr, resources });
    // Stats: containerd's cgroups Metrics, as ctr and the CRI plugin decode them
    const v2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
    const { stats } = await call<{ stats: { type_url: string; value: Buffer } }>('Stats', 'StatsRequest', 'StatsResponse', { id: ID.pr });
    expect(stats.type_url).toBe(v2 ? 'io.containerd.cgroups.v2.Metrics' : 'io.containerd.cgroups.v1.Metrics');
    const m = proto.decode<Record<string, any>>(stats.type_url, stats.value);
    expect(m.pids).toEqual({ current: 1, limit: 42 });
    if (v2) {
      expect(m.memory.usage).toBeGreaterThan(0);
      expect(m.cpu.usageUsec).toBeGreaterThan(0);
    } else {
      expect(m.memory.usage.usage).toBeGreaterThan(0);
      expect(m.memory.totalRss).toBeGreaterThanOrEqual(0);
      expect(m.cpu.usage.total).toBeGreaterThan(0);
      expect(m.cpu.usage.perCpu.length).toBeGreaterThan(0);
    }
    const pidsMax = fs.readFileSync(
      join(fs.existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/pids', ID.pr, 'pids.max'),
      'utf8',
    );
    expect(pidsMax.trim()).toBe('42');
    expect(await rpcError(call('Delete', 'DeleteRequest', 'DeleteResponse', { id: ID.pr }))).toBe(Code.FAILED_PRECONDITION);
    expect(await rpcError(call('Checkpoint', 'CheckpointTaskRequest', 'google.protobuf.Empty', { id: ID.pr }))).toBe(Code.UNIMPLEMENTED);
    expect(await rpcError(call('State', 'StateRequest', 'StateResponse', { id: 'nope' }))).toBe(Code.NOT_FOUND);
    expect(
      await rpcError(
        call('Exec', 'ExecProcessRequest', 'google.protobuf.Empty', {
          id: ID.pr,
          execId: 'x',
          spec: { type_url: 'foo', value: Buffer.from('{}') },
        }),
      ),
    ).toBe(Code.INVALID_ARGUMENT);
    const unknown = await client.call('containerd.task.v2.Nope', 'Nope', new Uint8Array(0)).then(
      () => 0,
      (e: RpcError) => e.code,
    );
    expect(unknown).toBe(Code.UNIMPLEMENTED);
    await call('Kill', 'KillRequest', 'google.protobuf.Empty', { id: ID.pr, signal: 9, all: true });
    await call('Wait', 'WaitRequest', 'WaitResponse', { id: ID.pr });
    await removeTask(ID.pr);
    io.close();
    await until(() => events.some((e) => e.topic === '/tasks/delete'));
    expect(events.map((e) => e.topic)).toEqual(expect.arrayContaining(['/tasks/paused', '/tasks/resumed']));
  });

  test('binary:// log URIs: a logging program gets stdout on fd 3 and stderr on 4, and is waited for on 5', async () => {
    const logger = join(dir, 'logger.sh');
    fs.writeFileSync(
      logger,
      '#!/bin/sh\nout=$2\nsleep 0.2\necho "$CONTAINER_NAMESPACE/$CONTAINER_ID" > "$out.who"\nexec 5>&-\ncat <&3 > "$out.stdout" &\ncat <&4 > "$out.stderr"\nwait\n',
      { mode: 0o755 },
    );
    const log = join(dir, 'logged');
    const uri = `binary://${logger}?file=${encodeURIComponent(log)}`;
    const b = tracked.make(['sh', '-c', 'echo to-stdout; echo to-stderr >&2']);
    await createTask(ID.bin, b, { stdin: '', stdout: uri, stderr: uri });
    // the logger was ready (fd 5 closed) before the task was created
    expect(fs.readFileSync(`${log}.who`, 'utf8')).toBe(`${NS}/${ID.bin}\n`);
    await call('Start', 'StartRequest', 'StartResponse', { id: ID.bin });
    expect((await call<{ exitStatus: number }>('Wait', 'WaitRequest', 'WaitResponse', { id: ID.bin })).exitStatus).toBe(0);
    const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
    await until(() => read(`${log}.stdout`) !== '' && read(`${log}.stderr`) !== '');
    expect({ out: read(`${log}.stdout`), err: read(`${log}.stderr`) }).toEqual({ out: 'to-stdout\n', err: 'to-stderr\n' });
    await removeTask(ID.bin);
  });

  test('an OOM kill: TaskOOM, before the exit', async () => {
    const b = tracked.make(['sh', '-c', 'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived']);
    b.config.linux.resources = { memory: { limit: 16 * 1024 * 1024 } };
    b.write();
    const io = fifos(ID.oom);
    events = [];
    await createTask(ID.oom, b, io.paths);
    await call('Start', 'StartRequest', 'StartResponse', { id: ID.oom });
    expect((await call<{ exitStatus: number }>('Wait', 'WaitRequest', 'WaitResponse', { id: ID.oom })).exitStatus).toBe(137);
    await removeTask(ID.oom);
    io.close();
    await until(() => events.some((e) => e.topic === '/tasks/delete'));
    expect(events.map((e) => e.topic).filter((t) => t === '/tasks/oom' || t === '/tasks/exit')).toEqual(['/tasks/oom', '/tasks/exit']);
    expect(events.find((e) => e.topic === '/tasks/oom')?.event).toEqual({ containerId: ID.oom });
  });
});

describe('the shim process', () => {
  test('start answers from a running shim without Node; an idle shim leaves after Shutdown', async () => {
    const b = tracked.make(['true']);
    const pidFile = () => address.replace('unix://', '') + '.pid';
    const io = fifos(ID.idle);
    await createTask(ID.idle, b, io.paths);
    const shimPid = fs.readFileSync(pidFile(), 'utf8');
    // the same group's next start: no node to be found, and none needed
    const b2 = tracked.make(['true']);
    const again = shimBin(['-id', ID.idle2, 'start'], b2.dir, { TSRUNC_NODE: 'no-such-node' });
    expect({ status: again.status, out: again.stdout.toString() }).toEqual({ status: 0, out: address });
    expect(fs.readFileSync(pidFile(), 'utf8')).toBe(shimPid);
    await call('Start', 'StartRequest', 'StartResponse', { id: ID.idle });
    await call('Wait', 'WaitRequest', 'WaitResponse', { id: ID.idle });
    await removeTask(ID.idle);
    io.close();
    // TSRUNC_SHIM_IDLE_MS=1500: gone a little after that, its socket first
    await until(() => !fs.existsSync(pidFile()), 15000);
    expect(fs.existsSync(address.replace('unix://', ''))).toBe(false);
    // gone (a zombie until PID 1 reaps it: the launcher's subshell, its parent, is long gone)
    const dead = () => !fs.existsSync(`/proc/${shimPid}`) || /^State:\s+Z/m.test(fs.readFileSync(`/proc/${shimPid}/status`, 'utf8'));
    await until(dead, 5000);
    expect(dead()).toBe(true);
  }, 30000);

  test('grouping: the containers of a pod share a shim, other pods and standalone containers have their own', async () => {
    const started: string[] = [];
    const startIn = (sandbox: string | undefined) => {
      const b = tracked.make(['true'], (c) => {
        if (sandbox) c.annotations = { 'io.kubernetes.cri.sandbox-id': sandbox };
      });
      // containerd writes config.json on one line, which the launcher reads without sed
      fs.writeFileSync(join(b.dir, 'config.json'), JSON.stringify(b.config));
      const r = shimBin(['-id', uniqueId('grp'), 'start'], b.dir);
      expect(r.status).toBe(0);
      started.push(r.stdout.toString());
      return r.stdout.toString();
    };
    const pod1 = startIn('sandbox-one');
    expect(startIn('sandbox-one')).toBe(pod1);
    const pod2 = startIn('sandbox-two');
    const alone = startIn(undefined);
    expect(new Set([pod1, pod2, alone]).size).toBe(3);
    // a hand-written config.json (pretty-printed) names its pod too
    const b = tracked.make(['true'], (c) => (c.annotations = { 'io.kubernetes.cri.sandbox-id': 'sandbox-two' }));
    expect(shimBin(['-id', uniqueId('grp'), 'start'], b.dir).stdout.toString()).toBe(pod2);
    // shims nobody used leave by themselves (TSRUNC_SHIM_IDLE_MS after their last start)
    const pidFiles = [pod1, pod2].map((a) => a.replace('unix://', '') + '.pid');
    await until(() => pidFiles.every((p) => !fs.existsSync(p)), 15000);
    expect(pidFiles.filter((p) => fs.existsSync(p))).toEqual([]);
    for (const a of [pod1, pod2]) fs.rmSync(a.replace('unix://', '') + '.lock', { force: true });
  }, 30000);

  test("a new pod's group goes to the spare shim started ahead; a dead spare is replaced; a spare leaves with its containerd", async () => {
    // the address exists, as containerd's socket does while it runs: a spare stays for it (the
    // earlier tests' spares saw none, and leave: waited for first)
    const containerd = join(dir, 'containerd.sock');
    const spares = () => lab.processes(`spare -address ${containerd}`);
    await until(() => spares().length === 0);
    expect(spares()).toEqual([]);
    fs.writeFileSync(containerd, '');
    const spare = `/run/containerd/tsrunc/s/spare-${containerd.split('/').join('+')}`;
    const sparePid = (): number => {
      try {
        const pid = Number(fs.readFileSync(`${spare}.pid`, 'utf8'));
        return pid > 0 && fs.existsSync(`/proc/${pid}`) && fs.existsSync(`${spare}.${pid}.fifo`) ? pid : 0;
      } catch {
        return 0;
      }
    };
    const groups: string[] = [];
    let first = 0;
    /** The pre-born inits (process/preborn.ts) waiting as children of pid. */
    const prebornOf = (pid: number): number[] =>
      fs
        .readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            const status = fs.readFileSync(`/proc/${p}/status`, 'utf8');
            return /^Name:\ttsrunc:preborn$/m.test(status) && new RegExp(`^PPid:\\t${pid}$`, 'm').test(status);
          } catch {
            return false;
          }
        })
        .map(Number);
    const startPod = (): { sock: string; pid: number } => {
      const b = tracked.make(['true'], (c) => (c.annotations = { 'io.kubernetes.cri.sandbox-id': uniqueId('pod') }));
      fs.writeFileSync(join(b.dir, 'config.json'), JSON.stringify(b.config));
      const r = shimBin(['-id', uniqueId('spare'), 'start'], b.dir);
      expect(r.status).toBe(0);
      const sock = r.stdout.toString().replace('unix://', '');
      groups.push(sock);
      return { sock, pid: Number(fs.readFileSync(`${sock}.pid`, 'utf8')) };
    };
    try {
      startPod(); // makes a spare if none is ready
      await until(() => sparePid() > 0);
      first = sparePid();
      expect(first).toBeGreaterThan(0);
      // the next pod is served by that very process, now a shim of its group (and named so)
      const served = startPod();
      expect(served.pid).toBe(first);
      expect(fs.readFileSync(`/proc/${first}/cmdline`, 'utf8')).toContain(`serve -namespace ${NS}`);
      // with the inits it forked while it waited, for the group's first Creates (the pod's sandbox and first container)
      expect(prebornOf(first)).toHaveLength(2);
      // and another spare is on its way
      await until(() => sparePid() > 0 && sparePid() !== first);
      const second = sparePid();
      expect(second).not.toBe(first);
      // a spare that died: the next pod gets a shim of its own, and a new spare comes
      process.kill(second, 'SIGKILL');
      await until(() => sparePid() !== second);
      const own = startPod();
      expect([own.pid === second, fs.existsSync(`/proc/${own.pid}`)]).toEqual([false, true]);
      await until(() => sparePid() > 0 && sparePid() !== second);
      const third = sparePid();
      expect(third).toBeGreaterThan(0);
      // the killed spare's fifo went when the next one was published
      expect(fs.existsSync(`${spare}.${second}.fifo`)).toBe(false);
      // a second spare (two new pods at once start two): only one is published, the other leaves
      const extra = spawnSync(
        process.execPath,
        ['--single-threaded', '--expose-gc', join(REPO, 'dist', 'shim', 'main.js'), 'spare', '-address', containerd, '-socket', spare],
        { encoding: 'utf8', timeout: 30000, env: { ...process.env, TTRPC_ADDRESS: join(dir, 'events.sock') } },
      );
      expect([extra.status, sparePid()]).toEqual([0, third]);
      // containerd gone (its socket): the spare leaves, taking its files
      fs.rmSync(containerd);
      await until(() => !fs.existsSync(`/proc/${third}`) || /^State:\s+Z/m.test(fs.readFileSync(`/proc/${third}/status`, 'utf8')));
      expect([`${spare}.pid`, `${spare}.${third}.fifo`, `${spare}.log`].filter((p) => fs.existsSync(p))).toEqual([]);
    } finally {
      fs.rmSync(containerd, { force: true });
      // the pods' shims had no task: they leave by themselves (TSRUNC_SHIM_IDLE_MS), their pre-born inits with them
      await until(() => groups.every((g) => !fs.existsSync(`${g}.pid`)), 15000);
      await until(() => prebornOf(first).length === 0);
      expect(prebornOf(first)).toEqual([]);
      for (const g of groups) fs.rmSync(`${g}.lock`, { force: true });
      fs.rmSync(`${spare}.lock`, { force: true });
      fs.rmSync(`${spare}.log`, { force: true });
      const s = join('/run/containerd/tsrunc/s');
      for (const n of fs.readdirSync(s))
        if (join(s, n).startsWith(`${spare}.`) && n.endsWith('.fifo')) fs.rmSync(join(s, n), { force: true });
    }
  }, 60000);

  test('a killed shim: the binary delete removes what its task left, and says SIGKILL', async () => {
    const b = tracked.make(['sleep', '60']);
    const io = fifos(ID.dead);
    const { pid } = await createTask(ID.dead, b, io.paths);
    await call('Start', 'StartRequest', 'StartResponse', { id: ID.dead });
    const shimPid = Number(fs.readFileSync(address.replace('unix://', '') + '.pid', 'utf8'));
    process.kill(shimPid, 'SIGKILL');
    client.close();
    const d = shimBin(['-id', ID.dead, '-bundle', b.dir, 'delete'], b.dir);
    expect(d.status).toBe(0);
    const res = proto.decode<{ exitStatus: number }>('containerd.task.v2.DeleteResponse', d.stdout);
    expect(res.exitStatus).toBe(137);
    expect(fs.existsSync(`/run/containerd/tsrunc/${NS}/${ID.dead}`)).toBe(false);
    await until(() => !fs.existsSync(`/proc/${pid}`) || /^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8')));
    expect(!fs.existsSync(`/proc/${pid}`) || /^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))).toBe(true);
    io.close();
  });
});
