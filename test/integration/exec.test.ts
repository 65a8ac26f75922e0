// exec: new processes inside running containers, as people and containerd's shim call it.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
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
afterAll(() => { rt.cleanup(); for (const b of bundles) b.remove(); });

describe('exec', () => {
  test('joins the container\'s namespaces and cgroup, inherits its process settings, returns the status', () => {
    const r = rt.run(['exec', box.id, 'sh', '-c', 'hostname; echo $FROM_CONFIG; cat /proc/1/comm; grep CapEff /proc/self/status; exit 5']);
    expect(r.status).toBe(5);
    expect(r.stdout).toBe('exec-box\nyes\nsleep\nCapEff:\t0000000020000420\n');
    const pids = JSON.parse(rt.ok(['ps', '--format', 'json', box.id])) as number[];
    expect(pids).toHaveLength(1); // the exec'd process has gone again
  });

  test('flags: --env --user --cwd --additional-gids --cap --no-new-privs, and options of the command stay its own', () => {
    const r = rt.run(['exec', '-e', 'A=1', '--env', 'B=2', '-u', '1000:1001', '-g', '7', '--cwd', '/tmp', '--cap', 'CAP_NET_RAW', '--no-new-privs',
      box.id, 'sh', '-c', 'echo $A$B $(id -u):$(id -g) $(id -G) $(pwd); grep -E "CapBnd|NoNewPrivs" /proc/self/status']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('12 1000:1001 1001 7 /tmp\nCapBnd:\t0000000020002420\nNoNewPrivs:\t1\n');
  });

  test('containerd\'s form: --process FILE --detach --pid-file', async () => {
    const file = join(box.b.dir, 'process.json');
    fs.writeFileSync(file, JSON.stringify({ args: ['sh', '-c', 'echo detached > /dev/shm/out; sleep 5'], cwd: '/', user: { uid: 0, gid: 0 }, env: ['PATH=/bin'] }));
    const pidFile = join(box.b.dir, 'exec.pid');
    const out = fs.openSync(join(box.b.dir, 'exec.out'), 'w');
    const r = require('child_process').spawnSync(rt.binary, ['--root', rt.root, 'exec', '--process', file, '--detach', '--pid-file', pidFile, box.id], { stdio: ['ignore', out, out] }); // eslint-disable-line @typescript-eslint/no-require-imports
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
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/exec failed: exec: "\/no\/such": no such file or directory/);
    expect(rt.run(['exec', 'no-such-container', 'true']).stderr).toMatch(/does not exist/);
  });

  test('--tty with --console-socket: the exec\'d process has its own pty', () => {
    const sock = new ConsoleSocket(join(box.b.dir, 'exec-console.sock'));
    const r = rt.run(['exec', '-t', '--detach', '--console-socket', sock.path, box.id, 'sh', '-c', 'tty; sleep 1']);
    expect(r.status).toBe(0);
    const { fd } = sock.receive();
    const buf = Buffer.alloc(256);
    const n = fs.readSync(fd, buf, 0, 256, null);
    expect(buf.toString('utf8', 0, n).trim()).toMatch(/^\/dev\/pts\/\d+$/);
    fs.closeSync(fd);
  });

  test('into a user namespace: joins it too', () => {
    const r = rt.run(['exec', ubox.id, 'sh', '-c', 'id -u; cat /proc/self/uid_map; readlink /proc/1/ns/user; readlink /proc/self/ns/user']);
    expect(r.stderr).toBe('');
    const [uid, map, nsOfInit, nsOfMe] = r.stdout.trim().split('\n');
    expect(uid).toBe('0');
    expect(map.trim().split(/\s+/)).toEqual(['0', '100000', '65536']);
    expect(nsOfMe).toBe(nsOfInit);
  });

  test('exec into a stopped container is refused', async () => {
    const s = started(['true']);
    await rt.waitStatus(s.id, 'stopped');
    expect(rt.run(['exec', s.id, 'true']).stderr).toMatch(/it is stopped/);
    rt.ok(['delete', s.id]);
    expect(leftovers(s.id, s.b.dir)).toEqual([]);
  });
});
