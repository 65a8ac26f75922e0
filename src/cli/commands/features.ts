import type { CommandContext } from '../context';
import { out } from '../../util/log';
import { CAPABILITIES } from '../../security/capabilities';
import { OCI_VERSION } from '../../ocispec/oci';
import { RECURSIVE_OPTION_NAMES } from '../../rootfs/mount-options';
import { MEMORY_POLICY_FLAGS, MEMORY_POLICY_MODES } from '../../ocispec/process-attrs';

/** The runtime-spec features document: only what tsrunc really does. */
export function run(_ctx: CommandContext): number {
  const doc = {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: [
      'async',
      'atime',
      'bind',
      'defaults',
      'dev',
      'diratime',
      'dirsync',
      'exec',
      'lazytime',
      'loud',
      'mand',
      'noatime',
      'nodev',
      'nodiratime',
      'noexec',
      'nolazytime',
      'nomand',
      'norelatime',
      'nostrictatime',
      'nosuid',
      'nosymfollow',
      'private',
      'rbind',
      'relatime',
      'remount',
      'ro',
      'rprivate',
      'rshared',
      'rslave',
      'runbindable',
      'rw',
      'shared',
      'silent',
      'slave',
      'strictatime',
      'suid',
      'symfollow',
      'sync',
      'unbindable',
      'idmap',
      'ridmap',
      'tmpcopyup',
      ...RECURSIVE_OPTION_NAMES,
    ],
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts'],
      capabilities: CAPABILITIES,
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: true },
      seccomp: {
        enabled: true,
        actions: [
          'SCMP_ACT_ALLOW',
          'SCMP_ACT_ERRNO',
          'SCMP_ACT_KILL',
          'SCMP_ACT_KILL_PROCESS',
          'SCMP_ACT_KILL_THREAD',
          'SCMP_ACT_LOG',
          'SCMP_ACT_NOTIFY',
          'SCMP_ACT_TRACE',
          'SCMP_ACT_TRAP',
        ],
        operators: ['SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_LE', 'SCMP_CMP_LT', 'SCMP_CMP_MASKED_EQ', 'SCMP_CMP_NE'],
        archs: ['SCMP_ARCH_X32', 'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64'],
        knownFlags: [
          'SECCOMP_FILTER_FLAG_LOG',
          'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
          'SECCOMP_FILTER_FLAG_TSYNC',
          'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
        ],
        supportedFlags: [
          'SECCOMP_FILTER_FLAG_LOG',
          'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
          'SECCOMP_FILTER_FLAG_TSYNC',
          'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
        ],
      },
      apparmor: { enabled: true },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: true } },
      memoryPolicy: { modes: MEMORY_POLICY_MODES, flags: MEMORY_POLICY_FLAGS },
    },
    annotations: { 'org.opencontainers.runtime-spec.features.runtime': 'tsrunc' },
  };
  out(JSON.stringify(doc, null, 2) + '\n');
  return 0;
}
