import { existsSync } from 'fs';
import type { Spec } from './oci';
import { OCI_VERSION } from './oci';

/**
 * What `runc spec --rootless` changes: no network namespace, the caller's uid and gid mapped to
 * root in a user namespace, /sys bound instead of mounted, no uid=/gid= mount options (unmapped
 * ids), no resources.
 */
export function toRootless(spec: Spec, uid: number, gid: number): Spec {
  // Keys in runc's order (its Go struct's), so the file reads the same.
  const { resources: _dropped, namespaces, uidMappings: _u, gidMappings: _g, ...rest } = spec.linux ?? {};
  spec.linux = {
    uidMappings: [{ containerID: 0, hostID: uid, size: 1 }],
    gidMappings: [{ containerID: 0, hostID: gid, size: 1 }],
    namespaces: [...(namespaces ?? []).filter((n) => n.type !== 'user' && n.type !== 'network'), { type: 'user' }],
    ...rest,
  };
  spec.mounts = (spec.mounts ?? []).map((m) => {
    if (m.destination === '/sys')
      return { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
    if (!m.options) return m;
    return { ...m, options: m.options.filter((o) => !o.startsWith('gid=') && !o.startsWith('uid=')) };
  });
  return spec;
}

/**
 * The configuration `tsrunc spec` writes: `runc spec`'s (runc 1.1), field for field but for
 * ociVersion, since scripts written for runc start from it and edit it. Its ambient set is not in
 * the inheritable one, so those are dropped at start (quietly, as runc does). A cgroup namespace
 * only on a pure cgroup v2 host, as runc.
 */
export function defaultSpec(opts: { cgroupNamespace?: boolean } = {}): Spec {
  const cgroupNamespace = opts.cgroupNamespace ?? existsSync('/sys/fs/cgroup/cgroup.controllers');
  const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps], ambient: [...caps] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runc',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [
        { type: 'pid' },
        { type: 'network' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        ...(cgroupNamespace ? [{ type: 'cgroup' as const }] : []),
      ],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}
