// A pre-born init (process/preborn.ts, container/preborn-inits.ts): forked ahead by a long-lived
// runtime, it becomes the next container's init where it fits, exactly as a fork at create would.
// Driven as the shim drives it: a node started as the shim starts it, using the built library.
import { afterAll, describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import { join } from 'path';
import { REPO, bundleTracker } from '../helpers/bundle';
import { Runtime as Cli } from '../helpers/runtime';
import { runLibraryClient } from '../helpers/library-client';

const cli = new Cli();
const tracked = bundleTracker();
afterAll(() => {
  cli.cleanup();
  tracked.removeAll();
});

const CLIENT = `
const fs = require('fs');
const dist = ${JSON.stringify(join(REPO, 'dist'))};
const { Runtime } = require(dist + '/index.js');
const { PrebornInits } = require(dist + '/container/preborn-inits.js');
const { libc } = require(dist + '/sys/index.js');
const { Logger } = require(dist + '/util/log.js');
const [root, a, b, userns, tty, aInit, logFile, result] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const alive = (pid) => fs.existsSync('/proc/' + pid) && !/^State:\\s+Z/m.test(fs.readFileSync('/proc/' + pid + '/status', 'utf8'));
(async () => {
  const rt = new Runtime({ root });
  const pool = new PrebornInits(libc(), new Logger(logFile, 'text', true));
  const r = {};
  const stdio = (name) => {
    const out = fs.openSync(name, 'w');
    return [fs.openSync('/dev/null', 'r'), out, out];
  };
  const until = async (id) => {
    for (let i = 0; i < 250 && rt.state(id).status !== 'stopped'; i++) await sleep(20);
    return rt.state(id).status;
  };

  // A: in a pid, uts and ipc namespace of its own, from the pre-born copy.
  pool.arm(2, 60000);
  const [preA, preB] = pool.pids;
  r.twoHeld = preA > 0 && preB > 0 && preA !== preB;
  r.preAWaits = fs.readFileSync('/proc/' + preA + '/comm', 'utf8').trim() + ' ' + fs.readFileSync('/proc/' + preA + '/cmdline', 'utf8').replace(/[\0 ]+$/, '');
  process.env.PREBORN_TEST = 'set after the fork'; // hooks without an env get the runtime's own, as it is now
  const ca = rt.create('pba', { bundle: a, stdio: stdio(a + '/out'), preborn: pool });
  r.aIsPreborn = ca.pid === preA;
  r.bStillHeld = pool.pids.length === 1 && pool.pids[0] === preB;
  rt.start('pba');
  fs.symlinkSync('/proc/' + ca.pid, aInit); // B joins A's namespaces through it

  // B joins A's uts and ipc namespaces by path: entered by the copy itself, after it was forked.
  const cb = rt.create('pbb', { bundle: b, stdio: stdio(b + '/out'), preborn: pool });
  r.bIsPreborn = cb.pid === preB;
  rt.start('pbb');
  r.bStopped = await until('pbb');
  r.bOut = fs.readFileSync(b + '/out', 'utf8');
  rt.delete('pbb');

  // A user namespace does not fit: forked as usual, the pre-born one kept for the next.
  pool.arm(1, 60000);
  const [preC] = pool.pids;
  const cc = rt.create('pbc', { bundle: userns, stdio: stdio(userns + '/out'), preborn: pool });
  r.cForked = cc.pid !== preC && pool.pids[0] === preC;
  rt.start('pbc');
  r.cStopped = await until('pbc');
  r.cOut = fs.readFileSync(userns + '/out', 'utf8');
  rt.delete('pbc');

  // The runtime moved since the copies were forked (its OOM score here): not used, and gone.
  pool.arm(2, 60000);
  const preD = pool.pids[1];
  fs.writeFileSync('/proc/self/oom_score_adj', '10');
  const cd = rt.create('pbd', { bundle: b, stdio: stdio(b + '/out2'), preborn: pool });
  r.dForked = cd.pid !== preC && cd.pid !== preD && pool.pids.length === 0 && !alive(preC) && !alive(preD);
  rt.start('pbd');
  r.dStopped = await until('pbd');
  rt.delete('pbd');

  // A terminal: the pty made in the container, its master sent back over the fds the copy was given.
  pool.arm(1, 60000);
  const [preT] = pool.pids;
  const ct = rt.create('pbt', { bundle: tty, stdio: stdio(tty + '/out'), keepConsole: true, preborn: pool });
  r.tIsPreborn = ct.pid === preT && ct.consoleMaster > 2;
  rt.start('pbt');
  r.tStopped = await until('pbt');
  const buf = Buffer.alloc(4096);
  let n = 0;
  try { n = fs.readSync(ct.consoleMaster, buf, 0, buf.length, null); } catch {}
  r.tOut = buf.toString('utf8', 0, n);
  fs.closeSync(ct.consoleMaster);
  rt.delete('pbt');

  // A terminating signal while it waits: it leaves (rather than keep it pending for a container), and the next create forks.
  pool.arm(1, 60000);
  const [preS] = pool.pids;
  process.kill(preS, 'SIGTERM');
  for (let i = 0; i < 100 && alive(preS); i++) await sleep(20);
  r.sLeft = !alive(preS);
  const cs = rt.create('pbs', { bundle: b, stdio: stdio(b + '/out3'), preborn: pool });
  r.sForked = cs.pid !== preS && pool.pids.length === 0;
  rt.start('pbs');
  r.sStopped = await until('pbs');
  rt.delete('pbs');

  // Dropped unused: it leaves.
  fs.writeFileSync('/proc/self/oom_score_adj', '0');
  pool.arm(1, 60000);
  const [preE] = pool.pids;
  pool.drop();
  r.eGone = preE > 0 && !alive(preE);

  rt.kill('pba', 'KILL');
  r.aStopped = await until('pba');
  rt.delete('pba');
  r.left = fs.readdirSync(root).filter((e) => !e.startsWith('@'));
  fs.writeFileSync(result, JSON.stringify(r));
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe('a pre-born init', () => {
  test('becomes the next fitting container, in its namespaces, with its stdio; a misfit is forked as usual', () => {
    const a = tracked.make(['sleep', '60'], (c) => {
      c.hostname = 'pre-born-a';
    });
    const cfgA = JSON.parse(fs.readFileSync(join(a.dir, 'config.json'), 'utf8'));
    cfgA.hooks = { createContainer: [{ path: '/bin/sh', args: ['sh', '-c', `echo "$PREBORN_TEST" > ${join(a.dir, 'hook.out')}`] }] };
    fs.writeFileSync(join(a.dir, 'config.json'), JSON.stringify(cfgA));
    const b = tracked.make(['sh', '-c', 'echo pid $$ host $(hostname); ls /proc/self/fd | wc -l; echo err >&2'], (c) => {
      c.hostname = undefined;
    });
    const userns = tracked.make(['sh', '-c', 'echo pid $$ uid $(id -u)'], (c) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    });
    const tty = tracked.make(['sh', '-c', 'tty; echo $$'], (c) => {
      c.process.terminal = true;
    });
    const debugLog = join(a.dir, 'debug.log');
    // B's namespaces are A's, named by the path of A's init (known once A exists): B joins through
    // a link the client points at A's init.
    const aInit = join(a.dir, 'a-init');
    const cfgB = JSON.parse(fs.readFileSync(join(b.dir, 'config.json'), 'utf8'));
    cfgB.linux.namespaces = cfgB.linux.namespaces.map((n: { type: string }) =>
      n.type === 'uts' || n.type === 'ipc' ? { type: n.type, path: join(aInit, 'ns', n.type) } : n,
    );
    fs.writeFileSync(join(b.dir, 'config.json'), JSON.stringify(cfgB));
    const r = runLibraryClient(a.dir, CLIENT, [cli.root, a.dir, b.dir, userns.dir, tty.dir, aInit, debugLog], ['--no-opt']);
    expect({ status: r.status, log: r.log }).toEqual({ status: 0, log: '' });
    expect(r.result).toEqual({
      preAWaits: 'tsrunc:preborn tsrunc:preborn',
      twoHeld: true,
      aIsPreborn: true,
      bStillHeld: true,
      bIsPreborn: true,
      bStopped: 'stopped',
      // PID 1 of its own pid namespace, A's hostname, only stdio open (ls's own fd for the dir: 4)
      bOut: 'pid 1 host pre-born-a\n4\nerr\n',
      cForked: true,
      cStopped: 'stopped',
      cOut: 'pid 1 uid 0\n',
      dForked: true,
      dStopped: 'stopped',
      sLeft: true,
      sForked: true,
      sStopped: 'stopped',
      tIsPreborn: true,
      tStopped: 'stopped',
      tOut: expect.stringMatching(/^\/dev\/(pts\/\d+|console)\r\n1\r\n$/),
      eGone: true,
      aStopped: 'stopped',
      left: [],
    });
    expect(fs.readFileSync(join(a.dir, 'hook.out'), 'utf8')).toBe('set after the fork\n');
    const debug = fs.readFileSync(debugLog, 'utf8');
    expect(debug).toMatch(/pre-born init \d+ not used: the runtime changed namespaces, cgroups, OOM score or rlimits since/);
    expect(debug).toMatch(/pre-born init \d+ not used: it left/);
  });
});
