import type { Hook } from '../spec/oci';

export type HookKind = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';

function envOf(list: readonly string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of list ?? []) {
    const i = e.indexOf('=');
    if (i > 0) env[e.slice(0, i)] = e.slice(i + 1);
  }
  return env;
}

/**
 * Runs one kind of hook in order, each with the container's state on stdin, exactly its own env
 * and args, and its timeout. Throws on the first failure (the caller decides whether a failure is
 * fatal or a warning; for poststart and poststop use runHooksWarn).
 */
export function runHooks(kind: HookKind, hooks: readonly Hook[] | undefined, state: object): void {
  (hooks ?? []).forEach((h, i) => {
    const err = runOne(h, state);
    if (err) throw new Error(`hooks.${kind}[${i}] (${h.path}): ${err}`);
  });
}

/** Every hook runs; failures come back as warnings. */
export function runHooksWarn(kind: HookKind, hooks: readonly Hook[] | undefined, state: object, warn: (m: string) => void): void {
  (hooks ?? []).forEach((h, i) => {
    const err = runOne(h, state);
    if (err) warn(`hooks.${kind}[${i}] (${h.path}): ${err}`);
  });
}

function runOne(h: Hook, state: object): string | undefined {
  const args = h.args?.length ? h.args : [h.path];
  // Loaded here, not at the top: a builtin needs no file (this runs after pivot_root too), and
  // commands without hooks do not pay for it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { spawnSync } = require('child_process') as typeof import('child_process');
  const r = spawnSync(h.path, args.slice(1), {
    argv0: args[0],
    env: envOf(h.env),
    input: JSON.stringify(state),
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: h.timeout ? h.timeout * 1000 : undefined,
    killSignal: 'SIGKILL',
    maxBuffer: 1 << 20,
  });
  const stderr = r.stderr ? r.stderr.toString().trim() : '';
  const tail = stderr ? `: ${stderr.slice(-500)}` : '';
  // EPIPE: the hook did not read its stdin, which it need not do.
  if (r.error && (r.error as NodeJS.ErrnoException).code !== 'EPIPE') {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ETIMEDOUT') return `timed out after ${h.timeout}s`;
    return `${r.error.message}${tail}`;
  }
  if (r.signal) return `killed by ${r.signal}${tail}`;
  if (r.status !== 0) return `exit status ${r.status}${tail}`;
  return undefined;
}
