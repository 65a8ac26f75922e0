import { ConfigError } from '../sys/errors';
import { buildProcess, fillZeroDefaults, stringWithNul } from './load';
import { schemaProblems } from '../ocispec/validate';
import type { ProcessConfig } from '../ocispec/config';
import type { Process } from '../ocispec/oci';

/**
 * An OCI process for exec (runc's --process, or the library's exec), validated in config.json's
 * frame; what it leaves out is taken from the container's own process, as runc does:
 * capabilities, rlimits, no_new_privs, the AppArmor profile, the umask, scheduler, I/O priority
 * and CPU affinity. `where` names the input in messages, `field` its fields.
 */
export function execProcess(
  proc: unknown,
  where: string,
  warn: (m: string) => void,
  base: ProcessConfig | undefined,
  field = '--process',
): ProcessConfig {
  const frame = { ociVersion: '1.0.0', root: { path: '/' }, process: proc };
  fillZeroDefaults(frame);
  const nul = stringWithNul(proc, '');
  if (nul) throw new ConfigError(`${where}: ${nul}: contains a NUL byte`);
  const problems = schemaProblems('config', frame);
  if (problems.length) throw new ConfigError(`${where} is invalid: ${problems.join('; ').replace(/\/process/g, '')}`);
  const raw = proc as Process;
  const p = buildProcess(raw, field, warn);
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
