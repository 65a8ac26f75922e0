// Compiles linux.seccomp into a classic-BPF program for seccomp(SECCOMP_SET_MODE_FILTER), as
// compact as libseccomp's: dispatch on the audit architecture once, then a binary search over the
// syscall numbers (runs of numbers with the same outcome are one range), landing on a shared
// return per action or on a shared block of argument checks; anything unmatched gets the default
// action. Real clients' default profiles (podman's, Docker's, containerd's) allow hundreds of
// calls on three architectures; a check per call exceeds the kernel's 4096 instructions.
import { SYSCALLS_ELSEWHERE, SYSCALLS_NEWER, SYSCALLS_X32, SYSCALLS_X86, SYSCALLS_X86_64 } from './syscall-tables';

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}
export interface SeccompRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArg[];
}
export interface SeccompConfig {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: SeccompRule[];
}

export interface CompiledSeccomp {
  /** sock_filter array, 8 bytes per instruction */
  program: Buffer;
  flags: number;
}

const EPERM = 1;
const RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
  USER_NOTIF: 0x7fc00000,
};
/** seccomp(2): the filter's notification fd is returned (for linux.seccomp.listenerPath). */
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3;
const AUDIT_ARCH_X86_64 = 0xc000003e;
const AUDIT_ARCH_I386 = 0x40000003;
/** Filter actions and the native arch as a filter sees them (container/exec.ts asks one what it does to a call). */
export { RET as SECCOMP_RET, AUDIT_ARCH_X86_64 };
const X32_SYSCALL_BIT = 0x40000000;

const FLAGS: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
};

// BPF opcodes
const LD_W_ABS = 0x20;
const ALU_AND_K = 0x54;
const JMP_JA = 0x05;
const JEQ_K = 0x15;
const JGT_K = 0x25;
const JGE_K = 0x35;
const RET_K = 0x06;

const parsed = new Map<string, Map<string, number>>();

function parseTable(s: string): Map<string, number> {
  const known = parsed.get(s);
  if (known) return known;
  const m = new Map<string, number>();
  parsed.set(s, m);
  for (const pair of s.split(' ')) {
    const i = pair.indexOf(':');
    m.set(pair.slice(0, i), Number(pair.slice(i + 1)));
  }
  return m;
}

/** The kernel's MAX_ERRNO: a larger "errno" would read as a valid return value, or garbage. */
const MAX_ERRNO = 4095;

export function actionValue(action: string, errnoRet: number | undefined, where: string): number {
  if (errnoRet !== undefined && (errnoRet < 0 || errnoRet > MAX_ERRNO) && (action === 'SCMP_ACT_ERRNO' || action === 'SCMP_ACT_TRACE')) {
    throw new Error(`${where}.errnoRet: ${errnoRet} is not an errno (0-${MAX_ERRNO})`);
  }
  switch (action) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return RET.KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return RET.KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return RET.TRAP;
    case 'SCMP_ACT_ERRNO':
      return (RET.ERRNO | ((errnoRet ?? EPERM) & 0xffff)) >>> 0;
    case 'SCMP_ACT_TRACE':
      return (RET.TRACE | ((errnoRet ?? EPERM) & 0xffff)) >>> 0;
    case 'SCMP_ACT_LOG':
      return RET.LOG;
    case 'SCMP_ACT_ALLOW':
      return RET.ALLOW;
    case 'SCMP_ACT_NOTIFY':
      return RET.USER_NOTIF;
    default:
      throw new Error(`${where}: unknown seccomp action "${action}"`);
  }
}

/** A conditional jump beyond the 255 instructions jt/jf reach: the layout must use trampolines. */
class JumpTooFar extends Error {}

/** A tiny assembler: instructions with symbolic jump targets, resolved at the end. */
class Asm {
  private ins: { code: number; k: number; jt: string | number; jf: string | number }[] = [];
  private labels = new Map<string, number>();
  private n = 0;

  label(): string {
    return `L${this.n++}`;
  }
  place(l: string): void {
    this.labels.set(l, this.ins.length);
  }
  ld(off: number): void {
    this.ins.push({ code: LD_W_ABS, k: off, jt: 0, jf: 0 });
  }
  and(k: number): void {
    this.ins.push({ code: ALU_AND_K, k, jt: 0, jf: 0 });
  }
  /** conditional jump; '' means "the next instruction" */
  j(code: number, k: number, jt: string, jf: string): void {
    this.ins.push({ code, k, jt, jf });
  }
  /** Conditional jump to a label that may be farther than the 255 instructions jt/jf can reach. */
  jFar(code: number, k: number, target: string): void {
    const after = this.label();
    this.j(code, k, '', after);
    this.ja(target);
    this.place(after);
  }
  ja(l: string): void {
    this.ins.push({ code: JMP_JA, k: 0, jt: l, jf: 0 });
  }
  ret(k: number): void {
    this.ins.push({ code: RET_K, k, jt: 0, jf: 0 });
  }
  build(): Buffer {
    const buf = Buffer.alloc(this.ins.length * 8);
    this.ins.forEach((x, i) => {
      const rel = (t: string | number): number => {
        if (typeof t === 'number') return t;
        if (t === '') return 0;
        const at = this.labels.get(t);
        if (at === undefined) throw new Error(`seccomp: internal error, unplaced label ${t}`);
        return at - i - 1;
      };
      let k = x.k;
      let jt = 0;
      let jf = 0;
      if (x.code === JMP_JA) {
        k = rel(x.jt);
      } else if (x.code !== LD_W_ABS && x.code !== ALU_AND_K && x.code !== RET_K) {
        jt = rel(x.jt);
        jf = rel(x.jf);
        if (jt > 255 || jf > 255) throw new JumpTooFar('seccomp: a rule is too large to compile');
      }
      buf.writeUInt16LE(x.code, i * 8);
      buf.writeUInt8(jt, i * 8 + 2);
      buf.writeUInt8(jf, i * 8 + 3);
      buf.writeUInt32LE(k >>> 0, i * 8 + 4);
    });
    if (this.ins.length > 4096) throw new Error(`seccomp: program of ${this.ins.length} instructions exceeds the kernel's 4096`);
    return buf;
  }
}

const split = (v: number): [number, number] => {
  const big = BigInt.asUintN(64, BigInt(Math.trunc(v)));
  return [Number(big >> 32n), Number(big & 0xffffffffn)];
};

/**
 * Emits the checks of one argument condition: on success jumps to pass ('' falls through), else
 * to fail. On the 32-bit ABIs (i386, x32) only the low words count, the value's too, as
 * libseccomp (and so runc) compares them there.
 */
function emitArg(a: Asm, arg: SeccompArg, fail: string, where: string, bits: 32 | 64, pass = ''): void {
  if (arg.index < 0 || arg.index > 5) throw new Error(`${where}: argument index ${arg.index} out of range 0-5`);
  const lo = 16 + arg.index * 8;
  const hi = lo + 4;
  const [vh, vl] = split(arg.value);
  const [eh, el] = split(arg.valueTwo ?? 0);
  const T = pass || a.label();
  if (bits === 32) {
    a.ld(lo);
    switch (arg.op) {
      case 'SCMP_CMP_EQ':
        a.j(JEQ_K, vl, T, fail);
        break;
      case 'SCMP_CMP_NE':
        a.j(JEQ_K, vl, fail, T);
        break;
      case 'SCMP_CMP_MASKED_EQ':
        a.and(vl);
        a.j(JEQ_K, el, T, fail);
        break;
      case 'SCMP_CMP_GT':
        a.j(JGT_K, vl, T, fail);
        break;
      case 'SCMP_CMP_GE':
        a.j(JGE_K, vl, T, fail);
        break;
      case 'SCMP_CMP_LT':
        a.j(JGE_K, vl, fail, T);
        break;
      case 'SCMP_CMP_LE':
        a.j(JGT_K, vl, fail, T);
        break;
      default:
        throw new Error(`${where}: unknown seccomp operator "${arg.op}"`);
    }
  } else {
    switch (arg.op) {
      case 'SCMP_CMP_EQ':
        a.ld(hi);
        a.j(JEQ_K, vh, '', fail);
        a.ld(lo);
        a.j(JEQ_K, vl, T, fail);
        break;
      case 'SCMP_CMP_NE':
        a.ld(hi);
        a.j(JEQ_K, vh, '', T);
        a.ld(lo);
        a.j(JEQ_K, vl, fail, T);
        break;
      case 'SCMP_CMP_MASKED_EQ':
        a.ld(hi);
        a.and(vh);
        a.j(JEQ_K, eh, '', fail);
        a.ld(lo);
        a.and(vl);
        a.j(JEQ_K, el, T, fail);
        break;
      case 'SCMP_CMP_GT':
        a.ld(hi);
        a.j(JGT_K, vh, T, '');
        a.j(JEQ_K, vh, '', fail);
        a.ld(lo);
        a.j(JGT_K, vl, T, fail);
        break;
      case 'SCMP_CMP_GE':
        a.ld(hi);
        a.j(JGT_K, vh, T, '');
        a.j(JEQ_K, vh, '', fail);
        a.ld(lo);
        a.j(JGE_K, vl, T, fail);
        break;
      case 'SCMP_CMP_LT':
        a.ld(hi);
        a.j(JGE_K, vh, '', T);
        a.j(JGT_K, vh, fail, '');
        a.ld(lo);
        a.j(JGE_K, vl, fail, T);
        break;
      case 'SCMP_CMP_LE':
        a.ld(hi);
        a.j(JGT_K, vh, fail, '');
        a.j(JEQ_K, vh, '', T);
        a.ld(lo);
        a.j(JGT_K, vl, fail, T);
        break;
      default:
        throw new Error(`${where}: unknown seccomp operator "${arg.op}"`);
    }
  }
  if (!pass) a.place(T);
}

let x86Names: Set<string> | undefined;
let elsewhere: Set<string> | undefined;
const X86_NAMES = (): Set<string> =>
  (x86Names ??= new Set([SYSCALLS_X86_64, SYSCALLS_X86, SYSCALLS_X32].flatMap((s) => [...parseTable(s).keys()])));
const ELSEWHERE = (): Set<string> => (elsewhere ??= new Set(SYSCALLS_ELSEWHERE.split(' ')));
let newerNames: Set<string> | undefined;
const NEWER = (): Set<string> => (newerNames ??= new Set(SYSCALLS_NEWER.split(' ')));

interface ArchTable {
  audit: number;
  table: Map<string, number>;
  name: string;
  bits: 32 | 64;
}

/** What a syscall number leads to: a return, or a block of argument checks shared by every number with the same rules. */
type Outcome = { ret: number } | { key: string; checks: { rule: SeccompRule; idx: number }[]; last: number; bits: 32 | 64 };

const outcomeId = (o: Outcome): string => ('ret' in o ? `r${o.ret}` : `b${o.key}`);

/**
 * As runc adds a rule: its conditions hold together, but where two name the same argument each
 * is a rule of its own (either may match), as runc falls back to then.
 */
function asRuncAdds(rule: SeccompRule): SeccompRule[] {
  const args = rule.args ?? [];
  const seen = new Set<number>();
  const repeats = args.some((a) => seen.size === seen.add(a.index).size);
  return repeats ? args.map((a) => ({ ...rule, args: [a] })) : [rule];
}

/** The outcome of each number the profile names in these tables (numbers it does not name get the default). */
function outcomes(tables: ArchTable[], rules: SeccompRule[], defaultRet: number, report: Report): Map<number, Outcome> {
  const out = new Map<number, Outcome>();
  for (const t of tables) {
    const byNr = new Map<number, { rule: SeccompRule; idx: number }[]>();
    rules.forEach((rule, idx) => {
      // A rule with the default's action changes nothing but the rules after it: runc leaves
      // it out (libseccomp refuses it), and so do we.
      if (actionValue(rule.action, rule.errnoRet, `linux.seccomp.syscalls[${idx}]`) === defaultRet) return;
      for (const name of rule.names) {
        const nr = t.table.get(name);
        if (nr === undefined) {
          // Names of other architectures are skipped quietly, as libseccomp does; only a name
          // no architecture has is worth a warning.
          if (t.name !== 'native' || X86_NAMES().has(name)) continue;
          if (ELSEWHERE().has(name))
            report.debug(`linux.seccomp.syscalls[${idx}]: "${name}" is a system call of other architectures only; skipped`);
          else if (NEWER().has(name))
            report.debug(
              `linux.seccomp.syscalls[${idx}]: "${name}" is newer than the calls tsrunc (and runc's libseccomp) can number; skipped`,
            );
          else report.warn(`linux.seccomp.syscalls[${idx}]: unknown syscall "${name}" ignored`);
          continue;
        }
        if (!byNr.has(nr)) byNr.set(nr, []);
        byNr.get(nr)!.push(...asRuncAdds(rule).map((r) => ({ rule: r, idx })));
      }
    });
    for (const [nr, list] of byNr) {
      // Rules apply in order: the first one without conditions ends the list.
      const end = list.findIndex((r) => !r.rule.args?.length);
      const checks = end < 0 ? list : list.slice(0, end);
      const last =
        end < 0 ? defaultRet : actionValue(list[end].rule.action, list[end].rule.errnoRet, `linux.seccomp.syscalls[${list[end].idx}]`);
      if (!checks.length) {
        if (last !== defaultRet) out.set(nr, { ret: last });
        continue;
      }
      const key = JSON.stringify([
        t.bits,
        checks.map((c) => [c.rule.args, actionValue(c.rule.action, c.rule.errnoRet, `linux.seccomp.syscalls[${c.idx}]`)]),
        last,
      ]);
      out.set(nr, { key, checks, last, bits: t.bits });
    }
  }
  return out;
}

/** Returns and argument blocks, each once, jumped to by the dispatch code before them. */
class Pool {
  private readonly labels = new Map<string, string>();
  private pending: Outcome[] = [];
  constructor(private readonly a: Asm) {}

  label(o: Outcome): string {
    const id = outcomeId(o);
    let l = this.labels.get(id);
    if (l === undefined) {
      l = this.a.label();
      this.labels.set(id, l);
      this.pending.push(o);
    }
    return l;
  }

  /**
   * Emits what was asked for since the last flush (later sections get their own copies): the
   * blocks, whose last checks jump straight to the returns after them (or, inline, return
   * themselves where those may be out of reach), then the returns.
   */
  flush(inline: boolean): void {
    const a = this.a;
    for (const o of this.pending.splice(0)) {
      if ('ret' in o) {
        this.pending.push(o);
        continue;
      }
      a.place(this.labels.get(outcomeId(o))!);
      o.checks.forEach(({ rule, idx }, i) => {
        const where = `linux.seccomp.syscalls[${idx}]`;
        const action = actionValue(rule.action, rule.errnoRet, where);
        const last = i === o.checks.length - 1;
        const args = rule.args ?? [];
        if (inline) {
          const fail = a.label();
          for (const arg of args) emitArg(a, arg, fail, where, o.bits);
          a.ret(action);
          a.place(fail);
          if (last) a.ret(o.last);
          return;
        }
        const fail = last ? this.label({ ret: o.last }) : a.label();
        args.forEach((arg, j) => emitArg(a, arg, fail, where, o.bits, j === args.length - 1 ? this.label({ ret: action }) : ''));
        if (!last) a.place(fail);
      });
    }
    for (const o of this.pending) {
      a.place(this.labels.get(outcomeId(o))!);
      if ('ret' in o) a.ret(o.ret);
    }
    this.pending = [];
    this.labels.clear();
  }
}

type Layout = 'shared' | 'sections' | 'trampolines';

/** Syscall numbers [lo, hi). */
interface Span {
  lo: number;
  hi: number;
}
const ENOSYS_RET = (RET.ERRNO | 38) >>> 0;

/**
 * The dispatch on the syscall number (loaded) for these tables: a chain of "is it this number?"
 * for a few calls (libseccomp's layout for small filters), else a binary search over ranges of
 * numbers with one outcome. With trampolines every leaf of the search is its own `ja` (32-bit
 * reach), for targets beyond a conditional jump's 255 instructions.
 */
function emitDispatch(
  a: Asm,
  pool: Pool,
  byNr: Map<number, Outcome>,
  defaultRet: number,
  trampolines: boolean,
  enosys: readonly Span[] = [],
): void {
  const deflt: Outcome = { ret: defaultRet };
  const unnamed = (nr: number): Outcome => (enosys.some((sp) => nr >= sp.lo && nr < sp.hi) ? { ret: ENOSYS_RET } : deflt);
  // Ranges [lo, next lo) with one outcome each, covering every 32-bit number.
  const ranges: { lo: number; o: Outcome }[] = [];
  const push = (lo: number, o: Outcome): void => {
    const prev = ranges[ranges.length - 1];
    if (prev && outcomeId(prev.o) === outcomeId(o)) return;
    ranges.push({ lo, o });
  };
  const named = [...byNr.entries()].sort((x, y) => x[0] - y[0]);
  const breaks = new Set<number>([0]);
  for (const [nr] of named) breaks.add(nr).add(nr + 1);
  for (const sp of enosys) breaks.add(sp.lo).add(sp.hi);
  for (const b of [...breaks].filter((x) => x <= 0xffffffff).sort((x, y) => x - y)) push(b, byNr.get(b) ?? unnamed(b));
  if (!trampolines && named.length < ranges.length - 1 && named.length < 200) {
    // the spans first, highest first: past a span's end is the next (lower) span's business
    for (const sp of [...enosys].sort((x, y) => y.lo - x.lo)) {
      if (sp.hi > 0xffffffff) {
        a.j(JGE_K, sp.lo, pool.label({ ret: ENOSYS_RET }), '');
      } else {
        const below = a.label();
        a.j(JGE_K, sp.hi, below, '');
        a.j(JGE_K, sp.lo, pool.label({ ret: ENOSYS_RET }), '');
        a.place(below);
      }
    }
    for (const [nr, o] of named) a.j(JEQ_K, nr, pool.label(o), '');
    a.ja(pool.label(deflt));
    return;
  }
  if (ranges.length === 1) {
    a.ja(pool.label(ranges[0].o));
    return;
  }
  const pendingLeaves: [string, string][] = [];
  const leaf = (i: number): string => {
    if (!trampolines) return pool.label(ranges[i].o);
    const l = a.label();
    pendingLeaves.push([l, pool.label(ranges[i].o)]);
    return l;
  };
  const node = (l: number, r: number, here: string): void => {
    a.place(here);
    const mid = (l + r + 1) >> 1;
    const left = mid - 1 === l ? leaf(l) : a.label();
    const right = mid === r ? leaf(r) : a.label();
    a.j(JGE_K, ranges[mid].lo, right, left);
    // Trampolines right after their node keep every conditional jump short.
    for (const [lbl, to] of pendingLeaves.splice(0)) {
      a.place(lbl);
      a.ja(to);
    }
    if (mid - 1 > l) node(l, mid - 1, left);
    if (r > mid) node(mid, r, right);
  };
  node(0, ranges.length - 1, a.label());
}

interface Report {
  warn: (m: string) => void;
  debug: (m: string) => void;
}

export function compileSeccomp(
  cfg: SeccompConfig,
  warn: (m: string) => void,
  debug: (m: string) => void = () => undefined,
): CompiledSeccomp {
  if (process.arch !== 'x64') throw new Error(`linux.seccomp: not supported by tsrunc on ${process.arch} yet`);
  // runtime-spec: SCMP_ACT_NOTIFY needs a listener to send the notification fd to; as a
  // default it would leave even the runtime's last calls waiting on an agent (runc refuses it)
  const notify = (cfg.syscalls ?? []).some((r) => r.action === 'SCMP_ACT_NOTIFY');
  if (cfg.defaultAction === 'SCMP_ACT_NOTIFY') throw new Error('linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action');
  if (notify && !cfg.listenerPath)
    throw new Error('linux.seccomp.listenerPath: required with SCMP_ACT_NOTIFY (where the notification fd goes)');
  let flags = 0;
  for (const f of cfg.flags ?? []) {
    const v = FLAGS[f];
    if (v === undefined) throw new Error(`linux.seccomp.flags: unknown flag "${f}"`);
    flags |= v;
  }
  if (cfg.defaultErrnoRet !== undefined && (cfg.defaultErrnoRet < 0 || cfg.defaultErrnoRet > MAX_ERRNO)) {
    throw new Error(`linux.seccomp.defaultErrnoRet: ${cfg.defaultErrnoRet} is not an errno (0-${MAX_ERRNO})`);
  }
  if (notify) flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  const defaultRet = actionValue(cfg.defaultAction, cfg.defaultErrnoRet, 'linux.seccomp.defaultAction');
  const rules = cfg.syscalls ?? [];
  rules.forEach((r, i) => {
    actionValue(r.action, r.errnoRet, `linux.seccomp.syscalls[${i}]`);
    r.names.forEach((n, j) => {
      if (n === '') throw new Error(`linux.seccomp.syscalls[${i}].names[${j}]: an empty syscall name`);
    });
  });
  const archs = new Set(cfg.architectures?.length ? cfg.architectures : ['SCMP_ARCH_X86_64']);
  for (const x of archs) {
    if (!['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'].includes(x)) {
      warn(`linux.seccomp.architectures: ${x} cannot run on this host; ignored`);
    }
  }
  // What each number leads to, once; then the smallest layout whose jumps reach: one pool of
  // returns and blocks for all architectures, then a pool per architecture, then trampolines.
  const has64 = archs.has('SCMP_ARCH_X86_64');
  const has32 = archs.has('SCMP_ARCH_X32');
  const report = { warn, debug };
  const tables: ArchTable[] = [];
  if (has64) tables.push({ audit: AUDIT_ARCH_X86_64, table: parseTable(SYSCALLS_X86_64), name: 'native', bits: 64 });
  if (has32) tables.push({ audit: AUDIT_ARCH_X86_64, table: parseTable(SYSCALLS_X32), name: 'x32', bits: 32 });
  const x64 = tables.length ? outcomes(tables, rules, defaultRet, report) : undefined;
  const x86 = archs.has('SCMP_ARCH_X86')
    ? outcomes([{ audit: AUDIT_ARCH_I386, table: parseTable(SYSCALLS_X86), name: 'x86', bits: 32 }], rules, defaultRet, report)
    : undefined;
  // As runc (its -ENOSYS stub over libseccomp): a call newer than any the profile names gets
  // ENOSYS, not the default, so a program can fall back from a call it cannot know is denied
  // (clone3 to clone). Not where the default allows, logs or traces anyway.
  const stub = !['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'].includes(cfg.defaultAction);
  const above = (table: string, to: number): Span[] => {
    const nrs = parseTable(table);
    const named = rules
      .flatMap((r) => r.names)
      .map((n) => nrs.get(n))
      .filter((x): x is number => x !== undefined);
    return stub && named.length ? [{ lo: Math.max(...named) + 1, hi: to }] : [];
  };
  const enosys64 = [...(has64 ? above(SYSCALLS_X86_64, X32_SYSCALL_BIT) : []), ...(has32 ? above(SYSCALLS_X32, 0x100000000) : [])];
  const enosys86 = archs.has('SCMP_ARCH_X86') ? above(SYSCALLS_X86, 0x100000000) : [];
  for (const mode of ['shared', 'sections', 'trampolines'] as const) {
    try {
      return { program: layout({ has64, has32, x64, x86, enosys64, enosys86 }, defaultRet, mode).build(), flags };
    } catch (e) {
      if (!(e instanceof JumpTooFar) || mode === 'trampolines') throw e;
    }
  }
  throw new Error('unreachable');
}

interface Plan {
  has64: boolean;
  has32: boolean;
  /** outcomes by number for the x86_64 audit architecture (x86_64 and x32 numbers), when either is on */
  x64?: Map<number, Outcome>;
  /** for i386, when on */
  x86?: Map<number, Outcome>;
  /** numbers above the largest the profile names, per audit architecture: -ENOSYS (runc's stub) */
  enosys64: Span[];
  enosys86: Span[];
}

function layout(plan: Plan, defaultRet: number, mode: Layout): Asm {
  const a = new Asm();
  const pool = new Pool(a);
  const trampolines = mode === 'trampolines';
  const kill: Outcome = { ret: RET.KILL_PROCESS };
  const x64 = a.label();
  const i386 = a.label();
  a.ld(4);
  a.jFar(JEQ_K, AUDIT_ARCH_X86_64, x64);
  a.jFar(JEQ_K, AUDIT_ARCH_I386, i386);
  // A syscall from an architecture the profile does not cover could bypass it: kill.
  a.ret(RET.KILL_PROCESS);

  // x86_64 and x32 share the audit architecture; x32's numbers carry X32_SYSCALL_BIT.
  a.place(x64);
  if (!plan.x64) {
    a.ret(RET.KILL_PROCESS);
  } else {
    a.ld(0);
    if (!plan.has32) a.jFar(JGE_K, X32_SYSCALL_BIT, pool.label(kill));
    if (!plan.has64) {
      const x32 = a.label();
      a.jFar(JGE_K, X32_SYSCALL_BIT, x32);
      a.ret(RET.KILL_PROCESS);
      a.place(x32);
    }
    emitDispatch(a, pool, plan.x64, defaultRet, trampolines, plan.enosys64);
  }
  if (mode !== 'shared') pool.flush(trampolines);

  a.place(i386);
  if (plan.x86) {
    a.ld(0);
    emitDispatch(a, pool, plan.x86, defaultRet, trampolines, plan.enosys86);
  } else {
    a.ret(RET.KILL_PROCESS);
  }
  pool.flush(trampolines);
  return a;
}
