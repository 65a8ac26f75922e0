// scripts/soak-birth.js, the README's fork-safety figures, kept working: a few cycles of each
// variant, under the shim's node flags (bin/containerd-shim-tsrunc-v2), all of them ok.
import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import { join } from 'path';
import { REPO } from '../helpers/bundle';

describe('the fork-birth soak', () => {
  test('a few cycles with and without a user namespace, and from pre-born copies, under the shim’s flags: every one ok', () => {
    const shim = fs.readFileSync(join(REPO, 'bin', 'containerd-shim-tsrunc-v2'), 'utf8');
    const flags = /^NODE_FLAGS='([^']*)'/m.exec(shim)?.[1];
    expect(flags).toContain('--single-threaded');
    const r = spawnSync(process.execPath, [join(REPO, 'scripts', 'soak-birth.js'), '4', '1', '20'], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, SOAK_NODE_FLAGS: flags!.replace('--single-threaded', '').trim() },
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^plain: ok 4, failed 0, hung 0/m);
    expect(r.stdout).toMatch(/^userns: ok 4, failed 0, hung 0/m);
    expect(r.stdout).toMatch(/^preborn: ok 4, failed 0, hung 0, forks retried \d+, pre-born 4;/m);
    expect(r.status).toBe(0);
  }, 150_000);
});
