import koffi from 'koffi';
import { libc } from '../../src/sys';

const lib = koffi.load('libc.so.6');
const socket = lib.func('int socket(int, int, int)');
const bind = lib.func('int bind(int, void *, uint32_t)');
const listen = lib.func('int listen(int, int)');
const connect = lib.func('int connect(int, void *, uint32_t)');
const accept = lib.func('int accept(int, void *, void *)');
const poll = lib.func('int poll(void *, unsigned long, int)');

/**
 * A console socket like runc's recvtty: listens on a unix socket path; receive() accepts one
 * connection and returns the pty master fd sent with SCM_RIGHTS.
 */
export class ConsoleSocket {
  private readonly fd: number;

  constructor(
    readonly path: string,
    backlog = 1,
  ) {
    this.fd = socket(1, 1 | 0o2000000, 0) as number;
    const addr = Buffer.alloc(110);
    addr.writeUInt16LE(1, 0);
    addr.write(path, 2);
    if ((bind(this.fd, addr, 110) as number) < 0 || (listen(this.fd, backlog) as number) < 0) throw new Error(`cannot listen on ${path}`);
  }

  /** Connects to itself until the backlog is full (nothing is accepted): the next connect would wait. */
  fillBacklog(): void {
    const addr = Buffer.alloc(110);
    addr.writeUInt16LE(1, 0);
    addr.write(this.path, 2);
    for (let i = 0; i < 64; i++) {
      const c = socket(1, 1 | 0o2000000 | 0o4000, 0) as number;
      if ((connect(c, addr, 110) as number) < 0) return;
    }
    throw new Error('the backlog never filled');
  }

  /** Waits (up to timeoutMs) for the runtime to connect and send the master. */
  receive(timeoutMs = 10000): { fd: number; name: string } {
    const pfd = Buffer.alloc(8);
    pfd.writeInt32LE(this.fd, 0);
    pfd.writeInt16LE(1, 4);
    if ((poll(pfd, 1, timeoutMs) as number) <= 0) throw new Error('nothing connected to the console socket');
    const conn = accept(this.fd, null, null) as number;
    try {
      return libc().recvFd(conn);
    } finally {
      koffi.load('libc.so.6').func('int close(int)')(conn);
    }
  }
}
