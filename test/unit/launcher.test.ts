// bin/tsrunc: what it hands node, found with the shell's builtins only (a fake node prints it).
import { afterAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { join, resolve } from 'path';
import { callerNofileSoft } from '../../src/process/exec-program';
import { CHILDREN_NODE, reapAll } from '../helpers/launcher-helper';

const launcher = resolve(__dirname, '..', '..', 'bin', 'tsrunc');
const dir = fs.mkdtempSync(join(os.tmpdir(), 'tsr-launcher-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const fakeNode = join(dir, 'fake-node');
fs.writeFileSync(fakeNode, '#!/bin/sh\necho "nofile=$TSRUNC_NOFILE_SOFT"\necho "node=$TSRUNC_NODE_PATH"\necho "args=$*"\n', {
  mode: 0o755,
});

function launch(script: string, env: Record<string, string>): Record<string, string> {
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

describe('the launcher', () => {
  test("records the caller's soft NOFILE limit and runs node by path with the bundle", () => {
    const out = launch(`ulimit -Sn 321 && exec ${launcher} state x`, { TSRUNC_NODE: fakeNode });
    expect(out.nofile).toBe('321');
    expect(out.node).toBe(fakeNode);
    expect(out.args).toBe(
      `--preserve-symlinks-main --single-threaded --expose-gc --no-opt --no-sparkplug --min-semi-space-size=4 --no-rehash-snapshot ${join(launcher, '..')}/../dist/boot.cjs state x`,
    );
  });

  test('records it where bash runs the launcher too (it sources nothing of /proc/self/limits: the read loop does)', () => {
    const out = launch(`ulimit -Sn 322 && exec bash ${launcher} state x`, { TSRUNC_NODE: fakeNode });
    expect(out.nofile).toBe('322');
  });

  test('finds node on PATH as command -v would, and dist/ through a link to the launcher', () => {
    const bin = join(dir, 'path-bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.copyFileSync(fakeNode, join(bin, 'my-node'));
    fs.chmodSync(join(bin, 'my-node'), 0o755);
    const earlier = join(dir, 'earlier');
    fs.mkdirSync(join(earlier, 'my-node'), { recursive: true }); // a directory of the name is no node
    fs.symlinkSync(launcher, join(bin, 'tsrunc'));
    const out = launch('tsrunc list', { TSRUNC_NODE: 'my-node', PATH: `${earlier}:${bin}:/usr/bin:/bin` });
    expect(out.node).toBe(join(bin, 'my-node'));
    expect(out.args).toBe(
      `--preserve-symlinks-main --single-threaded --expose-gc --no-opt --no-sparkplug --min-semi-space-size=4 --no-rehash-snapshot ${join(launcher, '..')}/../dist/boot.cjs list`,
    );
  });
});

describe("the launcher's helper that starts the cgroup lock's wait (src/cgroups/prime.ts)", () => {
  const dist = resolve(__dirname, '..', '..', 'dist');
  const childrenNode = join(dir, 'children-node');
  // node's process, as the fake: which children it has when it starts (the helper must be none)
  fs.writeFileSync(childrenNode, CHILDREN_NODE, { mode: 0o755 });

  /**
   * Runs the launcher from a child subreaper of its own, which collects what the launcher leaves
   * once the fake node is gone: the helper, forked twice, is handed to it.
   */
  function leftBehind(args: string): { children: string; reaped: number } {
    const script = `
      const { spawnSync } = require('child_process');
      const sys = require(${JSON.stringify(join(dist, 'sys', 'koffi-libc.js'))}).makeKoffiLibc();
      sys.prctl(36, 1); // PR_SET_CHILD_SUBREAPER
      const r = spawnSync(${JSON.stringify(launcher)}, ${JSON.stringify(args.split(' '))}, {
        encoding: 'utf8', env: { PATH: process.env.PATH, TSRUNC_NODE: ${JSON.stringify(childrenNode)} },
      });
      ${reapAll('sys')}
      console.log(JSON.stringify({ children: r.stdout.trim(), reaped, stderr: r.stderr }));
    `;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20000 });
    expect(r.stderr).toBe('');
    const { stderr, ...out } = JSON.parse(r.stdout) as { children: string; reaped: number; stderr: string };
    expect(stderr).toBe('');
    return out;
  }

  // None where the kernel expedites grace periods (a move waits ~0.2 ms there): this machine's
  // setting decides, as src/cgroups/prime.ts reads it (so the two agree here);
  // test/integration/cgroup-prime.test.ts gives the launcher each setting.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { movesWait } = require(join(dist, 'cgroups', 'prime.js')) as typeof import('../../src/cgroups/prime');
  const helpers = movesWait() ? 1 : 0;

  test.each(['create --bundle b c', 'run c', '--root /r --log /l exec c true', '--debug run c'])(
    "for %s: one helper where moves wait for a grace period, no child of node's process, which exits by itself",
    (args) => {
      expect(leftBehind(args)).toEqual({ children: 'children=', reaped: helpers });
    },
  );

  test.each(['state c', 'state run', '--log create state c', 'delete create', 'list'])('for %s: none', (args) => {
    expect(leftBehind(args)).toEqual({ children: 'children=', reaped: 0 });
  });

  test("for boot's primed commands, found past boot's global options that take a value", () => {
    const text = fs.readFileSync(launcher, 'utf8');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { PRIMED_AT_BOOT, GLOBAL_VALUE_OPTIONS } = require(join(dist, 'boot.js')) as typeof import('../../src/boot');
    const words = (re: RegExp): string[] =>
      re
        .exec(text)![1]
        .split('|')
        .map((w) => w.trim())
        .sort();
    expect(words(/^ {2}([a-z |]+)\)\n {4}rcu_exp= rcu_norm=\n/m)).toEqual([...PRIMED_AT_BOOT].sort());
    expect(words(/^ {4}(--root[a-z |-]+)\) skip=1/m)).toEqual([...GLOBAL_VALUE_OPTIONS].sort());
  });
});

describe("the caller's NOFILE soft limit", () => {
  test('a count or unlimited; anything else is none', () => {
    expect(callerNofileSoft({ TSRUNC_NOFILE_SOFT: '1024' })).toBe('1024');
    expect(callerNofileSoft({ TSRUNC_NOFILE_SOFT: 'unlimited' })).toBe('unlimited');
    expect(callerNofileSoft({ TSRUNC_NOFILE_SOFT: '' })).toBeUndefined();
    expect(callerNofileSoft({ TSRUNC_NOFILE_SOFT: '12 files' })).toBeUndefined();
    expect(callerNofileSoft({})).toBeUndefined();
  });
});

describe("the code caches (scripts/bundle.js) under the launcher's node flags", () => {
  test('V8 takes each of them: none is stale or made under other flags', () => {
    const flags = /^exec "\$exe" ((?:--[a-z-]+(?:=[^ "]+)? )+)/m.exec(fs.readFileSync(launcher, 'utf8'))?.[1].trim().split(' ');
    expect(flags).toContain('--single-threaded');
    const dist = resolve(__dirname, '..', '..', 'dist');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { LIGHT_CACHES, KNOWN_SEED } = require(join(dist, 'boot.js')) as typeof import('../../src/boot');
    // under the flags the launcher gives the commands that use it: $seed's for the light groups of KNOWN_SEED
    const taken = (what: string, seeded: boolean): string => {
      const script = `
        const { compileModule } = require(${JSON.stringify(join(dist, 'util', 'code-cache.js'))});
        const { LIGHT_CACHES, LIGHT_BUNDLE, lightCacheOf } = require(${JSON.stringify(join(dist, 'boot.js'))});
        const what = ${JSON.stringify(what)};
        const r = what.endsWith('.js')
          ? compileModule(${JSON.stringify(dist)} + '/' + what)
          : compileModule(LIGHT_BUNDLE, true, undefined, lightCacheOf(LIGHT_CACHES[what][0]));
        console.log(what, r.script.cachedDataRejected);
      `;
      const r = spawnSync(process.execPath, [...flags!, ...(seeded ? ['--no-rehash-snapshot'] : []), '-e', script], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      return r.stdout;
    };
    expect(taken('tsrunc.js', false)).toBe('tsrunc.js false\n');
    expect(taken('validators.js', false)).toBe('validators.js false\n');
    for (const [group, commands] of Object.entries(LIGHT_CACHES)) {
      expect(taken(group, KNOWN_SEED.has(commands[0]))).toBe(`${group} false\n`);
    }
    expect(Object.keys(LIGHT_CACHES).sort()).toEqual(['change', 'observe', 'read', 'remove']);
  });

  test("the launcher gives V8 its snapshot's hash seed for boot's KNOWN_SEED commands and no other", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { KNOWN_SEED, LIGHT } = require(join(resolve(__dirname, '..', '..', 'dist'), 'boot.js')) as typeof import('../../src/boot');
    for (const c of [...LIGHT, 'create', 'run', 'exec', 'update', 'spec']) {
      const out = launch(`exec ${launcher} --root /r ${c} x`, { TSRUNC_NODE: fakeNode });
      expect([c, out.args.split(' ').includes('--no-rehash-snapshot')]).toEqual([c, KNOWN_SEED.has(c)]);
    }
    const text = fs.readFileSync(launcher, 'utf8');
    const listed = /^ {2}([a-z |]+)\) seed=--no-rehash-snapshot ;;$/m
      .exec(text)![1]
      .split('|')
      .map((w) => w.trim());
    expect(listed.sort()).toEqual([...KNOWN_SEED].sort());
  });

  test("mapFile: a file's bytes, mapped and then taken away; a missing or empty file is not mapped (it is read instead)", () => {
    const dir = fs.mkdtempSync(join(os.tmpdir(), 'tsrunc-mapfile-'));
    try {
      fs.writeFileSync(join(dir, 'some'), 'some bytes');
      fs.writeFileSync(join(dir, 'empty'), '');
      const script = `
        const fs = require('fs');
        const { mapFile } = require(${JSON.stringify(join(resolve(__dirname, '..', '..', 'dist'), 'sys', 'koffi-load.js'))});
        const dir = ${JSON.stringify(dir)};
        const mapped = () => fs.readFileSync('/proc/self/maps', 'latin1').includes(dir + '/some');
        const m = mapFile(dir + '/some');
        console.log(m.bytes.toString(), mapped());
        m.release();
        console.log(mapped(), mapFile(dir + '/missing'), mapFile(dir + '/empty'));
      `;
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('some bytes true\nfalse undefined undefined\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the full bundle and its cache, mapped as boot maps them for create, run and exec, are taken; the mappings are gone after', () => {
    const flags = /^exec "\$exe" ((?:--[a-z-]+(?:=[^ "]+)? )+)/m.exec(fs.readFileSync(launcher, 'utf8'))?.[1].trim().split(' ');
    const dist = resolve(__dirname, '..', '..', 'dist');
    const script = `
      const fs = require('fs');
      const { compileModule } = require(${JSON.stringify(join(dist, 'util', 'code-cache.js'))});
      const { mapFile } = require(${JSON.stringify(join(dist, 'sys', 'koffi-load.js'))});
      const mapped = [];
      const file = ${JSON.stringify(join(dist, 'tsrunc.js'))};
      const { script } = compileModule(file, true, (p) => {
        const m = mapFile(p);
        if (m !== undefined && fs.readFileSync('/proc/self/maps', 'latin1').includes(p)) mapped.push(p.slice(file.length));
        return m;
      });
      console.log(JSON.stringify(mapped), script.cachedDataRejected, fs.readFileSync('/proc/self/maps', 'latin1').includes('/dist/tsrunc.js'));
    `;
    const r = spawnSync(process.execPath, [...flags!, '-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('["",".cache"] false false\n');
  });
});
