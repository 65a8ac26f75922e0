// The forked copy's whole world.
//
// The runtime bears every container process by forking itself: the child is a copy of this Node
// process with one thread (the one that forked) and no event loop of its own. Its libuv loop, the
// epoll fd and the signal pipes are the parent's, shared; its helper threads did not come along.
// So the copy may only run synchronous code that is already loaded, end in execve or _exit, and
// never touch what it shares:
//   - no timers, nextTick, microtasks, promises or callbacks: nothing may wait for a loop that
//     never runs again (and returning to it would drive the parent's epoll set);
//   - no fs callbacks or fs.promises: they need the libuv pool's threads, which do not exist here
//     (and cannot be made after unshare(CLONE_NEWPID));
//   - no process.exit: Node's teardown joins threads the copy does not have; _exit instead;
//   - no require after pivot_root: everything the copy runs is loaded before the fork.
// enterCopy enforces these by replacing the APIs at the copy's start, so a slip is a clear error
// instead of a hang.
import fs = require('fs');
import type { Libc } from '../sys/libc';
import * as C from '../sys/constants';
import { isErrno } from '../sys/errors';
import { LostCopy, killCopy, reapCopy } from './hello';
import { copyStarts, forkBegins } from './copy-steps';

/** Signals a waiting copy turns into its exit (128+n), read from a signalfd: PID 1 of a pid namespace gets only signals it handles. */
export const EXIT_SIGNALS = [1, 2, 3, 10, 12, 14, 15]; // HUP INT QUIT USR1 USR2 ALRM TERM
const SIGPIPE = 13;

let collect: (() => void) | undefined;

/** What a young generation must hold for the copy to live without collecting: see roomyFirstFork. */
export const ROOMY_NURSERY_MIB = 4;
let forked = false;

/**
 * Whether this fork can skip the scavenges (below): the process's first, in a process started
 * with a young generation of ROOMY_NURSERY_MIB or more (bin/tsrunc's --min-semi-space-size). A
 * command has allocated ~1 MB of it by its fork (measured, --trace-gc: no collection at all in a
 * create, a run or their copies, a seccomp profile from the cache included), so the copy
 * allocates into pages neither process touched (zero-fill faults, no copies) and never collects.
 * Each later fork of a long-lived process (the shim's, the library's) finds the generation
 * fuller and collects first.
 */
function roomyFirstFork(): boolean {
  if (forked) return false;
  forked = true;
  return process.execArgv.some((a) => {
    const m = /^--min-semi-space-size=(\d+)$/.exec(a);
    return m !== null && Number(m[1]) >= ROOMY_NURSERY_MIB;
  });
}

/**
 * V8 marks its heap pages MADV_DONTFORK as it allocates them, so a forked copy would fault on
 * them: the whole address space is marked MADV_DOFORK right before the fork (forkNow), and its
 * ranges are found here, while /proc/self is still this process's, after two scavenges unless
 * roomyFirstFork. The first leaves only its survivors in the young generation, but they are ~780
 * KB of its default 1 MB after a command's start-up: the copy filled the rest while building the
 * rootfs and scavenged there (~2.5 ms, every page it touched a copy-on-write fault). The second
 * promotes them (~0.8 ms): the copy starts with the young generation nearly empty and, for a
 * usual config, never collects. The objects allocated until the fork fit in pages that exist
 * now; a full collection costs ~5 ms more and is not needed. (The two cost a command 3.3-4.2 ms
 * before its fork, measured: what roomyFirstFork spares it.)
 */
function readyForFork(sys: Libc): void {
  flatRanges ??= rangesToMark(sys).flatMap(([a, b]) => [a, b - a]);
  if (roomyFirstFork()) return;
  if (!collect) {
    // bin/tsrunc runs node with --expose-gc; loading v8 and vm for it costs a few ms more.
    let gc = (globalThis as { gc?: (opts: { type: 'minor' }) => void }).gc;
    if (!gc) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      (require('v8') as typeof import('v8')).setFlagsFromString('--expose-gc');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      gc = (require('vm') as typeof import('vm')).runInNewContext('gc') as (opts: { type: 'minor' }) => void;
    }
    collect = () => {
      gc({ type: 'minor' });
      gc({ type: 'minor' });
    };
  }
  collect();
}

/** The highest user address of a 4-level page table; a mapping above it (5-level) raises it. */
const USER_TOP = 0x7ffffffff000;

/** The address ranges markDofork advises: all of them but the vDSO's data pages. */
let ranges: [number, number][] | undefined;
/**
 * The same as [start, length, …], for markDoforkRanges: made before the marking that precedes a
 * fork, where nothing may be allocated.
 */
let flatRanges: number[] | undefined;

/**
 * One madvise over each range instead of one per mapping (~100, each a call through koffi): the
 * kernel marks every mapping in the range, steps over the holes (ENOMEM, once it is done) and
 * stops at the first mapping that refuses, which in a Node process are only the vDSO's data pages
 * ([vvar], [vvar_vclock]: VM_IO). They stay where exec put them: the ranges are found once, and
 * hold in every copy too (/proc/self may be another's there).
 */
function rangesToMark(sys: Libc): [number, number][] {
  if (ranges) return ranges;
  const data = vdsoDataPages(sys);
  ranges = data
    ? [
        [0, data[0]],
        [data[1], USER_TOP],
      ]
    : rangesFromMaps();
  return ranges;
}

/** Where a [vvar] page could be, at most, below the vDSO's text (the kernel maps 4 to 6). */
const MAX_VDSO_DATA_PAGES = 16;

/**
 * The vDSO's data pages, found without reading /proc/self/maps (~1 ms in a command): the kernel
 * maps them right below the vDSO's text (getauxval), and madvise refuses them (EINVAL), page by
 * page, down to the first that is another mapping's (or none's). undefined where that is not what
 * is found: the maps are read instead.
 */
export function vdsoDataPages(sys: Libc): [number, number] | undefined {
  const text = sys.auxv(C.AT_SYSINFO_EHDR);
  const page = sys.auxv(C.AT_PAGESZ);
  if (!text || !page || text % page !== 0 || text + page > USER_TOP) return undefined;
  let start = text;
  for (;;) {
    if (text - start === MAX_VDSO_DATA_PAGES * page) return undefined;
    // An errno, not a SysError: the first one thrown costs a command ~1 ms (Node's os module for
    // the errno's name), and create, run and exec throw none otherwise.
    const e = sys.markDoforkRanges([start - page, page]);
    if (e === 0) break; // a mapping that takes it, or a hole: below the data pages
    if (e !== C.EINVAL) return undefined;
    start -= page;
  }
  return start < text ? [start, text] : undefined;
}

/** The ranges around the [vvar] mappings, read from /proc/self/maps. */
function rangesFromMaps(): [number, number][] {
  const maps = mappings(fs.readFileSync('/proc/self/maps', 'latin1'));
  const skip = maps.filter((m) => m.name.startsWith('[vvar')).sort((x, y) => x.start - y.start);
  const out: [number, number][] = [];
  let from = 0;
  for (const m of skip) {
    if (m.start > from) out.push([from, m.start]);
    from = Math.max(from, m.end);
  }
  out.push([from, Math.max(USER_TOP, ...maps.map((m) => m.end))]);
  return out;
}

/** /proc/self/maps as ranges and names ([vsyscall], above user space, left out). */
function mappings(text: string): { start: number; end: number; name: string }[] {
  const out: { start: number; end: number; name: string }[] = [];
  for (const line of text.split('\n')) {
    const dash = line.indexOf('-');
    if (dash < 0 || line.endsWith('[vsyscall]')) continue;
    const fields = line.split(/\s+/);
    out.push({
      start: parseInt(line.slice(0, dash), 16),
      end: parseInt(line.slice(dash + 1, line.indexOf(' ')), 16),
      name: fields[5] ?? '',
    });
  }
  return out;
}

/** What V8 mapped or marked until now, marked MADV_DOFORK; again right before the fork (work in between allocates). */
function markDofork(sys: Libc): void {
  for (const [a, b] of rangesToMark(sys)) {
    try {
      sys.madviseDofork(a, b - a);
    } catch (e) {
      if (isErrno(e, 'ENOMEM')) continue; // the holes: every mapping in the range is marked
      // a mapping that refuses in the middle: each of them on its own, as a fallback
      for (const [x, y] of mappingsIn(a, b)) {
        try {
          sys.madviseDofork(x, y - x);
        } catch {
          // special mappings refuse it; they are not V8's
        }
      }
    }
  }
}

function mappingsIn(from: number, to: number): [number, number][] {
  let text = '';
  try {
    text = fs.readFileSync('/proc/self/maps', 'latin1');
  } catch {
    // another's /proc (a joined pid namespace's): a copy that faults is a lost one, born again
  }
  return mappings(text)
    .filter((m) => m.start >= from && m.end <= to)
    .map((m): [number, number] => [m.start, m.end]);
}

/**
 * After a fork every page this process had is shared with the copy, write-protected: the first
 * write to each faults (on this VM 12 µs or more), and a Create writes thousands. Taken back now,
 * while idle, in the kernel (no fault per page): the private writable mappings whose pages are
 * (nearly) all present, not the mostly empty ones (thread stacks, reserved heap) that populating
 * would fill. Returns the bytes taken back.
 */
export function reclaimPages(sys: Libc): number {
  let bytes = 0;
  let range: [number, number] | undefined;
  let size = 0;
  for (const line of fs.readFileSync('/proc/self/smaps', 'latin1').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+)/.exec(line);
    if (head) {
      range = head[3] === 'rw-p' ? [parseInt(head[1], 16), parseInt(head[2], 16)] : undefined;
    } else if (range && line.startsWith('Size:')) {
      size = parseInt(line.slice(5), 10);
    } else if (range && line.startsWith('Rss:')) {
      const rss = parseInt(line.slice(4), 10);
      if (rss > 0 && rss * 10 >= size * 9) {
        try {
          sys.madvisePopulateWrite(range[0], range[1] - range[0]);
          bytes += range[1] - range[0];
        } catch {
          // a range that changed since
        }
      }
      range = undefined;
    }
  }
  return bytes;
}

function forbidden(what: string): () => never {
  return () => {
    throw new Error(`${what} is not available in a forked copy of the runtime (README: How it works)`);
  };
}

/** Replaces what the copy must not use (see the top of this file). */
let locked = false;

// The modules themselves, not TypeScript's import wrappers (whose getters read through to them).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const realFs = require('fs') as Record<string, unknown>;

/**
 * The names callbackNames finds, as scripts/bundle.js found them on the node that built the
 * bundle (absent where this code runs unbundled): finding them costs a command ~0.5 ms before its
 * fork.
 */
declare const TSRUNC_BUILD_FS_CALLBACKS: string | undefined; // "<node version> name,name,…"

/** fs's callback functions: those with a Sync twin. */
export function findCallbackNames(fsModule: Record<string, unknown>): string[] {
  // Data properties only: fs's getters (streams, promises) would load modules to answer.
  return Object.entries(Object.getOwnPropertyDescriptors(fsModule))
    .filter(([k, d]) => typeof d.value === 'function' && Object.getOwnPropertyDescriptor(fsModule, `${k}Sync`)?.value)
    .map(([k]) => k);
}

/**
 * fs's callback functions, found once in the parent (a long-lived runtime, the shim, forks many
 * copies, and each copy's first steps are its cost): the build's where this node built it.
 */
let fsCallbackNames: string[] | undefined;
function callbackNames(): string[] {
  if (fsCallbackNames) return fsCallbackNames;
  const [node, names] = (typeof TSRUNC_BUILD_FS_CALLBACKS === 'undefined' ? '' : TSRUNC_BUILD_FS_CALLBACKS).split(' ');
  fsCallbackNames = node === process.version && names ? names.split(',') : findCallbackNames(realFs);
  return fsCallbackNames;
}

type Owner = Record<string, unknown>;

/**
 * What a copy may not use, each replaced through put with a property that throws a clear error:
 * the one list both lockDown (for good, in a forked copy) and withoutAsync (for a while, in a
 * child born by vfork) replace. process.exit is left to them.
 */
function forbidAsync(put: (o: Owner, k: string, d: PropertyDescriptor) => void, fsNames: readonly string[]): void {
  const value = (what: string): PropertyDescriptor => ({ value: forbidden(what), configurable: true, writable: true });
  put(process as unknown as Owner, 'nextTick', value('process.nextTick'));
  const g = globalThis as unknown as Owner;
  for (const name of ['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask']) put(g, name, value(name));
  for (const k of fsNames) put(realFs, k, value(`fs.${k} (use fs.${k}Sync)`));
  put(realFs, 'promises', { get: forbidden('fs.promises'), configurable: true });
}

function lockDown(sys: Libc, fsNames: readonly string[]): void {
  if (locked) return; // a copy of a copy (the user-namespace route)
  locked = true;
  process.exit = (code?: number) => sys.exit(typeof code === 'number' ? code : 0);
  forbidAsync((o, k, d) => Object.defineProperty(o, k, d), fsNames);
  // child_process is loaded only where hooks run (loading it costs every command ~5 ms).
  const moduleList = (process as unknown as { moduleLoadList?: string[] }).moduleLoadList;
  if (!moduleList || moduleList.includes('NativeModule child_process')) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const realCp = require('child_process') as Record<string, unknown>;
    for (const k of ['spawn', 'exec', 'execFile', 'fork']) realCp[k] = forbidden(`child_process.${k} (use the Sync form)`);
  }
}

/**
 * Runs fn with what a forked copy may not use replaced (forbidAsync), and puts it all back
 * afterwards: for a child born by vfork (process/vfork-birth.ts), which runs on this process's
 * own memory while the process waits, and gives it back when its JavaScript is over. process.exit
 * throws there too: such a child may not end inside JavaScript.
 */
export function withoutAsync<T>(fn: () => T): T {
  const saved: [Owner, string, PropertyDescriptor | undefined][] = [];
  const put = (o: Owner, k: string, d: PropertyDescriptor) => {
    saved.push([o, k, Object.getOwnPropertyDescriptor(o, k)]);
    Object.defineProperty(o, k, d);
  };
  try {
    put(process as unknown as Owner, 'exit', { value: forbidden('process.exit'), configurable: true, writable: true });
    forbidAsync(put, callbackNames());
    return fn();
  } finally {
    for (const [o, k, d] of saved.reverse()) {
      if (d) Object.defineProperty(o, k, d);
      else delete o[k];
    }
  }
}

/**
 * The signals whose disposition is not the default here (caught or ignored, as /proc/self/status
 * tells): the only ones a copy must reset, instead of asking the kernel about all 64.
 */
function handledSignals(): number[] | undefined {
  return signalDispositions().handled;
}

/** handledSignals, and whether SIGPIPE is among the ignored ones (false where /proc/self cannot tell). */
function signalDispositions(): { handled: number[] | undefined; pipeIgnored: boolean } {
  let status: string;
  try {
    status = fs.readFileSync('/proc/self/status', 'latin1');
  } catch {
    return { handled: undefined, pipeIgnored: false }; // reset them all
  }
  // a field's hex mask, found by its name at a line's start (no regex to build and compile)
  const mask = (name: string): bigint => {
    const at = status.indexOf(`\n${name}:`);
    if (at < 0) return 0n;
    const end = status.indexOf('\n', at + 1);
    try {
      return BigInt(`0x${status.slice(at + name.length + 2, end < 0 ? undefined : end).trim()}`);
    } catch {
      return 0n; // not a mask: as if absent
    }
  };
  const ignored = mask('SigIgn');
  const bits = mask('SigCgt') | ignored;
  const out: number[] = [];
  for (let s = 1; s <= 64; s++) if ((bits >> BigInt(s - 1)) & 1n && s !== 9 && s !== 19 && s !== 32 && s !== 33) out.push(s);
  return { handled: out, pipeIgnored: ((ignored >> BigInt(SIGPIPE - 1)) & 1n) === 1n };
}

/**
 * Before execve: the default disposition for each signal not at its default now (what a copy
 * ignores, and what it caught), all of them where /proc/self cannot tell; none blocked (unless
 * unblock is false: a process born by vfork unblocks them out of JavaScript). One call each
 * instead of one for every signal.
 */
export function resetSignals(sys: Libc, unblock = true): void {
  // Read again, not taken from what enterCopy left: Node installs some handlers lazily (SIGWINCH
  // with a TTY stream), and a handler a copy gained on its way must not reach the program.
  sys.defaultSignalHandlers(handledSignals());
  if (unblock) sys.setSignalMask([]);
}

export interface ParentFd {
  fd: number;
  id: string;
  fifo: boolean;
  eventfd: boolean;
}

/** The parent's open fds and what each refers to: read before entering any namespace. */
export function openFds(): ParentFd[] {
  const out: ParentFd[] = [];
  for (const name of fs.readdirSync('/proc/self/fd')) {
    try {
      const st = fs.fstatSync(Number(name));
      // an eventfd is an anonymous inode (no file type in its mode): only those are read by name
      const eventfd = (st.mode & fs.constants.S_IFMT) === 0 && fs.readlinkSync(`/proc/self/fd/${name}`) === 'anon_inode:[eventfd]';
      out.push({ fd: Number(name), id: `${st.dev}:${st.ino}`, fifo: st.isFIFO(), eventfd });
    } catch {
      // the readdir's own fd
    }
  }
  return out;
}

/**
 * Closes what the parent had open but the kept fds (stdio and preserved: below keep) and those
 * listed: above all the lock of the container's state directory, which must not outlive create
 * in init, and pipes shared with other processes. Two kinds of fd stay, close-on-exec: those made
 * at the fork itself (libuv's atfork handler makes its signal lock pipe anew, which spawnSync
 * needs; it may reuse the parent's numbers, so an fd is the parent's only if it is still the
 * same file), pipes whose both ends the runtime holds (libuv's loop signal pipes, whose
 * numbers must not be reused under its signal handler), and eventfds (libuv's async wakeup).
 */
export function closeOthers(parentFds: readonly ParentFd[], keep: number, fds: readonly number[]): void {
  const wanted = new Set(fds);
  const ends = new Map<string, number>();
  for (const p of parentFds) if (p.fifo) ends.set(p.id, (ends.get(p.id) ?? 0) + 1);
  for (const p of parentFds) {
    if (p.fd < keep || wanted.has(p.fd)) continue;
    if (p.fifo && ends.get(p.id) === 2) continue;
    // libuv's async wakeup: V8 posts tasks (a scavenge job, say) through it even in the copy,
    // and libuv aborts when the write fails. The parent's loop only wakes for nothing.
    if (p.eventfd) continue;
    let st: fs.Stats;
    try {
      st = fs.fstatSync(p.fd);
    } catch {
      continue; // gone at the fork
    }
    if (`${st.dev}:${st.ino}` !== p.id) continue; // made at the fork
    fs.closeSync(p.fd);
  }
}

/** What the parent works out for a copy before the fork, so the copy's first steps are few. */
interface Prepared {
  stdio: readonly number[] | undefined;
  /** the signals to reset (undefined: all) */
  signals: number[] | undefined;
  fsNames: readonly string[];
  /** SIGPIPE is ignored here (not caught, not default) */
  pipeIgnored: boolean;
}

/**
 * The signals a copy resets, and whether it must ignore SIGPIPE itself: where the parent ignores
 * it already (Node does), the copy inherits that and neither resets nor sets it (two calls fewer
 * on its way to hello, each ~0.5 ms there: its pages are copy-on-write).
 */
export function copySignals(handled: number[] | undefined, pipeIgnored: boolean): { reset: number[] | undefined; ignorePipe: boolean } {
  if (!handled || !pipeIgnored) return { reset: handled, ignorePipe: true };
  return { reset: handled.filter((s) => s !== SIGPIPE), ignorePipe: false };
}

function enterCopy(
  sys: Libc,
  parentFds: readonly ParentFd[],
  keep: number,
  fds: readonly number[],
  body: () => never,
  opened: readonly number[],
  prepared: Prepared,
): never {
  try {
    copyStarts();
    // Signals came blocked from the parent (so none ran the parent's handlers here). Default
    // dispositions, SIGPIPE ignored (a write to a gone peer is EPIPE), then everything unblocked
    // but the signals a waiting copy reads from a signalfd.
    const { reset, ignorePipe } = copySignals(prepared.signals, prepared.pipeIgnored);
    sys.defaultSignalHandlers(reset);
    if (ignorePipe) sys.ignoreSignal(SIGPIPE);
    sys.setSignalMask(EXIT_SIGNALS);
    lockDown(sys, prepared.fsNames);
    const stdio = prepared.stdio;
    // The process's own stdio where the caller gave some (a shim's fifos): the sources are the
    // parent's fds, closed with the others below.
    stdio?.forEach((fd, i) => {
      if (fd !== i) sys.dup2(fd, i);
    });
    closeOthers(parentFds, keep, fds);
    for (const fd of opened) fs.closeSync(fd);
    body();
  } catch (e) {
    try {
      fs.writeSync(2, `tsrunc: ${e instanceof Error ? e.message : String(e)}\n`);
    } catch {
      // no stderr
    }
  }
  return sys.exit(1);
}

/**
 * Forks a copy of the runtime that runs body (and never returns from it); returns its pid in the
 * parent. keep: the fds below it stay (stdio, preserved fds); fds: the others the copy needs.
 * around wraps the fork itself (to fork inside the container's namespaces): the heap is made
 * forkable before, while /proc/self is still this process's. It names the fds it opened itself
 * (the namespaces to go back to), which the copy must not keep. stdio: fds of this process (above
 * 2) that become the copy's 0, 1 and 2; otherwise it keeps this process's.
 */
export function forkCopy(
  sys: Libc,
  keep: number,
  fds: readonly number[],
  body: () => never,
  around: (fork: (opened?: readonly number[]) => number) => number = (fork) => fork(),
  stdio?: readonly number[],
): number {
  forkBegins();
  const parentFds = openFds();
  readyForFork(sys);
  sys.prepareFork();
  const dispositions = signalDispositions();
  const prepared: Prepared = { stdio, signals: dispositions.handled, pipeIgnored: dispositions.pipeIgnored, fsNames: callbackNames() };
  let mapped = false;
  const pid = around((opened = []) => {
    const r = forkNow(sys, parentFds, keep, fds, body, opened, prepared);
    mapped = r.mapped;
    return r.pid;
  });
  if (mapped) {
    killCopy(pid);
    reapCopy(sys, pid);
    throw new LostCopy('V8 mapped a heap page between the MADV_DOFORK marking and the fork: the copy lacked it');
  }
  return pid;
}

/** V8's committed heap: it grows as V8 maps a page (each MADV_DONTFORK as it is mapped). */
function heapCommitted(): number {
  try {
    return process.memoryUsage().heapTotal;
  } catch {
    return -1; // no /proc/self/stat to read (rss comes first): unchecked, as before
  }
}

/**
 * The fork itself. V8 maps each new heap page MADV_DONTFORK: one mapped after the last marking
 * would be missing in the copy, which dies of SIGSEGV where it allocates there (measured: lazy
 * compilation in the copy writing to such a page). So from the marking to the fork nothing is
 * thrown, declared or first run (markDoforkRanges, prepareFork), and whether V8 mapped a page
 * meanwhile all the same is checked after it: mapped, the copy is not to be used (forkCopy).
 */
function forkNow(
  sys: Libc,
  parentFds: readonly ParentFd[],
  keep: number,
  fds: readonly number[],
  body: () => never,
  opened: readonly number[],
  prepared: Prepared,
): { pid: number; mapped: boolean } {
  // Blocked across the fork: a signal must not run the parent's handlers in the copy (libuv's
  // write to the parent's signal pipe). Process-directed signals reach the parent's other threads.
  const mask = sys.blockAllSignals();
  const committed = heapCommitted();
  let pid: number;
  try {
    const e = sys.markDoforkRanges(flatRanges!);
    if (e !== 0) markDofork(sys); // a mapping refused in the middle: the slow way (checked below as well)
    pid = sys.fork();
  } catch (e) {
    sys.restoreSignalMask(mask);
    throw e;
  }
  if (pid === 0) enterCopy(sys, parentFds, keep, fds, body, opened, prepared);
  sys.restoreSignalMask(mask);
  return { pid, mapped: heapCommitted() !== committed };
}

/** Blocks until one of EXIT_SIGNALS arrives (then exits 128+n) or fd is readable. For the waiting init. */
export function waitReadableOrExit(sys: Libc, fd: number): void {
  const sfd = sys.signalFd(EXIT_SIGNALS);
  try {
    const ready = sys.pollReadable([fd, sfd], -1);
    if (ready.includes(sfd)) sys.exit(128 + sys.readSignal(sfd));
  } finally {
    fs.closeSync(sfd);
  }
}
