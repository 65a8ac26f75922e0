// Real clients' seccomp profiles (test/data/seccomp), as the client turns them into linux.seccomp.
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import type { SeccompConfig, SeccompRule } from '../../src/security/seccomp';

export const PODMAN_DEFAULT = join(__dirname, '..', 'data', 'seccomp', 'podman-default.json');
export const DOCKER_DEFAULT = join(__dirname, '..', 'data', 'seccomp', 'docker-default.json');

/** One of runc's integration test profiles: already linux.seccomp. */
export function runcTestProfile(n: 1 | 2): SeccompConfig {
  return JSON.parse(
    fs.readFileSync(join(__dirname, '..', 'data', 'seccomp', `runc-seccomp_syscall_test${n}.json`), 'utf8'),
  ) as SeccompConfig;
}

/** containerd's RuntimeDefault for its default spec: already linux.seccomp. */
export function containerdRuntimeDefault(): SeccompConfig {
  return (
    JSON.parse(fs.readFileSync(join(__dirname, '..', 'data', 'seccomp', 'containerd-runtime-default.json'), 'utf8')) as {
      seccomp: SeccompConfig;
    }
  ).seccomp;
}

interface DockerRule extends SeccompRule {
  includes?: { caps?: string[]; arches?: string[]; minKernel?: string };
  excludes?: { caps?: string[]; arches?: string[] };
}

/** Whether this host's kernel is at least "major.minor". */
function kernelAtLeast(v: string): boolean {
  const [a, b] = os.release().split('.').map(Number);
  const [x, y] = v.split('.').map(Number);
  return a > x || (a === x && b >= y);
}

/**
 * What podman sends for a containers-format profile on amd64 with its default capabilities:
 * the rules whose includes hold and excludes do not, the architecture with its sub-architectures.
 */
export function forContainer(file: string, caps: string[]): SeccompConfig {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    defaultAction: string;
    defaultErrnoRet?: number;
    archMap: { architecture: string; subArchitectures: string[] }[];
    syscalls: DockerRule[];
  };
  const arch = p.archMap.find((m) => m.architecture === 'SCMP_ARCH_X86_64')!;
  const ok = (r: DockerRule): boolean =>
    (!r.includes?.arches?.length || r.includes.arches.includes('amd64')) &&
    (r.includes?.caps ?? []).every((c) => caps.includes(c)) &&
    (!r.includes?.minKernel || kernelAtLeast(r.includes.minKernel)) &&
    !(r.excludes?.arches ?? []).includes('amd64') &&
    !(r.excludes?.caps ?? []).some((c) => caps.includes(c));
  return {
    defaultAction: p.defaultAction,
    defaultErrnoRet: p.defaultErrnoRet,
    architectures: [arch.architecture, ...arch.subArchitectures],
    syscalls: p.syscalls.filter(ok).map((r) => ({ names: r.names, action: r.action, errnoRet: r.errnoRet, args: r.args ?? [] })),
  };
}

// Docker's default capabilities
export const DOCKER_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

// podman 4.3's default capabilities
export const PODMAN_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_NET_BIND_SERVICE',
  'CAP_SETFCAP',
  'CAP_SETGID',
  'CAP_SETPCAP',
  'CAP_SETUID',
  'CAP_SYS_CHROOT',
];
