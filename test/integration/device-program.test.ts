// The cgroup v2 device program against the real kernel. On a hybrid host (this CI machine) the
// program is attached to a cgroup in the unified hierarchy, which the kernel consults as it does on
// a pure v2 host; the container-level check of the same policy is in operate.test.ts.
import { afterAll, describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import { execFileSync } from 'child_process';
import { join } from 'path';
import { attachDeviceProgram } from '../../src/cgroups/devices/attach';
import { emulateDeviceRules } from '../../src/cgroups/devices/rules';
import { hostLayout } from '../../src/cgroups/hierarchy';
import { libc } from '../../src/sys';
import type { DeviceRule } from '../../src/ocispec/oci';

const v2 = hostLayout().hierarchies.find((h) => h.version === 2);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmdirSync(d);
});

function freshCgroup(): string {
  const dir = join(v2!.mountpoint, `tsrunc-devprog-${process.pid}-${dirs.length}`);
  fs.mkdirSync(dir);
  dirs.push(dir);
  return dir;
}

/** Opens each path from a shell moved into the cgroup (a fresh one with the policy attached). */
function tryOpen(rules: DeviceRule[], opens: [path: string, mode: '<' | '>'][], dir = freshCgroup()): string[] {
  attachDeviceProgram(libc(), dir, emulateDeviceRules(rules));
  const script = opens.map(([p, m]) => `if (: ${m} ${p}); then echo ${p} ok; else echo ${p} denied; fi`).join('\n');
  // The shell joins the cgroup first: everything after that is judged by the program.
  return execFileSync('sh', ['-c', `echo $$ > ${dir}/cgroup.procs\n${script}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    .trim()
    .split('\n');
}

describe('cgroup v2 device program (bpf BPF_PROG_TYPE_CGROUP_DEVICE)', () => {
  if (!v2) throw new Error('this host mounts no cgroup v2 hierarchy: the device program cannot be tested');
  test('allow-list: only the allowed devices, and only with the allowed access', () => {
    const got = tryOpen(
      [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 5, access: 'r' },
      ],
      [
        ['/dev/zero', '<'],
        ['/dev/zero', '>'],
        ['/dev/null', '<'],
      ],
    );
    expect(got).toEqual(['/dev/zero ok', '/dev/zero denied', '/dev/null denied']);
  });
  test('deny-list: everything but the denied access', () => {
    const got = tryOpen(
      [
        { allow: true, access: 'rwm' },
        { allow: false, type: 'c', major: 1, minor: 3, access: 'w' },
      ],
      [
        ['/dev/null', '<'],
        ['/dev/null', '>'],
        ['/dev/zero', '>'],
      ],
    );
    expect(got).toEqual(['/dev/null ok', '/dev/null denied', '/dev/zero ok']);
  });
  test('a new policy replaces the old one: one program stays attached, and it decides', () => {
    const dir = freshCgroup();
    expect(tryOpen([{ allow: false, access: 'rwm' }], [['/dev/zero', '<']], dir)).toEqual(['/dev/zero denied']);
    expect(tryOpen([{ allow: true, access: 'rwm' }], [['/dev/zero', '<']], dir)).toEqual(['/dev/zero ok']);
    const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      expect(libc().bpfQueryCgroupDevice(fd)).toHaveLength(1);
    } finally {
      fs.closeSync(fd);
    }
  });
});
