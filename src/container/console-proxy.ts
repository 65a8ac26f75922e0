import fs = require('fs');
import type { Libc } from '../sys/libc';

/**
 * A foreground `run` of a terminal container keeps the pty master (as runc does): our stdin goes
 * to the container's terminal in raw mode, its output comes to our stdout, and our window size
 * follows. Returns a function that undoes everything.
 */
export function proxyConsole(sys: Libc, master: number): () => Promise<void> {
  const stdin = process.stdin;
  const stdout = process.stdout;
  const raw = stdin.isTTY === true;
  // As runc: the relay is not a terminal emulator, so the program's \n must not become \r\n.
  // (exec clears it in the copy already, before the program can write.)
  sys.clearOnlcr(master);
  if (raw) stdin.setRawMode(true);
  const resize = () => {
    if (stdout.isTTY) sys.setWinsize(master, stdout.rows, stdout.columns);
  };
  resize();
  stdout.on('resize', resize);
  const onInput = (d: Buffer) => {
    try {
      fs.writeSync(master, d);
    } catch {
      // the container's side is gone
    }
  };
  stdin.on('data', onInput);
  // The stream owns the master from here: it closes it (at the final EIO, or when destroyed).
  // Closing it here as well could close whatever reused the number meanwhile.
  const out = fs.createReadStream('', { fd: master, autoClose: true });
  const closed = new Promise<void>((resolve) => out.on('close', () => resolve()));
  out.on('data', (d) => stdout.write(d));
  // EIO once the last slave is closed and everything was read: the program's output is complete.
  const drained = new Promise<void>((resolve) => {
    out.on('error', () => resolve());
    out.on('end', () => resolve());
  });
  return async () => {
    await Promise.race([drained, new Promise((r) => setTimeout(r, 1000))]);
    stdin.removeListener('data', onInput);
    stdout.removeListener('resize', resize);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
    out.destroy();
    await Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]);
  };
}
