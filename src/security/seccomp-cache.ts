// Compiled seccomp programs, kept (as crun keeps them) under the state root: a default profile
// costs a create ~7-10 ms to compile in a fresh process, reading it back well under 1.
// An entry holds the profile it was compiled from, the compiler's format and a key of its syscall
// tables, all compared exactly on read, and a checksum of its program; it is written atomically.
// Its name is a hash of the same, only to find it: no cryptographic hash is needed (and loading
// node's crypto would cost every create ~13 ms). Anything wrong with the cache costs only the
// compile.
import fs = require('fs');
import { dirname, join } from 'path';
import { compileSeccomp, type CompiledSeccomp, type SeccompConfig } from './seccomp';
import { SYSCALLS_ELSEWHERE, SYSCALLS_NEWER, SYSCALLS_X32, SYSCALLS_X86, SYSCALLS_X86_64 } from './syscall-tables';

/** Bumped whenever the compiler's output for a profile may change. */
const FORMAT = 'tsrunc-seccomp-7';

interface Entry {
  format: string;
  tables: string;
  profile: string;
  flags: number;
  program: string;
  digest: string;
  warnings: string[];
  debug: string[];
}

/** 64 bits of FNV-1a over the strings (two 32-bit lanes, differently seeded and multiplied), in hex. */
export function fnv64(...parts: string[]): string {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) {
      const c = p.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
    }
    a = Math.imul(a ^ 0xff, 0x01000193); // a separator: ("ab", "c") is not ("a", "bc")
    b = Math.imul(b ^ 0xff, 0x5bd1e995);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

let tablesKey: string | undefined;

function read(file: string, tables: string, profile: string): Entry | undefined {
  let text: string;
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      const st = fs.fstatSync(fd);
      // Ours alone: written by this user, readable by nobody else, a plain file.
      if (!st.isFile() || st.uid !== process.geteuid?.() || (st.mode & 0o077) !== 0) return undefined;
      text = fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
  try {
    const e = JSON.parse(text) as Entry;
    const program = Buffer.from(e.program, 'base64');
    if (e.format !== FORMAT || e.tables !== tables || e.profile !== profile) return undefined;
    if (program.length % 8 !== 0 || program.length === 0 || program.length > 4096 * 8) return undefined;
    if (fnv64(e.program) !== e.digest) return undefined;
    return e;
  } catch {
    return undefined;
  }
}

function write(dir: string, file: string, e: Entry): void {
  fs.mkdirSync(dirname(dir), { recursive: true, mode: 0o711 }); // the state root, as the store makes it
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(e), { mode: 0o600, flag: 'wx' });
  fs.renameSync(tmp, file);
}

/** compileSeccomp through the cache in dir (none: a plain compile). Warnings of a cached compile are told again. */
export function compileSeccompCached(
  cfg: SeccompConfig,
  warn: (m: string) => void,
  debug: (m: string) => void,
  dir?: string,
): CompiledSeccomp {
  if (dir === undefined) return compileSeccomp(cfg, warn, debug);
  tablesKey ??= fnv64(SYSCALLS_X86_64, SYSCALLS_X86, SYSCALLS_X32, SYSCALLS_ELSEWHERE, SYSCALLS_NEWER);
  const profile = JSON.stringify(cfg);
  const file = join(dir, `${fnv64(FORMAT, tablesKey, profile)}.json`);
  const hit = read(file, tablesKey, profile);
  if (hit) {
    hit.warnings.forEach(warn);
    hit.debug.forEach(debug);
    debug(`linux.seccomp: compiled program from the cache (${file})`);
    return { program: Buffer.from(hit.program, 'base64'), flags: hit.flags };
  }
  const warnings: string[] = [];
  const debugs: string[] = [];
  const out = compileSeccomp(
    cfg,
    (m) => {
      warnings.push(m);
      warn(m);
    },
    (m) => {
      debugs.push(m);
      debug(m);
    },
  );
  const program = out.program.toString('base64');
  try {
    write(dir, file, {
      format: FORMAT,
      tables: tablesKey,
      profile,
      flags: out.flags,
      program,
      digest: fnv64(program),
      warnings,
      debug: debugs,
    });
  } catch {
    // a cache that cannot be written costs only time
  }
  return out;
}
