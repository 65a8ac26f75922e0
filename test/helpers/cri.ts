// kubelet's side of a node, typed (scripts/cri-lab.js: registry, containerd with CRI, the CRI
// client), and the streaming client kubelet's API server would be: exec and attach through the
// URL the CRI hands out, over WebSocket with Kubernetes' v4 channel protocol.
import * as crypto from 'crypto';
import * as net from 'net';
import type { ChildProcess } from 'child_process';

/** A CRI method: the request as runtime.v1's message, snake_case fields; the response likewise. */
// CRI's messages are many and wide: the tests read the fields they assert
type Call = (req: object, opts?: { timeoutMs?: number }) => Promise<any>;
export interface CriClient {
  runtime: Record<string, Call>;
  image: Record<string, Call>;
  close(): void;
}
export interface CriNode {
  sock: string;
  streamPort: number;
  daemon: ChildProcess;
  cri: CriClient;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const lab = require('../../scripts/cri-lab') as {
  startRegistry(images: Record<string, string>): Promise<{ host: string; close(): Promise<void> }>;
  startContainerd(o: {
    dir: string;
    registry: string;
    sandboxImage: string;
    tsrunc: string;
    runc: string;
    env?: Record<string, string>;
  }): Promise<CriNode>;
  criClient(sock: string): CriClient;
  cgroupTree(parent: string): string[];
  removeCgroupTree(parent: string): void;
  processes(needle: string): string[];
  processesGone(needle: string, ms: number): Promise<string[]>;
  unmountUnder(dir: string): void;
};

export interface StreamResult {
  stdout: string;
  stderr: string;
  /** the v4 protocol's closing status: { status: 'Success' } or a Failure with the exit code in details */
  status: { status?: string; reason?: string; details?: { causes?: { reason?: string; message?: string }[] } } | undefined;
  /** the exit code the status carries (0 on Success) */
  exitCode: number | undefined;
}

/**
 * Opens a streaming URL (exec or attach) over WebSocket, v4.channel.k8s.io: every message is one
 * channel byte (1 stdout, 2 stderr, 3 the closing status) and the data. Reads until the server
 * closes, or until `until` matches what came on stdout (then closes itself), within timeoutMs.
 */
export function openStream(url: string, opts: { until?: RegExp; timeoutMs?: number } = {}): Promise<StreamResult> {
  const u = new URL(url);
  const key = crypto.randomBytes(16).toString('base64');
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname);
    const out: Record<number, Buffer[]> = { 1: [], 2: [], 3: [] };
    let head = Buffer.alloc(0);
    let upgraded = false;
    let frames = Buffer.alloc(0);
    let message: Buffer[] = [];
    let done = false;
    const timer = setTimeout(
      () => finish(new Error(`streaming ${url}: no end within ${opts.timeoutMs ?? 20000} ms`)),
      opts.timeoutMs ?? 20000,
    );
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) return reject(err);
      const text = (c: number) => Buffer.concat(out[c]).toString('utf8');
      const statusText = text(3);
      const status = statusText ? (JSON.parse(statusText) as StreamResult['status']) : undefined;
      let exitCode: number | undefined;
      if (status?.status === 'Success') exitCode = 0;
      const cause = status?.details?.causes?.find((c) => c.reason === 'ExitCode');
      if (cause?.message) exitCode = Number(cause.message);
      resolve({ stdout: text(1), stderr: text(2), status, exitCode });
    };
    // A client's frames are masked (RFC 6455); this one only ever sends a close.
    const sendClose = () => {
      const mask = crypto.randomBytes(4);
      sock.write(Buffer.concat([Buffer.from([0x88, 0x80]), mask]));
    };
    const onFrames = () => {
      for (;;) {
        if (frames.length < 2) return;
        const fin = (frames[0] & 0x80) !== 0;
        const opcode = frames[0] & 0x0f;
        let len = frames[1] & 0x7f;
        let at = 2;
        if (len === 126) {
          if (frames.length < 4) return;
          len = frames.readUInt16BE(2);
          at = 4;
        } else if (len === 127) {
          if (frames.length < 10) return;
          len = Number(frames.readBigUInt64BE(2));
          at = 10;
        }
        if (frames.length < at + len) return;
        const payload = frames.subarray(at, at + len);
        frames = frames.subarray(at + len);
        if (opcode === 0x8) return finish();
        if (opcode === 0x9) {
          // ping: a pong with the same payload, masked
          const mask = crypto.randomBytes(4);
          const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
          sock.write(Buffer.concat([Buffer.from([0x8a, 0x80 | body.length]), mask, body]));
          continue;
        }
        if (opcode !== 0x0 && opcode !== 0x1 && opcode !== 0x2) continue;
        message.push(Buffer.from(payload));
        if (!fin) continue;
        const m = Buffer.concat(message);
        message = [];
        if (m.length > 1 && out[m[0]]) out[m[0]].push(m.subarray(1));
        if (opts.until && opts.until.test(Buffer.concat(out[1]).toString('utf8'))) {
          sendClose();
          return finish();
        }
      }
    };
    sock.on('connect', () => {
      sock.write(
        [
          `GET ${u.pathname}${u.search} HTTP/1.1`,
          `Host: ${u.host}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          `Sec-WebSocket-Key: ${key}`,
          'Sec-WebSocket-Version: 13',
          'Sec-WebSocket-Protocol: v4.channel.k8s.io',
          '',
          '',
        ].join('\r\n'),
      );
    });
    sock.on('data', (chunk: Buffer) => {
      if (upgraded) {
        frames = Buffer.concat([frames, chunk]);
        return onFrames();
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      if (!/^HTTP\/1\.1 101 /.test(lines[0]))
        return finish(new Error(`streaming ${url}: ${lines[0]}: ${head.subarray(end + 4).toString()}`));
      const accept = crypto
        .createHash('sha1')
        .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
        .digest('base64');
      if (!lines.some((l) => l.toLowerCase() === `sec-websocket-accept: ${accept}`.toLowerCase()))
        return finish(new Error(`streaming ${url}: the upgrade's Sec-WebSocket-Accept is wrong`));
      upgraded = true;
      frames = head.subarray(end + 4);
      onFrames();
    });
    sock.on('error', (e) => finish(e));
    sock.on('close', () => finish());
  });
}
