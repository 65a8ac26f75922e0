import * as fs from 'fs';
import { describe, expect, test } from '@jest/globals';
import { ChannelClosed, ChannelTimeout, channelPair, childFdList, keptFdCount } from '../../src/process/channel';
import { makeKoffiLibc } from '../../src/sys/koffi-libc';

// The channel over a real socketpair (no root needed): both ends, deadlines and the peer's end.
describe('the runtime<->child channel', () => {
  const sys = makeKoffiLibc();

  test('typed messages both ways, several in one read, in order', () => {
    const { runtime, child } = channelPair(sys);
    child.send({ type: 'hello' });
    child.send({ type: 'pid', pid: 42 });
    expect(runtime.receive(1000, 't')).toEqual({ type: 'hello' });
    expect(runtime.receive(1000, 't')).toEqual({ type: 'pid', pid: 42 });
    runtime.send({ type: 'go', hookState: { id: 'x' } });
    expect(child.receive(1000, 't')).toEqual({ type: 'go', hookState: { id: 'x' } });
    runtime.close();
    child.close();
  });

  test('a silent peer is a timeout naming what was awaited; a gone one is ChannelClosed', () => {
    const { runtime, child } = channelPair(sys);
    const t0 = Date.now();
    expect(() => runtime.receive(100, 'container init (ready)')).toThrow(ChannelTimeout);
    expect(() => runtime.receive(50, 'container init (ready)')).toThrow(
      /container init \(ready\): no word from the container process within 0.1s/,
    );
    expect(Date.now() - t0).toBeLessThan(2000);
    child.send({ type: 'ready' });
    child.close();
    // what came before the end is still read, then the end
    expect(runtime.receive(1000, 't')).toEqual({ type: 'ready' });
    expect(() => runtime.receive(1000, 'exec')).toThrow(ChannelClosed);
    runtime.close();
  });

  test("failureSaid: the peer's error among what it sent, without a wait; every message stays for receive", () => {
    const { runtime, child } = channelPair(sys);
    expect(runtime.failureSaid()).toBeUndefined();
    child.send({ type: 'hello' });
    child.send({ type: 'error', msg: 'mounts[3] (/x): source /y does not exist' });
    child.close();
    const t0 = Date.now();
    expect(runtime.failureSaid()).toBe('mounts[3] (/x): source /y does not exist');
    expect(Date.now() - t0).toBeLessThan(500);
    expect(runtime.receive(1000, 't')).toEqual({ type: 'hello' });
    expect(runtime.receive(1000, 't')).toEqual({ type: 'error', msg: 'mounts[3] (/x): source /y does not exist' });
    runtime.close();
  });

  test('awaitClose keeps a message that came just before the end', () => {
    const { runtime, child } = channelPair(sys);
    child.send({ type: 'error', msg: 'execve /bin/x: ENOENT' });
    child.close();
    expect(runtime.awaitClose(1000)).toBe(true);
    expect(runtime.pending()).toEqual({ type: 'error', msg: 'execve /bin/x: ENOENT' });
    runtime.close();
  });

  test('an end closes once: a second close leaves alone a file that took its number since', () => {
    const { runtime, child } = channelPair(sys);
    const n = runtime.fd;
    runtime.close();
    const other = fs.openSync('/dev/null', 'r'); // the lowest free number: the one just closed
    try {
      expect(other).toBe(n);
      runtime.close();
      expect(() => fs.fstatSync(other)).not.toThrow();
    } finally {
      fs.closeSync(other);
      child.close();
    }
  });

  test('the fd layout: stdio and preserved fds from 3 are kept; the child lists its own', () => {
    expect(keptFdCount(0)).toBe(3);
    expect(keptFdCount(2)).toBe(5);
    expect(childFdList({ channel: 9, fifo: 7, console: 8, trees: { 2: 11 } })).toEqual([9, 7, 8, 11]);
  });
});
