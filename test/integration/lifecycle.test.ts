// Real containers, as root, against the real kernel.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import { join } from 'path';
import { bundleTracker, uniqueId, type Bundle } from '../helpers/bundle';
import { Runtime, leftovers } from '../helpers/runtime';
import { ConsoleSocket } from '../helpers/console';
import { spawnSync } from 'child_process';

let rt: Runtime;
const tracked = bundleTracker();
const bundle = tracked.make;
beforeAll(() => {
  rt = new Runtime();
});
afterEach(() => {
  rt.cleanup();
  rt = new Runtime();
});
afterAll(() => {
  rt.cleanup();
  tracked.removeAll();
});

describe('run', () => {
  test('runs the program in the foreground with its output and exit status 0', () => {
    const b = bundle(['echo', 'hello from the container']);
    const r = rt.run(['run', '--bundle', b.dir, uniqueId()]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello from the container\n');
    expect(r.status).toBe(0);
  });

  test("run's init is born by vfork, PID 1 with its OOM score; failures on the program's way are told and given as by a forked init", () => {
    const b = bundle(['sh', '-c', 'cat /proc/self/oom_score_adj; echo $$']);
    b.config.process.oomScoreAdj = 100;
    fs.writeFileSync(join(b.dir, 'rootfs', 'not-a-program'), 'neither ELF nor script\n', { mode: 0o755 });
    b.write();
    const log = join(b.dir, 'run.log');
    const id = uniqueId();
    const r = rt.run(['--debug', '--log', log, 'run', '--bundle', b.dir, id]);
    expect(r).toMatchObject({ status: 0, stdout: '100\n1\n', stderr: '' });
    const said = fs.readFileSync(log, 'utf8');
    expect(said).toMatch(/create: init born by vfork, program started \(pid \d+\)/);
    expect(leftovers(id, b.dir)).toEqual([]);
    // (a prestart hook makes init a forked one: the fork route to compare with)
    const forked = (c: typeof b.config) => {
      c.hooks = { prestart: [{ path: '/bin/true' }] };
    };
    const cases: [string, (c: typeof b.config) => void][] = [
      ['a program that is neither ELF nor a script', (c) => (c.process.args = ['/not-a-program'])],
      ['a hard rlimit this host cannot grant', (c) => (c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1 << 30 }])],
    ];
    for (const [what, edit] of cases) {
      const results = [false, true].map((fork) => {
        edit(b.config);
        if (fork) forked(b.config);
        else delete b.config.hooks;
        b.write();
        const each = uniqueId();
        const res = rt.run(['--debug', '--log', log, 'run', '--bundle', b.dir, each]);
        expect(fs.readFileSync(log, 'utf8').includes('init: born by vfork')).toBe(!fork);
        fs.rmSync(log);
        expect(leftovers(each, b.dir)).toEqual([]);
        expect(fs.existsSync(join(rt.root, each))).toBe(false);
        return { status: res.status, stdout: res.stdout, stderr: res.stderr };
      });
      expect({ what, ...results[0] }).toEqual({ what, ...results[1] });
      expect(results[0].status).toBe(127);
      expect(results[0].stderr).not.toBe('');
    }
  });

  test('a runtime killed while its init builds the container takes init with it: the program never runs', async () => {
    const host = fs.mkdtempSync(join(rt.root, 'host-'));
    // 800 mounts: the child spends ~150 ms building the rootfs, recorded in the state from its first step
    const b = bundle(['touch', '/host/ran'], (c) => {
      c.mounts.push({ destination: '/host', type: 'bind', source: host, options: ['rbind'] });
      for (let i = 0; i < 800; i++) c.mounts.push({ destination: `/m/${i}`, type: 'tmpfs', source: 'tmpfs' });
    });
    const id = uniqueId();
    const child = rt.spawnRun(id, b.dir);
    const ended = new Promise((resolve) => child.on('close', resolve));
    const stateFile = join(rt.root, id, 'state.json');
    let initPid: number | undefined;
    for (let i = 0; i < 2000 && initPid === undefined; i++) {
      try {
        initPid = (JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { pid?: number }).pid;
      } catch {
        // not written yet, or being renamed
      }
      if (initPid === undefined) await new Promise((r) => setTimeout(r, 2));
    }
    expect(initPid).toBeGreaterThan(1);
    child.kill('SIGKILL');
    await ended;
    for (let i = 0; i < 200 && fs.existsSync(`/proc/${initPid}`); i++) await new Promise((r) => setTimeout(r, 10));
    expect(fs.existsSync(`/proc/${initPid}`)).toBe(false);
    expect(fs.existsSync(join(host, 'ran'))).toBe(false);
    rt.ok(['delete', '--force', id]);
    expect(leftovers(id, b.dir)).toEqual([]);
  });

  test('propagates the exit status', () => {
    const b = bundle(['sh', '-c', 'exit 7']);
    expect(rt.run(['run', '--bundle', b.dir, uniqueId()]).status).toBe(7);
  });

  test('a program killed by a signal gives 128+signal', async () => {
    const b = bundle(['sleep', '30']);
    const id = uniqueId();
    const child = rt.spawnRun(id, b.dir);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    await rt.waitStatus(id, 'running');
    rt.ok(['kill', id, 'KILL']);
    expect(await exited).toBe(137);
  });

  test('stdin is passed through', () => {
    const b = bundle(['cat']);
    const r = rt.run(['run', '--bundle', b.dir, uniqueId()], { input: 'through the pipe' });
    expect(r.stdout).toBe('through the pipe');
  });

  test('forwards SIGTERM to the container and cleans up after it', async () => {
    const b = bundle(['sh', '-c', 'trap "echo got TERM; exit 3" TERM; echo ready; while :; do sleep 0.05; done']);
    const id = uniqueId();
    const child = rt.spawnRun(id, b.dir);
    let out = '';
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) resolve();
      }),
    );
    child.kill('SIGTERM');
    // 'close': the output read to its end, which 'exit' does not wait for
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(out).toContain('got TERM');
    expect(code).toBe(3);
    expect(rt.run(['state', id]).status).not.toBe(0);
    expect(leftovers(id, b.dir)).toEqual([]);
  });

  test('run --detach leaves a running container behind', () => {
    const b = bundle(['sleep', '30']);
    const id = uniqueId();
    expect(rt.create(id, b.dir, ['--detach'], 'run').status).toBe(0);
    expect(rt.state(id).status).toBe('running');
    rt.ok(['delete', '--force', id]);
    expect(leftovers(id, b.dir)).toEqual([]);
  });

  test("run starts init over its channel (no exec fifo, no start step) unless a startContainer or poststart hook needs start's path", () => {
    // A createRuntime hook (it runs in create, before init is ready) lists the container's directory.
    const listing = (b: Bundle, id: string): void => {
      b.config.hooks = {
        ...b.config.hooks,
        createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `ls ${join(rt.root, id)} > ${join(b.dir, 'listing')}`] }],
      };
      b.write();
    };
    const runSteps = (id: string, dir: string): string[] => {
      const log = join(dir, `${id}.log`);
      expect(rt.create(id, dir, ['--detach'], 'run', ['--debug', '--log', log]).status).toBe(0);
      return [...fs.readFileSync(log, 'utf8').matchAll(/timing: ((?:create|start): .+?) [0-9.]+ ms/g)].map((m) => m[1]);
    };
    const a = uniqueId();
    const plain = bundle(['sleep', '30']);
    listing(plain, a);
    const steps = runSteps(a, plain.dir);
    expect(fs.readFileSync(join(plain.dir, 'listing'), 'utf8').split('\n')).not.toContain('exec.fifo');
    expect(steps).toContain('create: done, init started');
    expect(steps.filter((s) => s.startsWith('start:'))).toEqual([]);
    expect(rt.state(a).status).toBe('running');
    // the program, not init, by now or soon: init went on at 'start'
    const pid = rt.state(a).pid;
    for (let i = 0; i < 200 && fs.readFileSync(`/proc/${pid}/comm`, 'utf8') !== 'sleep\n'; i++) spawnSync('sleep', ['0.01']);
    expect(fs.readFileSync(`/proc/${pid}/comm`, 'utf8')).toBe('sleep\n');
    const again = rt.run(['start', a]);
    expect(again.status).not.toBe(0);
    expect(again.stderr).toContain('it is running, not created');

    const b = uniqueId();
    const hooked = bundle(['sleep', '30'], (c) => (c.hooks = { poststart: [{ path: '/bin/true' }] }));
    listing(hooked, b);
    expect(runSteps(b, hooked.dir)).toEqual(
      expect.arrayContaining(['create: done', 'start: locked, state loaded', 'start: the program runs']),
    );
    expect(fs.readFileSync(join(hooked.dir, 'listing'), 'utf8').split('\n')).toContain('exec.fifo');
    expect(rt.state(b).status).toBe('running');
    for (const id of [a, b]) rt.ok(['delete', '--force', id]);
    expect(leftovers(a, plain.dir)).toEqual([]);
    expect(leftovers(b, hooked.dir)).toEqual([]);
  });

  test('run of a config without a process is an error, as start is (runtime-spec), and leaves nothing', () => {
    const b = bundle(['true'], (c) => {
      delete c.process;
    });
    for (const detach of [[], ['--detach']]) {
      const id = uniqueId();
      const r = rt.run(['run', ...detach, '--bundle', b.dir, id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/no process to run/);
      expect(rt.run(['state', id]).stderr).toMatch(/does not exist/);
      expect(leftovers(id, b.dir)).toEqual([]);
    }
  });

  test('a signal that comes while run creates the container is held for the container: run is not ended by it and leaves nothing', async () => {
    const id = uniqueId();
    const b = bundle(['sleep', '2']);
    // a createRuntime hook holds create for a moment, after init's birth
    b.config.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `touch ${join(b.dir, 'hook-began')}; sleep 1`] }] };
    b.write();
    const child = rt.spawnRun(id, b.dir);
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    for (let i = 0; i < 500 && !fs.existsSync(join(b.dir, 'hook-began')); i++) await new Promise((r) => setTimeout(r, 10));
    expect(fs.existsSync(join(b.dir, 'hook-began'))).toBe(true);
    child.kill('SIGTERM');
    // Passed on once create returns (as runc, whose handler queues it until start): to init still
    // waiting for start (it ends, 128+15) or to the program, which as PID 1 without a handler
    // ignores it (as under runc) and ends by itself. Never the runtime killed by it, which left
    // the container behind.
    const { code, signal } = await ended;
    expect(signal).toBeNull();
    expect([0, 143]).toContain(code);
    expect(rt.run(['state', id]).stderr).toMatch(/does not exist/);
    expect(leftovers(id, b.dir)).toEqual([]);
  });
});

/**
 * Runs the CLI with a script preloaded (NODE_OPTIONS), expecting success. stderr to a file: the
 * container inherits create's, and a pipe would keep spawnSync waiting.
 */
function preloadedCli(preload: string, errors: string): (args: string[]) => void {
  return (args) => {
    const err = fs.openSync(errors, 'a');
    try {
      const r = spawnSync(rt.binary, ['--root', rt.root, ...args], {
        stdio: ['ignore', 'ignore', err],
        env: { ...process.env, NODE_OPTIONS: `--require ${preload}` },
        timeout: 30000,
      });
      expect(r.error).toBeUndefined();
      expect(r.status).toBe(0);
    } finally {
      fs.closeSync(err);
    }
  };
}

describe('create / start / state / kill / delete', () => {
  test("the commands that loaded libc (create, start, delete) end by _exit; the others by Node's exit (its exit handlers run)", () => {
    const b = bundle(['sleep', '30']);
    const id = uniqueId();
    const marks = join(b.dir, 'exits');
    const preload = join(b.dir, 'exit-mark.js');
    fs.writeFileSync(
      preload,
      `process.on('exit', () => require('fs').appendFileSync(${JSON.stringify(marks)}, process.argv.slice(2).filter((a) => !a.startsWith('-') && a !== ${JSON.stringify(rt.root)})[0] + '\\n'));\n`,
    );
    const errors = join(b.dir, 'errors');
    const cli = preloadedCli(preload, errors);
    cli(['create', '--bundle', b.dir, id]);
    cli(['state', id]);
    cli(['start', id]);
    cli(['kill', id, '0']);
    cli(['delete', '--force', id]);
    expect(fs.readFileSync(errors, 'utf8')).toBe('');
    expect(fs.readFileSync(marks, 'utf8')).toBe('state\nkill\n');
    expect(leftovers(id, b.dir)).toEqual([]);
  });

  test("create, start, exec, run and delete of a default bundle throw no system error on their way, in the runtime or its copies (the first one loads Node's os module for its errno's name: ~1 ms)", () => {
    const b = bundle(['sleep', '30']);
    const once = bundle(['true']);
    const id = uniqueId();
    const marks = join(b.dir, 'os-loads');
    const preload = join(b.dir, 'os-spy.js');
    // a forked copy inherits the spy with the rest of the runtime
    fs.writeFileSync(
      preload,
      `const M = require('module'); const req = M.prototype.require;\n` +
        `M.prototype.require = function (id) { if (id === 'os') require('fs').appendFileSync(${JSON.stringify(marks)}, process.argv.slice(2).join(' ') + '\\n' + new Error().stack + '\\n'); return req.apply(this, arguments); };\n`,
    );
    const errors = join(b.dir, 'errors');
    const cli = preloadedCli(preload, errors);
    cli(['create', '--bundle', b.dir, id]);
    cli(['start', id]);
    cli(['exec', id, 'true']);
    cli(['run', '--bundle', once.dir, uniqueId()]);
    cli(['delete', '--force', id]);
    expect(fs.readFileSync(errors, 'utf8')).toBe('');
    expect(fs.existsSync(marks) ? fs.readFileSync(marks, 'utf8') : '').toBe('');
    expect(leftovers(id, b.dir)).toEqual([]);
  });

  test("start waits for the program's execve only where hooks need it (poststart, startContainer); otherwise it returns once init is released, as runc", () => {
    const startSteps = (id: string, dir: string): string[] => {
      const log = join(dir, 'start.log');
      rt.ok(['--debug', '--log', log, 'start', id]);
      return [...fs.readFileSync(log, 'utf8').matchAll(/timing: (start: .+?) [0-9.]+ ms/g)].map((m) => m[1]);
    };
    const plain = bundle(['sleep', '30']);
    const a = uniqueId();
    expect(rt.create(a, plain.dir).status).toBe(0);
    expect(startSteps(a, plain.dir)).toEqual(['start: locked, state loaded', 'start: init released']);
    expect(rt.state(a).status).toBe('running');

    const hooked = bundle(['sleep', '30'], (c) => (c.hooks = { poststart: [{ path: '/bin/true' }] }));
    const b = uniqueId();
    expect(rt.create(b, hooked.dir).status).toBe(0);
    expect(startSteps(b, hooked.dir)).toEqual(['start: locked, state loaded', 'start: the program runs']);
    // the program has replaced init by the time start returns
    expect(fs.readFileSync(`/proc/${rt.state(b).pid}/comm`, 'utf8')).toBe('sleep\n');
    for (const id of [a, b]) rt.ok(['delete', '--force', id]);
  });

  test("--debug shows the child's own steps, init's (born by vfork for run, forked for create) and exec's, on the runtime's clock", () => {
    const b = bundle(['sleep', '30']);
    const id = uniqueId();
    const runLog = join(b.dir, 'run.log');
    const execLog = join(b.dir, 'exec.log');
    expect(rt.create(id, b.dir, ['--detach'], 'run', ['--debug', '--log', runLog]).status).toBe(0);
    try {
      rt.ok(['--debug', '--log', execLog, 'exec', id, 'true']);
      const steps = (log: string) =>
        [
          ...fs
            .readFileSync(log, 'utf8')
            .matchAll(/timing: (init|exec process|\w+): (.+?) ([0-9.]+) ms, (\d+) page faults \(at ([0-9.]+) ms\)/g),
        ].map((m) => ({
          who: m[1],
          name: m[2],
          at: Number(m[5]),
        }));
      // A copy's steps (who) in order, named as expected, on the runtime's clock: after its step
      // `from` and no later than its step `to`.
      const expectCopySteps = (log: string, who: string, names: string[], from: RegExp, to: RegExp) => {
        const all = steps(log);
        const own = all.filter((s) => s.who === who);
        expect(own.map((s) => s.name)).toEqual(names);
        for (let i = 1; i < own.length; i++) expect(own[i].at).toBeGreaterThanOrEqual(own[i - 1].at);
        const at = (name: RegExp) => all.find((s) => s.who !== who && name.test(s.name))!.at;
        expect(own[0].at).toBeGreaterThan(at(from));
        expect(own[own.length - 1].at).toBeLessThanOrEqual(at(to));
      };
      // the CLI's run: init born by vfork (README: How it works)
      expectCopySteps(
        runLog,
        'init',
        [
          'born by vfork',
          'recorded, placed in its cgroups and namespaces, keyring',
          'rootfs mounted',
          'pivot_root',
          'rootfs finished, program found',
          'credentials, capabilities, seccomp: ready to exec',
        ],
        /^ready to fork$/,
        /^init born by vfork/,
      );
      // create: a forked init, which waits for start
      const created = uniqueId();
      const createLog = join(b.dir, 'create.log');
      expect(rt.create(created, b.dir, [], 'create', ['--debug', '--log', createLog]).status).toBe(0);
      try {
        expectCopySteps(
          createLog,
          'init',
          [
            'forked',
            'said hello',
            'keyring, rootfs up to its cgroups',
            'placed in its cgroups (go)',
            'rootfs mounted',
            'pivot_root',
            'rootfs finished, program found',
          ],
          /^ready to fork$/,
          /^init ready$/,
        );
      } finally {
        rt.ok(['delete', '--force', created]);
      }
      // the CLI's exec process is born by vfork (README: How it works)
      expectCopySteps(
        execLog,
        'exec process',
        ['born by vfork', 'placed in its cgroups', 'keyring, program found', 'credentials, capabilities, seccomp: ready to exec'],
        /^ready to fork$/,
        /^process born by vfork/,
      );
    } finally {
      rt.ok(['delete', '--force', id]);
    }
  });

  test("init's --debug steps stay on the runtime's clock in a time namespace that moves its monotonic clock", () => {
    const b = bundle(['true'], (c) => {
      c.linux!.namespaces!.push({ type: 'time' });
      c.linux!.timeOffsets = { monotonic: { secs: 86400, nanosecs: 0 } };
    });
    const log = join(b.dir, 'run.log');
    rt.ok(['--debug', '--log', log, 'run', '--bundle', b.dir, uniqueId()]);
    const lines = [...fs.readFileSync(log, 'utf8').matchAll(/timing: (.+?) ([0-9.]+) ms, \d+ page faults \(at ([0-9.]+) ms\)/g)];
    const at = (name: string) => Number(lines.find((m) => m[1] === name)![3]);
    const init = lines.filter((m) => m[1].startsWith('init: '));
    expect(init.length).toBeGreaterThan(3);
    // a day's offset left in would put every step after the hello a day later
    for (const m of init) {
      expect(Number(m[3])).toBeGreaterThan(at('create: ready to fork'));
      expect(Number(m[3])).toBeLessThanOrEqual(at('create: init ready'));
    }
  });

  test('the whole lifecycle, status derived from the real process at each step', async () => {
    const b = bundle(['sh', '-c', 'echo started; exec sleep 30']);
    const id = uniqueId();
    const pidFile = join(b.dir, 'pid');
    expect(rt.create(id, b.dir, ['--pid-file', pidFile]).status).toBe(0);
    const st = rt.state(id);
    expect(st).toMatchObject({ id, status: 'created', bundle: b.dir, ociVersion: b.config.ociVersion });
    expect(fs.readFileSync(pidFile, 'utf8')).toBe(String(st.pid));
    expect(fs.existsSync(`/proc/${st.pid}`)).toBe(true);
    // The user program has not run before start.
    expect(rt.output(id, b.dir)).toBe('');
    rt.ok(['start', id]);
    expect(rt.state(id).status).toBe('running');
    await rt.waitStatus(id, 'running');
    for (let i = 0; i < 100 && !rt.output(id, b.dir).includes('started'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(rt.output(id, b.dir)).toBe('started\n');
    expect(rt.state(id).pid).toBe(st.pid); // the program replaced the init process
    rt.ok(['kill', id, 'KILL']);
    await rt.waitStatus(id, 'stopped');
    expect(rt.run(['kill', id, 'KILL']).status).not.toBe(0); // not running any more
    rt.ok(['delete', id]);
    expect(rt.run(['state', id]).stderr).toMatch(/does not exist/);
    expect(leftovers(id, b.dir)).toEqual([]);
  });

  test('kill sends the named signal; the default is SIGTERM', async () => {
    const b = bundle(['sh', '-c', 'trap "echo USR1" USR1; trap "echo TERM; exit 0" TERM; echo ready; while :; do sleep 0.05; done']);
    const id = uniqueId();
    expect(rt.create(id, b.dir).status).toBe(0);
    rt.ok(['start', id]);
    // each signal once the shell has shown it is ready for it (its traps set; the first handled)
    const until = async (text: string): Promise<void> => {
      for (let i = 0; i < 500 && !rt.output(id, b.dir).includes(text); i++) await new Promise((r) => setTimeout(r, 20));
    };
    await until('ready\n');
    rt.ok(['kill', id, 'USR1']);
    await until('USR1\n');
    rt.ok(['kill', id]);
    await rt.waitStatus(id, 'stopped');
    expect(rt.output(id, b.dir)).toBe('ready\nUSR1\nTERM\n');
  });

  test('kill --all reaches every process of a container without its own pid namespace', async () => {
    const b = bundle(['sh', '-c', 'sleep 30 & sleep 30 & wait'], (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'pid');
    });
    const id = uniqueId();
    expect(rt.create(id, b.dir).status).toBe(0);
    rt.ok(['start', id]);
    await new Promise((r) => setTimeout(r, 300));
    rt.ok(['kill', '--all', id, 'KILL']);
    await rt.waitStatus(id, 'stopped');
    rt.ok(['delete', id]);
    expect(leftovers(id, b.dir)).toEqual([]);
  });

  test('a created container can be killed, and deleted only with --force while not stopped', () => {
    const b = bundle(['sleep', '30']);
    const id = uniqueId();
    expect(rt.create(id, b.dir).status).toBe(0);
    const r = rt.run(['delete', id]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/not stopped: created/);
    expect(rt.state(id).status).toBe('created');
    rt.ok(['delete', '--force', id]);
    expect(leftovers(id, b.dir)).toEqual([]);
  });

  test('delete --force of an unknown container succeeds (containerd relies on it); plain delete fails', () => {
    expect(rt.run(['delete', '--force', 'no-such-container']).status).toBe(0);
    expect(rt.run(['delete', 'no-such-container']).status).not.toBe(0);
  });

  test('a container without a process can be created; start is an error (runtime-spec), delete --force removes it', () => {
    const b = bundle(['true'], (c) => {
      delete c.process;
    });
    const id = uniqueId();
    expect(rt.create(id, b.dir).status).toBe(0);
    const r = rt.run(['start', id]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no process to run/);
    expect(rt.state(id).status).toBe('created');
    rt.ok(['delete', '--force', id]);
    expect(leftovers(id, b.dir)).toEqual([]);
  });

  test('a missing program is refused by create (as runc); one gone by start is reported by the container', async () => {
    const b = bundle(['/no/such/program']);
    const r = rt.create(uniqueId(), b.dir);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/process.args\[0\]: exec: "\/no\/such\/program": no such file or directory/);
    const g = bundle(['/bin/gone']);
    fs.linkSync(join(g.dir, 'rootfs', 'bin', 'busybox'), join(g.dir, 'rootfs', 'bin', 'gone'));
    const id = uniqueId();
    expect(rt.create(id, g.dir).status).toBe(0);
    fs.unlinkSync(join(g.dir, 'rootfs', 'bin', 'gone'));
    rt.ok(['start', id]);
    await rt.waitStatus(id, 'stopped');
    expect(rt.output(id, g.dir)).toMatch(/bin\/gone.*no such file/);
  });

  test('list shows containers with their status', () => {
    const b = bundle(['sleep', '30']);
    const id = uniqueId();
    expect(rt.create(id, b.dir).status).toBe(0);
    const rows = JSON.parse(rt.ok(['list', '--format', 'json'])) as { id: string; status: string }[];
    expect(rows).toEqual([expect.objectContaining({ id, status: 'created' })]);
    expect(rt.ok(['list', '-q'])).toBe(`${id}\n`);
  });
});

describe("runc's command-line contract, as containerd and podman use it", () => {
  test('global flags go-runc passes (--rootless, --criu) are accepted; refused command lines are logged to --log', () => {
    expect(rt.run(['--rootless=false', '--criu', '/usr/sbin/criu', 'list', '-q']).status).toBe(0);
    const log = join(rt.root, 'log.json');
    const r = rt.run(['--log', log, '--log-format', 'json', 'no-such-command']);
    expect(r.status).not.toBe(0);
    const last = JSON.parse(fs.readFileSync(log, 'utf8').trim().split('\n').pop()!) as { level: string; msg: string };
    expect(last).toMatchObject({ level: 'error', msg: expect.stringMatching(/no-such-command/) });
  });

  test("with --log, warnings go there and not to stderr (the shim gives create's stderr to the container)", () => {
    const b = bundle(['true'], (c) => {
      c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['no_such_syscall'], action: 'SCMP_ACT_ERRNO' }] };
    });
    const log = join(rt.root, 'warn.log');
    const id = uniqueId();
    const r = rt.create(id, b.dir, [], 'create');
    expect(r.stderr).toMatch(/warning: .*no_such_syscall/); // without --log: stderr
    rt.ok(['delete', '--force', id]);
    const id2 = uniqueId();
    // stderr into a file: the container's init inherits it (a pipe would hold spawnSync open)
    const errFile = join(rt.root, 'create.err');
    const errFd = fs.openSync(errFile, 'w');
    const r2 = spawnSync(rt.binary, ['--root', rt.root, '--log', log, 'create', '--bundle', b.dir, id2], {
      stdio: ['ignore', 'ignore', errFd],
    });
    fs.closeSync(errFd);
    expect(r2.status).toBe(0);
    expect(fs.readFileSync(errFile, 'utf8')).toBe('');
    expect(fs.readFileSync(log, 'utf8')).toMatch(/level=warning msg=".*no_such_syscall/);
    rt.ok(['delete', '--force', id2]);
  });

  test('a session keyring of its own, unless --no-new-keyring', async () => {
    // /proc/keys is among the default masked paths: unmasked here to look.
    const b = bundle(['sh', '-c', 'grep -o " _ses\\.[^:]*" /proc/keys; true'], (c) => {
      c.linux.maskedPaths = c.linux.maskedPaths.filter((p: string) => p !== '/proc/keys');
    });
    const id = uniqueId();
    const r = rt.run(['run', '--bundle', b.dir, id]);
    // its own keyring is there (others' may be listed too: root sees root's keyrings)
    expect(r.stdout.split('\n').map((l) => l.trim())).toContain(`_ses.${id}`);
    // exec joins the container's keyring (runc's setns init does): its use count goes up by one.
    const s = bundle(['sleep', '30']);
    const id3 = uniqueId();
    expect(rt.create(id3, s.dir).status).toBe(0);
    rt.ok(['start', id3]);
    const uses = () =>
      Number(
        fs
          .readFileSync('/proc/keys', 'utf8')
          .split('\n')
          .find((l) => l.endsWith(` _ses.${id3}: empty`))
          ?.trim()
          .split(/\s+/)[2],
      );
    // Credentials a process dropped let go of the keyring only after an RCU grace period, which
    // this kernel defers for seconds (lazy RCU): counts are read once they stay put.
    const settled = async (): Promise<number> => {
      let last = uses();
      for (let end = Date.now() + 15000; Date.now() < end;) {
        await new Promise((res) => setTimeout(res, 500));
        const now = uses();
        if (now === last) return now;
        last = now;
      }
      return last;
    };
    const before = await settled();
    expect(before).toBeGreaterThan(0);
    expect(spawnSync(rt.binary, ['--root', rt.root, 'exec', '--detach', id3, 'sleep', '3'], { stdio: 'ignore' }).status).toBe(0);
    // The exec'd process holds the container's keyring, and gives it back when it ends.
    expect(uses()).toBeGreaterThan(before);
    for (let end = Date.now() + 15000; uses() !== before && Date.now() < end;) await new Promise((res) => setTimeout(res, 200));
    expect(uses()).toBe(before);
    rt.ok(['delete', '--force', id3]);
    const id2 = uniqueId();
    const r2 = rt.run(['run', '--no-new-keyring', '--bundle', b.dir, id2]);
    expect(r2.status).toBe(0);
    expect(r2.stdout).not.toContain(`_ses.${id2}`);
  });

  test('run --keep leaves the stopped container; kill --all of a stopped one is no error; SIGKILL ends a paused one', async () => {
    const b = bundle(['sh', '-c', 'exit 3']);
    const id = uniqueId();
    expect(rt.run(['run', '--keep', '--bundle', b.dir, id]).status).toBe(3);
    expect(rt.state(id).status).toBe('stopped');
    expect(rt.run(['kill', '--all', id, 'KILL']).status).toBe(0);
    expect(rt.run(['kill', id, 'KILL']).status).not.toBe(0);
    rt.ok(['delete', id]);
    const p = bundle(['sleep', '60']);
    const id2 = uniqueId();
    expect(rt.create(id2, p.dir).status).toBe(0);
    rt.ok(['start', id2]);
    rt.ok(['pause', id2]);
    rt.ok(['kill', id2, 'KILL']);
    await rt.waitStatus(id2, 'stopped');
    rt.ok(['delete', id2]);
    expect(leftovers(id2, p.dir)).toEqual([]);
  });

  test('create --pidfd-socket sends a pidfd of init', () => {
    const b = bundle(['true']);
    const sock = new ConsoleSocket(join(rt.root, 'pidfd.sock'));
    const id = uniqueId();
    expect(rt.create(id, b.dir, ['--pidfd-socket', sock.path]).status).toBe(0);
    const { fd } = sock.receive();
    expect(fs.readlinkSync(`/proc/self/fd/${fd}`)).toBe('anon_inode:[pidfd]');
    expect(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8')).toMatch(new RegExp(`Pid:\\s+${rt.state(id).pid}\\n`));
    fs.closeSync(fd);
    rt.ok(['delete', '--force', id]);
  });

  test("run --pidfd-socket and --pid-file name init even where its program is over before run's watch begins (init born by vfork)", () => {
    const b = bundle(['true']);
    for (let i = 0; i < 5; i++) {
      const sock = new ConsoleSocket(join(rt.root, `pidfd-${i}.sock`));
      const pidFile = join(b.dir, `pid-${i}`);
      const r = rt.run(['run', '--bundle', b.dir, '--pidfd-socket', sock.path, '--pid-file', pidFile, uniqueId()]);
      expect(r).toMatchObject({ status: 0, stderr: '' });
      const { fd } = sock.receive();
      const pid = Number(fs.readFileSync(pidFile, 'utf8'));
      // the pidfd is of init's pid (it has exited and was reaped: the pidfd says -1 then)
      expect(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8')).toMatch(/Pid:\s+-1\n/);
      expect(pid).toBeGreaterThan(1);
      fs.closeSync(fd);
    }
  });
});
