import * as fs from 'fs';
import type { InitMessage } from './bootstrap';

// The child's side of the sync socket (init-main and exec-main): blocking, from the main thread.

/** One line from fd; undefined when the runtime went away first (it sends nothing after a line). */
export function readLineSync(fd: number): string | undefined {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    const n = fs.readSync(fd, buf, 0, buf.length, null);
    if (n === 0) return undefined;
    const nl = buf.subarray(0, n).indexOf(10);
    chunks.push(Buffer.from(buf.subarray(0, nl < 0 ? n : nl)));
    if (nl >= 0) return Buffer.concat(chunks).toString('utf8');
  }
}

export function sendMessage(fd: number, msg: InitMessage): void {
  fs.writeSync(fd, JSON.stringify(msg) + '\n');
}
