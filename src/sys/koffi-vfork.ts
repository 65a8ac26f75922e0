// Libc's vfork (libc.ts): a child that shares the runtime's memory runs JavaScript, then execs.
//
// glibc's clone(fn, stack, CLONE_VM | CLONE_VFORK, arg) starts the child in fn on stack. fn is
// setcontext, arg a ucontext whose function is a koffi callback into JavaScript. koffi makes its
// native calls on a stack of its own (2 MiB) and, for a callback that comes on that stack, goes
// back to the JavaScript thread's stack where the call in progress left it: the ucontext's stack
// is put in koffi's, below what the caller's clone call uses, so the child's JavaScript runs as a
// callback of that call would, right below the caller's frames (which wait: nothing overwrites
// them) and within V8's stack limit. When the callback returns, glibc's context trampoline goes
// on to the context it links to: execve with the arguments the callback left there, or _exit. So
// the child leaves JavaScript the way a callback does, and V8's, Node's and koffi's per-thread
// state (handlers, handle scopes, koffi's stack marks), which the child shares with the waiting
// thread, is as that thread left it when it resumes.
//
// How far the child got is a byte of memory it shares, marked by memset contexts, natively, around
// its callback (so the mark covers koffi's relay into V8 and back too), right before its execve
// and right after one that failed
// (execve's errno is then in errno, which the child shares too: its thread-local storage is the
// waiting thread's). A child that died inside its JavaScript (SIGKILL) left V8's state half-changed
// (a handler, a stack frame of its own): the process cannot run JavaScript on. Node aborts it as
// the clone call returns (napi finds the callback's handle scope still open: measured, a child
// killed in a 300 ms busy loop, 8 of 8); should it not, the check after the clone ends it at once,
// allocating nothing on the way (DIED_IN_JS).
//
// x86-64 only: the offsets below are glibc's ucontext_t there.
import type { Koffi } from './koffi-load';
import type { VforkNext } from './libc';
import { SysError } from './errors';

const CLONE_VM = 0x100;
const CLONE_VFORK = 0x4000;
const SIGCHLD = 17;
const SIGKILL = 9;
const CLOCK_MONOTONIC = 1;
const SIGEV_SIGNAL = 0;

/** sizeof(ucontext_t) is 968 on x86-64 (glibc 2.28 on); room to spare. */
const UCONTEXT_BYTES = 2048;
const UC_LINK = 8;
const UC_STACK_SP = 16;
const UC_STACK_FLAGS = 24;
const UC_STACK_SIZE = 32;
const UC_MCONTEXT_GREGS = 40;
const REG_RSP = 15;
/** uc_sigmask: after uc_flags, uc_link, uc_stack (24) and uc_mcontext (23 gregs, fpregs, 8 reserved) */
const UC_SIGMASK = 296;
const SIGSET_BYTES = 128;

/** The native stacks of the child's contexts that run no JavaScript (clone's, the marks', execve's, _exit's). */
const NATIVE_STACK = 16 * 1024;
/**
 * The callback's context: this far below the stack pointer of a call through koffi (its stack),
 * and this big; koffi's calls from within the callback go below it, on koffi's stack still.
 */
const CALLBACK_STACK_GAP = 64 * 1024;
const CALLBACK_STACK = 64 * 1024;
/** koffi's own stack, at least (its default is 2 MiB): the callback's context and the calls below it fit. */
const KOFFI_STACK_MIN = 1024 * 1024;

/** Where the child got: the byte it shares. */
const NOT_STARTED = 0;
const IN_JS = 1;
const LEFT_JS = 2;
const AT_EXECVE = 3;
const EXECVE_FAILED = 4;

/** What the process writes, and its status, when its child died in its JavaScript. */
const DIED_IN_JS = Buffer.from(
  'tsrunc: the process being born (by vfork) was killed while it ran JavaScript on this one: this process cannot go on\n',
);
const DIED_IN_JS_STATUS = 255;

interface Calls {
  getcontext: (uc: Buffer) => number;
  makecontext: (uc: Buffer, fn: bigint, argc: number, ...args: unknown[]) => void;
  clone: (fn: bigint, stack: bigint, flags: number, arg: Buffer) => number;
  timerCreate: (clock: number, sev: Buffer, id: Buffer) => number;
  write: (fd: number, b: Buffer, n: number) => number;
  exit: (status: number) => void;
  timerSettime: (id: bigint, flags: number, spec: Buffer, old: null) => number;
  setcontextAddr: bigint;
  execveAddr: bigint;
  exitAddr: bigint;
  memsetAddr: bigint;
  callbackType: ReturnType<Koffi['pointer']>;
}

export function makeVfork(koffi: Koffi, lib: ReturnType<Koffi['load']>) {
  let calls: Calls | undefined;
  const declare = (): Calls => {
    if (calls) return calls;
    const dlsym = lib.func('uintptr_t dlsym(void *, const char *)') as (h: null, name: string) => bigint | number;
    const addressOf = (name: string): bigint => {
      const a = BigInt(dlsym(null, name));
      if (a === 0n) throw new SysError(`dlsym(${name})`, 0);
      return a;
    };
    calls = {
      getcontext: lib.func('int getcontext(void *)') as Calls['getcontext'],
      makecontext: lib.func('void makecontext(void *, uintptr_t, int, ...)') as Calls['makecontext'],
      clone: lib.func('int clone(uintptr_t, uintptr_t, int, void *)') as Calls['clone'],
      timerCreate: lib.func('int timer_create(int, void *, void *)') as Calls['timerCreate'],
      timerSettime: lib.func('int timer_settime(uintptr_t, int, void *, void *)') as Calls['timerSettime'],
      write: lib.func('long write(int, void *, size_t)') as Calls['write'],
      exit: lib.func('void _exit(int)') as Calls['exit'],
      setcontextAddr: addressOf('setcontext'),
      execveAddr: addressOf('execve'),
      exitAddr: addressOf('_exit'),
      memsetAddr: addressOf('memset'),
      callbackType: koffi.pointer(koffi.proto('int tsrunc_vfork_child(void)')),
    };
    return calls;
  };

  const address = (b: Buffer): bigint => koffi.address(b);

  /** uc made by getcontext: a context to give a function later (getcontext is a system call: rt_sigprocmask). */
  const prepare = (uc: Buffer): Buffer => {
    if (declare().getcontext(uc) !== 0) throw new SysError('getcontext', koffi.errno());
    return uc;
  };

  /** A prepared uc given a stack, a link and a function with pointer-sized arguments: no system call. */
  const make = (uc: Buffer, fn: bigint, stack: { low: bigint; size: number }, link: Buffer | null, args: bigint[]): void => {
    uc.writeBigUInt64LE(stack.low, UC_STACK_SP);
    uc.writeInt32LE(0, UC_STACK_FLAGS);
    uc.writeBigUInt64LE(BigInt(stack.size), UC_STACK_SIZE);
    uc.writeBigUInt64LE(link ? address(link) : 0n, UC_LINK);
    declare().makecontext(uc, fn, args.length, ...args.flatMap((a) => ['uintptr_t', a]));
  };

  /** NUL-terminated strings and a NULL-terminated array of their addresses, kept alive by keep. */
  const cArray = (list: readonly string[], keep: Buffer[]): bigint => {
    const arr = Buffer.alloc(8 * (list.length + 1));
    list.forEach((s, i) => {
      const b = Buffer.from(`${s}\0`);
      keep.push(b);
      arr.writeBigUInt64LE(address(b), 8 * i);
    });
    keep.push(arr);
    return address(arr);
  };

  // Registered once; what it runs is set for each vfork.
  let onChild: () => void = () => undefined;
  let childCallback: bigint | undefined;

  return {
    vforkSupported: (): boolean => process.arch === 'x64' && Number(koffi.config().sync_stack_size) >= KOFFI_STACK_MIN,

    armKillTimer: (ms: number): void => {
      const c = declare();
      const sev = Buffer.alloc(64); // struct sigevent: value (8), signo, notify
      sev.writeInt32LE(SIGKILL, 8);
      sev.writeInt32LE(SIGEV_SIGNAL, 12);
      const id = Buffer.alloc(8);
      if (c.timerCreate(CLOCK_MONOTONIC, sev, id) !== 0) throw new SysError('timer_create', koffi.errno());
      const spec = Buffer.alloc(32); // struct itimerspec: interval (0), value
      spec.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 16);
      spec.writeBigInt64LE(BigInt((ms % 1000) * 1_000_000), 24);
      if (c.timerSettime(id.readBigUInt64LE(0), 0, spec, null) !== 0) throw new SysError('timer_settime', koffi.errno());
    },

    vfork: (child: () => VforkNext): { pid: number; execReached: boolean; execErrno?: number } => {
      const c = declare();
      // where a call through koffi runs on its stack now (the clone below runs as deep)
      const here = Buffer.alloc(UCONTEXT_BYTES);
      if (c.getcontext(here) !== 0) throw new SysError('getcontext', koffi.errno());
      const koffiSp = here.readBigUInt64LE(UC_MCONTEXT_GREGS + 8 * REG_RSP);
      const stack = { low: (koffiSp - BigInt(CALLBACK_STACK_GAP + CALLBACK_STACK)) & ~15n, size: CALLBACK_STACK };
      const keep: Buffer[] = [];
      const native = Buffer.alloc(7 * NATIVE_STACK);
      const nativeStack = (i: number) => ({ low: address(native) + BigInt(i * NATIVE_STACK), size: NATIVE_STACK });
      const phase = Buffer.alloc(8);
      phase[0] = NOT_STARTED;
      const at = address(phase);
      const mark = (value: number): bigint[] => [at, BigInt(value), 1n];
      // All made (getcontext) here: once the child's seccomp filter is loaded its JavaScript may
      // make no system call a filter could refuse (makecontext writes memory only).
      const [markIn, js, markOut, next, execCtx, failedMark, exit127] = Array.from({ length: 7 }, () =>
        prepare(Buffer.alloc(UCONTEXT_BYTES)),
      );
      // every buffer a context names stays alive until the clone returns (the child may collect)
      keep.push(native, phase, markIn, js, markOut, next, execCtx, failedMark, exit127);
      // clone -> markIn -> js (the callback) -> markOut -> next: memset(AT_EXECVE) -> execve -> failedMark -> exit127
      //                                                    or: _exit(status)
      make(exit127, c.exitAddr, nativeStack(1), null, [127n]);
      make(failedMark, c.memsetAddr, nativeStack(2), exit127, mark(EXECVE_FAILED));
      // next is _exit(1) until the callback makes it what child() returned
      make(next, c.exitAddr, nativeStack(4), null, [1n]);
      onChild = () => {
        let what: VforkNext;
        try {
          what = child();
        } catch {
          return; // child() must not throw: nothing to tell, and no execve (next exits 1)
        }
        try {
          if ('exec' in what) {
            const { path, argv, envp } = what.exec;
            const p = Buffer.from(`${path}\0`);
            keep.push(p);
            const args = [address(p), cArray(argv, keep), cArray(envp, keep)];
            make(execCtx, c.execveAddr, nativeStack(3), failedMark, args);
            // The program starts with no signal blocked: unblocked only here, out of JavaScript.
            execCtx.fill(0, UC_SIGMASK, UC_SIGMASK + SIGSET_BYTES);
            make(next, c.memsetAddr, nativeStack(4), execCtx, mark(AT_EXECVE));
          } else {
            make(next, c.exitAddr, nativeStack(4), null, [BigInt(what.exit)]);
          }
        } catch {
          // (an allocation that failed) next still exits 1
        }
      };
      childCallback ??= koffi.register(() => (onChild(), 0), c.callbackType);
      make(markOut, c.memsetAddr, nativeStack(5), next, mark(LEFT_JS));
      make(js, childCallback, stack, markOut, []);
      make(markIn, c.memsetAddr, nativeStack(6), js, mark(IN_JS));
      const cloneTop = address(native) + BigInt(NATIVE_STACK) - 64n;
      const pid = c.clone(c.setcontextAddr, cloneTop, CLONE_VM | CLONE_VFORK | SIGCHLD, markIn);
      // Nothing allocated before this check: see DIED_IN_JS.
      if (pid >= 0 && phase[0] === IN_JS) {
        c.write(2, DIED_IN_JS, DIED_IN_JS.length);
        c.exit(DIED_IN_JS_STATUS);
      }
      const errno = koffi.errno(); // the child's, where its execve failed
      onChild = () => undefined;
      if (pid < 0) throw new SysError('clone(CLONE_VM|CLONE_VFORK)', errno);
      keep.length = 0;
      const reached = phase[0] >= AT_EXECVE;
      return phase[0] === EXECVE_FAILED ? { pid, execReached: reached, execErrno: errno } : { pid, execReached: reached };
    },
  };
}
