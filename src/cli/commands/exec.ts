import { appArmorEnabled } from '../../security/apparmor';
import * as fs from 'fs';
import type { CommandContext } from '../context';
import { str } from '../context';
import { UserError } from '../../sys/errors';
import { execInContainer } from '../../container/exec';
import { buildProcess, fillZeroDefaults, stringWithNul } from '../../spec/load';
import { schemaProblems } from '../../spec/validate';
import { CAPABILITIES } from '../../security/capabilities';
import type { ProcessConfig } from '../../spec/config';
import type { Process } from '../../spec/oci';

function list(v: unknown): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];
}

/**
 * A process.json, with what it leaves out taken from the container's process as runc does:
 * capabilities, rlimits, no_new_privs, the AppArmor profile and the umask.
 */
function fromFile(file: string, warn: (m: string) => void, base: ProcessConfig | undefined): ProcessConfig {
  let proc: unknown;
  try {
    proc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`--process ${file}: ${(e as Error).message}`);
  }
  // The process schema is part of config.json's: validate it in that frame.
  const frame = { ociVersion: '1.0.0', root: { path: '/' }, process: proc };
  fillZeroDefaults(frame);
  const nul = stringWithNul(proc, '');
  if (nul) throw new UserError(`--process ${file}: ${nul}: contains a NUL byte`);
  const problems = schemaProblems('config', frame);
  if (problems.length) throw new UserError(`--process ${file} is invalid: ${problems.join('; ').replace(/\/process/g, '')}`);
  const raw = proc as Process;
  const p = buildProcess(raw, '--process', warn);
  if (!base) return p;
  return {
    ...p,
    capabilities: raw.capabilities === undefined ? base.capabilities : p.capabilities,
    rlimits: raw.rlimits === undefined ? base.rlimits : p.rlimits,
    noNewPrivileges: raw.noNewPrivileges === undefined ? base.noNewPrivileges : p.noNewPrivileges,
    apparmorProfile: raw.apparmorProfile === undefined ? base.apparmorProfile : p.apparmorProfile,
    umask: raw.user?.umask === undefined ? base.umask : p.umask,
    scheduler: raw.scheduler === undefined ? base.scheduler : p.scheduler,
    ioPriority: raw.ioPriority === undefined ? base.ioPriority : p.ioPriority,
    cpuAffinity: raw.execCPUAffinity === undefined ? base.cpuAffinity : p.cpuAffinity,
  };
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
    log: ctx.log,
  });
}
