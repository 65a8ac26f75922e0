// A classic-BPF interpreter over a seccomp_data: for the programs our compiler and libseccomp emit.
// The tests check compiled filters with it; exec asks it what a filter does to one call
// (container/exec.ts: whether a process born by vfork may go on to its execve).

/** What program returns for a call (arch, nr, args); throws on an opcode neither compiler emits. */
export function seccompVerdict(program: Buffer, arch: number, nr: number, args: bigint[] = []): number {
  const data = Buffer.alloc(64);
  data.writeUInt32LE(nr >>> 0, 0);
  data.writeUInt32LE(arch, 4);
  args.forEach((a, i) => data.writeBigUInt64LE(BigInt.asUintN(64, a), 16 + 8 * i));
  let A = 0;
  let X = 0;
  const M = new Uint32Array(16);
  const slot = (k: number): number => {
    if (k >= M.length) throw new Error(`scratch slot ${k} out of range`);
    return k;
  };
  for (let pc = 0; pc < program.length / 8; pc++) {
    const code = program.readUInt16LE(pc * 8);
    const jt = program.readUInt8(pc * 8 + 2);
    const jf = program.readUInt8(pc * 8 + 3);
    const k = program.readUInt32LE(pc * 8 + 4);
    switch (code) {
      case 0x20:
        A = data.readUInt32LE(k);
        break; // ld [k]
      case 0x00:
        A = k;
        break; // ld #k
      case 0x01:
        X = k;
        break; // ldx #k
      case 0x60:
        A = M[slot(k)];
        break; // ld M[k]
      case 0x61:
        X = M[slot(k)];
        break; // ldx M[k]
      case 0x02:
        M[slot(k)] = A;
        break; // st M[k]
      case 0x03:
        M[slot(k)] = X;
        break; // stx M[k]
      case 0x07:
        X = A;
        break; // tax
      case 0x87:
        A = X;
        break; // txa
      case 0x54:
        A = (A & k) >>> 0;
        break; // and #k
      case 0x44:
        A = (A | k) >>> 0;
        break; // or #k
      case 0x04:
        A = (A + k) >>> 0;
        break; // add #k
      case 0x14:
        A = (A - k) >>> 0;
        break; // sub #k
      case 0x05:
        pc += k;
        break; // ja
      case 0x15:
        pc += A === k ? jt : jf;
        break; // jeq #k
      case 0x25:
        pc += A > k ? jt : jf;
        break; // jgt #k
      case 0x35:
        pc += A >= k ? jt : jf;
        break; // jge #k
      case 0x45:
        pc += (A & k) !== 0 ? jt : jf;
        break; // jset #k
      case 0x06:
        return k; // ret #k
      case 0x16:
        return A; // ret a
      default:
        throw new Error(`unknown opcode 0x${code.toString(16)} at ${pc}`);
    }
  }
  throw new Error('fell off the end');
}
