import { constants as osConstants } from 'os';

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(osConstants.errno)) errnoNames.set(value, name);

export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

/** A failed system call: names the operation, the errno and the path involved, if any. */
export class SysError extends Error {
  readonly errno: number;
  readonly code: string;
  readonly op: string;
  readonly path?: string;

  constructor(op: string, errno: number, path?: string, detail?: string) {
    const code = errnoName(errno);
    super(`${op}${path !== undefined ? ` ${path}` : ''}: ${code}${detail ? ` (${detail})` : ''}`);
    this.name = 'SysError';
    this.errno = errno;
    this.code = code;
    this.op = op;
    this.path = path;
  }
}

/** Errors meant for the user: configuration problems, wrong state, bad arguments. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
