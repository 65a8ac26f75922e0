// Real clients' default seccomp profiles compile within the kernel's 4096 instructions, and the
// program gives, for every syscall number of each architecture and a spread of argument values,
// the action the profile's rules give read directly (first matching rule, else the default).
import { describe, expect, test } from '@jest/globals';
import { compileSeccomp, actionValue, type SeccompArg, type SeccompConfig } from '../../src/security/seccomp';
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
import { SYSCALLS_X32, SYSCALLS_X86, SYSCALLS_X86_64 } from '../../src/security/syscall-tables';

const X86_64 = 0xc000003e;
const I386 = 0x40000003;

const table = (s: string): Map<string, number> =>
  new Map(s.split(' ').map((p) => [p.slice(0, p.indexOf(':')), Number(p.slice(p.indexOf(':') + 1))]));

/** On the 32-bit ABIs (i386, x32) only the low words count, as libseccomp (and runc) compare them. */
function holds(arg: SeccompArg, args: bigint[], bits: 32 | 64): boolean {
  const v = BigInt.asUintN(bits, args[arg.index] ?? 0n);
  const k = BigInt.asUintN(bits, BigInt(arg.value));
  switch (arg.op) {
    case 'SCMP_CMP_EQ':
      return v === k;
    case 'SCMP_CMP_NE':
      return v !== k;
    case 'SCMP_CMP_LT':
      return v < k;
    case 'SCMP_CMP_LE':
      return v <= k;
    case 'SCMP_CMP_GT':
      return v > k;
    case 'SCMP_CMP_GE':
      return v >= k;
    case 'SCMP_CMP_MASKED_EQ':
      return (v & k) === BigInt.asUintN(bits, BigInt(arg.valueTwo ?? 0));
    default:
      throw new Error(arg.op);
  }
}

/**
 * The profile read directly, as runc reads it: the first rule naming the call whose conditions
 * hold, rules with the default's action left out; above the largest number the profile names,
 * ENOSYS (runc's stub), unless the default allows, logs or traces.
 */
function expected(cfg: SeccompConfig, names: Map<string, number>, nr: number, args: bigint[], bits: 32 | 64): number {
  const deflt = actionValue(cfg.defaultAction, cfg.defaultErrnoRet, 'defaultAction');
  const named = (cfg.syscalls ?? [])
    .flatMap((r) => r.names)
    .map((n) => names.get(n))
    .filter((x): x is number => x !== undefined);
  if (named.length && nr > Math.max(...named) && !['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'].includes(cfg.defaultAction))
    return 0x50026;
  for (const [i, r] of (cfg.syscalls ?? []).entries()) {
    if (!r.names.some((n) => names.get(n) === nr)) continue;
    if (actionValue(r.action, r.errnoRet, `syscalls[${i}]`) === deflt) continue;
    // runc: where two conditions name the same argument, each is a rule of its own
    const idx = (r.args ?? []).map((a) => a.index);
    const matches =
      new Set(idx).size < idx.length ? (r.args ?? []).some((a) => holds(a, args, bits)) : (r.args ?? []).every((a) => holds(a, args, bits));
    if (matches) return actionValue(r.action, r.errnoRet, `syscalls[${i}]`);
  }
  return actionValue(cfg.defaultAction, cfg.defaultErrnoRet, 'defaultAction');
}

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
  [100n],
  [9001n],
  [1337n],
  [123456789n, 1337n],
  [2n, 0n, 0xf00n],
];

describe.each([
  ["Docker default, Docker's capabilities", () => forContainer(DOCKER_DEFAULT, DOCKER_CAPS)],
  ['containerd RuntimeDefault', () => containerdRuntimeDefault()],
  ["runc's seccomp_syscall_test1", () => runcTestProfile(1)],
  ["runc's seccomp_syscall_test2", () => runcTestProfile(2)],
  ['podman default, default capabilities', () => forContainer(PODMAN_DEFAULT, PODMAN_CAPS)],
  [
    'podman default, every capability',
    () =>
      forContainer(PODMAN_DEFAULT, [
        'CAP_SYS_ADMIN',
        'CAP_SYS_PTRACE',
        'CAP_AUDIT_WRITE',
        'CAP_SYS_TIME',
        'CAP_SYS_MODULE',
        ...PODMAN_CAPS,
      ]),
  ],
])('%s', (_name, profile) => {
  const cfg = profile();
  const warnings: string[] = [];
  const { program } = compileSeccomp(cfg, (m) => warnings.push(m));

  test("compiles within the kernel's limit, quietly for names of other architectures", () => {
    const size = program.length / 8;
    expect(size).toBeLessThanOrEqual(4096);
    // The listing says the size in the test name's output if it is needed; keep it well below.
    expect(size).toBeLessThan(1200);
    expect(warnings).toEqual([]); // its names of other architectures (pciconfig_iobase …) are skipped quietly
  });

  test.each([
    ['x86_64', X86_64, table(SYSCALLS_X86_64), 0, 64, 'SCMP_ARCH_X86_64'],
    ['x32', X86_64, table(SYSCALLS_X32), 0x40000000, 32, 'SCMP_ARCH_X32'],
    ['i386', I386, table(SYSCALLS_X86), 0, 32, 'SCMP_ARCH_X86'],
  ] as const)("%s: every syscall number gives the profile's action", (_arch, audit, names, base, bits, archName) => {
    // An architecture the profile leaves out could bypass it: its calls kill the process.
    const covered = (cfg.architectures?.length ? cfg.architectures : ['SCMP_ARCH_X86_64']).includes(archName);
    const max = Math.max(...names.values());
    let checked = 0;
    for (let nr = base; nr <= max + 2; nr++) {
      for (const args of ARG_VECTORS) {
        const want = covered ? expected(cfg, names, nr, args, bits) : 0x80000000;
        const got = run(program, audit, nr, args);
        if (got !== want) throw new Error(`nr ${nr} args ${args.join(',')}: program ${got.toString(16)}, profile ${want.toString(16)}`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });
});
