import { afterAll, describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { secureJoin, openInRoot, isInside, mkdirAllInRoot } from '../../src/rootfs/safe-path';

const root = fs.mkdtempSync(join(os.tmpdir(), 'tsr-unit-root-'));
const outside = fs.mkdtempSync(join(os.tmpdir(), 'tsr-unit-outside-'));
fs.mkdirSync(join(root, 'etc'));
fs.mkdirSync(join(root, 'real'));
fs.symlinkSync('/etc', join(root, 'abs')); // absolute link: must stay inside root
fs.symlinkSync('../../../../..' + outside, join(root, 'up')); // climbing link: clamps at root
fs.symlinkSync('real', join(root, 'rel'));
fs.symlinkSync('loop2', join(root, 'loop1'));
fs.symlinkSync('loop1', join(root, 'loop2'));
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
});

describe('secureJoin', () => {
  test('plain paths', () => {
    expect(secureJoin(root, '/etc/passwd')).toBe(join(root, 'etc/passwd'));
    expect(secureJoin(root, 'etc')).toBe(join(root, 'etc'));
  });
  test('.. cannot climb out', () => {
    expect(secureJoin(root, '/../../../etc')).toBe(join(root, 'etc'));
  });
  test('an absolute symlink resolves inside the root', () => {
    expect(secureJoin(root, '/abs/x')).toBe(join(root, 'etc/x'));
  });
  test('a relative symlink climbing out is clamped at the root', () => {
    const p = secureJoin(root, '/up/x');
    expect(isInside(root, p)).toBe(true);
    expect(p).toBe(join(root, outside.slice(1), 'x'));
  });
  test('relative links are followed', () => {
    expect(secureJoin(root, '/rel/y')).toBe(join(root, 'real/y'));
  });
  test('symlink loops are an error', () => {
    expect(() => secureJoin(root, '/loop1')).toThrow(/too many levels/);
  });
});

describe('openInRoot', () => {
  test('accepts a path inside the root', () => {
    const fd = openInRoot(root, join(root, 'etc'));
    expect(fd).toBeGreaterThan(2);
    fs.closeSync(fd);
  });
  test('refuses a path that the kernel resolves outside the root (a swapped-in symlink)', () => {
    fs.mkdirSync(join(root, 'swap'));
    fs.symlinkSync(outside, join(root, 'swap', 'link'));
    // O_NOFOLLOW on the last component refuses the link itself; an intermediate link is caught by the check.
    // The final component: the link itself is refused.
    expect(() => openInRoot(root, join(root, 'swap', 'link'))).toThrow(/became a symbolic link/);
    // An intermediate component: the kernel's resolution lands outside, which the check catches.
    expect(() => openInRoot(root, join(root, 'swap', 'link') + '/.')).toThrow(/outside the container's root/);
  });
});

describe('mkdirAllInRoot', () => {
  test('makes what is missing, one directory at a time', () => {
    mkdirAllInRoot(root, join(root, 'made/a/b'));
    expect(fs.statSync(join(root, 'made/a/b')).isDirectory()).toBe(true);
    mkdirAllInRoot(root, join(root, 'made/a/b')); // there already: fine
  });
  test('refuses a component that is a file or a symlink, and never goes through it', () => {
    fs.writeFileSync(join(root, 'afile'), '');
    expect(() => mkdirAllInRoot(root, join(root, 'afile/x'))).toThrow(/\/afile exists and is not a directory/);
    expect(() => mkdirAllInRoot(root, join(root, 'rel/x'))).toThrow(/\/rel exists and is not a directory/);
    expect(fs.existsSync(join(root, 'real/x'))).toBe(false);
  });
  test('a component that can be neither found nor made is an error, not a loop', () => {
    // what a cwd of /proc/self/fd/N gave: a name procfs neither has nor lets anyone make
    const proc = `/proc/${process.pid}`;
    expect(() => mkdirAllInRoot(proc, `${proc}/fd/999999/x`)).toThrow(/ENOENT|EACCES/);
    expect(() => mkdirAllInRoot(root, join(root, 'loop1/x'))).toThrow(/loop1 exists and is not a directory/);
    expect(() => mkdirAllInRoot(root, outside)).toThrow(/outside the container's root/);
  });
});
