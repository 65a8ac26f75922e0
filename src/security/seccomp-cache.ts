// Compiled seccomp programs, kept (as crun keeps them) under the state root: a default profile
// costs a create ~7-10 ms to compile in a fresh process, reading it back well under 1.
// Keyed by a SHA-256 of the compiler's format, its syscall tables and the profile itself; each
// entry is checked on read (its own digest of the program, owner, mode) and written atomically.
// Anything wrong with the cache costs only the compile.
import { createHash } from 'crypto';
import * as fs from 'fs';
import { dirname, join } from 'path';
import { compileSeccomp, type CompiledSeccomp, type SeccompConfig } from './seccomp';
import { SYSCALLS_ELSEWHERE, SYSCALLS_NEWER, SYSCALLS_X32, SYSCALLS_X86, SYSCALLS_X86_64 } from './syscall-tables';

/** Bumped whenever the compiler's output for a profile may change. */
const FORMAT = 'tsrunc-seccomp-6';

interface Entry {
  format: string;
  flags: number;
  program: string;
  digest: string;
  warnings: string[];
  debug: string[];
}

const sha256 = (...parts: string[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

let tablesDigest: string | undefined;

function read(file: string): Entry | undefined {
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
    if (e.format !== FORMAT || program.length % 8 !== 0 || program.length === 0 || program.length > 4096 * 8) return undefined;
    if (sha256(e.program) !== e.digest) return undefined;
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
  tablesDigest ??= sha256(SYSCALLS_X86_64, SYSCALLS_X86, SYSCALLS_X32, SYSCALLS_ELSEWHERE, SYSCALLS_NEWER);
  const file = join(dir, `${sha256(FORMAT, tablesDigest, JSON.stringify(cfg))}.json`);
  const hit = read(file);
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
    write(dir, file, { format: FORMAT, flags: out.flags, program, digest: sha256(program), warnings, debug: debugs });
  } catch {
    // a cache that cannot be written costs only time
  }
  return out;
}
