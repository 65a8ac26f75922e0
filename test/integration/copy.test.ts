// The forked copy's world (src/process/copy.ts), checked in a Node process of its own (never the
// jest worker): what a copy must not use fails clearly, process.exit is _exit, the parent's fds
// are gone but the ones it keeps, spawnSync works, a waiting copy ends on SIGTERM, and it starts
// with room in its young generation.
import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { REPO } from '../helpers/bundle';

const DIST = join(REPO, 'dist');

function inCopy(body: string): { status: number | null; stdout: string; stderr: string } {
  const script = `
    const fs = require('fs');
    const { forkCopy, waitReadableOrExit } = require(${JSON.stringify(join(DIST, 'process', 'copy.js'))});
    const { libc } = require(${JSON.stringify(join(DIST, 'sys', 'index.js'))});
    const sys = libc();
    const kept = fs.openSync('/etc/hostname', 'r');
    const other = fs.openSync('/etc/hostname', 'r');
    const pid = forkCopy(sys, 3, [kept], () => { ${body} });
    const w = sys.waitpid(pid, false);
    console.log('exit', w.status & 0x7f ? 'signal ' + (w.status & 0x7f) : 'status ' + ((w.status >> 8) & 0xff));
  `;
  const r = spawnSync(process.execPath, ['--single-threaded', '--expose-gc', '-e', script], { encoding: 'utf8', timeout: 20000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('a forked copy of the runtime', () => {
  test('timers, nextTick, microtasks, fs callbacks and promises are refused by name; process.exit is _exit', () => {
    const r = inCopy(`
      for (const [name, f] of [['readFile', () => fs.readFile('/etc/hostname', () => {})], ['setTimeout', () => setTimeout(() => {}, 1)],
        ['promises', () => fs.promises.readFile('/etc/hostname')], ['nextTick', () => process.nextTick(() => {})],
        ['queueMicrotask', () => queueMicrotask(() => {})], ['setImmediate', () => setImmediate(() => {})]]) {
        try { f(); fs.writeSync(1, name + ': allowed\\n'); } catch (e) { fs.writeSync(1, name + ': ' + e.message + '\\n'); }
      }
      fs.writeSync(1, 'sync read: ' + (fs.readFileSync('/etc/hostname').length > 0) + '\\n');
      process.on('exit', () => fs.writeSync(1, 'exit handler ran\\n'));
      process.exit(3);
    `);
    expect(r.stdout).toMatch(/^readFile: fs\.readFile \(use fs\.readFileSync\) is not available in a forked copy/m);
    for (const name of ['setTimeout', 'nextTick', 'queueMicrotask', 'setImmediate'])
      expect(r.stdout).toMatch(new RegExp(`^${name}: .*not available in a forked copy`, 'm'));
    expect(r.stdout).toMatch(/^promises: fs\.promises is not available/m);
    expect(r.stdout).toContain('sync read: true\n');
    expect(r.stdout).not.toContain('exit handler ran'); // _exit: no teardown, which would wait for threads a copy lacks
    expect(r.stdout).toMatch(/exit status 3\n$/);
  });

  test("the parent's fds are closed but stdio and the listed ones; spawnSync works", () => {
    const r = inCopy(`
      const ok = (fd) => { try { fs.fstatSync(fd); return 'open'; } catch { return 'closed'; } };
      fs.writeSync(1, 'kept ' + ok(kept) + ', other ' + ok(other) + ', stdout ' + ok(1) + '\\n');
      const s = require('child_process').spawnSync('/bin/echo', ['child ran'], { encoding: 'utf8' });
      fs.writeSync(1, s.stdout);
      sys.exit(0);
    `);
    expect(r.stdout).toBe('kept open, other closed, stdout open\nchild ran\nexit status 0\n');
  });

  test('signals the parent handles are default in the copy (SIGPIPE ignored); stdio given to the fork is its 0-2', () => {
    const out = join(os.tmpdir(), `tsr-copy-stdio-${process.pid}`);
    const script = `
      const fs = require('fs');
      const { forkCopy } = require(${JSON.stringify(join(DIST, 'process', 'copy.js'))});
      const { libc } = require(${JSON.stringify(join(DIST, 'sys', 'index.js'))});
      const sys = libc();
      process.on('SIGUSR2', () => {});
      process.on('SIGINT', () => {});
      const file = fs.openSync(${JSON.stringify(out)}, 'w');
      const pid = forkCopy(sys, 3, [], () => {
        const st = fs.readFileSync('/proc/' + sys.getpid() + '/status', 'utf8');
        fs.writeSync(1, 'cgt ' + /^SigCgt:\\s*(\\S+)/m.exec(st)[1] + ' ign ' + /^SigIgn:\\s*(\\S+)/m.exec(st)[1] + '\\n');
        sys.exit(0);
      }, undefined, [0, file, 2]);
      sys.waitpid(pid, false);
      const parent = fs.readFileSync('/proc/self/status', 'utf8');
      console.log('parent catches SIGUSR2', (BigInt('0x' + /^SigCgt:\\s*(\\S+)/m.exec(parent)[1]) >> 11n) & 1n ? 'yes' : 'no');
    `;
    const r = spawnSync(process.execPath, ['--single-threaded', '--expose-gc', '-e', script], { encoding: 'utf8', timeout: 20000 });
    const copy = fs.readFileSync(out, 'utf8');
    fs.rmSync(out, { force: true });
    expect(r.stdout).toBe('parent catches SIGUSR2 yes\n');
    // caught: only 33, glibc's own (SIGSETXID), which no program resets; ignored: 13, SIGPIPE
    expect(copy).toBe('cgt 0000000100000000 ign 0000000000001000\n');
  });

  test('a parent that catches SIGPIPE has a copy that ignores it; before execve a copy resets SIGPIPE too, and blocks nothing', () => {
    const script = `
      const fs = require('fs');
      const { forkCopy, resetSignals } = require(${JSON.stringify(join(DIST, 'process', 'copy.js'))});
      const { libc } = require(${JSON.stringify(join(DIST, 'sys', 'index.js'))});
      const sys = libc();
      const status = () => {
        const st = fs.readFileSync('/proc/' + sys.getpid() + '/status', 'utf8');
        return ['SigCgt', 'SigIgn', 'SigBlk'].map((f) => f + ' ' + st.split('\\n').find((l) => l.startsWith(f + ':')).slice(f.length + 1).trim()).join(' ');
      };
      const run = (body) => {
        const pid = forkCopy(sys, 3, [], body);
        sys.waitpid(pid, false);
      };
      run(() => { fs.writeSync(1, 'node: ' + status() + '\\n'); resetSignals(sys); fs.writeSync(1, 'reset: ' + status() + '\\n'); sys.exit(0); });
      process.on('SIGPIPE', () => {});
      run(() => { fs.writeSync(1, 'caught: ' + status() + '\\n'); sys.exit(0); });
    `;
    const r = spawnSync(process.execPath, ['--single-threaded', '--expose-gc', '-e', script], { encoding: 'utf8', timeout: 20000 });
    expect(r.stderr).toBe('');
    // blocked: the signals a waiting copy reads from a signalfd (HUP INT QUIT USR1 USR2 ALRM TERM);
    // caught: 33 only, glibc's own (SIGSETXID), which no program resets
    expect(r.stdout).toBe(
      [
        'node: SigCgt 0000000100000000 SigIgn 0000000000001000 SigBlk 0000000000006a07',
        'reset: SigCgt 0000000100000000 SigIgn 0000000000000000 SigBlk 0000000000000000',
        'caught: SigCgt 0000000100000000 SigIgn 0000000000001000 SigBlk 0000000000006a07',
        '',
      ].join('\n'),
    );
  });

  test('a copy waiting on an fd ends on SIGTERM with 128+15, read from a signalfd', () => {
    const r = inCopy(`
      const [a] = sys.socketpair();
      process.kill(sys.getpid(), 'SIGTERM'); // blocked in the copy: pending until the signalfd reads it
      waitReadableOrExit(sys, a);
      fs.writeSync(1, 'woke without a signal\\n');
      sys.exit(0);
    `);
    expect(r.stdout).toBe('exit status 143\n');
  });

  test("the vDSO's data pages found without the maps are those /proc/self/maps names [vvar]", () => {
    const script = `
      const { vdsoDataPages } = require(${JSON.stringify(join(DIST, 'process', 'copy.js'))});
      const { libc } = require(${JSON.stringify(join(DIST, 'sys', 'index.js'))});
      const vvar = require('fs').readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => /\\[vvar/.test(l))
        .map((l) => l.split(' ')[0].split('-').map((x) => parseInt(x, 16)));
      console.log(JSON.stringify({ found: vdsoDataPages(libc()), maps: [Math.min(...vvar.map((r) => r[0])), Math.max(...vvar.map((r) => r[1]))] }));
    `;
    const r = spawnSync(process.execPath, ['--single-threaded', '-e', script], { encoding: 'utf8', timeout: 20000 });
    expect(r.stderr).toBe('');
    const { found, maps } = JSON.parse(r.stdout) as { found: number[]; maps: number[] };
    expect(maps[1]).toBeGreaterThan(maps[0]);
    expect(found).toEqual(maps);
  });

  test("the parent's young objects are promoted before the fork: the copy's young generation has room", () => {
    // A command's last objects before the fork survive one scavenge in the young generation; the
    // copy then filled what was left and scavenged while building the rootfs, faulting on each
    // page it touched. forkCopy promotes them first (two scavenges).
    const script = `
      const fs = require('fs');
      const v8 = require('v8');
      const { forkCopy } = require(${JSON.stringify(join(DIST, 'process', 'copy.js'))});
      const { libc } = require(${JSON.stringify(join(DIST, 'sys', 'index.js'))});
      const sys = libc();
      const used = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_used_size;
      used();
      gc({ type: 'minor' });
      gc({ type: 'minor' });
      const start = used();
      globalThis.young = Array.from({ length: 5000 }, (_, i) => ({ i, s: String(i).padStart(64, 'y') }));
      const live = used() - start;
      const pid = forkCopy(sys, 3, [], () => {
        fs.writeSync(1, JSON.stringify({ live, inCopy: used() }));
        return sys.exit(0);
      });
      sys.waitpid(pid, false);
    `;
    const r = spawnSync(process.execPath, ['--single-threaded', '--expose-gc', '-e', script], { encoding: 'utf8', timeout: 20000 });
    expect(r.stderr).toBe('');
    const { live, inCopy } = JSON.parse(r.stdout) as { live: number; inCopy: number };
    expect(live).toBeGreaterThan(500_000); // the young objects were made (and are still young)
    expect(inCopy).toBeLessThan(live); // (one scavenge only: ~860 KB of ~690 KB live, measured)
  });

  test('V8 maps each heap page MADV_DONTFORK: one mapped after the marking is missing in a copy, which dies where it touches it', () => {
    // What forkCopy guards against, on the bare calls: the marking, then a large array (a page of
    // its own) made before the fork; the copy reads it.
    const script = `
      const fs = require('fs');
      const { libc } = require(${JSON.stringify(join(DIST, 'sys', 'index.js'))});
      const { vdsoDataPages } = require(${JSON.stringify(join(DIST, 'process', 'copy.js'))});
      const sys = libc();
      sys.prepareFork();
      const [vvar, vdso] = vdsoDataPages(sys); // all but those (madvise refuses them), as [start, length]
      const ranges = [0, vvar, vdso, 0x7ffffffff000 - vdso];
      const big = [];
      if (sys.markDoforkRanges(ranges) !== 0) throw new Error('marking refused');
      for (let i = 0; i < 300000; i++) big.push(i + 0.5);
      const pid = sys.fork();
      if (pid === 0) { fs.writeSync(1, 'read ' + big[299999] + '\\n'); sys.exit(0); }
      const w = sys.waitpid(pid, false);
      fs.writeSync(1, 'copy: ' + (w.status & 0x7f ? 'signal ' + (w.status & 0x7f) : 'status ' + ((w.status >> 8) & 0xff)) + '\\n');
    `;
    const r = spawnSync(process.execPath, ['--single-threaded', '-e', script], { encoding: 'utf8', timeout: 20000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('copy: signal 11\n');
  });

  test('forkCopy refuses a copy forked after V8 mapped a page past the marking (a lost copy, killed); without one the copy runs', () => {
    const script = `
      const fs = require('fs');
      const { forkCopy } = require(${JSON.stringify(join(DIST, 'process', 'copy.js'))});
      const { LostCopy } = require(${JSON.stringify(join(DIST, 'process', 'hello.js'))});
      const { libc } = require(${JSON.stringify(join(DIST, 'sys', 'index.js'))});
      const sys = libc();
      const mark = sys.markDoforkRanges;
      let big;
      for (const allocate of [true, false]) {
        sys.markDoforkRanges = (flat) => {
          const e = mark(flat);
          if (allocate) big = Array.from({ length: 300000 }, (_, i) => i + 0.5);
          return e;
        };
        try {
          const pid = forkCopy(sys, 3, [], () => sys.exit(big ? (big.length % 7) + 40 : 40));
          const w = sys.waitpid(pid, false);
          fs.writeSync(1, 'forked: ' + (w.status & 0x7f ? 'signal ' + (w.status & 0x7f) : 'status ' + ((w.status >> 8) & 0xff)) + '\\n');
        } catch (e) {
          let left = 'none';
          try { left = String(sys.waitpid(-1, true).pid); } catch (w) { left = w.code || w.message.split(':')[0]; }
          fs.writeSync(1, (e instanceof LostCopy ? 'lost: ' : 'failed: ') + e.message + '; children left: ' + left + '\\n');
        }
      }
    `;
    const r = spawnSync(process.execPath, ['--single-threaded', '--expose-gc', '-e', script], { encoding: 'utf8', timeout: 20000 });
    expect(r.stderr).toBe('');
    const [first, second] = r.stdout.trim().split('\n');
    expect(first).toMatch(/^lost: V8 mapped a heap page between the MADV_DOFORK marking and the fork/);
    expect(first).not.toMatch(/children left: \d/);
    expect(second).toBe(`forked: status ${(300000 % 7) + 40}`);
  });

  test("a process started with a roomy young generation (bin/tsrunc's) forks first without a scavenge, later with two", () => {
    const script = `
      const fs = require('fs');
      const { forkCopy } = require(${JSON.stringify(join(DIST, 'process', 'copy.js'))});
      const { libc } = require(${JSON.stringify(join(DIST, 'sys', 'index.js'))});
      const sys = libc();
      for (const n of [1, 2]) {
        fs.writeSync(1, 'fork ' + n + '\\n');
        const pid = forkCopy(sys, 3, [], () => sys.exit(0));
        fs.writeSync(1, 'status ' + sys.waitpid(pid, false).status + '\\n');
      }
    `;
    const run = (flags: string[]) =>
      spawnSync(process.execPath, ['--single-threaded', '--expose-gc', '--trace-gc', ...flags, '-e', script], {
        encoding: 'utf8',
        timeout: 20000,
      });
    // --trace-gc prints each collection: the ones forkCopy asks for say "testing"
    const scavenges = (out: string) =>
      out
        .split(/^fork \d\n/m)
        .slice(1)
        .map((s) => (s.match(/Scavenge.*testing/g) ?? []).length);
    const roomy = run(['--min-semi-space-size=4']);
    expect(roomy.stderr).toBe('');
    expect(roomy.stdout).not.toMatch(/status [1-9]/);
    expect(scavenges(roomy.stdout)).toEqual([0, 2]);
    const usual = run([]);
    expect(scavenges(usual.stdout)).toEqual([2, 2]);
  });
});
