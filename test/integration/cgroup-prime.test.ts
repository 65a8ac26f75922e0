// The priming move (src/cgroups/prime.ts), in Node processes of their own: it moves nothing (the
// process stays in every cgroup it was in), leaves no fd behind, fails quietly where it cannot
// write, and a copy forked while its write sleeps in the kernel on a pool thread is born as usual.
// What it is for (the later move does not wait for a grace period) is a timing: `--debug` shows
// it as the step 'create: init placed in its cgroups', and npm run bench measures it.
import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import { join } from 'path';
import { REPO } from '../helpers/bundle';
import { CHILDREN_NODE, reapAll } from '../helpers/launcher-helper';

const DIST = join(REPO, 'dist');

/**
 * Node code that puts this process's main thread (the one that spawns, too) in a mount namespace
 * of its own where /sys/kernel/rcu_expedited and rcu_normal read as given (the text as is, so
 * with or without a newline), or are missing (null: an empty tmpfs over /sys/kernel).
 */
function withRcu(expedited: string | null, normal: string | null): string {
  return `
    const sysk = require(${JSON.stringify(join(DIST, 'sys', 'koffi-libc.js'))}).makeKoffiLibc();
    const tmp = fs.mkdtempSync('/tmp/tsrunc-rcu-');
    process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
    sysk.unshare(0x20000); // CLONE_NEWNS
    sysk.mount(null, '/', null, 16384 | 524288, null); // MS_REC | MS_SLAVE: nothing goes back to the host
    const files = [['rcu_expedited', ${JSON.stringify(expedited)}], ['rcu_normal', ${JSON.stringify(normal)}]];
    if (files.some(([, v]) => v === null)) sysk.mount('tmpfs', '/sys/kernel', 'tmpfs', 0, null);
    for (const [name, value] of files) {
      if (value === null) continue;
      fs.writeFileSync(tmp + '/' + name, value);
      if (!fs.existsSync('/sys/kernel/' + name)) fs.writeFileSync('/sys/kernel/' + name, '');
      sysk.mount(tmp + '/' + name, '/sys/kernel/' + name, null, 4096, null); // MS_BIND
    }
  `;
}

/**
 * A Node process that runs body. waits: whether a move waits for a grace period there (what
 * prime.ts otherwise reads from /sys/kernel: these tests are for the priming itself, whatever
 * this machine's setting), or a mount namespace's given setting (withRcu).
 */
function node(body: string, waits: boolean | string = true): { status: number | null; stdout: string; stderr: string } {
  const script = `
    const fs = require('fs');
    ${typeof waits === 'string' ? waits : `process[Symbol.for('tsrunc.cgroup-moves-wait')] = ${waits};`}
    const { primeCgroupMove } = require(${JSON.stringify(join(DIST, 'cgroups', 'prime.js'))});
    const { hostLayout } = require(${JSON.stringify(join(DIST, 'cgroups', 'hierarchy.js'))});
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    ${body}
  `;
  const r = spawnSync(process.execPath, ['--single-threaded', '--expose-gc', '-e', script], { encoding: 'utf8', timeout: 20000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('where the kernel expedites grace periods (a move waits ~0.2 ms), nothing is primed', () => {
  // [rcu_expedited, rcu_normal, whether a move waits]: the kernel reads each as an integer, any
  // but 0 true, and rcu_normal overrides rcu_expedited; a file missing (Tiny RCU) is 0
  const SETTINGS: [string | null, string | null, boolean][] = [
    ['1\n', '0\n', false],
    ['1', '0', false],
    ['2\n', '0\n', false],
    ['0\n', '0\n', true],
    ['1\n', '1\n', true],
    ['1\n', '2\n', true],
    ['1\n', null, false],
    [null, null, true],
  ];

  test.each(SETTINGS)(
    "rcu_expedited %j, rcu_normal %j: boot's and create's priming move only where a move waits (%s)",
    (expedited, normal, waits) => {
      const r = node(
        `
      const { primeCgroupMoveEarly, movesWait } = require(${JSON.stringify(join(DIST, 'cgroups', 'prime.js'))});
      const writes = [];
      const write = fs.write;
      fs.write = (...args) => { writes.push(args[0]); return write(...args); };
      primeCgroupMoveEarly();
      primeCgroupMove(hostLayout, true);
      fs.write = write;
      console.log(JSON.stringify({ waits: movesWait(), writes: writes.length }));
    `,
        withRcu(expedited, normal),
      );
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ waits, writes: waits ? 2 : 0 });
    },
  );

  const launcher = join(REPO, 'bin', 'tsrunc');
  /**
   * bin/tsrunc run under shell, from a subreaper of its own, which collects the helper the
   * launcher forks twice; the fake node it runs prints its own children (the helper must be none).
   */
  const helpers = (shell: string, expedited: string | null, normal: string | null): { children: string; reaped: number } => {
    const r = node(
      `
      const { spawnSync } = require('child_process');
      sysk.prctl(36, 1); // PR_SET_CHILD_SUBREAPER
      const fake = tmp + '/node';
      fs.writeFileSync(fake, ${JSON.stringify(CHILDREN_NODE)}, { mode: 0o755 });
      const r = spawnSync(${JSON.stringify(shell)}, [${JSON.stringify(launcher)}, 'run', 'c'], { encoding: 'utf8', env: { PATH: process.env.PATH, TSRUNC_NODE: fake } });
      if (r.status !== 0 || r.stderr !== '') throw new Error('launcher: ' + r.status + ' ' + r.stderr);
      ${reapAll('sysk')}
      console.log(JSON.stringify({ children: r.stdout.trim(), reaped }));
    `,
      withRcu(expedited, normal),
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return JSON.parse(r.stdout) as { children: string; reaped: number };
  };

  test.each(SETTINGS)(
    "bin/tsrunc's helper likewise, run by dash and by bash (rcu_expedited %j, rcu_normal %j, a move waits: %s)",
    (expedited, normal, waits) => {
      for (const shell of ['sh', 'bash']) {
        // forked twice: no child of node's process, and gone by itself
        expect([shell, helpers(shell, expedited, normal)]).toEqual([shell, { children: 'children=', reaped: waits ? 1 : 0 }]);
      }
    },
  );
});

describe('the priming move into our own cgroup', () => {
  test('leaves the process in every cgroup it was in, and no fd open once done', () => {
    const r = node(`
      const before = fs.readFileSync('/proc/self/cgroup', 'utf8');
      const open = fds();
      primeCgroupMove(hostLayout);
      process.on('beforeExit', () => {
        if (process.exitCode === 0) return;
        process.exitCode = 0;
        console.log(JSON.stringify({ same: fs.readFileSync('/proc/self/cgroup', 'utf8') === before, fdsBack: fds() === open }));
      });
    `);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ same: true, fdsBack: true });
  });

  test("boot's early priming (exec) finds this process's unified cgroup: it moves nothing and leaves no fd", () => {
    const r = node(`
      const { primeCgroupMoveEarly } = require(${JSON.stringify(join(DIST, 'cgroups', 'prime.js'))});
      const before = fs.readFileSync('/proc/self/cgroup', 'utf8');
      const open = fds();
      const opened = [];
      const openSync = fs.openSync;
      // opened to be written (the membership check before reads it)
      fs.openSync = (p, flags, ...rest) => { const fd = openSync(p, flags, ...rest); if (flags === fs.constants.O_WRONLY) opened.push(p); return fd; };
      primeCgroupMoveEarly();
      fs.openSync = openSync;
      process.on('beforeExit', () => {
        if (process.exitCode === 0) return;
        process.exitCode = 0;
        console.log(JSON.stringify({ opened, same: fs.readFileSync('/proc/self/cgroup', 'utf8') === before, fdsBack: fds() === open }));
      });
    `);
    expect(r.stderr).toBe('');
    const own = /^0::(\/.*)$/m.exec(fs.readFileSync('/proc/self/cgroup', 'utf8'))![1];
    const out = JSON.parse(r.stdout) as { opened: string[]; same: boolean; fdsBack: boolean };
    // the unified hierarchy's cgroup.procs of its cgroup (the jest worker's): hybrid, or pure v2
    const procs = out.opened.filter((p) => p.endsWith('/cgroup.procs'));
    expect(procs).toHaveLength(1);
    expect([join('/sys/fs/cgroup/unified', own, 'cgroup.procs'), join('/sys/fs/cgroup', own, 'cgroup.procs')]).toContain(procs[0]);
    expect(out).toMatchObject({ same: true, fdsBack: true });
  });

  test("once boot primed, the command's priming neither reads the layout nor moves again", () => {
    const r = node(`
      const { primeCgroupMoveEarly } = require(${JSON.stringify(join(DIST, 'cgroups', 'prime.js'))});
      primeCgroupMoveEarly();
      let asked = 0;
      const writes = [];
      const write = fs.write;
      fs.write = (...args) => { writes.push(args[0]); return write(...args); };
      primeCgroupMove(() => { asked++; return hostLayout(); });
      fs.write = write;
      console.log(JSON.stringify({ asked, writes: writes.length }));
    `);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ asked: 0, writes: 0 });
  });

  test("again (create's, after boot's): it moves once more; the host layout is read from boot's /proc/self/cgroup, not again during the move's wait", () => {
    const r = node(`
      const { primeCgroupMoveEarly, SELF_CGROUP_AT_BOOT } = require(${JSON.stringify(join(DIST, 'cgroups', 'prime.js'))});
      primeCgroupMoveEarly();
      const kept = process[SELF_CGROUP_AT_BOOT];
      const writes = [];
      const write = fs.write;
      fs.write = (...args) => { writes.push(args[0]); return write(...args); };
      primeCgroupMove(hostLayout, true);
      fs.write = write;
      const reads = [];
      const readFileSync = fs.readFileSync;
      fs.readFileSync = (p, ...rest) => { reads.push(String(p)); return readFileSync(p, ...rest); };
      const layout = hostLayout();
      fs.readFileSync = readFileSync;
      console.log(JSON.stringify({ writes: writes.length, same: kept === fs.readFileSync('/proc/self/cgroup', 'latin1'), reads, hierarchies: layout.hierarchies.length }));
    `);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { writes: number; same: boolean; reads: string[]; hierarchies: number };
    expect(out.writes).toBe(1);
    expect(out.same).toBe(true);
    expect(out.reads).not.toContain('/proc/self/cgroup');
    expect(out.hierarchies).toBeGreaterThan(0);
  });

  test('a cgroup that does not list this process is not written (a path from another cgroup namespace would name one)', () => {
    const v2 = fs.existsSync('/sys/fs/cgroup/unified/cgroup.controllers') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';
    const other = join(v2, 'tsrunc-prime-test-' + process.pid);
    fs.mkdirSync(other);
    try {
      const r = node(`
        const before = fs.readFileSync('/proc/self/cgroup', 'utf8');
        const writes = [];
        const write = fs.write;
        fs.write = (...args) => { writes.push(args[0]); return write(...args); };
        primeCgroupMove(() => ({ mode: 'v2', hierarchies: [{ mountpoint: ${JSON.stringify(v2)}, version: 2, controllers: [], ownPath: ${JSON.stringify('/' + other.split('/').pop())} }] }));
        fs.write = write;
        console.log(JSON.stringify({ writes: writes.length, same: fs.readFileSync('/proc/self/cgroup', 'utf8') === before }));
      `);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toEqual({ writes: 0, same: true });
      expect(fs.readFileSync(join(other, 'cgroup.procs'), 'utf8')).toBe('');
    } finally {
      fs.rmdirSync(other);
    }
  });

  test('a cgroup it cannot open is no error and leaves nothing open', () => {
    const r = node(`
      const open = fds();
      primeCgroupMove(() => ({ mode: 'v2', hierarchies: [{ mountpoint: '/nonexistent', version: 2, controllers: [], ownPath: '/' }] }));
      primeCgroupMove(() => ({ mode: 'v1', hierarchies: [] }));
      console.log(fds() === open);
    `);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('true\n');
  });

  test('a copy forked while the write sleeps on a pool thread is born and exits as usual', () => {
    const r = node(`
      const { forkCopy } = require(${JSON.stringify(join(DIST, 'process', 'copy.js'))});
      const { libc } = require(${JSON.stringify(join(DIST, 'sys', 'index.js'))});
      const sys = libc();
      primeCgroupMove(hostLayout);
      const pid = forkCopy(sys, 3, [], () => { fs.writeSync(1, 'copy ran\\n'); return sys.exit(7); });
      const w = sys.waitpid(pid, false);
      console.log('exit status', (w.status >> 8) & 0xff);
    `);
    expect(r.stdout).toBe('copy ran\nexit status 7\n');
  });
});
