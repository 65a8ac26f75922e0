// The shim's wire, without a container: ttrpc frames and calls over a real unix socket, and the
// cgroup statistics as containerd's Metrics messages.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import { join } from 'path';
import { REPO } from '../helpers/bundle';
import { Proto } from '../../src/shim/proto';
import { Code, FrameReader, MAX_MESSAGE, MESSAGE_REQUEST, RpcError, TtrpcClient, TtrpcServer, encodeFrame } from '../../src/shim/ttrpc';
import { METRICS_V1, METRICS_V2, toMetrics } from '../../src/shim/metrics';

const proto = Proto.load(join(REPO, 'dist', 'shim', 'protos.json'));

describe('ttrpc frames', () => {
  test('a frame split anywhere, and two in one chunk, come out whole and in order', () => {
    const a = encodeFrame(1, MESSAGE_REQUEST, Buffer.from('hello'));
    const b = encodeFrame(3, MESSAGE_REQUEST, Buffer.from('world!'));
    const all = Buffer.concat([a, b]);
    for (let cut = 1; cut < all.length; cut++) {
      const r = new FrameReader();
      const frames = [...r.push(all.subarray(0, cut)), ...r.push(all.subarray(cut))];
      expect(frames.map((f) => [f.stream, f.type, f.payload.toString()])).toEqual([
        [1, MESSAGE_REQUEST, 'hello'],
        [3, MESSAGE_REQUEST, 'world!'],
      ]);
    }
  });

  test('the header is big-endian length, stream, type, flags', () => {
    expect([...encodeFrame(0x01020304, 2, Buffer.from([9]), 5)]).toEqual([0, 0, 0, 1, 1, 2, 3, 4, 2, 5, 9]);
  });

  test('a message over 4 MiB is refused', () => {
    const header = Buffer.alloc(10);
    header.writeUInt32BE(MAX_MESSAGE + 1, 0);
    expect(() => new FrameReader().push(header)).toThrow(/over the limit/);
  });
});

describe('ttrpc calls over a unix socket', () => {
  let dir: string;
  let server: net.Server;
  let client: TtrpcClient;

  beforeAll(async () => {
    dir = fs.mkdtempSync(join(os.tmpdir(), 'tsr-test-ttrpc-'));
    const t = new TtrpcServer(proto);
    // the slow call answers after the quick one: replies are matched by stream, not order
    t.register('test.Svc', 'Slow', async (p) => {
      await new Promise((r) => setTimeout(r, 100));
      return p;
    });
    t.register('test.Svc', 'Quick', (p, ctx) => Buffer.concat([Buffer.from(p), Buffer.from(`/${ctx.metadata.ns ?? ''}`)]));
    t.register('test.Svc', 'Fail', () => {
      throw new RpcError(Code.NOT_FOUND, 'no such thing');
    });
    server = net.createServer((s) => t.handle(s));
    await new Promise<void>((r) => server.listen(join(dir, 's.sock'), r));
    client = await TtrpcClient.connect(proto, `unix://${join(dir, 's.sock')}`);
  });

  afterAll(async () => {
    client.close();
    await new Promise<void>((r) => server.close(() => r()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('concurrent calls are answered out of order, each with its own payload and metadata', async () => {
    const order: string[] = [];
    const slow = client.call('test.Svc', 'Slow', Buffer.from('s')).then((b) => order.push(`slow:${Buffer.from(b).toString()}`));
    const quick = client
      .call('test.Svc', 'Quick', Buffer.from('q'), { ns: 'k8s.io' })
      .then((b) => order.push(`quick:${Buffer.from(b).toString()}`));
    await Promise.all([slow, quick]);
    expect(order).toEqual(['quick:q/k8s.io', 'slow:s']);
  });

  test('errors come back with their gRPC code; an unknown method is Unimplemented', async () => {
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 0,
        (e: RpcError) => [e.code, e.message],
      );
    expect(await code(client.call('test.Svc', 'Fail', new Uint8Array(0)))).toEqual([Code.NOT_FOUND, 'no such thing']);
    expect(await code(client.call('test.Svc', 'Nope', new Uint8Array(0)))).toEqual([
      Code.UNIMPLEMENTED,
      'test.Svc/Nope is not implemented',
    ]);
  });
});

describe("the cgroup statistics as containerd's Metrics", () => {
  const oom = { kills: 2, under: false };

  test('v1: runc-shaped figures become io.containerd.cgroups.v1.Metrics, and decode as ctr reads them', () => {
    const stats = {
      cpu: {
        usage: { total: 5000, percpu: [3000, 2000], kernel: 1000, user: 4000 },
        throttling: { periods: 7, throttledPeriods: 1, throttledTime: 9 },
      },
      memory: {
        cache: 10,
        usage: { usage: 4096, max: 8192, failcnt: 0, limit: 0xffffffffffffffffn },
        swap: { usage: 1, max: 2, failcnt: 0, limit: 3 },
        kernel: { usage: 0, max: 0, failcnt: 0, limit: 0 },
        kernelTCP: { usage: 0, max: 0, failcnt: 0, limit: 0 },
        raw: { total_rss: 2048, pgpgin: 5, total_pgfault: 6, total_inactive_file: 100, not_a_field: 1 },
      },
      pids: { current: 3, limit: 100 },
      blkio: { ioServiceBytesRecursive: [{ major: 8, minor: 0, op: 'Read', value: 4096 }] },
      hugetlb: { '2MB': { usage: 0, max: 0, failcnt: 0 } },
    };
    const { type, message } = toMetrics('v1', stats, oom);
    expect(type).toBe(METRICS_V1);
    const m = proto.decode<Record<string, any>>(type, proto.encode(type, message));
    expect(m.cpu.usage).toEqual({ total: 5000, kernel: 1000, user: 4000, perCpu: [3000, 2000] });
    expect(m.cpu.throttling).toEqual({ periods: 7, throttledPeriods: 1, throttledTime: 9 });
    expect(m.memory.usage).toEqual({ usage: 4096, max: 8192, failcnt: 0, limit: Number(0xffffffffffffffffn) });
    expect([m.memory.totalRss, m.memory.pgPgIn, m.memory.totalPgFault, m.memory.totalInactiveFile]).toEqual([2048, 5, 6, 100]);
    expect(m.pids).toEqual({ current: 3, limit: 100 });
    expect(m.blkio.ioServiceBytesRecursive).toEqual([{ op: 'Read', device: '', major: 8, minor: 0, value: 4096 }]);
    expect(m.hugetlb).toEqual([{ pagesize: '2MB', usage: 0, max: 0, failcnt: 0 }]);
    expect(m.memoryOomControl).toMatchObject({ oomKill: 2, underOom: 0 });
  });

  test('v2: microseconds, memory without the swap runc adds, io by device, an unlimited pids.max as 2^64-1', () => {
    const stats = {
      cpu: {
        usage: { total: 5_000_000, user: 3_000_000, kernel: 2_000_000 },
        throttling: { periods: 4, throttledPeriods: 1, throttledTime: 7000 },
      },
      memory: {
        usage: { usage: 1000, limit: 5000, max: 0, failcnt: 3 },
        swap: { usage: 1500, limit: 0xffffffffffffffffn, failcnt: 0 },
        raw: { anon: 600, inactive_file: 50, pgfault: 9 },
      },
      pids: { current: 2, limit: 0 },
      blkio: {
        ioServiceBytesRecursive: [
          { major: 8, minor: 0, op: 'Read', value: 10 },
          { major: 8, minor: 0, op: 'Write', value: 20 },
        ],
        ioServicedRecursive: [
          { major: 8, minor: 0, op: 'Read', value: 1 },
          { major: 8, minor: 0, op: 'Write', value: 2 },
        ],
      },
      hugetlb: {},
    };
    const { type, message } = toMetrics('v2', stats, oom);
    expect(type).toBe(METRICS_V2);
    const m = proto.decode<Record<string, any>>(type, proto.encode(type, message));
    expect(m.cpu).toEqual({ usageUsec: 5000, userUsec: 3000, systemUsec: 2000, nrPeriods: 4, nrThrottled: 1, throttledUsec: 7 });
    expect([m.memory.usage, m.memory.usageLimit, m.memory.swapUsage, m.memory.anon, m.memory.inactiveFile, m.memory.pgfault]).toEqual([
      1000, 5000, 500, 600, 50, 9,
    ]);
    expect(m.memory.swapLimit).toBe(Number(0xffffffffffffffffn));
    expect(m.io.usage).toEqual([{ major: 8, minor: 0, rbytes: 10, wbytes: 20, rios: 1, wios: 2 }]);
    expect(m.pids.limit).toBe(Number(0xffffffffffffffffn));
    expect(m.memoryEvents).toMatchObject({ max: 3, oomKill: 2 });
  });
});

describe("a spare shim's warm-up", () => {
  test('every message type gets its codecs ahead (protobufjs makes them on first use), and they still round-trip', () => {
    const p = Proto.load(join(REPO, 'dist', 'shim', 'protos.json'));
    const names = ['containerd.task.v2.CreateTaskRequest', 'containerd.events.TaskCreate', 'containerd.task.v2.StateResponse'];
    // protobufjs swaps a type's encode and decode for generated ones (own properties) at its setup
    const generated = () => names.map((n) => Object.prototype.hasOwnProperty.call(p.type(n), 'encode'));
    expect(generated()).toEqual([false, false, false]);
    p.warm();
    expect(generated()).toEqual([true, true, true]);
    const ev = p.decode<{ containerId: string; pid: number }>(
      'containerd.events.TaskCreate',
      p.encode('containerd.events.TaskCreate', { containerId: 'c', pid: 42 }),
    );
    expect([ev.containerId, ev.pid]).toEqual(['c', 42]);
  });
});
