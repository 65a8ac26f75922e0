// @ts-check
// Reproducible mutations of a valid config.json for the fuzz campaign (fuzz.js). Each mutation
// edits the config in place and says what it did. What they may produce is chosen so that no
// outcome can harm the host even if the runtime did exactly as told: no host namespace of the
// same type to join, no bind source outside the bundle, no remount (it would change a host
// superblock), no hook or program from the host, no host network device.
'use strict';

const JUNK = ['x', '', 7, -1, 0, 1.5, true, false, null, [], {}, ['x'], { a: 1 }, 'a'.repeat(5000)];
const NUMBERS = [-1, -2147483649, 2147483648, 4294967295, 4294967296, 2 ** 53, 1e308, 0, 0.5, -0.0, 65536, 1];
const BAD_PATHS = [
  '',
  'relative',
  '../../../../etc',
  '/a/../../../etc',
  '/proc/self/fd/3',
  '/proc/self',
  '/proc/1/root',
  '/dev/null',
  '/sys',
  '/.',
  '//x//y/',
  `/${'d'.repeat(300)}`,
  `/${'x/'.repeat(2100)}`,
  '/tmp/\u0000x',
  '/..',
  '/ with space',
  '/dev/console',
  '/proc/sys/kernel/core_pattern',
];
const OPTIONS = [
  'foo',
  'size=-1',
  'size=99999999999999999999',
  'mode=99999',
  'mode=abc',
  'bind',
  'rbind',
  'ro',
  'rw',
  'nosuid',
  'noexec',
  'nodev',
  'strictatime',
  'noatime',
  'idmap',
  'ridmap',
  'rro',
  'rnosuid',
  'tmpcopyup',
  'rshared',
  'private',
  'rslave',
  'unbindable',
  'uid=1000',
  'gid=-5',
  'nr_inodes=0',
  'x-foo',
  '',
  ',',
  'ro,rw',
  'data=ordered',
  'newinstance',
  'ptmxmode=9999',
  'lazytime',
  'nosymfollow',
  'dirsync',
  'mand',
  'sync',
  'async',
  'silent',
  'loud',
  'iversion',
  'norelatime',
  'recursive',
];
const MOUNT_TYPES = ['tmpfs', 'bind', 'proc', 'sysfs', 'cgroup', 'cgroup2', 'devpts', 'mqueue', 'nonsense', 'overlay', '', 'ext4', 'none'];
// bind sources: inside the bundle (relative to it) or not there at all
const BIND_SOURCES = [
  'rootfs/bin',
  'rootfs/etc/passwd',
  'rootfs',
  'rootfs/nonexistent',
  '/nonexistent/x',
  'config.json',
  'rootfs/dev',
  'rootfs/proc',
  '',
];
const DESTINATIONS = [
  '/mnt',
  '/mnt/a/b',
  '/etc/passwd',
  '/proc',
  '/proc/self',
  '/proc/sys',
  '/proc/cpuinfo',
  '/sys',
  '/sys/fs/cgroup',
  '/dev',
  '/dev/null',
  '/dev/pts',
  'relative',
  '/',
  '/bin/sh',
  '../../escape',
  '/tmp/../..',
  '/dev/shm',
];
const NS_TYPES = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time', 'bogus'];
const NS_FILES = { pid: 'pid', network: 'net', mount: 'mnt', ipc: 'ipc', uts: 'uts', user: 'user', cgroup: 'cgroup', time: 'time' };
const RLIMITS = [
  'RLIMIT_NOFILE',
  'RLIMIT_NPROC',
  'RLIMIT_CORE',
  'RLIMIT_FOO',
  'rlimit_nofile',
  '',
  'RLIMIT_AS',
  'RLIMIT_STACK',
  'RLIMIT_RTPRIO',
];
const CAPS = ['CAP_SYS_ADMIN', 'CAP_FOO', 'cap_chown', '', 'CAP_NET_RAW', 'SYS_ADMIN', 'CAP_LAST_CAP', 'CAP_CHECKPOINT_RESTORE', 'CAP_BPF'];
const SECCOMP_ACTIONS = [
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_KILL',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_LOG',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_NOTIFY',
  'SCMP_ACT_FOO',
  '',
];
const SECCOMP_OPS = [
  'SCMP_CMP_EQ',
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_GT',
  'SCMP_CMP_GE',
  'SCMP_CMP_MASKED_EQ',
  'SCMP_CMP_FOO',
];
const SYSCALLS = ['getpid', 'write', 'read', 'execve', 'nonexistent_syscall', '', 'mkdir', 'clone3', 'openat', 'exit_group', 'close_range'];
const ARCHES = ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_FOO', 'SCMP_ARCH_X32', 'SCMP_ARCH_MIPS'];
const CGROUPS_PATHS = [
  '../../x',
  '/../x',
  'a/../../b',
  '/tsrunc-fuzz/../../etc',
  'x:y:z',
  'system.slice:x:y',
  'relative/path',
  '/tsrunc-fuzz/a/b/c',
  '/tsrunc-fuzz\u0000x',
  '/tsrunc-fuzz/./.',
  `/${'c'.repeat(300)}`,
  ':',
  '/tsrunc-fuzz/cgroup.procs',
  '/tsrunc-fuzz//x',
];
const SYSCTLS = [
  'net.ipv4.nonexistent',
  '../../x',
  'kernel.panic',
  'fs.mqueue.queues_max',
  'net.ipv4.ip_forward',
  '',
  'kernel/../..',
  'kernel.shm_rmid_forced',
  'net.core.somaxconn',
];
const SYSCTL_VALUES = ['abc', '', '-1', '99999999999999999999', '1', '1\n2', '\u0000'];

/** Every JSON path in a value, as arrays of keys. */
function paths(v, at = [], out = []) {
  out.push(at);
  if (v && typeof v === 'object') for (const k of Object.keys(v)) paths(v[k], [...at, Array.isArray(v) ? Number(k) : k], out);
  return out;
}

function get(obj, p) {
  return p.reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

function set(obj, p, val) {
  const parent = get(obj, p.slice(0, -1));
  if (parent && typeof parent === 'object') parent[p[p.length - 1]] = val;
}

const show = (p) =>
  p
    .map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`))
    .join('')
    .replace(/^\./, '') || '(root)';
const linux = (c) => (c.linux ??= {});
const withoutUser = (c) => !linux(c).namespaces?.some((n) => n.type === 'user');

/** @type {[string, (r: any, c: any) => string][]} */
const MUTATIONS = [
  [
    'a value of another type',
    (r, c) => {
      const p = r.pick(paths(c).filter((x) => x.length > 0));
      const v = r.pick(JUNK);
      set(c, p, structuredClone(v));
      return `${show(p)} = ${JSON.stringify(v).slice(0, 30)}`;
    },
  ],
  [
    'a field removed',
    (r, c) => {
      const p = r.pick(paths(c).filter((x) => x.length > 0));
      const parent = get(c, p.slice(0, -1));
      if (Array.isArray(parent)) parent.splice(/** @type {number} */ (p[p.length - 1]), 1);
      else delete parent[p[p.length - 1]];
      return `${show(p)} removed`;
    },
  ],
  [
    'a number out of range',
    (r, c) => {
      const nums = paths(c).filter((x) => typeof get(c, x) === 'number');
      const p = nums.length ? r.pick(nums) : ['process', 'user', 'uid'];
      const v = r.pick(NUMBERS);
      set(c, p, v);
      return `${show(p)} = ${v}`;
    },
  ],
  [
    'a bad path',
    (r, c) => {
      const choices = [
        ['process', 'cwd'],
        ['root', 'path'],
        ['linux', 'cgroupsPath'],
      ];
      (c.mounts ?? []).forEach((_m, i) => choices.push(['mounts', i, 'destination'], ['mounts', i, 'source']));
      (linux(c).maskedPaths ?? []).forEach((_m, i) => choices.push(['linux', 'maskedPaths', i]));
      (linux(c).readonlyPaths ?? []).forEach((_m, i) => choices.push(['linux', 'readonlyPaths', i]));
      const p = r.pick(choices);
      // a bind's source stays inside the bundle or nowhere
      const v = p[0] === 'mounts' && p[2] === 'source' ? r.pick(BIND_SOURCES) : r.pick(BAD_PATHS);
      set(c, p, v);
      return `${show(p)} = ${JSON.stringify(v).slice(0, 40)}`;
    },
  ],
  [
    'a namespace twice',
    (r, c) => {
      const nss = linux(c).namespaces ?? (linux(c).namespaces = []);
      const ns = nss.length ? structuredClone(r.pick(nss)) : { type: 'pid' };
      nss.push(ns);
      return `linux.namespaces += ${JSON.stringify(ns)}`;
    },
  ],
  [
    'a namespace path that is wrong',
    (r, c) => {
      const nss = linux(c).namespaces ?? (linux(c).namespaces = []);
      const type = r.pick(NS_TYPES);
      // never the host's namespace of that type: always one of another type, or none at all
      const other = r.pick(Object.keys(NS_FILES).filter((t) => t !== type));
      const p = r.pick([
        `/proc/self/ns/${NS_FILES[other]}`,
        '/nonexistent',
        'relative',
        '/dev/null',
        '',
        `/proc/self/ns/${NS_FILES[other]}\u0000`,
      ]);
      const i = nss.findIndex((n) => n.type === type);
      if (i >= 0) nss[i] = { type, path: p };
      else nss.push({ type, path: p });
      return `linux.namespaces ${type} path = ${JSON.stringify(p)}`;
    },
  ],
  [
    'bogus mount options',
    (r, c) => {
      c.mounts ??= [];
      let i = r.int(c.mounts.length + 1);
      if (i === c.mounts.length) c.mounts.push({ destination: '/mnt', type: 'tmpfs', source: 'tmpfs', options: [] });
      const m = c.mounts[i];
      if (!Array.isArray(m.options)) m.options = [];
      const added = [];
      for (let n = 1 + r.int(3); n > 0; n--) added.push(r.pick(OPTIONS));
      m.options.push(...added);
      // a bind gets a source in the bundle: an option may have made it one
      if (added.some((o) => /bind/.test(o)) || m.type === 'bind') m.source = r.pick(BIND_SOURCES);
      return `mounts[${i}].options += ${JSON.stringify(added)}`;
    },
  ],
  [
    'a new mount',
    (r, c) => {
      const type = r.pick(MOUNT_TYPES);
      const m = {
        destination: r.pick(DESTINATIONS),
        type,
        source: type === 'bind' ? r.pick(BIND_SOURCES) : r.pick([type, 'none', '']),
        options: [],
      };
      if (type === 'bind' || r.chance(0.2)) {
        m.options.push(r.pick(['bind', 'rbind']));
        m.source = r.pick(BIND_SOURCES);
      }
      if (r.chance(0.5)) m.options.push(r.pick(OPTIONS));
      (c.mounts ??= []).push(m);
      return `mounts += ${JSON.stringify(m)}`;
    },
  ],
  [
    'invalid rlimits',
    (r, c) => {
      const rl = { type: r.pick(RLIMITS), soft: r.pick(NUMBERS), hard: r.pick(NUMBERS) };
      (c.process.rlimits ??= []).push(rl);
      return `process.rlimits += ${JSON.stringify(rl)}`;
    },
  ],
  [
    'a seccomp profile',
    (r, c) => {
      const sc = { defaultAction: r.pick(SECCOMP_ACTIONS), architectures: r.chance(0.5) ? [r.pick(ARCHES)] : undefined, syscalls: [] };
      if (r.chance(0.3)) sc.defaultErrnoRet = r.pick(NUMBERS);
      if (r.chance(0.2))
        sc.flags = [
          r.pick(['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_FOO', 'SECCOMP_FILTER_FLAG_TSYNC']),
        ];
      if (r.chance(0.2)) sc.listenerPath = r.pick(['relative', '/nonexistent/sock', '']);
      for (let n = r.int(4); n > 0; n--) {
        const rule = { names: [r.pick(SYSCALLS)], action: r.pick(SECCOMP_ACTIONS) };
        if (r.chance(0.3)) rule.errnoRet = r.pick(NUMBERS);
        if (r.chance(0.3))
          rule.args = [{ index: r.pick([0, 1, 5, 6, -1]), value: r.pick(NUMBERS), valueTwo: r.pick(NUMBERS), op: r.pick(SECCOMP_OPS) }];
        sc.syscalls.push(rule);
      }
      // a profile that kills what init needs is fine: the program must just fail to run, cleanly
      linux(c).seccomp = sc;
      return `linux.seccomp = ${JSON.stringify(sc).slice(0, 80)}`;
    },
  ],
  [
    'user namespace mappings',
    (r, c) => {
      const nss = linux(c).namespaces ?? (linux(c).namespaces = []);
      if (withoutUser(c)) nss.push({ type: 'user' });
      const map = () => ({
        containerID: r.pick([0, 0, 1, 1000, -1, 4294967295]),
        hostID: r.pick([100000, 0, 4294967295, -5, 2 ** 31]),
        size: r.pick([65536, 1, 0, -1, 4294967295, 2 ** 32]),
      });
      const maps = [map()];
      if (r.chance(0.3)) maps.push(map());
      linux(c).uidMappings = maps;
      linux(c).gidMappings = r.chance(0.5) ? structuredClone(maps) : [map()];
      return `userns uidMappings = ${JSON.stringify(maps)}`;
    },
  ],
  [
    'a cgroupsPath escape',
    (r, c) => {
      const p = r.pick(CGROUPS_PATHS);
      linux(c).cgroupsPath = p;
      return `linux.cgroupsPath = ${JSON.stringify(p)}`;
    },
  ],
  [
    'a NUL in a string',
    (r, c) => {
      const strs = paths(c).filter((x) => typeof get(c, x) === 'string');
      const p = r.pick(strs);
      const s = get(c, p);
      const at = r.int(s.length + 1);
      set(c, p, `${s.slice(0, at)}\u0000${s.slice(at)}`);
      return `NUL in ${show(p)}`;
    },
  ],
  [
    'odd resources',
    (r, c) => {
      const res = (linux(c).resources ??= {});
      const pick = r.int(9);
      if (pick === 0) res.memory = { limit: r.pick(NUMBERS), reservation: r.pick(NUMBERS), swap: r.pick(NUMBERS) };
      if (pick === 1)
        res.cpu = {
          shares: r.pick(NUMBERS),
          quota: r.pick(NUMBERS),
          period: r.pick(NUMBERS),
          cpus: r.pick(['0', '0-1000', 'x', '', '1-0']),
          mems: r.pick(['0', '5', 'x']),
        };
      if (pick === 2) res.pids = { limit: r.pick(NUMBERS) };
      if (pick === 3)
        res.blockIO = { weight: r.pick(NUMBERS), weightDevice: [{ major: r.pick(NUMBERS), minor: 0, weight: r.pick(NUMBERS) }] };
      if (pick === 4) res.hugepageLimits = [{ pageSize: r.pick(['2MB', '1GB', 'xx', '']), limit: r.pick(NUMBERS) }];
      if (pick === 5)
        res.devices = [
          {
            allow: r.pick([true, false]),
            type: r.pick(['a', 'b', 'c', 'x', '']),
            major: r.pick(NUMBERS),
            minor: r.pick(NUMBERS),
            access: r.pick(['rwm', 'q', '', 'rrr']),
          },
        ];
      if (pick === 6)
        res.unified = {
          [r.pick(['memory.max', 'cgroup.procs', '../x', 'cgroup.subtree_control', 'nonexistent.file', ''])]: r.pick([
            '1',
            'max',
            '',
            'abc',
          ]),
        };
      if (pick === 7)
        res.network = { classID: r.pick(NUMBERS), priorities: [{ name: r.pick(['eth0', '', '../x']), priority: r.pick(NUMBERS) }] };
      if (pick === 8) res.rdma = { [r.pick(['mlx5_0', ''])]: { hcaHandles: r.pick(NUMBERS), hcaObjects: r.pick(NUMBERS) } };
      return `linux.resources = ${JSON.stringify(res).slice(0, 80)}`;
    },
  ],
  [
    'odd capabilities',
    (r, c) => {
      const caps = (c.process.capabilities ??= {});
      const set_ = r.pick(['bounding', 'effective', 'permitted', 'inheritable', 'ambient']);
      (caps[set_] ??= []).push(r.pick(CAPS));
      return `process.capabilities.${set_} += one`;
    },
  ],
  [
    'an odd device',
    (r, c) => {
      const d = {
        path: r.pick(['/dev/fuzz', '/dev/null', 'relative', '/dev/../etc/x', '/dev/pts/x', '/proc/x', '/dev/a/b/c', '/dev/console']),
        type: r.pick(['c', 'b', 'u', 'p', 'x', '']),
        major: r.pick([1, 0, -1, 4294967296, 1 << 20]),
        minor: r.pick([3, 0, -1, 1 << 21]),
      };
      if (r.chance(0.5)) d.fileMode = r.pick([0o666, 0o7777, -1, 99999]);
      if (r.chance(0.3)) d.uid = r.pick(NUMBERS);
      (linux(c).devices ??= []).push(d);
      return `linux.devices += ${JSON.stringify(d)}`;
    },
  ],
  [
    'an odd sysctl',
    (r, c) => {
      const k = r.pick(SYSCTLS);
      linux(c).sysctl = { ...(linux(c).sysctl ?? {}), [k]: r.pick(SYSCTL_VALUES) };
      return `linux.sysctl[${JSON.stringify(k)}]`;
    },
  ],
  [
    'odd hooks',
    (r, c) => {
      const kind = r.pick(['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop', 'bogus']);
      const h = {
        path: r.pick(['/nonexistent', 'relative', '', '/bin/true', '/bin/false']),
        args: r.pick([undefined, [], ['x'], ['true']]),
      };
      if (r.chance(0.4)) h.timeout = r.pick([0, -1, 1, 2 ** 31]);
      if (r.chance(0.2)) h.env = r.pick([['=x'], ['A'], ['A=\u0000']]);
      c.hooks = { ...(c.hooks ?? {}), [kind]: [h] };
      return `hooks.${kind} = ${JSON.stringify(h)}`;
    },
  ],
  [
    'an odd user',
    (r, c) => {
      const pick = r.int(4);
      if (pick === 0) c.process.user = { uid: r.pick(NUMBERS), gid: r.pick(NUMBERS) };
      if (pick === 1) c.process.user.additionalGids = [r.pick(NUMBERS), r.pick(NUMBERS)];
      if (pick === 2) c.process.user.umask = r.pick(NUMBERS);
      if (pick === 3) c.process.user.username = r.pick(['root', 'nobody', '', 'x\u0000']);
      return `process.user = ${JSON.stringify(c.process.user)}`;
    },
  ],
  [
    'odd linux settings',
    (r, c) => {
      const l = linux(c);
      const pick = r.int(10);
      if (pick === 0) l.rootfsPropagation = r.pick(['shared', 'rshared', 'slave', 'private', 'bogus', '', 'unbindable']);
      if (pick === 1) l.personality = { domain: r.pick(['LINUX', 'LINUX32', 'BOGUS', '']), flags: r.pick([undefined, ['X'], []]) };
      if (pick === 2)
        l.timeOffsets = { [r.pick(['monotonic', 'boottime', 'realtime', ''])]: { secs: r.pick(NUMBERS), nanosecs: r.pick(NUMBERS) } };
      // names that no host device has: the runtime must refuse them without touching the host
      if (pick === 3)
        l.netDevices = {
          [r.pick(['tsrfuzz0', '../x', '', 'a'.repeat(20), 'lo/x', ' '])]: { name: r.pick([undefined, 'eth9', '', '../y']) },
        };
      if (pick === 4)
        l.memoryPolicy = {
          mode: r.pick(['MPOL_BIND', 'MPOL_DEFAULT', 'MPOL_FOO', '']),
          nodes: r.pick(['0', '0-1000', 'x', '']),
          flags: r.pick([undefined, ['MPOL_F_STATIC_NODES'], ['X']]),
        };
      if (pick === 5) l.intelRdt = { closID: r.pick(['x', '', '../y']), l3CacheSchema: 'L3:0=f' };
      if (pick === 6) l.mountLabel = r.pick(['system_u:object_r:x', '', 'x\u0000']);
      if (pick === 7)
        c.process.ioPriority = {
          class: r.pick(['IOPRIO_CLASS_RT', 'IOPRIO_CLASS_BE', 'IOPRIO_CLASS_IDLE', 'X']),
          priority: r.pick(NUMBERS),
        };
      if (pick === 8)
        c.process.scheduler = {
          policy: r.pick(['SCHED_OTHER', 'SCHED_FIFO', 'SCHED_DEADLINE', 'SCHED_FOO']),
          priority: r.pick(NUMBERS),
          nice: r.pick(NUMBERS),
        };
      if (pick === 9) c.process.execCPUAffinity = { initial: r.pick(['0', '0-1000', 'x', '']), final: r.pick(['0', '1', '', '5-2']) };
      return `linux setting ${pick}`;
    },
  ],
  [
    'odd identity strings',
    (r, c) => {
      const pick = r.int(4);
      if (pick === 0) c.hostname = r.pick(['', 'a'.repeat(100), 'x\u0000', 'ok']);
      if (pick === 1) c.domainname = r.pick(['', 'a'.repeat(100), 'ok']);
      if (pick === 2) c.ociVersion = r.pick(['', '0.0.1', '9.9.9', 'invalid', '1.0.0-rc1']);
      if (pick === 3) c.annotations = { [r.pick(['', 'org.x', 'x'.repeat(1000)])]: r.pick(['', 'v', 7]) };
      return `identity ${pick}`;
    },
  ],
  [
    'an odd process',
    (r, c) => {
      const pick = r.int(5);
      if (pick === 0)
        c.process.args = r.pick([
          [],
          [''],
          ['/nonexistent'],
          ['sleep', '30'],
          ['sh', '-c', 'exit 3'],
          ['/dev/null'],
          ['/etc'],
          ['relative/x'],
        ]);
      if (pick === 1) c.process.env = r.pick([['=x'], ['A'], [''], ['A=1', 'A=2'], ['PATH='], [7]]);
      if (pick === 2) c.process.terminal = true; // without a console socket
      if (pick === 3) c.process.consoleSize = { height: r.pick(NUMBERS), width: r.pick(NUMBERS) };
      if (pick === 4) c.process.oomScoreAdj = r.pick([-1001, 1001, 1000, -1000, 0.5]);
      return `process ${pick}: ${JSON.stringify(c.process.args)}`;
    },
  ],
  [
    'odd masked and read-only paths',
    (r, c) => {
      const key = r.pick(['maskedPaths', 'readonlyPaths']);
      const p = r.pick([...BAD_PATHS, '/proc/kcore', '/etc', '/', '/dev/null', '/nonexistent', '/proc/self/exe']);
      (linux(c)[key] ??= []).push(p);
      return `linux.${key} += ${JSON.stringify(p).slice(0, 40)}`;
    },
  ],
];

/**
 * The config for case n of a campaign with this seed: 1 to 3 mutations of the base.
 * @returns {{ config: any, what: string[] }}
 */
function mutate(base, r) {
  const config = structuredClone(base);
  const what = [];
  for (let n = 1 + r.int(3); n > 0; n--) {
    const [name, fn] = r.pick(MUTATIONS);
    try {
      what.push(`${name}: ${fn(r, config)}`);
    } catch {
      what.push(`${name}: (did not apply)`);
    }
    if (!config.process || typeof config.process !== 'object') break;
  }
  return { config, what };
}

module.exports = { mutate, MUTATIONS };
