// ttrpc, containerd's RPC over a unix socket (the wire of containerd/ttrpc's PROTOCOL.md), both
// ends: the server the shim's Task service answers on, and the client it forwards events with.
//
// A frame is a 10-byte header (payload length, stream id: uint32 big-endian; type; flags) and a
// payload. A unary call is one Request frame (type 1) on a new odd stream id, answered by one
// Response frame (type 2) on the same id; calls on one connection are answered in any order.
// Request and Response are protobuf messages (proto/ttrpc.proto); errors are gRPC status codes.
import net = require('net');
import type { Proto } from './proto';

export const MESSAGE_REQUEST = 1;
export const MESSAGE_RESPONSE = 2;
const HEADER = 10;
/** containerd/ttrpc's limit on a message. */
export const MAX_MESSAGE = 4 << 20;

/** gRPC status codes containerd's errdefs maps back to its errors. */
export const Code = {
  OK: 0,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** What came with a call: its metadata (containerd's namespace among it), and the connection. */
export interface CallContext {
  metadata: Record<string, string>;
  socket: net.Socket;
}

export type Handler = (payload: Uint8Array, ctx: CallContext) => Uint8Array | Promise<Uint8Array>;

interface Frame {
  stream: number;
  type: number;
  flags: number;
  payload: Buffer;
}

export function encodeFrame(stream: number, type: number, payload: Uint8Array, flags = 0): Buffer {
  const b = Buffer.allocUnsafe(HEADER + payload.length);
  b.writeUInt32BE(payload.length, 0);
  b.writeUInt32BE(stream, 4);
  b.writeUInt8(type, 8);
  b.writeUInt8(flags, 9);
  b.set(payload, HEADER);
  return b;
}

/** Splits a byte stream into frames; a frame over MAX_MESSAGE is an error (the connection is dropped). */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Frame[] = [];
    while (this.buf.length >= HEADER) {
      const len = this.buf.readUInt32BE(0);
      if (len > MAX_MESSAGE) throw new Error(`ttrpc: a message of ${len} bytes is over the limit (${MAX_MESSAGE})`);
      if (this.buf.length < HEADER + len) break;
      out.push({
        stream: this.buf.readUInt32BE(4),
        type: this.buf.readUInt8(8),
        flags: this.buf.readUInt8(9),
        payload: this.buf.subarray(HEADER, HEADER + len),
      });
      this.buf = this.buf.subarray(HEADER + len);
    }
    return out;
  }
}

function metadataOf(list: { key?: string; value?: string }[] | undefined): Record<string, string> {
  const md: Record<string, string> = {};
  for (const kv of list ?? []) if (kv.key) md[kv.key] = kv.value ?? '';
  return md;
}

/** Answers the calls of every connection it is given, by "service/method". */
export class TtrpcServer {
  private readonly handlers = new Map<string, Handler>();
  private readonly sockets = new Set<net.Socket>();
  /** told when a connection ends (containerd's client went away) */
  onDisconnect?: (socket: net.Socket) => void;

  constructor(private readonly proto: Proto) {}

  register(service: string, method: string, handler: Handler): void {
    this.handlers.set(`${service}/${method}`, handler);
  }

  get connections(): number {
    return this.sockets.size;
  }

  handle(socket: net.Socket): void {
    this.sockets.add(socket);
    const reader = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = reader.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const f of frames) if (f.type === MESSAGE_REQUEST) void this.call(socket, f);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.onDisconnect?.(socket);
    });
  }

  private async call(socket: net.Socket, f: Frame): Promise<void> {
    let status: { code: number; message: string } = { code: Code.OK, message: '' };
    let payload: Uint8Array = new Uint8Array(0);
    try {
      const req = this.proto.decode<{ service: string; method: string; payload?: Uint8Array; metadata?: { key: string; value: string }[] }>(
        'ttrpc.Request',
        f.payload,
      );
      const h = this.handlers.get(`${req.service}/${req.method}`);
      if (!h) throw new RpcError(Code.UNIMPLEMENTED, `${req.service}/${req.method} is not implemented`);
      payload = await h(req.payload ?? new Uint8Array(0), { metadata: metadataOf(req.metadata), socket });
    } catch (e) {
      status =
        e instanceof RpcError ? { code: e.code, message: e.message } : { code: Code.UNKNOWN, message: (e as Error).message ?? String(e) };
    }
    if (socket.destroyed) return;
    const res = this.proto.encode('ttrpc.Response', { status, payload });
    socket.write(encodeFrame(f.stream, MESSAGE_RESPONSE, res));
  }

  /** Ends every connection (the shim is going away). */
  closeAll(): void {
    for (const s of this.sockets) s.destroy();
  }
}

/** A ttrpc client on one connection: unary calls, each with its own odd stream id. */
export class TtrpcClient {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (b: Uint8Array) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly reader = new FrameReader();

  private constructor(
    private readonly proto: Proto,
    private readonly socket: net.Socket,
  ) {
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = this.reader.push(chunk);
      } catch (e) {
        this.fail(e as Error);
        return;
      }
      for (const f of frames) this.answer(f);
    });
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('ttrpc: connection closed')));
  }

  /** Connects to a unix socket path (containerd's addresses may say unix://). */
  static connect(proto: Proto, address: string, timeoutMs = 5000): Promise<TtrpcClient> {
    const path = address.replace(/^unix:\/\//, '');
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`ttrpc: connecting to ${path}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new TtrpcClient(proto, socket));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`ttrpc: connecting to ${path}: ${e.message}`));
      });
    });
  }

  get closed(): boolean {
    return this.socket.destroyed;
  }

  call(service: string, method: string, payload: Uint8Array, metadata: Record<string, string> = {}, timeoutMs = 5000): Promise<Uint8Array> {
    const stream = this.next;
    this.next += 2;
    const req = this.proto.encode('ttrpc.Request', {
      service,
      method,
      payload,
      timeoutNano: timeoutMs * 1e6,
      metadata: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(stream);
        reject(new RpcError(Code.DEADLINE_EXCEEDED, `ttrpc: ${service}/${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(stream, { resolve, reject, timer });
      this.socket.write(encodeFrame(stream, MESSAGE_REQUEST, req));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private answer(f: Frame): void {
    const p = this.pending.get(f.stream);
    if (!p || f.type !== MESSAGE_RESPONSE) return;
    this.pending.delete(f.stream);
    clearTimeout(p.timer);
    try {
      const res = this.proto.decode<{ status?: { code?: number; message?: string }; payload?: Uint8Array }>('ttrpc.Response', f.payload);
      if (res.status?.code) p.reject(new RpcError(res.status.code, res.status.message ?? ''));
      else p.resolve(res.payload ?? new Uint8Array(0));
    } catch (e) {
      p.reject(e as Error);
    }
  }

  private fail(e: Error): void {
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
    this.socket.destroy();
  }
}
