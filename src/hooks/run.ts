import type { Hook } from '../ocispec/oci';

export type HookKind = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';

function envOf(list: readonly string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of list ?? []) {
    const i = e.indexOf('=');
    if (i > 0) env[e.slice(0, i)] = e.slice(i + 1);
  }
  return env;
}

/** Names the field and says it in runc's words, which scripts grep ("error running prestart hook #1:"). */
function failure(kind: HookKind, i: number, h: Hook, err: string): string {
  return `hooks.${kind}[${i}]: error running ${kind} hook #${i}: ${h.path}: ${err}`;
}

/**
 * Runs one kind of hook in order, each with the container's state on stdin, its args and its
 * timeout. A hook's env is exactly its own; a hook without env gets the environment of whoever
 * runs it (as runc: the runtime's, and for startContainer the container process's), given as
 * inherited. Throws on the first failure (for poststart and poststop use runHooksWarn).
 */
export function runHooks(
  kind: HookKind,
  hooks: readonly Hook[] | undefined,
  state: object,
  inherited: NodeJS.ProcessEnv = process.env,
): void {
  (hooks ?? []).forEach((h, i) => {
    const err = runOne(h, state, inherited);
    if (err) throw new Error(failure(kind, i, h, err));
  });
}

/** Every hook runs; failures come back as warnings. */
export function runHooksWarn(kind: HookKind, hooks: readonly Hook[] | undefined, state: object, warn: (m: string) => void): void {
  (hooks ?? []).forEach((h, i) => {
    const err = runOne(h, state, process.env);
    if (err) warn(failure(kind, i, h, err));
  });
}

function runOne(h: Hook, state: object, inherited: NodeJS.ProcessEnv): string | undefined {
  const args = h.args?.length ? h.args : [h.path];
  // Loaded here, not at the top: a builtin needs no file (this runs after pivot_root too), and
  // commands without hooks do not pay for it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { spawnSync } = require('child_process') as typeof import('child_process');
  const r = spawnSync(h.path, args.slice(1), {
    argv0: args[0],
    env: h.env ? envOf(h.env) : inherited,
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
