/*
 * Tests for the generated OCI config/state validators (dist/validators.js,
 * built from schemas/*.json by scripts/build-validators.js). Run after
 * `npm run build`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { describe, expect, test } from '@jest/globals';
// Compiled to require('../../dist/validators'); typed by dist/validators.d.ts.
import { validateConfig, validateState } from '../../dist/validators';
import type { ValidationError } from '../../dist/validators';

type Validator = typeof validateConfig;

/** A config equivalent to what `runc spec` (runc 1.2) writes. */
function runcSpecConfig(): Record<string, any> {
  return {
    ociVersion: '1.2.0',
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        effective: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        permitted: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runc',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      {
        destination: '/sys/fs/cgroup',
        type: 'cgroup',
        source: 'cgroup',
        options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
      },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }],
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

/** Exercises (nearly) every field the v1.2 spec defines for Linux. */
function fullLinuxConfig(): Record<string, any> {
  const c = runcSpecConfig();
  c.domainname = 'example.test';
  c.annotations = { 'com.example.key1': 'value1', 'com.example.empty': '' };
  c.process = {
    ...c.process,
    consoleSize: { height: 25, width: 80 },
    user: { uid: 1, gid: 1, umask: 63, additionalGids: [5, 6] },
    capabilities: {
      ...c.process.capabilities,
      inheritable: ['CAP_KILL'],
      ambient: ['CAP_NET_BIND_SERVICE'],
    },
    rlimits: [
      { type: 'RLIMIT_CORE', hard: 1024, soft: 1024 },
      // RLIM_INFINITY as written by Go tooling: JSON.parse gives this same (imprecise) double.
      // eslint-disable-next-line no-loss-of-precision
      { type: 'RLIMIT_NOFILE', hard: 18446744073709551615, soft: 18446744073709551615 },
    ],
    apparmorProfile: 'acme_secure_profile',
    oomScoreAdj: -999,
    scheduler: {
      policy: 'SCHED_DEADLINE',
      nice: -5,
      priority: 0,
      flags: ['SCHED_FLAG_RESET_ON_FORK'],
      runtime: 10,
      deadline: 20,
      period: 30,
    },
    selinuxLabel: 'system_u:system_r:svirt_lxc_net_t:s0:c124,c675',
    ioPriority: { class: 'IOPRIO_CLASS_IDLE', priority: 4 },
    execCPUAffinity: { initial: '7', final: '0-3,7' },
  };
  c.mounts.push({
    destination: '/data',
    type: 'none',
    source: '/volumes/testing',
    options: ['rbind', 'rw', 'idmap'],
    uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
    gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
  });
  c.hooks = {
    prestart: [{ path: '/usr/bin/fix-mounts', args: ['fix-mounts', 'arg1'], env: ['key1=value1'] }],
    createRuntime: [{ path: '/usr/bin/setup-network' }],
    createContainer: [{ path: '/usr/bin/a' }],
    startContainer: [{ path: '/usr/bin/b' }],
    poststart: [{ path: '/usr/bin/notify-start', timeout: 5 }],
    poststop: [{ path: '/usr/sbin/cleanup.sh', args: ['cleanup.sh', '-f'] }],
  };
  c.linux = {
    ...c.linux,
    namespaces: [...c.linux.namespaces, { type: 'user' }, { type: 'time' }, { type: 'network', path: '/var/run/netns/neta' }],
    uidMappings: [{ containerID: 0, hostID: 1000, size: 32000 }],
    gidMappings: [{ containerID: 0, hostID: 1000, size: 32000 }],
    timeOffsets: { monotonic: { secs: 172800, nanosecs: 0 }, boottime: { secs: -604800 } },
    devices: [
      { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0 },
      { path: '/dev/sda', type: 'b', major: 8, minor: 0, fileMode: 432 },
      { path: '/dev/myfifo', type: 'p' },
    ],
    sysctl: { 'net.ipv4.ip_forward': '1' },
    cgroupsPath: '/myRuntime/myContainer',
    resources: {
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' },
      ],
      memory: {
        limit: 536870912,
        reservation: 536870912,
        swap: 536870912,
        kernel: -1,
        kernelTCP: -1,
        swappiness: 0,
        disableOOMKiller: false,
        useHierarchy: true,
        checkBeforeUpdate: true,
      },
      cpu: {
        shares: 1024,
        quota: 1000000,
        burst: 1000000,
        period: 500000,
        realtimeRuntime: 950000,
        realtimePeriod: 1000000,
        cpus: '2-3',
        mems: '0-7',
        idle: 1,
      },
      blockIO: {
        weight: 10,
        leafWeight: 10,
        weightDevice: [
          { major: 8, minor: 0, weight: 500, leafWeight: 300 },
          { major: 8, minor: 16, leafWeight: 500 },
        ],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 600 }],
        throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 600 }],
        throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 600 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 300 }],
      },
      hugepageLimits: [
        { pageSize: '2MB', limit: 9223372036854772000 },
        { pageSize: '64KB', limit: 1000000 },
      ],
      network: { classID: 1048577, priorities: [{ name: 'eth0', priority: 500 }] },
      pids: { limit: 32771 },
      rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 }, mlx4_0: { hcaObjects: 1000 } },
      unified: { 'io.max': '259:0 rbps=2097152 wiops=120', 'memory.high': 'max' },
    },
    intelRdt: {
      closID: 'guaranteed_group',
      l3CacheSchema: 'L3:0=7f0;1=1f',
      memBwSchema: 'MB:0=20;1=70',
      enableCMT: true,
      enableMBM: false,
    },
    seccomp: {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 1,
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
      listenerPath: '/run/seccomp-agent.sock',
      listenerMetadata: 'opaque',
      syscalls: [
        { names: ['getcwd', 'chmod'], action: 'SCMP_ACT_ALLOW' },
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, valueTwo: 0, op: 'SCMP_CMP_EQ' }] },
        { names: ['mount'], action: 'SCMP_ACT_NOTIFY', errnoRet: 38 },
      ],
    },
    rootfsPropagation: 'slave',
    mountLabel: 'system_u:object_r:svirt_sandbox_file_t:s0:c715,c811',
    personality: { domain: 'LINUX32', flags: [] },
  };
  return c;
}

function firstError(validate: Validator, data: unknown): ValidationError {
  expect(validate(data)).toBe(false);
  expect(validate.errors).toBeTruthy();
  expect(validate.errors!.length).toBeGreaterThan(0);
  return validate.errors![0];
}

/** Sets a value at a '/'-separated path (numeric segments index arrays). */
function withValue(obj: Record<string, any>, pointer: string, value: unknown): Record<string, any> {
  const parts = pointer.split('/').filter(Boolean);
  let cur: any = obj;
  for (const p of parts.slice(0, -1)) cur = cur[p];
  const last = parts[parts.length - 1];
  if (value === undefined) delete cur[last];
  else cur[last] = value;
  return obj;
}

describe('generated module', () => {
  test('exports the two validators as functions', () => {
    expect(typeof validateConfig).toBe('function');
    expect(typeof validateState).toBe('function');
  });

  test('requires nothing but ajv runtime helpers', () => {
    const src = fs.readFileSync(path.join(__dirname, '../../dist/validators.js'), 'utf8');
    const required = [...src.matchAll(/require\((["'])([^"']+)\1\)/g)].map((m) => m[2]);
    for (const r of required) expect(r).toMatch(/^ajv\/dist\/runtime\//);
  });
});

describe('validateConfig: valid documents', () => {
  test('a runc-spec style config passes', () => {
    const ok = validateConfig(runcSpecConfig());
    expect(validateConfig.errors ?? null).toBeNull();
    expect(ok).toBe(true);
  });

  test('a config using every v1.2 Linux field passes', () => {
    const ok = validateConfig(fullLinuxConfig());
    expect(validateConfig.errors ?? null).toBeNull();
    expect(ok).toBe(true);
  });

  test('unknown properties are ignored (forward compatibility)', () => {
    const c = runcSpecConfig();
    c.someFutureField = { x: 1 };
    c.process.someFutureProcessField = true;
    c.linux.netDevices = { eth0: { name: 'eth1' } };
    c.windows = { layerFolders: [] };
    expect(validateConfig(c)).toBe(true);
  });

  test('pre-release / build-metadata ociVersion is valid SemVer', () => {
    expect(validateConfig(withValue(runcSpecConfig(), 'ociVersion', '1.0.2-dev'))).toBe(true);
    expect(validateConfig(withValue(runcSpecConfig(), 'ociVersion', '1.2.0+build.7'))).toBe(true);
  });

  test('process is optional (only required at start)', () => {
    expect(validateConfig(withValue(runcSpecConfig(), 'process', undefined))).toBe(true);
  });

  test('runc-accepted recursive rootfsPropagation values pass', () => {
    for (const v of ['private', 'shared', 'slave', 'unbindable', 'rprivate', 'rshared', 'rslave', 'runbindable']) {
      expect(validateConfig(withValue(runcSpecConfig(), 'linux/rootfsPropagation', v))).toBe(true);
    }
  });
});

describe('validateConfig: invalid documents', () => {
  test('missing ociVersion is reported as a required-property error at the root', () => {
    const err = firstError(validateConfig, withValue(runcSpecConfig(), 'ociVersion', undefined));
    expect(err.instancePath).toBe('');
    expect(err.keyword).toBe('required');
    expect(err.params.missingProperty).toBe('ociVersion');
    expect(err.message).toContain('ociVersion');
  });

  test('namespace type "foo" is rejected at /linux/namespaces/0/type', () => {
    const err = firstError(validateConfig, withValue(runcSpecConfig(), 'linux/namespaces/0/type', 'foo'));
    expect(err.instancePath).toBe('/linux/namespaces/0/type');
    expect(err.keyword).toBe('enum');
    expect(err.params.allowedValues).toEqual(expect.arrayContaining(['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time']));
  });

  test('rlimit type without the RLIMIT_ prefix is rejected', () => {
    const err = firstError(validateConfig, withValue(runcSpecConfig(), 'process/rlimits/0/type', 'NOFILE'));
    expect(err.instancePath).toBe('/process/rlimits/0/type');
    expect(err.keyword).toBe('pattern');
  });

  test('a string where a uint32 is expected (process.user.uid "0") is rejected', () => {
    const err = firstError(validateConfig, withValue(runcSpecConfig(), 'process/user/uid', '0'));
    expect(err.instancePath).toBe('/process/user/uid');
    expect(err.keyword).toBe('type');
    expect(err.params.type).toBe('integer');
  });

  test.each<[string, string, unknown, string]>([
    ['ociVersion not SemVer', 'ociVersion', '1.0', 'pattern'],
    ['root missing', 'root', undefined, 'required'],
    ['root.path missing', 'root/path', undefined, 'required'],
    ['uid out of uint32 range', 'process/user/uid', 4294967296, 'maximum'],
    ['negative uid', 'process/user/uid', -1, 'minimum'],
    ['fractional gid', 'process/user/gid', 1.5, 'type'],
    ['cwd missing', 'process/cwd', undefined, 'required'],
    ['relative cwd', 'process/cwd', 'tmp', 'pattern'],
    ['empty args', 'process/args', [], 'minItems'],
    ['args missing', 'process/args', undefined, 'required'],
    ['terminal not boolean', 'process/terminal', 'yes', 'type'],
    ['rlimit soft missing', 'process/rlimits/0/soft', undefined, 'required'],
    ['negative rlimit', 'process/rlimits/0/hard', -1, 'minimum'],
    ['capabilities not array', 'process/capabilities/bounding', 'CAP_KILL', 'type'],
    ['env not array of strings', 'process/env', [1], 'type'],
    ['mount destination missing', 'mounts/0/destination', undefined, 'required'],
    ['mount options not array', 'mounts/1/options', 'nosuid', 'type'],
    ['uidMappings without gidMappings', 'mounts/0/uidMappings', [{ containerID: 0, hostID: 0, size: 1 }], 'dependencies'],
    ['namespace without type', 'linux/namespaces/0', { path: '/proc/1/ns/pid' }, 'required'],
    ['namespace relative path', 'linux/namespaces/0', { type: 'pid', path: 'proc/1/ns/pid' }, 'pattern'],
    ['device type x', 'linux/devices', [{ type: 'x', path: '/dev/x', major: 1, minor: 1 }], 'enum'],
    ['char device without major', 'linux/devices', [{ type: 'c', path: '/dev/x', minor: 1 }], 'required'],
    ['cgroup device rule without allow', 'linux/resources/devices/0', { access: 'rwm' }, 'required'],
    ['swappiness > 100', 'linux/resources/memory', { swappiness: 101 }, 'maximum'],
    ['pids without limit', 'linux/resources/pids', {}, 'required'],
    ['weightDevice without weights', 'linux/resources/blockIO', { weightDevice: [{ major: 8, minor: 0 }] }, 'anyOf'],
    ['hugepage size malformed', 'linux/resources/hugepageLimits', [{ pageSize: '2M', limit: 1 }], 'pattern'],
    // the spec's field is pageSize; runc's suite writes "pagesize", which runc reads only because
    // Go's JSON decoder matches keys case-insensitively (spec over runc: refused, naming the field)
    ['hugepage size spelled pagesize', 'linux/resources/hugepageLimits', [{ pagesize: '2MB', limit: 1 }], 'required'],
    ['rdma entry empty', 'linux/resources/rdma', { mlx5_1: {} }, 'anyOf'],
    ['unified value not string', 'linux/resources/unified', { 'pids.max': 10 }, 'type'],
    ['memBwSchema without MB:', 'linux/intelRdt', { memBwSchema: '0=20' }, 'pattern'],
    ['seccomp without defaultAction', 'linux/seccomp', { syscalls: [] }, 'required'],
    ['seccomp bad action', 'linux/seccomp', { defaultAction: 'SCMP_ACT_MAYBE' }, 'enum'],
    ['seccomp bad arch', 'linux/seccomp', { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_Z80'] }, 'enum'],
    [
      'seccomp empty names',
      'linux/seccomp',
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [], action: 'SCMP_ACT_ALLOW' }] },
      'minItems',
    ],
    ['seccomp metadata without listenerPath', 'linux/seccomp', { defaultAction: 'SCMP_ACT_ALLOW', listenerMetadata: 'x' }, 'dependencies'],
    [
      'seccomp arg bad op',
      'linux/seccomp',
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['a'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'EQ' }] }] },
      'enum',
    ],
    ['rootfsPropagation bogus', 'linux/rootfsPropagation', 'rbogus', 'enum'],
    ['maskedPaths relative', 'linux/maskedPaths', ['proc/kcore'], 'pattern'],
    ['sysctl value number', 'linux/sysctl', { 'net.ipv4.ip_forward': 1 }, 'type'],
    ['personality bad domain', 'linux/personality', { domain: 'BSD' }, 'enum'],
    ['uidMapping missing size', 'linux/uidMappings', [{ containerID: 0, hostID: 1000 }], 'required'],
    ['timeOffsets nanosecs negative', 'linux/timeOffsets', { monotonic: { nanosecs: -1 } }, 'minimum'],
    ['annotation value not string', 'annotations', { 'com.example': 1 }, 'type'],
    ['annotation empty key', 'annotations', { '': 'x' }, 'not'],
    ['hook without path', 'hooks', { poststart: [{ args: ['x'] }] }, 'required'],
    ['hook relative path', 'hooks', { createRuntime: [{ path: 'bin/hook' }] }, 'pattern'],
    ['hook zero timeout', 'hooks', { poststop: [{ path: '/bin/true', timeout: 0 }] }, 'minimum'],
    ['scheduler bad policy', 'process/scheduler', { policy: 'SCHED_FAST' }, 'enum'],
    ['ioPriority out of range', 'process/ioPriority', { class: 'IOPRIO_CLASS_BE', priority: 8 }, 'maximum'],
    ['ioPriority bad class', 'process/ioPriority', { class: 'IOPRIO_CLASS_NONE', priority: 0 }, 'enum'],
  ])('%s', (_name, pointer, value, keyword) => {
    const config = runcSpecConfig();
    // make sure intermediate objects exist for the pointer
    const parts = pointer.split('/');
    let cur: any = config;
    for (const p of parts.slice(0, -1)) cur = cur[p] ??= {};
    withValue(config, pointer, value);
    firstError(validateConfig, config);
    // For anyOf/if/propertyNames ajv lists the failing sub-schema's errors
    // before the combinator's own error, so look at all of them.
    expect(validateConfig.errors!.map((e) => e.keyword)).toContain(keyword);
    // The first error points into the part of the document that was changed.
    const parent = '/' + parts.slice(0, -1).join('/');
    expect(validateConfig.errors![0].instancePath.startsWith(parent === '/' ? '' : parent)).toBe(true);
  });

  test('non-object documents are rejected', () => {
    for (const doc of [null, 42, 'config', [], true]) {
      expect(firstError(validateConfig, doc).keyword).toBe('type');
    }
  });
});

describe('validateState', () => {
  const state = () => ({
    ociVersion: '1.2.0',
    id: 'oci-container1',
    status: 'running',
    pid: 4422,
    bundle: '/containers/redis',
    annotations: { myKey: 'myValue' },
  });

  test('a valid state passes', () => {
    const ok = validateState(state());
    expect(validateState.errors ?? null).toBeNull();
    expect(ok).toBe(true);
  });

  test.each(['creating', 'created', 'running', 'stopped', 'paused'])('status %s is accepted', (status) => {
    expect(validateState({ ...state(), status })).toBe(true);
  });

  test('stopped/creating states may omit pid, extra properties are allowed', () => {
    const { pid: _pid, ...rest } = state();
    expect(validateState({ ...rest, status: 'stopped' })).toBe(true);
    expect(validateState({ ...rest, status: 'creating', rootless: false })).toBe(true);
  });

  test('unknown status is rejected at /status', () => {
    const err = firstError(validateState, { ...state(), status: 'exploded' });
    expect(err.instancePath).toBe('/status');
    expect(err.keyword).toBe('enum');
  });

  test('pid is required when created or running', () => {
    const { pid: _pid, ...rest } = state();
    for (const status of ['created', 'running']) {
      const err = firstError(validateState, { ...rest, status });
      expect(err.keyword).toBe('required');
      expect(err.params.missingProperty).toBe('pid');
    }
  });

  test.each<[string, string, unknown, string]>([
    ['missing id', 'id', undefined, 'required'],
    ['missing bundle', 'bundle', undefined, 'required'],
    ['missing status', 'status', undefined, 'required'],
    ['missing ociVersion', 'ociVersion', undefined, 'required'],
    ['relative bundle', 'bundle', 'containers/redis', 'pattern'],
    ['string pid', 'pid', '4422', 'type'],
    ['negative pid', 'pid', -1, 'minimum'],
    ['annotations not a map of strings', 'annotations', { a: 1 }, 'type'],
  ])('%s is rejected', (_name, pointer, value, keyword) => {
    const err = firstError(validateState, withValue(state(), pointer, value));
    expect(err.keyword).toBe(keyword);
  });
});
