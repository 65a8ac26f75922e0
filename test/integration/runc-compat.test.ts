// Drop-in compatibility with runc where scripts written for runc see the difference.
import { afterAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { bundleTracker, TSRUNC } from '../helpers/bundle';
import { Runtime } from '../helpers/runtime';

const RUNC = '/usr/sbin/runc'; // Debian's, installed by scripts/setup.sh
const dirs: string[] = [];
const tracked = bundleTracker();
const rt = new Runtime();
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  tracked.removeAll();
  rt.cleanup();
});

function specOf(binary: string, args: string[]): { text: string; mode: number } {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'tsr-test-spec-'));
  dirs.push(dir);
  const r = spawnSync(binary, ['spec', ...args], { cwd: dir, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const file = join(dir, 'config.json');
  return { text: fs.readFileSync(file, 'utf8'), mode: fs.statSync(file).mode & 0o777 };
}

describe('tsrunc spec writes what runc spec writes', () => {
  test.each([[[]], [['--rootless']]])('spec %j: the same file, byte for byte, but for ociVersion', (args) => {
    const ours = specOf(TSRUNC, args);
    const runc = specOf(RUNC, args);
    const version = /^\t"ociVersion": "[^"]*",$/m;
    expect(ours.text).toMatch(version);
    expect(ours.text.replace(version, '')).toBe(runc.text.replace(version, ''));
    expect(ours.mode).toBe(runc.mode);
  });

  test('a container from runc spec\'s config (ambient capabilities not inheritable) prints nothing on stderr', () => {
    const runc = JSON.parse(specOf(RUNC, []).text);
    const b = tracked.make(['sh', '-c', 'grep -E "CapAmb|CapEff" /proc/self/status'], (c) => {
      c.process = { ...runc.process, args: c.process.args, terminal: false };
    });
    expect(b.config.process.capabilities.ambient.length).toBeGreaterThan(0);
    const r = rt.run(['run', '--bundle', b.dir, `compat-${process.pid}`]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // runc drops what the kernel refuses to make ambient: nothing here, CAP_AUDIT_WRITE|KILL|NET_BIND_SERVICE effective
    expect(r.stdout).toBe('CapEff:\t0000000020000420\nCapAmb:\t0000000000000000\n');
  });
});
