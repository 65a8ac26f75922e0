import { getSystemErrorMap } from 'util';
import { osConstants } from './os-constants';

let errnoNames: Map<number, string> | undefined;

export function errnoName(errno: number): string {
  errnoNames ??= new Map(Object.entries(osConstants().errno).map(([name, value]) => [value, name]));
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

/**
 * Errors meant for the user: configuration problems, wrong state, bad arguments. The subclasses
 * below are what a library caller (and the shim) tells apart; the CLI prints them all alike.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** No container of that id. */
export class ContainerNotFoundError extends UserError {
  constructor(readonly id: string) {
    super(`container "${id}" does not exist`);
  }
}

/** A container of that id exists already. */
export class ContainerExistsError extends UserError {
  constructor(readonly id: string) {
    super(`container with id "${id}" already exists`);
  }
}

/** The operation is not for the container's present status. */
export class ContainerStateError extends UserError {
  constructor(
    message: string,
    readonly id: string,
    readonly status: string,
  ) {
    super(message);
  }
}

/** Another command has held the container past the deadline. */
export class ContainerBusyError extends UserError {
  constructor(
    message: string,
    readonly id: string,
  ) {
    super(message);
  }
}

/** config.json (or an exec process) is invalid; the message names the field. */
export class ConfigError extends UserError {}

export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/** strerror's words for an errno ("no such file or directory"), as Go and runc print them. */
export function errnoText(errno: number): string {
  return getSystemErrorMap().get(-errno)?.[1] ?? errnoName(errno);
}

/**
 * How a failure to start the container's program reads: a failed execve in runc's words
 * ("exec /run.sh: no such file or directory", which scripts compare), anything else as it is.
 */
export function startFailureText(e: unknown): string {
  if (e instanceof SysError && e.op === 'execve' && e.errno !== 0) return `exec ${e.path ?? ''}: ${errnoText(e.errno)}`;
  return e instanceof Error ? e.message : String(e);
}
