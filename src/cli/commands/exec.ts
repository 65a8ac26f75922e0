import { appArmorEnabled } from '../../security/apparmor';
import fs = require('fs');
import type { CommandContext } from '../context';
import { str } from '../context';
import { UserError } from '../../sys/errors';
import { execInContainer } from '../../container/exec';
import { execProcess } from '../../loader/exec-process';
import { CAPABILITIES } from '../../security/capabilities';
import type { ProcessConfig } from '../../ocispec/config';
import { libc } from '../../sys';

/** yargs gives a string, a number, or an array of them. */
function list(v: unknown): string[] {
  const one = (x: unknown) => (typeof x === 'string' ? x : JSON.stringify(x));
  return v === undefined ? [] : Array.isArray(v) ? v.map(one) : [one(v)];
}

/** A process.json: what it leaves out is taken from the container's process (loader/exec-process.ts). */
function fromFile(file: string, warn: (m: string) => void, base: ProcessConfig | undefined): ProcessConfig {
  let proc: unknown;
  try {
    proc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`--process ${file}: ${(e as Error).message}`);
  }
  return execProcess(proc, `--process ${file}`, warn, base);
}

/** runc's rules: the container's own process is the base; flags override it. */
function fromFlags(ctx: CommandContext, base: ProcessConfig | undefined): ProcessConfig {
  const a = ctx.args;
  const args = list(a.command);
  if (!args.length) throw new UserError('exec: a command (or --process) is required');
  const p: ProcessConfig = base
    ? { ...base, args, terminal: a.tty === true, consoleSize: undefined }
    : { args, env: [], cwd: '/', uid: 0, gid: 0, additionalGids: [], terminal: a.tty === true, rlimits: [], noNewPrivileges: false };
  const cwd = str(a, 'cwd');
  if (cwd !== undefined) {
    if (!cwd.startsWith('/')) throw new UserError(`--cwd "${cwd}": must be an absolute path`);
    p.cwd = cwd;
  }
  // Later values win (see prepareEnv): --env overrides the container's variable of the same name.
  p.env = [...p.env, ...list(a.env)];
  const user = str(a, 'user');
  if (user !== undefined) {
    const m = /^(\d+)(?::(\d+))?$/.exec(user);
    if (!m) throw new UserError(`--user "${user}": expected UID[:GID] (numeric)`);
    p.uid = Number(m[1]);
    p.gid = m[2] !== undefined ? Number(m[2]) : p.gid;
    // as for config.json: 4294967295 is (uid_t)-1, which set*id reads as "no change" (root stays root)
    if (p.uid > 0x7fffffff || p.gid > 0x7fffffff) throw new UserError(`--user "${user}": ids are 0-2147483647`);
  }
  const gids = list(a['additional-gids']);
  if (gids.length) {
    if (gids.some((g) => !/^\d+$/.test(g))) throw new UserError('--additional-gids: numeric group ids only');
    p.additionalGids = [...p.additionalGids, ...gids.map(Number)]; // runc appends to the container's
  }
  for (const cap of list(a.cap)) {
    const n = CAPABILITIES.indexOf(cap);
    if (n < 0) throw new UserError(`--cap: unknown capability "${cap}"`);
    const bit = 1n << BigInt(n);
    const c = p.capabilities ?? { bounding: 0n, effective: 0n, permitted: 0n, inheritable: 0n, ambient: 0n };
    // As runc: ambient too when the process has inheritable capabilities (it cannot be raised without).
    const ambient = c.inheritable & bit ? c.ambient | bit : c.ambient;
    p.capabilities = { ...c, bounding: c.bounding | bit, effective: c.effective | bit, permitted: c.permitted | bit, ambient };
  }
  if (typeof a['no-new-privs'] === 'boolean') p.noNewPrivileges = a['no-new-privs'];
  if (str(a, 'apparmor')) p.apparmorProfile = str(a, 'apparmor');
  return p;
}

export async function run(ctx: CommandContext): Promise<number> {
  const a = ctx.args;
  if (str(a, 'apparmor') && !appArmorEnabled()) throw new UserError('--apparmor: AppArmor is not enabled on this system');
  if (str(a, 'process-label')) throw new UserError('--process-label: SELinux is not enabled on this system');
  const file = str(a, 'process');
  return execInContainer({
    root: ctx.root,
    id: String(a['container-id']),
    process: (base) => (file ? fromFile(file, (m) => ctx.log.warn(m), base) : fromFlags(ctx, base)),
    detach: a.detach === true,
    ignorePaused: a['ignore-paused'] === true,
    subCgroups: list(a.cgroup),
    pidfdSocket: str(a, 'pidfd-socket'),
    pidFile: str(a, 'pid-file'),
    consoleSocket: str(a, 'console-socket'),
    preserveFds: Number(a['preserve-fds'] ?? 0),
    // one command, then this process exits: its process may be born by vfork
    vfork: true,
    log: ctx.log,
    sys: libc(),
  });
}
