// exec: new processes inside running containers, as people and containerd's shim call it.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import { execFileSync, spawnSync } from 'child_process';
import { join } from 'path';
import { makeBundle, uniqueId, type Bundle } from '../helpers/bundle';
import { Runtime, leftovers } from '../helpers/runtime';
import { ConsoleSocket } from '../helpers/console';

const rt = new Runtime();
const bundles: Bundle[] = [];
let box: { id: string; b: Bundle };
let ubox: { id: string; b: Bundle };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function started(args: string[], edit?: Parameters<typeof makeBundle>[1]): { id: string; b: Bundle } {
  const b = makeBundle(args, edit);
  bundles.push(b);
  const id = uniqueId();
  expect(rt.create(id, b.dir).status).toBe(0);
  rt.ok(['start', id]);
  return { id, b };
}

beforeAll(() => {
  box = started(['sleep', '60'], (c) => {
    c.hostname = 'exec-box';
    c.process.env.push('FROM_CONFIG=yes');
  });
  ubox = started(['sleep', '60'], (c) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  });
});
afterAll(() => {
  rt.cleanup();
  for (const b of bundles) b.remove();
});

describe('exec', () => {
  test("joins the container's namespaces and cgroup, inherits its process settings, returns the status", () => {
    const r = rt.run(['exec', box.id, 'sh', '-c', 'hostname; echo $FROM_CONFIG; cat /proc/1/comm; grep CapEff /proc/self/status; exit 5']);
    expect(r.status).toBe(5);
    expect(r.stdout).toBe('exec-box\nyes\nsleep\nCapEff:\t0000000020000420\n');
    const pids = JSON.parse(rt.ok(['ps', '--format', 'json', box.id])) as number[];
    expect(pids).toHaveLength(1); // the exec'd process has gone again
  });

  test('no signal is left ignored or blocked by the runtime, in a user namespace too', () => {
    // Not through sh, which ignores SIGQUIT itself.
    for (const { id } of [box, ubox])
      expect(rt.run(['exec', id, 'grep', '-E', 'SigBlk|SigIgn', '/proc/self/status']).stdout).toBe(
        'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n',
      );
  });

  test('flags: --env --user --cwd --additional-gids --cap --no-new-privs, and options of the command stay its own', () => {
    const r = rt.run([
      'exec',
      '-e',
      'A=1',
      '--env',
      'B=2',
      '-u',
      '1000:1001',
      '-g',
      '7',
      '--cwd',
      '/tmp',
      '--cap',
      'CAP_NET_RAW',
      '--no-new-privs',
      box.id,
      'sh',
      '-c',
      'echo $A$B $(id -u):$(id -g) $(id -G) $(pwd); grep -E "CapBnd|NoNewPrivs" /proc/self/status',
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('12 1000:1001 1001 7 /tmp\nCapBnd:\t0000000020002420\nNoNewPrivs:\t1\n');
  });

  test("containerd's form: --process FILE --detach --pid-file", async () => {
    const file = join(box.b.dir, 'process.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        args: ['sh', '-c', 'echo detached > /dev/shm/out; sleep 5'],
        cwd: '/',
        user: { uid: 0, gid: 0 },
        env: ['PATH=/bin'],
      }),
    );
    const pidFile = join(box.b.dir, 'exec.pid');
    const out = fs.openSync(join(box.b.dir, 'exec.out'), 'w');
    const r = spawnSync(rt.binary, ['--root', rt.root, 'exec', '--process', file, '--detach', '--pid-file', pidFile, box.id], {
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    expect(r.status).toBe(0);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    expect(JSON.parse(rt.ok(['ps', '--format', 'json', box.id]))).toContain(pid);
    await sleep(200);
    expect(rt.ok(['exec', box.id, 'cat', '/dev/shm/out'])).toBe('detached\n');
    process.kill(pid, 'SIGKILL');
  });

  test('an invalid process file or a missing program are errors naming the problem', () => {
    const file = join(box.b.dir, 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ args: ['true'], cwd: 'relative', user: { uid: 0, gid: 0 } }));
    expect(rt.run(['exec', '--process', file, box.id]).stderr).toMatch(/bad.json is invalid: \/cwd: must match pattern/);
    const r = rt.run(['exec', box.id, '/no/such']);
    expect(r.status).toBe(255); // runc's status for exec's own failures
    expect(r.stderr).toMatch(/exec failed: exec: "\/no\/such": no such file or directory/);
    expect(rt.run(['exec', 'no-such-container', 'true']).stderr).toMatch(/does not exist/);
    // (uid_t)-1 would leave the process root; a NUL would cut the argument
    expect(rt.run(['exec', '--user', '4294967295', box.id, 'id', '-u']).stderr).toMatch(/--user "4294967295": ids are 0-2147483647/);
    fs.writeFileSync(file, JSON.stringify({ args: ['echo', 'a\u0000b'], cwd: '/' }));
    expect(rt.run(['exec', '--process', file, box.id]).stderr).toMatch(/bad.json: args\[1\]: contains a NUL byte/);
  });

  test("--tty with --console-socket: the exec'd process has its own pty", () => {
    const sock = new ConsoleSocket(join(box.b.dir, 'exec-console.sock'));
    const r = rt.run(['exec', '-t', '--detach', '--console-socket', sock.path, box.id, 'sh', '-c', 'tty; sleep 1']);
    expect(r.status).toBe(0);
    const { fd } = sock.receive();
    const buf = Buffer.alloc(256);
    const n = fs.readSync(fd, buf, 0, 256, null);
    expect(buf.toString('utf8', 0, n).trim()).toMatch(/^\/dev\/pts\/\d+$/);
    fs.closeSync(fd);
  });

  test('--process inherits what the file leaves out (capabilities, rlimits, no_new_privs), as runc', () => {
    const file = join(box.b.dir, 'nocaps.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        args: ['grep', '-E', 'CapEff|CapBnd', '/proc/self/status'],
        cwd: '/',
        user: { uid: 0, gid: 0 },
        env: ['PATH=/bin'],
      }),
    );
    const r = rt.run(['exec', '--process', file, box.id]);
    expect(r.stderr).toBe('');
    // the container's sets, not the runtime's full root set
    expect(r.stdout).toBe('CapEff:\t0000000020000420\nCapBnd:\t0000000020000420\n');
  });

  test("--env overrides the container's variable; failures before execve are exec's (255)", () => {
    const r = rt.run([
      'exec',
      '-e',
      'FROM_CONFIG=overridden',
      '-e',
      'HOME=',
      box.id,
      'sh',
      '-c',
      'echo $FROM_CONFIG $HOME; env | grep -c FROM_CONFIG',
    ]);
    expect(r.stdout).toBe('overridden /root\n1\n');
    const pidFile = join(box.b.dir, 'bad-cwd.pid');
    const bad = rt.run(['exec', '--detach', '--pid-file', pidFile, '--cwd', '/no/such/dir', box.id, 'true']);
    expect(bad.status).toBe(255);
    expect(bad.stderr).toMatch(/exec failed: .*ENOENT.*\/no\/such\/dir|exec failed: .*no such file/i);
    expect(fs.existsSync(pidFile)).toBe(false);
    expect(rt.run(['exec', '--cwd', 'tmp', box.id, 'true']).stderr).toMatch(/--cwd "tmp": must be an absolute path/);
    expect(rt.run(['exec', '--console-socket', '/tmp/x.sock', box.id, 'true']).stderr).toMatch(
      /cannot use console socket if tsrunc will not detach or allocate tty/,
    );
  });

  test('--pidfd-socket receives a pidfd of the process; --cgroup puts it in a sub-cgroup', () => {
    const sock = new ConsoleSocket(join(box.b.dir, 'pidfd.sock'));
    const st = rt.state(box.id);
    const paths = JSON.parse(fs.readFileSync(join(rt.root, box.id, 'state.json'), 'utf8')).cgroup.paths as Record<string, string>;
    const key =
      paths.unified && !Object.keys(paths).some((k) => k.includes('pids'))
        ? 'unified'
        : Object.keys(paths).find((k) => k.split(',').includes('pids'))!;
    fs.mkdirSync(join(paths[key], 'sub'));
    try {
      // stdio not piped: the detached sleep would hold the pipes (and spawnSync) open
      const r = spawnSync(
        rt.binary,
        [
          '--root',
          rt.root,
          'exec',
          '--detach',
          '--pidfd-socket',
          sock.path,
          '--cgroup',
          key === 'unified' ? 'sub' : 'pids:sub',
          box.id,
          'sleep',
          '2',
        ],
        { stdio: 'ignore' },
      );
      expect(r.status).toBe(0);
      const { fd } = sock.receive();
      expect(fs.readlinkSync(`/proc/self/fd/${fd}`)).toBe('anon_inode:[pidfd]');
      const pid = Number(/Pid:\s+(\d+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]);
      expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toBe('sleep\u00002\u0000');
      expect(fs.readFileSync(join(paths[key], 'sub', 'cgroup.procs'), 'utf8').trim()).toBe(String(pid));
      fs.closeSync(fd);
      process.kill(pid, 'SIGKILL');
      expect(st.pid).not.toBe(pid);
    } finally {
      for (let i = 0; i < 50; i++) {
        try {
          fs.rmdirSync(join(paths[key], 'sub'));
          break;
        } catch {
          execFileSync('sleep', ['0.05']);
        }
      }
    }
  });

  test('a paused container: exec is refused, or with --ignore-paused starts frozen and runs on resume', async () => {
    const s = started(['sleep', '60']);
    rt.ok(['pause', s.id]);
    expect(rt.run(['exec', s.id, 'true']).stderr).toMatch(/cannot exec in a paused container .*\(see --ignore-paused\)/);
    const pidFile = join(s.b.dir, 'p.pid');
    const marker = `/proc/${rt.state(s.id).pid}/root/dev/shm/p`;
    const r = spawnSync(
      rt.binary,
      [
        '--root',
        rt.root,
        'exec',
        '--ignore-paused',
        '--detach',
        '--pid-file',
        pidFile,
        s.id,
        'sh',
        '-c',
        'sleep 0.5; echo ran > /dev/shm/p',
      ],
      { stdio: 'ignore' },
    );
    expect(r.status).toBe(0);
    await sleep(1500);
    expect(fs.existsSync(marker)).toBe(false); // frozen with the rest of the container
    rt.ok(['resume', s.id]);
    for (let i = 0; i < 30 && !fs.existsSync(marker); i++) await sleep(100);
    expect(fs.readFileSync(marker, 'utf8')).toBe('ran\n');
    rt.ok(['delete', '--force', s.id]);
  });

  test('into a user namespace: joins it too', () => {
    const r = rt.run(['exec', ubox.id, 'sh', '-c', 'id -u; cat /proc/self/uid_map; readlink /proc/1/ns/user; readlink /proc/self/ns/user']);
    expect(r.stderr).toBe('');
    const [uid, map, nsOfInit, nsOfMe] = r.stdout.trim().split('\n');
    expect(uid).toBe('0');
    expect(map.trim().split(/\s+/)).toEqual(['0', '100000', '65536']);
    expect(nsOfMe).toBe(nsOfInit);
  });

  test("the CLI's exec process is born by vfork, a user namespace's by fork; the program keeps no kill timer of its birth", () => {
    const log = join(box.b.dir, 'vfork-debug.log');
    const debugLog = (id: string): string => {
      fs.rmSync(log, { force: true });
      expect(rt.run(['--debug', '--log', log, 'exec', id, 'true']).status).toBe(0);
      return fs.readFileSync(log, 'utf8');
    };
    expect(debugLog(box.id)).toMatch(/exec: process born by vfork, program started \(pid \d+\)/);
    const u = debugLog(ubox.id);
    expect(u).toMatch(/exec: process born \(pid \d+\)/);
    expect(u).not.toMatch(/by vfork/);
    // The timer that kills a child too slow to exec is the child's alone: execve deletes it.
    expect(rt.run(['exec', box.id, 'cat', '/proc/self/timers'])).toMatchObject({ status: 0, stdout: '', stderr: '' });
  });

  test("failures at each stage of a child's set-up and at its execve are exec's errors, by vfork as by fork, and leave no process", () => {
    for (const { b } of [box, ubox]) {
      fs.writeFileSync(join(b.dir, 'rootfs', 'not-a-program'), 'neither ELF nor script\n', { mode: 0o755 });
      fs.writeFileSync(join(b.dir, 'rootfs', 'not-executable'), '', { mode: 0o644 });
    }
    const cases: [string[], RegExp][] = [
      [['--cwd', '/nonexistent'], /^tsrunc: exec failed: ENOENT: no such file or directory, chdir .*nonexistent/],
      [['/nonexistent'], /^tsrunc: exec failed: exec: "\/nonexistent": no such file or directory/],
      [['/not-executable'], /^tsrunc: exec failed: exec: "\/not-executable": permission denied/],
      [['/not-a-program'], /^tsrunc: exec failed: exec \/not-a-program: ENOEXEC/],
    ];
    for (const [args, msg] of cases) {
      // box's process is born by vfork, ubox's (a user namespace) by fork
      const said = [box, ubox].map(({ id }) => {
        const r = rt.run(args[0].startsWith('-') ? ['exec', ...args, id, 'true'] : ['exec', id, ...args]);
        expect(r.status).toBe(255);
        expect(r.stderr).toMatch(msg);
        return r.stderr;
      });
      expect(said[0]).toBe(said[1]);
    }
    for (const { id } of [box, ubox]) expect(JSON.parse(rt.ok(['ps', '--format', 'json', id]))).toHaveLength(1);
    expect(rt.run(['exec', box.id, 'echo', 'ok']).stdout).toBe('ok\n');
  });

  test('exec into a stopped container is refused', async () => {
    const s = started(['true']);
    await rt.waitStatus(s.id, 'stopped');
    expect(rt.run(['exec', s.id, 'true']).stderr).toMatch(/it is stopped/);
    rt.ok(['delete', s.id]);
    expect(leftovers(s.id, s.b.dir)).toEqual([]);
  });
});
