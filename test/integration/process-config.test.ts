// Hooks and terminals, with real containers.
import { afterAll, describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import { spawnSync } from 'child_process';
import { join } from 'path';
import { bundleTracker, uniqueId, TSRUNC, type Bundle } from '../helpers/bundle';
import { Runtime, leftovers } from '../helpers/runtime';
import { ConsoleSocket } from '../helpers/console';

const rt = new Runtime();
const tracked = bundleTracker();
const bundle = tracked.make;
afterAll(() => {
  rt.cleanup();
  tracked.removeAll();
});

/** A hook that appends its name, the status it was given on stdin and where it ran, to a log. */
function hook(b: Bundle, name: string, log: string, extra = ''): Record<string, unknown> {
  return {
    path: join(b.dir, 'rootfs', 'bin', 'sh'),
    args: [
      'sh',
      '-c',
      `read s; st=$(echo "$s" | sed 's/.*"status":"\\([a-z]*\\)".*/\\1/'); echo "${name} $st $(readlink /proc/self/ns/uts) $HOOKVAR" >> ${log}${extra}`,
    ],
    env: ['HOOKVAR=v-' + name],
  };
}

describe('hooks', () => {
  test('each hook runs once, in order, at its moment, with the state on stdin and its own env', async () => {
    const b = bundle(['sh', '-c', `echo program >> /hooklog`], (c) => {
      c.root.readonly = false;
    });
    const log = join(b.dir, 'rootfs', 'hooklog');
    b.config.hooks = {
      prestart: [hook(b, 'prestart', log)],
      createRuntime: [hook(b, 'createRuntime', log)],
      createContainer: [hook(b, 'createContainer', log)],
      // startContainer runs inside the container: its path and log are container paths.
      startContainer: [
        {
          path: '/bin/sh',
          args: [
            'sh',
            '-c',
            'read s; echo "startContainer $(echo "$s" | sed \'s/.*"status":"\\([a-z]*\\)".*/\\1/\') $(readlink /proc/self/ns/uts) $HOOKVAR" >> /hooklog',
          ],
          env: ['HOOKVAR=v-startContainer'],
        },
      ],
      poststart: [hook(b, 'poststart', log)],
      poststop: [hook(b, 'poststop', log)],
    };
    b.write();
    const id = uniqueId();
    expect(rt.create(id, b.dir).status).toBe(0);
    const hostUts = fs.readlinkSync('/proc/self/ns/uts');
    const lines = () =>
      fs
        .readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' '));
    expect(lines().map((l) => l[0])).toEqual(['prestart', 'createRuntime', 'createContainer']);
    rt.ok(['start', id]);
    await rt.waitStatus(id, 'stopped');
    rt.ok(['delete', id]);
    const all = lines();
    expect(all.map((l) => l[0])).toEqual(
      ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'program', 'poststart', 'poststop'].filter((n) =>
        all.some((l) => l[0] === n),
      ),
    ); // program and poststart may race
    expect(all.map((l) => l[0]).sort()).toEqual([
      'createContainer',
      'createRuntime',
      'poststart',
      'poststop',
      'prestart',
      'program',
      'startContainer',
    ]);
    const byName = Object.fromEntries(all.map((l) => [l[0], l]));
    // runtime namespace vs container namespace
    expect(byName.prestart[2]).toBe(hostUts);
    expect(byName.createRuntime[2]).toBe(hostUts);
    expect(byName.createContainer[2]).not.toBe(hostUts);
    expect(byName.startContainer[2]).not.toBe(hostUts);
    expect(byName.poststart[2]).toBe(hostUts);
    // status on stdin, per the lifecycle
    expect([byName.prestart[1], byName.createRuntime[1], byName.poststart[1], byName.poststop[1]]).toEqual([
      'creating',
      'creating',
      'running',
      'stopped',
    ]);
    expect(byName.poststop[3]).toBe('v-poststop');
  });

  test("as runc: a createContainer hook runs in the rootfs; a hook without env has the runtime's, a startContainer one the process's", () => {
    const b = bundle(['true'], (c) => {
      c.process.env = ['PATH=/bin', 'FROM_PROCESS=yes'];
    });
    const out = join(b.dir, 'hookout');
    b.config.hooks = {
      createContainer: [{ path: '/bin/sh', args: ['sh', '-c', `pwd > ${out}; echo "runtime:$FROM_RUNTIME" >> ${out}`] }],
      startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo "process:$FROM_PROCESS" > /started'] }],
    };
    b.config.root.readonly = false;
    b.write();
    const r = spawnSync(TSRUNC, ['--root', rt.root, 'run', '--bundle', b.dir, uniqueId()], {
      encoding: 'utf8',
      env: { ...process.env, FROM_RUNTIME: 'yes' },
    });
    expect(r.stderr).toBe('');
    expect(fs.readFileSync(out, 'utf8')).toBe(`${join(b.dir, 'rootfs')}\nruntime:yes\n`);
    expect(fs.readFileSync(join(b.dir, 'rootfs', 'started'), 'utf8')).toBe('process:yes\n');
  });

  test('a failing createRuntime hook fails create, runs poststop, and leaves nothing', () => {
    const b = bundle(['true']);
    const log = join(b.dir, 'hooklog');
    b.config.hooks = { createRuntime: [{ path: '/bin/false' }], poststop: [hook(b, 'poststop', log)] };
    b.write();
    const id = uniqueId();
    const r = rt.create(id, b.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/hooks.createRuntime\[0\]: error running createRuntime hook #0: \/bin\/false: exit status 1/);
    expect(fs.readFileSync(log, 'utf8')).toMatch(/^poststop stopped/);
    expect(leftovers(id, b.dir)).toEqual([]);
    expect(fs.existsSync(join(rt.root, id))).toBe(false);
  });

  test('a hook that runs past its timeout is killed and fails create', () => {
    const b = bundle(['true']);
    b.config.hooks = { prestart: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] };
    b.write();
    const r = rt.create(uniqueId(), b.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/hooks.prestart\[0\].*timed out after 1s/);
  });

  test('a failing startContainer hook makes start fail and the program never runs', async () => {
    const b = bundle(['sh', '-c', 'echo program-ran']);
    b.config.hooks = { startContainer: [{ path: '/bin/false' }] };
    b.write();
    const id = uniqueId();
    expect(rt.create(id, b.dir).status).toBe(0);
    const r = rt.run(['start', id]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/startContainer hook failed/);
    await rt.waitStatus(id, 'stopped');
    expect(rt.output(id, b.dir)).not.toContain('program-ran');
  });

  test('a failing poststart hook is an error and stops the container (runtime-spec v1.3); a failing poststop hook only warns', async () => {
    const b = bundle(['sleep', '30']);
    const log = join(b.dir, 'hooklog');
    b.config.hooks = {
      poststart: [hook(b, 'poststart1', log), { path: '/bin/false' }, hook(b, 'poststart3', log)],
      poststop: [{ path: '/bin/false' }, hook(b, 'poststop2', log)],
    };
    b.write();
    const id = uniqueId();
    expect(rt.create(id, b.dir).status).toBe(0);
    const s = rt.run(['start', id]);
    expect(s.status).toBe(1);
    expect(s.stderr).toMatch(/hooks.poststart\[1\]: error running poststart hook #1: .*the container is stopped/);
    await rt.waitStatus(id, 'stopped');
    const d = rt.run(['delete', id]);
    expect(d.status).toBe(0);
    expect(d.stderr).toMatch(/warning: hooks.poststop\[0\]/);
    expect(
      fs
        .readFileSync(log, 'utf8')
        .split('\n')
        .map((l) => l.split(' ')[0])
        .filter(Boolean),
    ).toEqual(['poststart1', 'poststop2']);
  });
});

describe('terminal', () => {
  test('--console-socket receives a pty master; the program has it as controlling terminal and stdio', async () => {
    const b = bundle(['sh', '-c', 'tty; test -t 0 && test -t 1 && echo all-tty; stty size; cut -d" " -f7 /proc/1/stat; echo done'], (c) => {
      c.process.terminal = true;
      c.process.consoleSize = { height: 30, width: 100 };
    });
    const sock = new ConsoleSocket(join(b.dir, 'console.sock'));
    const id = uniqueId();
    expect(rt.create(id, b.dir, ['--console-socket', sock.path]).status).toBe(0);
    const { fd, name } = sock.receive();
    expect(name).toMatch(/^\/dev\/pts\/\d+$/);
    rt.ok(['start', id]);
    let out = '';
    const buf = Buffer.alloc(4096);
    for (let i = 0; i < 200 && !out.includes('done'); i++) {
      try {
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        out += buf.toString('utf8', 0, n);
      } catch {
        break; // EIO: the program exited
      }
    }
    fs.closeSync(fd);
    // tty_nr of pid 1: the pty (major 136, minor 0) is its controlling terminal
    expect(out.replace(/\r/g, '')).toBe(`/dev/pts/0\nall-tty\n30 100\n${136 << 8}\ndone\n`);
    await rt.waitStatus(id, 'stopped');
  });

  test('a terminal without --console-socket is refused by create; --console-socket without a terminal too', () => {
    const t = bundle(['true'], (c) => {
      c.process.terminal = true;
    });
    expect(rt.run(['create', '--bundle', t.dir, uniqueId()]).stderr).toMatch(/--console-socket is required/);
    const n = bundle(['true']);
    expect(rt.run(['create', '--bundle', n.dir, '--console-socket', '/nonexistent', uniqueId()]).stderr).toMatch(
      /only for a process with process.terminal/,
    );
  });

  test('a foreground run with a terminal keeps the pty and relays it (as runc does)', () => {
    const b = bundle(['sh', '-c', 'tty; stty size'], (c) => {
      c.process.terminal = true;
      c.process.consoleSize = { height: 24, width: 80 };
    });
    const log = join(b.dir, 'run.log');
    const r = rt.run(['--debug', '--log', log, 'run', '--bundle', b.dir, uniqueId()]);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    // bare \n, as runc relays it (ONLCR cleared): by init itself, born by vfork, before its program runs
    expect(r.stdout).toBe('/dev/pts/0\n24 80\n');
    expect(fs.readFileSync(log, 'utf8')).toMatch(/init: born by vfork/);
  });

  test("a foreground run's relayed terminal has the caller's window size from the program's start", () => {
    const b = bundle(['stty', 'size'], (c) => {
      c.process.terminal = true;
      c.process.consoleSize = { height: 24, width: 80 };
    });
    // script(1) gives the runtime a terminal of its own, 33x111
    const r = spawnSync(
      'script',
      ['-qec', `stty rows 33 cols 111; ${rt.binary} --root ${rt.root} run --bundle ${b.dir} ${uniqueId()}`, '/dev/null'],
      {
        encoding: 'utf8',
        timeout: 30000,
      },
    );
    expect(r.status).toBe(0);
    // (script echoes what its stdin's end sends the terminal, ^@, before or after the output)
    expect(r.stdout.replace(/\r|\^@/g, '').trim()).toBe('33 111');
  });
});
