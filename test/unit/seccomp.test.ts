import { describe, expect, test } from '@jest/globals';
import { compileSeccomp, type SeccompConfig } from '../../src/security/seccomp';
import { seccompVerdict as run } from '../../src/security/seccomp-eval';

const X86_64 = 0xc000003e;
const I386 = 0x40000003;
const ALLOW = 0x7fff0000;
const ERRNO = (e: number) => (0x00050000 | e) >>> 0;
const KILL_PROCESS = 0x80000000;

const warn = () => undefined;

describe('seccomp compiler', () => {
  const cfg: SeccompConfig = {
    defaultAction: 'SCMP_ACT_ERRNO',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    syscalls: [
      { names: ['read', 'write', 'execve'], action: 'SCMP_ACT_ALLOW' },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0xffffffff, op: 'SCMP_CMP_EQ' }] },
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
      { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 3 },
      {
        names: ['mmap'],
        action: 'SCMP_ACT_ALLOW',
        args: [
          { index: 1, value: 4096, op: 'SCMP_CMP_LE' },
          { index: 2, value: 0, op: 'SCMP_CMP_NE' },
        ],
      },
      { names: ['lseek'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: 2 ** 40, op: 'SCMP_CMP_GT' }] },
      { names: ['dup'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 10, op: 'SCMP_CMP_LT' }] },
      { names: ['dup2'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 10, op: 'SCMP_CMP_GE' }] },
    ],
  };
  const { program } = compileSeccomp(cfg, warn);

  test('plain allow rules and the default action', () => {
    expect(run(program, X86_64, 0)).toBe(ALLOW); // read
    expect(run(program, X86_64, 59)).toBe(ALLOW); // execve
    expect(run(program, X86_64, 2)).toBe(ERRNO(1)); // open: default errno EPERM
  });
  test('argument conditions: EQ, MASKED_EQ and several rules per syscall', () => {
    expect(run(program, X86_64, 135, [8n])).toBe(ALLOW);
    expect(run(program, X86_64, 135, [0xffffffffn])).toBe(ALLOW);
    expect(run(program, X86_64, 135, [0x1ffffffffn])).toBe(ERRNO(1)); // high word differs
    expect(run(program, X86_64, 135, [1n])).toBe(ERRNO(1));
    expect(run(program, X86_64, 56, [0x11n])).toBe(ALLOW); // clone without namespace flags
    expect(run(program, X86_64, 56, [0x10000000n])).toBe(ERRNO(1)); // CLONE_NEWUSER
  });
  test('errnoRet, and 64-bit comparisons', () => {
    expect(run(program, X86_64, 62)).toBe(ERRNO(3));
    expect(run(program, X86_64, 9, [0n, 4096n, 1n])).toBe(ALLOW);
    expect(run(program, X86_64, 9, [0n, 4097n, 1n])).toBe(ERRNO(1));
    expect(run(program, X86_64, 9, [0n, 1n << 32n, 1n])).toBe(ERRNO(1));
    expect(run(program, X86_64, 9, [0n, 10n, 0n])).toBe(ERRNO(1)); // second condition fails
    expect(run(program, X86_64, 8, [0n, (1n << 40n) + 1n])).toBe(ALLOW);
    expect(run(program, X86_64, 8, [0n, 1n << 40n])).toBe(ERRNO(1));
    expect(run(program, X86_64, 32, [9n])).toBe(ALLOW);
    expect(run(program, X86_64, 32, [10n])).toBe(ERRNO(1));
    expect(run(program, X86_64, 33, [10n])).toBe(ALLOW);
    expect(run(program, X86_64, 33, [9n])).toBe(ERRNO(1));
  });
  test('the i386 table is used for i386 calls; x32 and unknown architectures are killed', () => {
    expect(run(program, I386, 3)).toBe(ALLOW); // read is 3 on i386
    expect(run(program, I386, 0)).toBe(ERRNO(1)); // restart_syscall
    expect(run(program, X86_64, 0x40000000)).toBe(KILL_PROCESS);
    expect(run(program, 0xc00000b7, 0)).toBe(KILL_PROCESS);
  });
  test("a large profile compiles within the kernel's limit (far jumps)", () => {
    const names = Array.from({ length: 300 }, (_, i) => ['read', 'write', 'open', 'close', 'stat'][i % 5] + (i < 5 ? '' : 'x'));
    const big = compileSeccomp(
      {
        defaultAction: 'SCMP_ACT_ERRNO',
        architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
        syscalls: [{ names: [...names, 'getpid', 'gettid', 'futex', 'mmap', 'munmap', 'brk'], action: 'SCMP_ACT_ALLOW' }],
      },
      warn,
    );
    expect(run(big.program, I386, 20)).toBe(ALLOW); // getpid on i386
    expect(run(big.program, X86_64, 0x40000000 + 39)).toBe(ALLOW); // x32 getpid
  });
  test('bad actions and operators are errors naming the field', () => {
    expect(() => compileSeccomp({ defaultAction: 'SCMP_ACT_NOPE' }, warn)).toThrow(/defaultAction: unknown seccomp action/);
    expect(() =>
      compileSeccomp(
        {
          defaultAction: 'SCMP_ACT_ALLOW',
          syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_FOO' }] }],
        },
        warn,
      ),
    ).toThrow(/syscalls\[0\]: unknown seccomp operator/);
  });
  test('a name no architecture has warns; names of other architectures are skipped, told only to --debug', () => {
    const w: string[] = [];
    const d: string[] = [];
    compileSeccomp(
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['no_such_call', 'chown32', 'pciconfig_iobase', 'set_tls'], action: 'SCMP_ACT_ERRNO' }],
      },
      (m) => w.push(m),
      (m) => d.push(m),
    );
    expect(w).toEqual([expect.stringMatching(/unknown syscall "no_such_call"/)]);
    expect(d).toEqual([
      expect.stringMatching(/"pciconfig_iobase" is a system call of other architectures only/),
      expect.stringMatching(/"set_tls"/),
    ]);
  });
  test('one range test per run of numbers: a profile of hundreds of calls stays small', () => {
    const names = ['read', 'write', 'open', 'close', 'stat', 'fstat', 'lstat', 'poll', 'lseek', 'mmap', 'mprotect', 'munmap', 'brk'];
    const { program } = compileSeccomp({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names, action: 'SCMP_ACT_ALLOW' }] }, warn);
    // 0..12 on x86_64 are one range: the search needs two comparisons, not thirteen
    expect(program.length / 8).toBeLessThan(20);
    for (let nr = 0; nr <= 12; nr++) expect(run(program, X86_64, nr)).toBe(ALLOW);
    expect(run(program, X86_64, 13)).toBe(ERRNO(38)); // above the largest named: runc's ENOSYS stub
  });
  test('as runc: a call newer than any the profile names gets ENOSYS, an older unnamed one the default; not with an allowing default', () => {
    const { program } = compileSeccomp(
      { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read', 'getpid'], action: 'SCMP_ACT_ALLOW' }] },
      warn,
    );
    expect(run(program, X86_64, 0)).toBe(ALLOW);
    expect(run(program, X86_64, 1)).toBe(ERRNO(1)); // write: below getpid (39)
    expect(run(program, X86_64, 39)).toBe(ALLOW);
    expect(run(program, X86_64, 40)).toBe(ERRNO(38));
    expect(run(program, X86_64, 1000)).toBe(ERRNO(38));
    const allowing = compileSeccomp(
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO' }] },
      warn,
    ).program;
    expect(run(allowing, X86_64, 1000)).toBe(ALLOW);
  });
});
