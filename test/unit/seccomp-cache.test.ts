import { describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { compileSeccomp } from '../../src/security/seccomp';
import { compileSeccompCached, fnv64 } from '../../src/security/seccomp-cache';
import { PODMAN_CAPS, PODMAN_DEFAULT, forContainer } from '../helpers/seccomp-profiles';

describe('the compiled-program cache', () => {
  const profile = {
    ...forContainer(PODMAN_DEFAULT, PODMAN_CAPS),
    syscalls: [...forContainer(PODMAN_DEFAULT, PODMAN_CAPS).syscalls!, { names: ['no_such_call'], action: 'SCMP_ACT_ALLOW' }],
  };
  const want = compileSeccomp(profile, () => undefined).program;

  test('a miss compiles and keeps the program; a hit gives it back, warnings told again; a bad entry is compiled anew', () => {
    const root = fs.mkdtempSync(join(os.tmpdir(), 'tsr-test-cache-'));
    try {
      const dir = join(root, '@seccomp');
      const w1: string[] = [];
      const first = compileSeccompCached(
        profile,
        (m) => w1.push(m),
        () => undefined,
        dir,
      );
      expect(first.program.equals(want)).toBe(true);
      const [file] = fs.readdirSync(dir);
      expect(fs.statSync(join(dir, file)).mode & 0o777).toBe(0o600);
      expect(fs.statSync(dir).mode & 0o777).toBe(0o700);

      const w2: string[] = [];
      const d2: string[] = [];
      const second = compileSeccompCached(
        profile,
        (m) => w2.push(m),
        (m) => d2.push(m),
        dir,
      );
      expect(second.program.equals(want)).toBe(true);
      expect(w2).toEqual(w1);
      expect(w2).toEqual([expect.stringMatching(/unknown syscall "no_such_call"/)]);
      expect(d2).toContainEqual(expect.stringMatching(/from the cache/));

      // a program that does not match its digest is not used
      const e = JSON.parse(fs.readFileSync(join(dir, file), 'utf8'));
      e.program = Buffer.from(Buffer.alloc(8, 6)).toString('base64');
      fs.writeFileSync(join(dir, file), JSON.stringify(e), { mode: 0o600 });
      const d3: string[] = [];
      expect(
        compileSeccompCached(
          profile,
          () => undefined,
          (m) => d3.push(m),
          dir,
        ).program.equals(want),
      ).toBe(true);
      expect(d3).not.toContainEqual(expect.stringMatching(/from the cache/));

      // nor one that others could have written
      fs.chmodSync(join(dir, file), 0o666);
      const d4: string[] = [];
      expect(
        compileSeccompCached(
          profile,
          () => undefined,
          (m) => d4.push(m),
          dir,
        ).program.equals(want),
      ).toBe(true);
      expect(d4).not.toContainEqual(expect.stringMatching(/from the cache/));
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('another profile is another entry', () => {
    const root = fs.mkdtempSync(join(os.tmpdir(), 'tsr-test-cache-'));
    try {
      const dir = join(root, '@seccomp');
      compileSeccompCached(
        profile,
        () => undefined,
        () => undefined,
        dir,
      );
      const other = { ...profile, defaultAction: 'SCMP_ACT_KILL_PROCESS' };
      const p = compileSeccompCached(
        other,
        () => undefined,
        () => undefined,
        dir,
      ).program;
      expect(p.equals(compileSeccomp(other, () => undefined).program)).toBe(true);
      expect(fs.readdirSync(dir).length).toBe(2);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
  test('an entry under the name of this profile but made from another (a colliding name) is not used', () => {
    const root = fs.mkdtempSync(join(os.tmpdir(), 'tsr-test-cache-'));
    try {
      const dir = join(root, '@seccomp');
      const other = { ...profile, defaultAction: 'SCMP_ACT_KILL_PROCESS' };
      compileSeccompCached(
        other,
        () => undefined,
        () => undefined,
        dir,
      );
      const [otherFile] = fs.readdirSync(dir);
      // the other profile's entry, moved to where this profile's would be
      compileSeccompCached(
        profile,
        () => undefined,
        () => undefined,
        dir,
      );
      const mine = fs.readdirSync(dir).find((f) => f !== otherFile)!;
      fs.renameSync(join(dir, otherFile), join(dir, mine));
      const d: string[] = [];
      const got = compileSeccompCached(
        profile,
        () => undefined,
        (m) => d.push(m),
        dir,
      );
      expect(got.program.equals(want)).toBe(true);
      expect(d).not.toContainEqual(expect.stringMatching(/from the cache/));
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('the name hash: 16 hex digits, its parts kept apart', () => {
    expect(fnv64('ab', 'c')).toMatch(/^[0-9a-f]{16}$/);
    expect(fnv64('ab', 'c')).not.toBe(fnv64('a', 'bc'));
    expect(fnv64('x')).toBe(fnv64('x'));
    expect(fnv64('x')).not.toBe(fnv64('y'));
  });
});
