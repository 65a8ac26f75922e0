// The one channel between the runtime and a process it bears (the container's init, or an exec
// process): the fds that process has, and every message that passes between them.
//
// The child is a forked copy of the runtime, so it holds the runtime's fds at the runtime's
// numbers (a pre-born copy, forked earlier, receives them over a socket instead: process/preborn.ts);
// what it needs is named in ChildFds, and only stdio and the preserved fds (from 3) reach the
// program. Messages are JSON lines on a socketpair; both sides read them synchronously, with
// a deadline (the other side may be a copy that hung, or a runtime that went away).
import fs = require('fs');
import type { Libc } from '../sys/libc';
import type { NamespaceConfig } from '../ocispec/config';
import type { CopyTiming } from './copy-steps';

/** The fds a program keeps: stdio, then the preserved ones (--preserve-fds, LISTEN_FDS) from 3. */
export const FIRST_PRESERVED_FD = 3;
export const keptFdCount = (preserveFds: number): number => FIRST_PRESERVED_FD + preserveFds;

/** What the child holds, beyond the kept fds: everything else is closed in the copy at birth. */
export interface ChildFds {
  /** the child's end of the channel; close-on-exec, so it ends when the program starts */
  channel: number;
  /** init: the exec fifo, open read-write (a user namespace may hide the state dir from init); none where run starts init over the channel */
  fifo?: number;
  /** process.terminal: a connected socket to send the pty master to */
  console?: number;
  /** init: detached trees of bind mounts (idmapped where asked), by index in config.mounts */
  trees?: Record<number, number>;
  /** SCMP_ACT_NOTIFY: a socket connected to linux.seccomp.listenerPath (host paths are gone by execve) */
  seccompListener?: number;
}

export function childFdList(fds: ChildFds): number[] {
  const out = [fds.channel];
  if (fds.fifo !== undefined) out.push(fds.fifo);
  if (fds.console !== undefined) out.push(fds.console);
  out.push(...Object.values(fds.trees ?? {}));
  if (fds.seccompListener !== undefined) out.push(fds.seccompListener);
  return out;
}

/** From the child. */
export type ChildMessage =
  /** first words of a forked copy: it runs (the runtime retries a copy that never says this) */
  | { type: 'hello' }
  /** a new user namespace exists: write its maps */
  | { type: 'userns' }
  /** the user-namespace helper's child is the process: its pid as the runtime sees it */
  | { type: 'pid'; pid: number }
  /** a new time namespace exists, still empty: write its offsets (pid: the sender, as the runtime sees it) */
  | { type: 'timens'; pid: number }
  /** init: run the prestart and createRuntime hooks now (mounts made, before pivot_root) */
  | { type: 'hooks' }
  /** init: waits on the exec fifo (run's: for start on this channel); exec: set up, about to execve (timing: its steps, where the runtime logs timing) */
  | { type: 'ready'; timing?: CopyTiming }
  /** the user-namespace helper lost its child to the fork (process/copy.ts): birth tries again */
  | { type: 'lost'; msg: string }
  | { type: 'error'; msg: string };

/** From the runtime. */
export type RuntimeMessage =
  /**
   * to a pre-born copy (process/preborn.ts): the container it becomes. Its fds follow on the fd
   * socket, one message each, named by role; then it enters the namespaces and says hello.
   */
  | { type: 'plan'; namespaces: NamespaceConfig[]; fds: number; plan: string; env: Record<string, string> }
  /** the user namespace's maps are written */
  | { type: 'maps' }
  /** the time namespace's offsets are written */
  | { type: 'offsets' }
  /** the child sits in its cgroups: go on (hooks get the state with init's host pid) */
  | { type: 'go'; hookState?: Record<string, unknown>; listenerState?: string }
  /** the create-time hooks ran */
  | { type: 'continue' }
  /** run's init (InitPlan.startAtReady): the container is created and started, exec the program */
  | { type: 'start' };

/** Bytes on the exec fifo: `start` writes START; init writes HOOK_FAILED back if a startContainer hook fails. */
export const FIFO_START = '0';
export const FIFO_HOOK_FAILED = 'H';

/** init's comm while it waits: `start` knows the program was exec'd when it changes. */
export const INIT_COMM = 'tsrunc:init';
export const EXEC_COMM = 'tsrunc:exec';

export class ChannelClosed extends Error {}

/**
 * What a read lands in, shared by every channel of the process (each read is decoded at once):
 * a fresh zeroed 64 KB a message cost an allocation, and a forked copy 16 page faults.
 */
let scratch: Buffer | undefined;
const readBuffer = (): Buffer => (scratch ??= Buffer.allocUnsafe(65536));
export class ChannelTimeout extends Error {}

/** One end of the channel. Blocking and synchronous on both sides: the copy has no event loop to use. */
export class Channel<In, Out> {
  private buf = '';
  constructor(
    private readonly sys: Libc,
    readonly fd: number,
    private readonly peer: string,
  ) {}

  send(msg: Out): void {
    const data = Buffer.from(JSON.stringify(msg) + '\n');
    for (let off = 0; off < data.length;) off += fs.writeSync(this.fd, data, off);
  }

  /** The next message; ChannelClosed when the peer went away (or exec'd), ChannelTimeout past the deadline. */
  receive(timeoutMs: number, what: string): In {
    const deadline = timeoutMs < 0 ? Infinity : Date.now() + timeoutMs;
    const chunk = readBuffer();
    for (;;) {
      const nl = this.buf.indexOf('\n');
      if (nl >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        return JSON.parse(line) as In;
      }
      const left = deadline === Infinity ? -1 : Math.max(0, deadline - Date.now());
      if (!this.sys.pollReadable([this.fd], left).length) {
        throw new ChannelTimeout(`${what}: no word from the ${this.peer} within ${Math.round(timeoutMs / 100) / 10}s`);
      }
      let n: number;
      try {
        n = fs.readSync(this.fd, chunk, 0, chunk.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        if ((e as NodeJS.ErrnoException).code === 'ECONNRESET') n = 0;
        else throw e;
      }
      if (n === 0) throw new ChannelClosed(`${what}: the ${this.peer} went away`);
      this.buf += chunk.toString('utf8', 0, n);
    }
  }

  /** True when the peer closed its end (for the child: it exec'd or died) within timeoutMs. */
  awaitClose(timeoutMs: number): boolean {
    const deadline = Date.now() + timeoutMs;
    const chunk = readBuffer();
    for (;;) {
      if (!this.sys.pollReadable([this.fd], Math.max(0, deadline - Date.now())).length) return false;
      let n: number;
      try {
        n = fs.readSync(this.fd, chunk, 0, chunk.length, null);
      } catch {
        return true;
      }
      if (n === 0) return true;
      this.buf += chunk.toString('utf8', 0, n);
    }
  }

  /**
   * What the peer said of its failure, if it did, among what it has sent so far (no wait; every
   * message stays for receive): a copy that failed on its own makes the runtime's next step on it
   * fail too, and its own words say why.
   */
  failureSaid(): string | undefined {
    const chunk = readBuffer();
    while (this.sys.pollReadable([this.fd], 0).length) {
      let n: number;
      try {
        n = fs.readSync(this.fd, chunk, 0, chunk.length, null);
      } catch {
        break;
      }
      if (n === 0) break;
      this.buf += chunk.toString('utf8', 0, n);
    }
    for (const line of this.buf.split('\n')) {
      if (!line) continue;
      try {
        const msg = JSON.parse(line) as { type?: string; msg?: unknown };
        if (msg.type === 'error' && typeof msg.msg === 'string') return msg.msg;
      } catch {
        // a line cut short: not a message yet
      }
    }
    return undefined;
  }

  /** A message already read (awaitClose keeps what came before the end). */
  pending(): In | undefined {
    const nl = this.buf.indexOf('\n');
    if (nl < 0) return undefined;
    const line = this.buf.slice(0, nl);
    this.buf = this.buf.slice(nl + 1);
    return JSON.parse(line) as In;
  }

  private closed = false;

  /** Once: a second close (create's undo after its own) must not take a number reused since. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      fs.closeSync(this.fd);
    } catch {
      // closed already
    }
  }
}

export type RuntimeEnd = Channel<ChildMessage, RuntimeMessage>;
export type ChildEnd = Channel<RuntimeMessage, ChildMessage>;

export function channelPair(sys: Libc): { runtime: RuntimeEnd; child: ChildEnd } {
  const [a, b] = sys.socketpair();
  return { runtime: new Channel(sys, a, 'container process'), child: new Channel(sys, b, 'runtime') };
}
