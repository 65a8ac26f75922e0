// Bad input: a clear error naming the field, a non-zero exit, and nothing left behind.
import { afterAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'child_process';
import * as fs from 'fs';
import { join } from 'path';
import { bundleTracker, uniqueId, TSRUNC, type Bundle } from '../helpers/bundle';
import { Runtime, leftovers } from '../helpers/runtime';
import { ConsoleSocket } from '../helpers/console';
import { libc } from '../../src/sys';
import { withDirLock } from '../../src/state/lock';

const rt = new Runtime();
const tracked = bundleTracker();
const bundle = tracked.make;
afterAll(() => {
  rt.cleanup();
  tracked.removeAll();
});

function expectNothingLeft(id: string, b: Bundle): void {
  expect(fs.existsSync(join(rt.root, id))).toBe(false);
  expect(leftovers(id, b.dir)).toEqual([]);
}

describe('bad configurations', () => {
  test.each([
    [
      'a schema error',
      (c: any) => {
        c.process.user.uid = -1;
      },
      /\/process\/user\/uid/,
    ],
    [
      'a missing rootfs',
      (c: any) => {
        c.root.path = 'nope';
      },
      /root.path: .*nope does not exist/,
    ],
    [
      'a namespace path of the wrong type',
      (c: any) => {
        c.linux.namespaces[1] = { type: 'network', path: '/proc/self/ns/uts' };
      },
      /is not a network namespace/,
    ],
    [
      'a bind source that does not exist',
      (c: any) => {
        c.mounts.push({ destination: '/x', type: 'bind', source: '/no/such/dir', options: ['bind'] });
      },
      /mounts\[7\] \(\/x\): source \/no\/such\/dir does not exist/,
    ],
    [
      // made before init is in its cgroups, while the runtime places it (rootfs/setup.ts)
      'a bind source that does not exist, before the cgroup mount',
      (c: any) => {
        c.mounts.unshift({ destination: '/x', type: 'bind', source: '/no/such/dir', options: ['bind'] });
      },
      /mounts\[0\] \(\/x\): source \/no\/such\/dir does not exist/,
    ],
    [
      // the runtime's write of init's OOM score finds it gone: init's own words are the error
      'an early mount that fails, with an OOM score to write',
      (c: any) => {
        c.process.oomScoreAdj = 100;
        c.mounts.unshift({ destination: '/y', type: 'bind', source: '/no/such/file', options: ['bind'] });
      },
      /mounts\[0\] \(\/y\): source \/no\/such\/file does not exist/,
    ],
    [
      'a host-wide sysctl',
      (c: any) => {
        c.linux.sysctl = { 'kernel.panic': '1' };
      },
      /kernel.panic.*not namespaced/,
    ],
    [
      'a soft rlimit above the hard one',
      (c: any) => {
        c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 2048, hard: 1024 }];
      },
      /soft limit 2048 is greater than hard limit 1024/,
    ],
    // Hardening: what runc refuses, and what used to slip through (a NUL cut the string, uid -1 stayed root)
    [
      'a NUL in an argument',
      (c: any) => {
        c.process.args = ['echo', 'a\u0000b'];
      },
      /process.args\[1\]: contains a NUL byte/,
    ],
    [
      'a NUL in the environment',
      (c: any) => {
        c.process.env.push('A=x\u0000y');
      },
      /process.env\[\d+\]: contains a NUL byte/,
    ],
    [
      'an environment entry without a name',
      (c: any) => {
        c.process.env.push('=x');
      },
      /process.env\[\d+\]: "=x" has an empty name/,
    ],
    [
      'uid 4294967295 ((uid_t)-1: set*id would keep root)',
      (c: any) => {
        c.process.user = { uid: 4294967295, gid: 0 };
      },
      /process.user.uid: 4294967295 is out of range/,
    ],
    [
      'a seccomp errnoRet beyond any errno',
      (c: any) => {
        c.linux.seccomp = {
          defaultAction: 'SCMP_ACT_ALLOW',
          syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 99999999 }],
        };
      },
      /syscalls\[0\].errnoRet: 99999999 is not an errno/,
    ],
    [
      'an empty seccomp syscall name',
      (c: any) => {
        c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [''], action: 'SCMP_ACT_ERRNO' }] };
      },
      /syscalls\[0\].names\[0\]: an empty syscall name/,
    ],
    // A program that cannot run is refused at create, as runc does (the caller still sees it there).
    [
      'a program that does not exist',
      (c: any) => {
        c.process.args = ['/nonexistent'];
      },
      /process.args\[0\]: exec: "\/nonexistent": no such file or directory/,
    ],
    [
      'an empty program name',
      (c: any) => {
        c.process.args = [''];
      },
      /process.args\[0\]: exec: "": executable file not found in \$PATH/,
    ],
    [
      'a cwd that is a file',
      (c: any) => {
        c.process.cwd = '/bin/sh';
      },
      /process.cwd \(\/bin\/sh\): .* is not a directory/,
    ],
    // mkdir -p of a procfs magic link used to spin forever (fs.mkdirSync's recursive mode)
    [
      'a cwd of /proc/self/fd/3',
      (c: any) => {
        c.process.cwd = '/proc/self/fd/3';
      },
      /process.cwd \(\/proc\/self\/fd\/3\): ENOENT/,
    ],
    [
      'a mount over /proc/self',
      (c: any) => {
        c.mounts.push({ destination: '/proc/self', type: 'tmpfs', source: 'tmpfs' });
      },
      /mounts\[7\] \(\/proc\/self\): .* cannot be mounted on: it is inside \/proc/,
    ],
    [
      'a tmpfs as /proc',
      (c: any) => {
        c.mounts.push({ destination: '/proc', type: 'tmpfs', source: 'tmpfs' });
      },
      /mounts\[7\] \(\/proc\): \/proc cannot be mounted on: only a procfs/,
    ],
    [
      'an id mapping of size 0',
      (c: any) => {
        c.linux.namespaces.push({ type: 'user' });
        c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 0 }];
        c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      },
      /linux.uidMappings\[0\].size: 0 maps nothing/,
    ],
    [
      'a time namespace path that is not one',
      (c: any) => {
        c.linux.namespaces.push({ type: 'time', path: '/proc/self/ns/net' });
      },
      /linux.namespaces: \/proc\/self\/ns\/net is not a time namespace/,
    ],
    [
      'a NUL in cgroupsPath',
      (c: any) => {
        c.linux.cgroupsPath = '/tsr\u0000x';
      },
      /linux.cgroupsPath: contains a NUL byte/,
    ],
    [
      'a cgroupsPath through a control file',
      (c: any) => {
        c.linux.cgroupsPath = `/tsr-ctl-${process.pid}/cgroup.procs`;
      },
      /linux.cgroupsPath: creating .*cgroup.procs: EEXIST/,
    ],
    [
      'a hard rlimit this host cannot grant',
      (c: any) => {
        c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1 << 30 }];
      },
      null,
    ],
  ])('%s', (_name, edit, re) => {
    const b = bundle(['true'], edit);
    const id = uniqueId();
    const r = rt.create(id, b.dir);
    if (re === null) {
      // Raising a hard limit fails only at exec time, after start (the process reports it).
      if (r.status === 0) {
        rt.ok(['start', id]);
        return;
      }
    }
    expect(r.status).not.toBe(0);
    if (re) expect(r.stderr).toMatch(re);
    expectNothingLeft(id, b);
    // run's init is born by vfork where that fits (README: How it works): the same error, the same
    // cleanup, as create's forked init
    const runId = uniqueId();
    const byRun = rt.create(runId, b.dir, [], 'run');
    expect(byRun.status).toBe(r.status);
    expect(byRun.stderr.replaceAll(runId, id)).toBe(r.stderr);
    expectNothingLeft(runId, b);
  });

  test('invalid JSON', () => {
    const b = bundle(['true']);
    fs.writeFileSync(join(b.dir, 'config.json'), '{ not json');
    const id = uniqueId();
    const r = rt.create(id, b.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/invalid JSON/);
    expectNothingLeft(id, b);
  });

  test("errors also go to --log as JSON lines (what containerd's shim reports)", () => {
    const b = bundle(['true'], (c) => {
      c.root.path = 'nope';
    });
    const log = join(b.dir, 'log.json');
    const r = rt.run(['--log', log, '--log-format', 'json', 'create', '--bundle', b.dir, uniqueId()]);
    expect(r.status).toBe(1);
    const last = JSON.parse(fs.readFileSync(log, 'utf8').trim().split('\n').pop()!);
    expect(last).toMatchObject({ level: 'error', msg: expect.stringMatching(/root.path/) });
    expect(new Date(last.time).getTime()).toBeGreaterThan(0);
  });
});

describe('wrong state or id', () => {
  test('a duplicate id is refused and the first container is untouched', () => {
    const b = bundle(['sleep', '30']);
    const id = uniqueId();
    expect(rt.create(id, b.dir).status).toBe(0);
    const pid = rt.state(id).pid;
    const r = rt.create(id, b.dir);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/already exists/);
    expect(rt.state(id)).toMatchObject({ status: 'created', pid });
  });
  test('invalid ids are refused', () => {
    const b = bundle(['true']);
    for (const id of ['../x', 'a/b', '..']) {
      const r = rt.run(['create', '--bundle', b.dir, id]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/invalid container id/);
    }
  });
  test('start twice, state/kill/start of unknown containers', () => {
    const b = bundle(['sleep', '30']);
    const id = uniqueId();
    expect(rt.create(id, b.dir).status).toBe(0);
    rt.ok(['start', id]);
    expect(rt.run(['start', id]).stderr).toMatch(/running, not created/);
    for (const cmd of [
      ['state', 'nope'],
      ['kill', 'nope'],
      ['start', 'nope'],
    ]) {
      const r = rt.run(cmd);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/"nope" does not exist/);
    }
    expect(rt.run(['kill', id, 'SIGFOO']).stderr).toMatch(/unknown signal/);
  });
});

describe('every wait has a deadline and a message', () => {
  test('a console socket that accepts nothing: create gives up after 10 s, leaving nothing', () => {
    const b = bundle(['true'], (c) => {
      c.process.terminal = true;
    });
    const sock = new ConsoleSocket(join(b.dir, 'full.sock'), 0);
    sock.fillBacklog();
    const id = uniqueId();
    const t0 = Date.now();
    const r = rt.create(id, b.dir, ['--console-socket', sock.path]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--console-socket: connect .*full.sock: the listener accepted nothing within 10s/);
    expect(Date.now() - t0).toBeLessThan(20000);
    expectNothingLeft(id, b);
  });

  test('a container held by another command: the lock is waited for until a deadline, then named', () => {
    const dir = fs.mkdtempSync(join(rt.root, 'lockdir-'));
    const held = fs.openSync(dir, fs.constants.O_RDONLY);
    try {
      libc().flock(held, 2 /* LOCK_EX */);
      let ran = false;
      expect(() =>
        withDirLock(
          libc(),
          dir,
          () => {
            ran = true;
          },
          300,
        ),
      ).toThrow(/container "lockdir-.*" is busy: another tsrunc command has held it for 0.3s/);
      expect(ran).toBe(false);
    } finally {
      fs.closeSync(held);
    }
    // once it is let go, the next one gets it
    expect(withDirLock(libc(), dir, () => 'got it', 300)).toBe('got it');
    fs.rmdirSync(dir);
  });
});

describe('a runtime killed in the middle of create leaves nothing delete --force cannot clean', () => {
  test.each([0, 40, 80, 120, 160, 200])('SIGKILL after %d ms', async (ms) => {
    const b = bundle(['sleep', '30']);
    const id = uniqueId();
    const out = fs.openSync(join(b.dir, 'out'), 'w');
    const child = spawn(TSRUNC, ['--root', rt.root, 'create', '--bundle', b.dir, id], { stdio: ['ignore', out, out] });
    const exited = new Promise((r) => child.on('exit', r));
    await new Promise((r) => setTimeout(r, ms));
    child.kill('SIGKILL'); // may come after create finished: then delete has a whole container to remove
    await exited;
    fs.closeSync(out);
    // Whatever state it reached, delete --force must succeed and clean up.
    expect(rt.run(['delete', '--force', id]).status).toBe(0);
    // an init forked before the first state save notices its runtime is gone, and ends (3 s at most)
    for (let i = 0; i < 60 && leftovers(id, b.dir).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expectNothingLeft(id, b);
  });
});
