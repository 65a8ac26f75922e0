import { describe, expect, test } from '@jest/globals';
import { emulateDeviceRules, v1DeviceWrites, type DeviceRuleset } from '../../src/cgroups/devices/rules';
import { compileDeviceProgram, OP, DEV_BLOCK, DEV_CHAR, ACC_MKNOD, ACC_READ, ACC_WRITE } from '../../src/cgroups/devices/bpf-program';
import type { DeviceRule } from '../../src/ocispec/oci';

/** Runs a compiled device program over one access, as the kernel would (only the opcodes we emit). */
function runProgram(prog: Buffer, type: 'c' | 'b', major: number, minor: number, access: string): boolean {
  const acc = [...access].reduce((m, c) => m | (c === 'r' ? ACC_READ : c === 'w' ? ACC_WRITE : ACC_MKNOD), 0);
  const ctx = [(acc << 16) | (type === 'c' ? DEV_CHAR : DEV_BLOCK), major, minor];
  const r = new Array<number>(11).fill(0);
  r[1] = -1; // the context pointer: only loads through it are meaningful
  for (let pc = 0, steps = 0; steps < 10000; steps++) {
    const op = prog.readUInt8(pc * 8);
    const regs = prog.readUInt8(pc * 8 + 1);
    const dst = regs & 0xf;
    const src = regs >> 4;
    const off = prog.readInt16LE(pc * 8 + 2);
    const imm = prog.readInt32LE(pc * 8 + 4);
    pc++;
    switch (op) {
      case OP.LDXW:
        expect(src).toBe(1);
        expect(r[1]).toBe(-1);
        r[dst] = ctx[off / 4] >>> 0;
        break;
      case OP.AND32K:
        r[dst] = (r[dst] & imm) >>> 0;
        break;
      case OP.RSH32K:
        r[dst] = r[dst] >>> imm;
        break;
      case OP.MOV32K:
        r[dst] = imm >>> 0;
        break;
      case OP.MOV32X:
        r[dst] = r[src] >>> 0;
        break;
      case OP.JEQK:
        if (r[dst] === imm) pc += off;
        break;
      case OP.JNEK:
        if (r[dst] !== imm) pc += off;
        break; // 64-bit compare with the sign-extended immediate
      case OP.JNEX:
        if (r[dst] !== r[src]) pc += off;
        break;
      case OP.EXIT:
        return r[0] === 1;
      default:
        throw new Error(`unexpected opcode 0x${op.toString(16)}`);
    }
    expect(pc).toBeLessThan(prog.length / 8);
  }
  throw new Error('program did not exit');
}

const DENY_ALL: DeviceRule = { allow: false, access: 'rwm' };

describe('device rules, emulated as the v1 device cgroup applies them', () => {
  test('deny all, then exceptions; access is merged per device', () => {
    const set = emulateDeviceRules([
      DENY_ALL,
      { allow: true, type: 'c', major: 1, minor: 3, access: 'r' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'w' },
    ]);
    expect(set).toEqual({ defaultAllow: false, exceptions: [{ type: 'c', major: 1, minor: 3, access: 'rw' }] });
  });
  test('an "a" rule resets everything before it', () => {
    expect(
      emulateDeviceRules([
        { allow: true, type: 'c', major: 1, minor: 3 },
        { allow: true, access: 'rwm' },
      ]),
    ).toEqual({ defaultAllow: true, exceptions: [] });
    expect(
      emulateDeviceRules([
        { allow: true, access: 'rwm' },
        { allow: false, type: 'b', major: 8, access: 'w' },
      ]),
    ).toEqual({ defaultAllow: true, exceptions: [{ type: 'b', major: 8, minor: -1, access: 'w' }] });
  });
  test("a rule with the default's action narrows an exact exception, and cannot punch a wildcard", () => {
    const set = emulateDeviceRules([
      DENY_ALL,
      { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
      { allow: false, type: 'c', major: 5, minor: 1, access: 'm' },
    ]);
    expect(set.exceptions).toEqual([{ type: 'c', major: 5, minor: 1, access: 'rw' }]);
    expect(() =>
      emulateDeviceRules([
        DENY_ALL,
        { allow: true, type: 'c', major: 136, access: 'rwm' },
        { allow: false, type: 'c', major: 136, minor: 2, access: 'r' },
      ]),
    ).toThrow(/linux.resources.devices\[2\]: cannot deny c 136:2 r: an earlier rule allows c 136:-1 as a whole/);
  });
  test('bad types, access and numbers are errors naming the rule', () => {
    expect(() => emulateDeviceRules([DENY_ALL, { allow: true, type: 'c', major: -2 }])).toThrow(
      /devices\[1\].major: -2 is not a device number/,
    );
    expect(() => emulateDeviceRules([DENY_ALL, { allow: true, type: 'c', major: 1, minor: 2 ** 32 }])).toThrow(/devices\[1\].minor/);
    expect(() => emulateDeviceRules([{ allow: true, type: 'x' }])).toThrow(/devices\[0\].type: "x" is not a, c or b/);
    expect(() => emulateDeviceRules([DENY_ALL, { allow: true, type: 'c', access: 'rwx' }])).toThrow(/devices\[1\].access: "rwx"/);
  });
  test('v1 writes: the reset line first, then one line per exception', () => {
    expect(v1DeviceWrites({ defaultAllow: false, exceptions: [{ type: 'c', major: 136, minor: -1, access: 'rwm' }] })).toEqual([
      ['devices.deny', 'a'],
      ['devices.allow', 'c 136:* rwm'],
    ]);
    expect(v1DeviceWrites({ defaultAllow: true, exceptions: [{ type: 'b', major: 8, minor: 0, access: 'w' }] })).toEqual([
      ['devices.allow', 'a'],
      ['devices.deny', 'b 8:0 w'],
    ]);
  });
});

describe('the cgroup v2 device program decides as the ruleset says', () => {
  const cases: [string, DeviceRuleset, [type: 'c' | 'b', number, number, string, boolean][]][] = [
    [
      'deny all',
      { defaultAllow: false, exceptions: [] },
      [
        ['c', 1, 3, 'r', false],
        ['b', 8, 0, 'm', false],
      ],
    ],
    [
      'allow-list',
      {
        defaultAllow: false,
        exceptions: [
          { type: 'c', major: 1, minor: 3, access: 'rwm' },
          { type: 'c', major: 136, minor: -1, access: 'rw' },
          { type: 'c', major: -1, minor: -1, access: 'm' },
          { type: 'b', major: 8, minor: 0, access: 'r' },
        ],
      },
      [
        ['c', 1, 3, 'rw', true],
        ['c', 1, 3, 'm', true],
        ['c', 1, 5, 'r', false],
        ['c', 1, 5, 'm', true],
        ['c', 136, 7, 'rw', true],
        ['c', 136, 7, 'w', true],
        ['c', 137, 7, 'r', false],
        ['b', 8, 0, 'r', true],
        ['b', 8, 0, 'rw', false],
        ['b', 8, 0, 'w', false],
        ['b', 8, 1, 'r', false],
        ['b', 1, 3, 'r', false],
      ],
    ],
    [
      'deny-list',
      { defaultAllow: true, exceptions: [{ type: 'b', major: 8, minor: -1, access: 'w' }] },
      [
        ['b', 8, 0, 'r', true],
        ['b', 8, 3, 'w', false],
        ['b', 8, 3, 'rw', false],
        ['c', 8, 3, 'w', true],
      ],
    ],
  ];
  test.each(cases)('%s', (_name, set, checks) => {
    const prog = compileDeviceProgram(set);
    const got = checks.map(([t, ma, mi, acc]) => [t, ma, mi, acc, runProgram(prog, t, ma, mi, acc)]);
    expect(got).toEqual(checks);
  });
  test('runc\'s default devices after "deny all" end up allowed, others not', () => {
    const defaults: DeviceRule[] = [
      { allow: true, type: 'c', access: 'm' },
      { allow: true, type: 'b', access: 'm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
      { allow: true, type: 'c', major: 136, access: 'rwm' },
    ];
    const prog = compileDeviceProgram(emulateDeviceRules([DENY_ALL, ...defaults]));
    expect([
      runProgram(prog, 'c', 1, 3, 'rw'),
      runProgram(prog, 'c', 136, 0, 'rw'),
      runProgram(prog, 'b', 8, 0, 'm'),
      runProgram(prog, 'b', 8, 0, 'r'),
      runProgram(prog, 'c', 10, 229, 'rw'),
    ]).toEqual([true, true, true, false, false]);
  });
});
