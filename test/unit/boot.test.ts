// dist/boot.cjs picks a bundle by the command's name: the light one must have every command it is
// picked for, and hand anything else to the full one.
import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import { join, resolve } from 'path';
import {
  LIGHT_BUNDLE,
  LIGHT_CACHES,
  MAPPED_AT_BOOT,
  PRIMED_AT_BOOT,
  GLOBAL_VALUE_OPTIONS,
  LIGHT,
  commandOf,
  lightCacheOf,
} from '../../src/boot';
import { LIGHT_COMMANDS, LIGHT_COMMAND_MODULES } from '../../src/cli/commands/light-index';
import { COMMAND_MODULES } from '../../src/cli/commands/index';
import { COMMANDS, GLOBAL_OPTIONS } from '../../src/cli/table';
import { findCallbackNames } from '../../src/process/copy';

const DIST = resolve(__dirname, '..', '..', 'dist');

describe('the bundle a command runs from', () => {
  test("boot's light commands are the light bundle's, and each is a command of the table", () => {
    expect([...LIGHT].sort()).toEqual([...LIGHT_COMMANDS].sort());
    expect(Object.keys(LIGHT_COMMAND_MODULES).sort()).toEqual([...LIGHT_COMMANDS].sort());
    for (const c of LIGHT_COMMANDS) {
      expect(COMMANDS.find((s) => s.name === c)?.module).toBe(c);
      expect(COMMAND_MODULES[c]).toBeDefined();
    }
  });

  test("the commands boot primes the cgroup move for are the table's, and none is light", () => {
    for (const c of PRIMED_AT_BOOT) {
      expect(COMMANDS.find((s) => s.name === c)).toBeDefined();
      expect(LIGHT.has(c)).toBe(false);
    }
    // create's and run's too: their grace period starts at boot, and create primes again at its
    // start (src/container/create.ts), keeping the lock in its writer mode until init moves.
    expect([...PRIMED_AT_BOOT].sort()).toEqual(['create', 'exec', 'run']);
  });

  test("each light command is in one group of the light bundle's caches, and takes its group's", () => {
    const grouped = Object.values(LIGHT_CACHES).flat();
    expect([...grouped].sort()).toEqual([...LIGHT_COMMANDS].sort());
    for (const [group, commands] of Object.entries(LIGHT_CACHES)) {
      for (const c of commands) expect(lightCacheOf(c)).toBe(`${LIGHT_BUNDLE}.${group}.cache`);
      expect(fs.existsSync(join(DIST, `tsrunc-light.js.${group}.cache`))).toBe(true); // the build made it
    }
    // state, kill and list are not made to deserialize start's and delete's code
    expect(LIGHT_CACHES.read).toEqual(['state', 'kill', 'list']);
  });

  test('boot loads koffi to map the bundle for the commands that load it anyway, and only those', () => {
    for (const c of MAPPED_AT_BOOT) expect(COMMANDS.find((s) => s.name === c)).toBeDefined();
    for (const c of PRIMED_AT_BOOT) expect(MAPPED_AT_BOOT.has(c)).toBe(true);
    // these read state or signal without libc: koffi's load would cost them more than a mapping saves
    for (const c of ['state', 'kill', 'list', 'ps', 'events']) expect(MAPPED_AT_BOOT.has(c)).toBe(false);
  });

  test("the full bundle carries fs's callback functions as this node has them (the copy forbids them: process/copy.ts)", () => {
    const carried = /"(v\d+\.\d+\.\d+) ([a-zA-Z,]+)"/.exec(fs.readFileSync(join(DIST, 'tsrunc.js'), 'utf8'));
    expect(carried?.[1]).toBe(process.version);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(carried?.[2].split(',')).toEqual(findCallbackNames(require('fs') as Record<string, unknown>));
    expect(carried?.[2].split(',')).toEqual(expect.arrayContaining(['readFile', 'writeFile', 'open', 'stat']));
  });

  test('boot skips the values of exactly the global options that take one', () => {
    const valued = Object.entries(GLOBAL_OPTIONS)
      .filter(([, o]) => o.type !== 'boolean')
      .map(([k]) => `--${k}`);
    expect([...GLOBAL_VALUE_OPTIONS].sort()).toEqual(valued.sort());
  });

  test('the command is the first word that is neither an option nor the value of one', () => {
    expect(commandOf(['state', 'x'])).toBe('state');
    expect(commandOf(['--root', 'kill', '--debug', 'run', '--bundle', 'b', 'c'])).toBe('run');
    expect(commandOf(['--log-format=json', '--log', '/tmp/l', 'delete', 'x'])).toBe('delete');
    expect(commandOf(['--debug', '--', 'state'])).toBeUndefined();
    expect(commandOf(['--version'])).toBeUndefined();
    expect(commandOf([])).toBeUndefined();
  });

  test('the light bundle hands a command it lacks to the full one', () => {
    // as boot would have loaded it, given a command it would not have picked it for
    const code = `
      const { compileModule } = require(${JSON.stringify(join(DIST, 'util', 'code-cache.js'))});
      const file = ${JSON.stringify(join(DIST, 'tsrunc-light.js'))};
      const m = { exports: {} };
      process.argv = [process.argv[0], 'tsrunc', 'features'];
      compileModule(file).fn.call(m.exports, m.exports, require, m, file, ${JSON.stringify(DIST)});`;
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', cwd: DIST });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ociVersionMin: expect.any(String) });
  });
});
