// Our seccomp programs against libseccomp's (Debian's libseccomp2, a dependency of runc, loaded
// through koffi here only: the runtime never uses it). For the same linux.seccomp, built the way
// runc builds it, both programs must give the same action for every syscall number of x86_64,
// x32 and i386 and a spread of argument values; and ours must be no bigger than 1.25× theirs.
import { describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import koffi from 'koffi';
import { compileSeccomp, actionValue, type SeccompConfig } from '../../src/security/seccomp';
import { SYSCALLS_X32, SYSCALLS_X86, SYSCALLS_X86_64 } from '../../src/security/syscall-tables';
import { seccompVerdict as run } from '../../src/security/seccomp-eval';
import {
  DOCKER_CAPS,
  DOCKER_DEFAULT,
  PODMAN_CAPS,
  PODMAN_DEFAULT,
  containerdRuntimeDefault,
  forContainer,
  runcTestProfile,
} from '../helpers/seccomp-profiles';

const LIBSECCOMP = '/usr/lib/x86_64-linux-gnu/libseccomp.so.2';
const X86_64 = 0xc000003e;
const I386 = 0x40000003;
const X32_BIT = 0x40000000;

const OPS: Record<string, number> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};

/** libseccomp's program for a linux.seccomp, built as runc builds it. */
function libseccompProgram(cfg: SeccompConfig): Buffer {
  const lib = koffi.load(LIBSECCOMP);
  const init = lib.func('void *seccomp_init(uint32_t)');
  const release = lib.func('void seccomp_release(void *)');
  const archAdd = lib.func('int seccomp_arch_add(void *, uint32_t)');
  const resolve = lib.func('int seccomp_syscall_resolve_name(const char *)');
  const ruleAdd = lib.func('int seccomp_rule_add_array(void *, uint32_t, int, unsigned int, void *)');
  const exportBpf = lib.func('int seccomp_export_bpf(void *, int)');
  const def = actionValue(cfg.defaultAction, cfg.defaultErrnoRet, 'defaultAction');
  const ctx = init(def);
  try {
    for (const [a, token] of [
      ['SCMP_ARCH_X86', I386],
      ['SCMP_ARCH_X32', 0x4000003e],
    ] as const) {
      if (cfg.architectures?.includes(a)) expect(archAdd(ctx, token)).toBe(0);
    }
    for (const r of cfg.syscalls ?? []) {
      const action = actionValue(r.action, r.errnoRet, 'rule');
      if (action === def) continue; // runc leaves these out; libseccomp refuses them
      const args = Buffer.alloc(24 * (r.args?.length ?? 0));
      (r.args ?? []).forEach((c, i) => {
        args.writeUInt32LE(c.index, i * 24);
        args.writeUInt32LE(OPS[c.op], i * 24 + 4);
        args.writeBigUInt64LE(BigInt.asUintN(64, BigInt(c.value)), i * 24 + 8);
        args.writeBigUInt64LE(BigInt.asUintN(64, BigInt(c.valueTwo ?? 0)), i * 24 + 16);
      });
      // runc: where two conditions name the same argument, each is added as a rule of its own
      const indexes = (r.args ?? []).map((c) => c.index);
      const each = new Set(indexes).size < indexes.length;
      for (const name of r.names) {
        const nr = resolve(name);
        if (nr === -1) continue; // a name libseccomp does not know: runc skips it
        const adds: [number, Buffer | null][] = each
          ? (r.args ?? []).map((_, i) => [1, args.subarray(i * 24, i * 24 + 24)])
          : [[r.args?.length ?? 0, r.args?.length ? args : null]];
        for (const [n, a] of adds) {
          const rc = ruleAdd(ctx, action, nr, n, a);
          if (rc !== 0) throw new Error(`seccomp_rule_add ${name}: ${rc}`);
        }
      }
    }
    const file = join(fs.mkdtempSync(join(os.tmpdir(), 'tsr-bpf-')), 'prog');
    const fd = fs.openSync(file, 'w+');
    try {
      expect(exportBpf(ctx, fd)).toBe(0);
      return fs.readFileSync(file);
    } finally {
      fs.closeSync(fd);
      fs.rmSync(join(file, '..'), { recursive: true, force: true });
    }
  } finally {
    release(ctx);
  }
}

const table = (s: string): number[] => s.split(' ').map((p) => Number(p.slice(p.indexOf(':') + 1)));
const byName = (s: string): Map<string, number> =>
  new Map(s.split(' ').map((p) => [p.slice(0, p.indexOf(':')), Number(p.slice(p.indexOf(':') + 1))]));
const ARG_VECTORS: bigint[][] = [
  [],
  [16n, 0n, 9n],
  [16n, 0n, 5n],
  [2n, 0n, 9n],
  [8n],
  [0xffffffffn],
  [131072n],
  [131080n],
  [0x10000000n],
  [1n << 40n, 1n, 1n],
  [0x7e020000n],
  [100n],
  [9001n],
  [1337n],
  [2020n],
  [123456789n, 1337n],
  [3n],
  [2n, 0n, 0xf00n],
];

const profiles: [string, () => SeccompConfig][] = [
  ["podman default, podman's capabilities", () => forContainer(PODMAN_DEFAULT, PODMAN_CAPS)],
  [
    'podman default, with CAP_SYS_ADMIN and CAP_SYS_PTRACE',
    () => forContainer(PODMAN_DEFAULT, [...PODMAN_CAPS, 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE']),
  ],
  ["Docker default, Docker's capabilities", () => forContainer(DOCKER_DEFAULT, DOCKER_CAPS)],
  ['Docker default, with CAP_SYS_ADMIN', () => forContainer(DOCKER_DEFAULT, [...DOCKER_CAPS, 'CAP_SYS_ADMIN'])],
  ['containerd RuntimeDefault', () => containerdRuntimeDefault()],
  ["runc's seccomp_syscall_test1", () => runcTestProfile(1)],
  ["runc's seccomp_syscall_test2", () => runcTestProfile(2)],
  [
    'every operator, several rules per call',
    () => ({
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: [
        { names: ['read', 'write', 'close', 'getpid'], action: 'SCMP_ACT_ALLOW' },
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
        { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
        { names: ['mmap'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: 4096, op: 'SCMP_CMP_LE' }] },
        { names: ['lseek'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: 2 ** 40, op: 'SCMP_CMP_GT' }] },
        { names: ['dup'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 10, op: 'SCMP_CMP_LT' }] },
        { names: ['dup2'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 10, op: 'SCMP_CMP_GE' }] },
        { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 3 },
        {
          names: ['socket'],
          action: 'SCMP_ACT_ERRNO',
          errnoRet: 22,
          args: [
            { index: 0, value: 16, op: 'SCMP_CMP_EQ' },
            { index: 2, value: 9, op: 'SCMP_CMP_EQ' },
          ],
        },
        { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 2, value: 9, op: 'SCMP_CMP_NE' }] },
        // the default's action, then an allow: runc leaves the first out, so every call is allowed
        { names: ['getppid'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
        { names: ['getppid'], action: 'SCMP_ACT_ALLOW' },
      ],
    }),
  ],
];

const haveLibseccomp = fs.existsSync(LIBSECCOMP);

describe.each(profiles)('%s: the same actions as libseccomp', (_name, profile) => {
  test("every syscall number of x86_64, x32 and i386, with arguments; no bigger than 1.25× libseccomp's program", () => {
    // runc (a CI dependency) brings libseccomp2; without it there is no oracle to ask.
    expect(haveLibseccomp).toBe(true);
    const cfg = profile();
    const ours = compileSeccomp(cfg, () => undefined).program;
    const theirs = libseccompProgram(cfg);
    let checked = 0;
    const archs = cfg.architectures?.length ? cfg.architectures : ['SCMP_ARCH_X86_64'];
    for (const [audit, text, base, name] of [
      [X86_64, SYSCALLS_X86_64, 0, 'SCMP_ARCH_X86_64'],
      [X86_64, SYSCALLS_X32, X32_BIT, 'SCMP_ARCH_X32'],
      [I386, SYSCALLS_X86, 0, 'SCMP_ARCH_X86'],
    ] as const) {
      const nrs = table(text);
      const max = Math.max(...nrs);
      // Divergence, on purpose: for an architecture the profile leaves out, libseccomp's default
      // (SCMP_FLTATR_ACT_BADARCH, which runc leaves as it is) kills the thread; we kill the process.
      const covered = archs.includes(name);
      // runc = libseccomp + its -ENOSYS stub: above the largest number the profile names for
      // this architecture, ENOSYS (unless the default allows, logs or traces anyway).
      const named = (cfg.syscalls ?? [])
        .flatMap((r) => r.names)
        .map((n) => byName(text).get(n))
        .filter((x): x is number => x !== undefined);
      const stubFrom =
        named.length && !['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'].includes(cfg.defaultAction)
          ? Math.max(...named) + 1
          : Infinity;
      for (let nr = base; nr <= max + 2; nr++) {
        for (const args of ARG_VECTORS) {
          const a = run(ours, audit, nr, args);
          const b = !covered ? 0x80000000 : nr >= stubFrom ? 0x50026 : run(theirs, audit, nr, args);
          if (!covered) expect(run(theirs, audit, nr, args)).toBe(0); // KILL_THREAD
          if (a !== b)
            throw new Error(
              `arch ${audit.toString(16)} nr ${nr} args ${args.join(',')}: ours 0x${a.toString(16)}, libseccomp 0x${b.toString(16)}`,
            );
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(10000);

    console.log(`${_name}: ${ours.length / 8} instructions, libseccomp ${theirs.length / 8}`);
    expect(ours.length).toBeLessThanOrEqual(theirs.length * 1.25);
  });
});
