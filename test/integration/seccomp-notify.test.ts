// linux.seccomp.listenerPath with SCMP_ACT_NOTIFY: the notification fd and the process state reach
// the listener, which answers the container's calls (the test is the agent, as runc's seccompagent).
import { afterAll, describe, expect, test } from '@jest/globals';
import koffi from 'koffi';
import * as fs from 'fs';
import { join } from 'path';
import { spawn } from 'child_process';
import { bundleTracker, uniqueId, TSRUNC } from '../helpers/bundle';
import { Runtime } from '../helpers/runtime';
import { ConsoleSocket } from '../helpers/console';

const rt = new Runtime();
const tracked = bundleTracker();
afterAll(() => {
  rt.cleanup();
  tracked.removeAll();
});

const lib = koffi.load('libc.so.6');
const ioctl = lib.func('int ioctl(int, unsigned long, void *)');
const SECCOMP_IOCTL_NOTIF_RECV = 0xc0502100; // _IOWR('!', 0, struct seccomp_notif)
const SECCOMP_IOCTL_NOTIF_SEND = 0xc0182101; // _IOWR('!', 1, struct seccomp_notif_resp)

describe('seccomp notify', () => {
  test("the listener gets the notification fd with the state, and its answer is what the container's call returns", async () => {
    const b = tracked.make(['sh', '-c', 'mkdir /tmp/notified; echo "mkdir says $?"; test -d /tmp/notified || echo absent'], (c) => {
      c.linux.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        listenerPath: '', // set below, once the bundle dir is known
        listenerMetadata: 'agent-metadata',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
      };
    });
    const sock = new ConsoleSocket(join(b.dir, 'agent.sock'));
    b.config.linux.seccomp.listenerPath = sock.path;
    b.write();
    const id = uniqueId();
    expect(rt.create(id, b.dir).status).toBe(0);
    const initPid = rt.state(id).pid;
    expect(rt.run(['start', id]).status).toBe(0);
    const { fd, name } = sock.receive();
    const msg = JSON.parse(name);
    expect(msg).toMatchObject({ fds: ['seccompFd'], pid: initPid, metadata: 'agent-metadata', state: { id, pid: initPid, bundle: b.dir } });
    expect(fs.readlinkSync(`/proc/self/fd/${fd}`)).toBe('anon_inode:seccomp notify');
    // the container's mkdir waits for us: refuse it with EACCES
    const notif = Buffer.alloc(80);
    expect(ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, notif)).toBe(0);
    expect([83, 258]).toContain(notif.readInt32LE(16)); // data.nr: mkdir or mkdirat
    const resp = Buffer.alloc(24);
    notif.copy(resp, 0, 0, 8); // the id
    resp.writeInt32LE(-13, 16); // error: -EACCES
    expect(ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp)).toBe(0);
    fs.closeSync(fd);
    await rt.waitStatus(id, 'stopped');
    expect(rt.output(id, b.dir)).toMatch(/Permission denied[\s\S]*mkdir says 1\nabsent\n/);
    expect(rt.run(['delete', id]).status).toBe(0);
  });

  test('an exec process has its own notification fd, sent with its own pid', async () => {
    const b = tracked.make(['sleep', '30'], (c) => {
      c.linux.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        listenerPath: '',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
      };
    });
    const sock = new ConsoleSocket(join(b.dir, 'agent2.sock'));
    b.config.linux.seccomp.listenerPath = sock.path;
    b.write();
    const id = uniqueId();
    expect(rt.create(id, b.dir).status).toBe(0);
    expect(rt.run(['start', id]).status).toBe(0);
    const first = sock.receive(); // init's
    fs.closeSync(first.fd);
    const exec = spawn(TSRUNC, ['--root', rt.root, 'exec', id, 'sh', '-c', 'mkdir /tmp/e; echo "exec mkdir says $?"'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    exec.stdout.on('data', (d) => {
      out += String(d);
    });
    // 'close', not 'exit': the exit can be reported before the pipe's last bytes were read
    const done = new Promise<number | null>((resolve) => exec.on('close', resolve));
    // the listener's accept waits here while the exec is born (spawned: this thread stays free for it)
    await new Promise((r) => setTimeout(r, 50));
    const { fd, name } = await new Promise<{ fd: number; name: string }>((resolve) => setImmediate(() => resolve(sock.receive(20000))));
    const msg = JSON.parse(name);
    expect(msg.pid).not.toBe(rt.state(id).pid);
    expect(msg.state).toMatchObject({ id, status: 'running' });
    const notif = Buffer.alloc(80);
    expect(ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, notif)).toBe(0);
    const resp = Buffer.alloc(24);
    notif.copy(resp, 0, 0, 8);
    resp.writeInt32LE(-1, 16); // -EPERM
    expect(ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp)).toBe(0);
    fs.closeSync(fd);
    expect(await done).toBe(0);
    expect(out).toBe('exec mkdir says 1\n');
    expect(rt.run(['delete', '--force', id]).status).toBe(0);
  });

  test('SCMP_ACT_NOTIFY without listenerPath, or as the default action, is an error naming the field', () => {
    for (const [seccomp, re] of [
      [
        { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] },
        /linux.seccomp.listenerPath: required with SCMP_ACT_NOTIFY/,
      ],
      [
        { defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/x.sock' },
        /linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action/,
      ],
    ] as const) {
      const b = tracked.make(['true'], (c) => {
        c.linux.seccomp = seccomp;
      });
      const r = rt.run(['run', '--bundle', b.dir, uniqueId()]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(re);
    }
  });
});
