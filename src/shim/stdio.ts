// A container process's stdio as containerd hands it to a shim: paths of fifos its client reads
// and writes (or file:// URIs, or nothing), and with a terminal, a pty the shim relays.
//
// stdout and stderr: the fifo itself is the process's (no copy through the shim; the reader sees
// the end when the last process holding it exits). stdin: a socket pair, fed from the fifo by the
// shim, so the process sees the end when containerd says CloseIO and never before (a fifo read
// before its writer opened would end at once).
import fs = require('fs');
import net = require('net');
import tty = require('tty');
import type { Libc } from '../sys/libc';
import * as C from '../sys/constants';
import { Code, RpcError } from './ttrpc';
import { startHostProgram } from '../process/host-program';

export interface StdioPaths {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

/** Opens a place the process writes to: a fifo (whose reader is open), a file:// URI, or /dev/null. */
function openOutput(where: string, field: string): number {
  if (where === '') return fs.openSync('/dev/null', C.O_WRONLY | C.O_CLOEXEC);
  if (where.startsWith('file://')) return fs.openSync(decodeURIComponent(where.slice('file://'.length)), 'a');
  if (where.includes('://'))
    throw new RpcError(Code.UNIMPLEMENTED, `${field}: ${where.split('://')[0]}:// log URIs are not supported by the tsrunc shim yet`);
  // A fifo: read-write first (never blocks), so the write-only open below cannot block either.
  const rw = fs.openSync(where, C.O_RDWR | C.O_CLOEXEC);
  try {
    return fs.openSync(where, C.O_WRONLY | C.O_CLOEXEC);
  } finally {
    fs.closeSync(rw);
  }
}

/**
 * One process's stdio, as the shim holds it: the fds the process gets (stdio, for create/spawn;
 * closed here once it has them), and the relays the shim runs.
 */
export class ProcessIO {
  /** the process's fds 0, 1, 2 (not with a terminal) */
  readonly fds?: [number, number, number];
  private stdinFifo?: { socket: net.Socket; fd: number };
  private stdinPeer?: net.Socket;
  private master?: number;
  private masterIn?: tty.ReadStream;
  private masterOut?: number;
  /** the terminal's output when it goes to a fifo: written as its reader takes it, never blocking the shim */
  private masterOutStream?: net.Socket;
  private closed = false;
  /** the process has its stdio fds: they are its to close */
  private handed = false;

  /** The master's fd is closed (by its stream, at the pty's end, or by close): its number may be another file's now. */
  private get masterGone(): boolean {
    return this.closed || this.masterIn?.destroyed === true;
  }

  /**
   * The stdio of a process of task id in namespace: with containerd's binary:// log URI, a logging
   * program started first (it reads the process's stdout on its fd 3 and stderr on 4, and closes
   * 5 once it is ready), as runc's shim does.
   */
  static async open(sys: Libc, paths: StdioPaths, id: string, namespace: string): Promise<ProcessIO> {
    const uri = [paths.stdout, paths.stderr].find((p) => p.startsWith('binary://'));
    if (!uri || paths.terminal) return new ProcessIO(sys, paths);
    const outputs = await startLogger(sys, uri, id, namespace);
    try {
      return new ProcessIO(sys, paths, outputs);
    } catch (e) {
      for (const fd of outputs) fs.closeSync(fd);
      throw e;
    }
  }

  constructor(
    private readonly sys: Libc,
    readonly paths: StdioPaths,
    /** stdout and stderr made already (a logging program's pipes) */
    outputs?: readonly [number, number],
  ) {
    if (paths.terminal) return; // the pty comes with the process: attachConsole
    const opened: number[] = [];
    try {
      let stdin: number;
      if (paths.stdin) {
        const [theirs, ours] = sys.pipe();
        opened.push(theirs);
        this.stdinPeer = new net.Socket({ fd: ours, readable: false, writable: true });
        this.stdinFifo = this.feed(paths.stdin, this.stdinPeer);
        stdin = theirs;
      } else {
        stdin = fs.openSync('/dev/null', C.O_RDONLY | C.O_CLOEXEC);
        opened.push(stdin);
      }
      const out = outputs?.[0] ?? openOutput(paths.stdout, 'stdout');
      opened.push(out);
      const err = outputs?.[1] ?? (paths.stderr === paths.stdout && paths.stderr !== '' ? out : openOutput(paths.stderr, 'stderr'));
      if (err !== out) opened.push(err);
      this.fds = [stdin, out, err];
    } catch (e) {
      for (const fd of opened) fs.closeSync(fd);
      this.close();
      throw e;
    }
  }

  /** Copies the stdin fifo (opened read-write: it never reads as ended) into dest. */
  private feed(path: string, dest: net.Socket): { socket: net.Socket; fd: number } {
    const fd = fs.openSync(path, C.O_RDWR | C.O_NONBLOCK | C.O_CLOEXEC);
    const src = new net.Socket({ fd, readable: true, writable: false });
    src.on('error', () => src.destroy());
    dest.on('error', () => dest.destroy());
    src.pipe(dest);
    return { socket: src, fd };
  }

  /** What the stdin fifo still holds (written just before CloseIO, not read yet), after what the stream buffered. */
  private drainStdin(): Buffer {
    const f = this.stdinFifo;
    if (!f || f.socket.destroyed) return Buffer.alloc(0);
    f.socket.unpipe();
    f.socket.pause();
    const chunks: Buffer[] = [];
    for (let b = f.socket.read() as Buffer | null; b !== null; b = f.socket.read() as Buffer | null) chunks.push(b);
    const buf = Buffer.alloc(65536);
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(f.fd, buf, 0, buf.length, null);
      } catch {
        break; // EAGAIN: empty
      }
      if (n <= 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(chunks);
  }

  /** The process has its fds: the shim's copies go. */
  handedOver(): void {
    if (!this.fds || this.handed) return;
    this.handed = true;
    for (const fd of new Set(this.fds)) fs.closeSync(fd);
  }

  /** With a terminal: relays the pty master to stdout and stdin to it. */
  attachConsole(master: number): void {
    this.master = master;
    this.sys.clearOnlcr(master);
    if (this.paths.stdout) {
      const out = openOutput(this.paths.stdout, 'stdout');
      const input = new tty.ReadStream(master);
      this.masterIn = input;
      // EIO once the last slave closed: the output is complete
      input.on('error', () => input.destroy());
      if (fs.fstatSync(out).isFIFO()) {
        // A reader that stops (a suspended ctr) holds the output back, not the shim.
        const stream = new net.Socket({ fd: out, readable: false, writable: true });
        this.masterOutStream = stream;
        stream.on('error', () => {
          stream.destroy();
          input.unpipe(stream);
          input.on('data', () => undefined); // nobody reads: the program must not block on a full pty
        });
        input.pipe(stream);
      } else {
        this.masterOut = out;
        input.on('data', (d: Buffer) => writeAll(out, d));
      }
    }
    if (this.paths.stdin) {
      const fd = fs.openSync(this.paths.stdin, C.O_RDWR | C.O_NONBLOCK | C.O_CLOEXEC);
      const src = new net.Socket({ fd, readable: true, writable: false });
      src.on('data', (d: Buffer) => {
        if (!this.masterGone) writeAll(master, d);
      });
      src.on('error', () => src.destroy());
      this.stdinFifo = { socket: src, fd };
    }
  }

  /** containerd's ResizePty; a process that has exited has no terminal to resize (its master is closed). */
  resize(width: number, height: number): void {
    if (this.master === undefined) throw new RpcError(Code.FAILED_PRECONDITION, 'the process has no terminal');
    if (this.closed || this.masterGone) return;
    this.sys.setWinsize(this.master, height, width);
  }

  /** containerd's CloseIO: the process's stdin ends, after what the fifo still held. */
  closeStdin(): void {
    if (this.closed) return;
    const rest = this.drainStdin();
    this.stdinFifo?.socket.destroy();
    this.stdinFifo = undefined;
    if (this.master !== undefined) {
      if (this.masterGone) return;
      if (rest.length) writeAll(this.master, rest);
      if (this.paths.stdin) writeAll(this.master, Buffer.from([4])); // ^D, as runc's shim
      return;
    }
    if (rest.length) this.stdinPeer?.write(rest);
    this.stdinPeer?.end();
  }

  /** The process exited: what the shim holds of its stdio goes. */
  close(): void {
    if (this.closed) return;
    if (this.fds && !this.handed) {
      this.handed = true;
      for (const fd of new Set(this.fds)) fs.closeSync(fd); // the process never got them
    }
    this.stdinFifo?.socket.destroy();
    this.stdinPeer?.destroy();
    if (this.masterIn) {
      // The pty's last output is read before the master and the output go: the stream ends at
      // EIO, once the last slave closed (the process's exit, as a rule before this). A fixed
      // wait (100 ms) lost that output whenever the shim's loop was busy for longer: its timer
      // then ran before the read. A slave some process left open holds it: cut off after a while.
      const m = this.masterIn;
      const out = this.masterOutStream;
      const file = this.masterOut;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        m.destroy();
        out?.end();
        if (out) setTimeout(() => out.destroy(), 1000).unref();
        if (file !== undefined) fs.closeSync(file);
      };
      if (m.destroyed) finish();
      else m.once('close', finish);
      setTimeout(finish, MASTER_DRAIN_MS).unref();
    } else if (this.master !== undefined) {
      fs.closeSync(this.master);
    }
    this.closed = true;
  }
}

/** How long a pty's output is read after its process exited while another process holds its slave. */
const MASTER_DRAIN_MS = 1000;

const LOGGER_READY_MS = 10_000;

/**
 * containerd's logging binary (binary:///path?key=value…: args key value …, CONTAINER_ID and
 * CONTAINER_NAMESPACE in its environment): started, and waited for until it closes its fd 5.
 * Returns the write ends of its stdout and stderr pipes. Its exit is reaped by the shim's reaper.
 */
async function startLogger(sys: Libc, uri: string, id: string, namespace: string): Promise<[number, number]> {
  const url = new URL(uri);
  const args = [...url.searchParams].flatMap(([k, v]) => (v === '' ? [k] : [k, v]));
  const path = decodeURIComponent(url.pathname);
  const pipes = [sys.pipe(), sys.pipe(), sys.pipe()]; // stdout, stderr, ready: [read, write]
  const devnull = fs.openSync('/dev/null', C.O_RDWR | C.O_CLOEXEC);
  try {
    startHostProgram(sys, {
      path,
      args,
      env: [`CONTAINER_ID=${id}`, `CONTAINER_NAMESPACE=${namespace}`, 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      stdio: [devnull, devnull, devnull],
      extraFds: [pipes[0][0], pipes[1][0], pipes[2][1]],
    });
  } catch (e) {
    for (const fd of pipes.flat()) fs.closeSync(fd);
    throw e;
  } finally {
    fs.closeSync(devnull);
  }
  for (const fd of [pipes[0][0], pipes[1][0], pipes[2][1]]) fs.closeSync(fd);
  const ready = new net.Socket({ fd: pipes[2][0], readable: true, writable: false });
  const ok = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), LOGGER_READY_MS);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    ready.once('data', done);
    ready.once('end', done);
    ready.once('error', done);
  });
  ready.destroy();
  if (!ok) {
    fs.closeSync(pipes[0][1]);
    fs.closeSync(pipes[1][1]);
    throw new RpcError(Code.DEADLINE_EXCEEDED, `${uri}: the logging binary was not ready within ${LOGGER_READY_MS / 1000}s`);
  }
  return [pipes[0][1], pipes[1][1]];
}

function writeAll(fd: number, data: Buffer): void {
  for (let off = 0, tries = 0; off < data.length && tries < 1000;) {
    try {
      off += fs.writeSync(fd, data, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') return; // the reader is gone
      tries++;
    }
  }
}
