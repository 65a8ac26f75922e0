import type { DeviceRuleset } from './rules';

/**
 * Compiles a device ruleset into a BPF_PROG_TYPE_CGROUP_DEVICE program: cgroup v2's way of
 * restricting devices. The kernel runs it on every open and mknod of a device node with a
 * struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 | type); u32 major; u32 minor; }
 * and allows the access when it returns 1.
 */

// struct bpf_cgroup_dev_ctx encodings (include/uapi/linux/bpf.h)
export const DEV_BLOCK = 1;
export const DEV_CHAR = 2;
export const ACC_MKNOD = 1;
export const ACC_READ = 2;
export const ACC_WRITE = 4;

// eBPF opcodes used here
export const OP = {
  LDXW: 0x61, // r_dst = *(u32 *)(r_src + off)
  AND32K: 0x54,
  RSH32K: 0x74,
  MOV32K: 0xb4,
  MOV32X: 0xbc,
  JEQK: 0x15, // if r_dst == imm goto +off
  JNEK: 0x55, // if r_dst != imm goto +off
  JNEX: 0x5d, // if r_dst != r_src goto +off
  EXIT: 0x95,
} as const;

interface Insn {
  op: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const insn = (op: number, dst = 0, src = 0, off = 0, imm = 0): Insn => ({ op, dst, src, off, imm });

export const DEVICE_PROGRAM_LICENSE = 'Apache';

export function compileDeviceProgram(set: DeviceRuleset): Buffer {
  const out: Insn[] = [
    // r2 = type, r3 = access, r4 = major, r5 = minor
    insn(OP.LDXW, 2, 1, 0),
    insn(OP.AND32K, 2, 0, 0, 0xffff),
    insn(OP.LDXW, 3, 1, 0),
    insn(OP.RSH32K, 3, 0, 0, 16),
    insn(OP.LDXW, 4, 1, 4),
    insn(OP.LDXW, 5, 1, 8),
  ];
  const verdict = set.defaultAllow ? 0 : 1; // every exception does the opposite of the default
  for (const e of set.exceptions) {
    const block: Insn[] = [];
    // Each test jumps past the block on a mismatch; offsets are fixed up once its length is known.
    const skips: number[] = [];
    const skip = (i: Insn) => {
      skips.push(block.length);
      block.push(i);
    };
    skip(insn(OP.JNEK, 2, 0, 0, e.type === 'c' ? DEV_CHAR : DEV_BLOCK));
    const mask = [...e.access].reduce((m, c) => m | (c === 'r' ? ACC_READ : c === 'w' ? ACC_WRITE : ACC_MKNOD), 0);
    if (mask !== (ACC_READ | ACC_WRITE | ACC_MKNOD)) {
      block.push(insn(OP.MOV32X, 1, 3));
      block.push(insn(OP.AND32K, 1, 0, 0, mask));
      // As the v1 kernel decides: an allow exception must cover all of the requested access;
      // a deny exception refuses a request that asks for any of its access.
      skip(set.defaultAllow ? insn(OP.JEQK, 1, 0, 0, 0) : insn(OP.JNEX, 1, 3));
    }
    // The immediate is sign-extended: a number past 2^31 (no real device has one) never matches.
    if (e.major >= 0) skip(insn(OP.JNEK, 4, 0, 0, e.major | 0));
    if (e.minor >= 0) skip(insn(OP.JNEK, 5, 0, 0, e.minor | 0));
    block.push(insn(OP.MOV32K, 0, 0, 0, verdict), insn(OP.EXIT));
    for (const at of skips) block[at].off = block.length - at - 1;
    out.push(...block);
  }
  out.push(insn(OP.MOV32K, 0, 0, 0, set.defaultAllow ? 1 : 0), insn(OP.EXIT));
  const buf = Buffer.alloc(out.length * 8);
  out.forEach((i, n) => {
    buf.writeUInt8(i.op, n * 8);
    buf.writeUInt8((i.src << 4) | i.dst, n * 8 + 1);
    buf.writeInt16LE(i.off, n * 8 + 2);
    buf.writeInt32LE(i.imm, n * 8 + 4);
  });
  return buf;
}
