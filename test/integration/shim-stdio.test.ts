// The shim's terminal relay (src/shim/stdio.ts) on a real pty: what the process wrote last, just
// before it exited, reaches the output fifo even when the shim's loop is busy past the exit (the
// relay once cut the master off after a fixed 100 ms, and a timer that is due runs before the
// read of what the pty still holds).
import { afterAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { ProcessIO } from '../../src/shim/stdio';
import * as C from '../../src/sys/constants';
import { libc } from '../../src/sys';

const sys = libc();
const dir = fs.mkdtempSync(join(os.tmpdir(), 'tsr-shim-stdio-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the fifo holds now (non-blocking). */
function readAll(fd: number): string {
  const buf = Buffer.alloc(65536);
  let out = '';
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(fd, buf);
    } catch {
      return out; // EAGAIN
    }
    if (n <= 0) return out;
    out += buf.toString('utf8', 0, n);
  }
}

describe("the shim's terminal relay", () => {
  test("the pty's last output reaches stdout though the shim's loop is busy past the process's exit", async () => {
    const fifo = join(dir, 'stdout');
    spawnSync('mkfifo', [fifo]);
    const reader = fs.openSync(fifo, C.O_RDONLY | C.O_NONBLOCK);
    const io = new ProcessIO(sys, { stdin: '', stdout: fifo, stderr: '', terminal: true });
    const { master, slavePath } = sys.openPty();
    io.attachConsole(master);
    const slave = fs.openSync(slavePath, C.O_WRONLY | C.O_NOCTTY);
    let out = '';
    fs.writeSync(slave, 'first\n');
    for (let i = 0; i < 100 && !out.includes('first'); i++) {
      await sleep(20);
      out += readAll(reader);
    }
    expect(out).toBe('first\n');
    // the process's last words, then its exit (the slave's last close), then the shim learns of it
    fs.writeSync(slave, 'last\n');
    fs.closeSync(slave);
    io.close();
    const busyUntil = Date.now() + 300;
    while (Date.now() < busyUntil); // a create, a spare's fork: the loop runs nothing meanwhile
    for (let i = 0; i < 100 && !out.includes('last'); i++) {
      await sleep(20);
      out += readAll(reader);
    }
    expect(out).toBe('first\nlast\n');
    fs.closeSync(reader);
  });
});
