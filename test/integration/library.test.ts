// The library API (`import { Runtime } from 'tsrunc'`), driven as a program that uses it would: a
// node started as bin/tsrunc starts it (--single-threaded --expose-gc), requiring dist/index.js.
import { afterAll, describe, expect, test } from '@jest/globals';
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
const t = require(${JSON.stringify(join(REPO, 'dist', 'index.js'))});
const [root, box, short, bad, result] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const caught = (fn) => { try { fn(); return 'no error'; } catch (e) { return e.constructor.name + ': ' + e.message; } };
(async () => {
  const rt = new t.Runtime({ root });
  const r = {};
  r.pid = rt.create('lib1', { bundle: box }).pid > 1;
  r.created = rt.state('lib1').status;
  r.twice = caught(() => rt.create('lib1', { bundle: box }));
  rt.start('lib1');
  r.running = rt.state('lib1').status;
  r.exec = await rt.exec('lib1', { process: { args: ['/bin/sh', '-c', 'exit 7'], cwd: '/', user: { uid: 0, gid: 0 } } });
  r.ps = rt.ps('lib1').length;
  rt.pause('lib1');
  r.paused = rt.state('lib1').status;
  r.execPaused = await rt.exec('lib1', { process: { args: ['/bin/true'], cwd: '/' } }).then(() => 'no error', (e) => e.constructor.name + ' ' + e.status);
  rt.resume('lib1');
  r.update = rt.update('lib1', { pids: { limit: 99 } });
  r.stats = Object.keys(rt.stats('lib1')).includes('pids');
  r.deleteRunning = caught(() => rt.delete('lib1'));
  r.list = rt.list().map((s) => s.id + ' ' + s.status);
  rt.kill('lib1', 'KILL');
  for (let i = 0; i < 100 && rt.state('lib1').status !== 'stopped'; i++) await sleep(20);
  rt.delete('lib1');
  r.gone = caught(() => rt.state('lib1'));
  r.run = await rt.run('lib2', { bundle: short });
  r.config = caught(() => rt.create('lib3', { bundle: bad }));
  r.left = fs.readdirSync(root).filter((e) => !e.startsWith('@'));
  fs.writeFileSync(result, JSON.stringify(r));
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe('the library API', () => {
  test('Runtime: every operation, with typed results and typed errors', () => {
    const box = tracked.make(['sleep', '60']);
    const short = tracked.make(['sh', '-c', 'exit 3']);
    const bad = tracked.make(['true'], (c) => {
      c.process.user.uid = 4294967295;
    });
    const r = runLibraryClient(box.dir, CLIENT, [cli.root, box.dir, short.dir, bad.dir]);
    expect({ status: r.status, log: r.log }).toEqual({ status: 0, log: '' });
    expect(r.result).toEqual({
      pid: true,
      created: 'created',
      twice: 'ContainerExistsError: container with id "lib1" already exists',
      running: 'running',
      exec: 7,
      ps: 1,
      paused: 'paused',
      execPaused: 'ContainerStateError paused',
      update: [],
      stats: true,
      deleteRunning: 'ContainerStateError: cannot delete container "lib1" that is not stopped: running',
      list: ['lib1 running'],
      gone: 'ContainerNotFoundError: container "lib1" does not exist',
      run: 3,
      config: 'ConfigError: config.json: process.user.uid: 4294967295 is out of range (0-2147483647)',
      left: [],
    });
  });
});
