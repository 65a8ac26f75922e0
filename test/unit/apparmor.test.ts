import { afterAll, describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { appArmorEnabled, applyAppArmorOnExec } from '../../src/security/apparmor';

// This machine's kernel has no AppArmor: its files are faked under a root directory.
describe('AppArmor', () => {
  const root = fs.mkdtempSync(join(os.tmpdir(), 'tsr-unit-aa-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  test('enabled only when securityfs has it and the module says Y', () => {
    expect(appArmorEnabled(root)).toBe(false);
    fs.mkdirSync(join(root, 'sys/kernel/security/apparmor'), { recursive: true });
    fs.mkdirSync(join(root, 'sys/module/apparmor/parameters'), { recursive: true });
    fs.writeFileSync(join(root, 'sys/module/apparmor/parameters/enabled'), 'N\n');
    expect(appArmorEnabled(root)).toBe(false);
    fs.writeFileSync(join(root, 'sys/module/apparmor/parameters/enabled'), 'Y\n');
    expect(appArmorEnabled(root)).toBe(true);
  });
  test("the profile is asked for at the next exec of the calling thread; older kernels' path as fallback", () => {
    fs.mkdirSync(join(root, 'proc/thread-self/attr'), { recursive: true });
    fs.writeFileSync(join(root, 'proc/thread-self/attr/exec'), '');
    applyAppArmorOnExec('docker-default', root);
    expect(fs.readFileSync(join(root, 'proc/thread-self/attr/exec'), 'utf8')).toBe('exec docker-default');
    fs.mkdirSync(join(root, 'proc/thread-self/attr/apparmor'));
    fs.writeFileSync(join(root, 'proc/thread-self/attr/apparmor/exec'), '');
    applyAppArmorOnExec('p2', root);
    expect(fs.readFileSync(join(root, 'proc/thread-self/attr/apparmor/exec'), 'utf8')).toBe('exec p2');
    expect(() => applyAppArmorOnExec('x', join(root, 'nowhere'))).toThrow(/apparmorProfile "x": .*ENOENT/);
  });
});
