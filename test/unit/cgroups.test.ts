import { afterAll, describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { parseLayout } from '../../src/cgroups/hierarchy';
import { openCgroups, planCgroups } from '../../src/cgroups/open';
import { makeDirs, refuseBusy, removeCgroups } from '../../src/cgroups/tree';
import { V1Manager } from '../../src/cgroups/v1/manager';
import { V2Manager } from '../../src/cgroups/v2/manager';
import type { DeviceRule, Resources } from '../../src/ocispec/oci';
import type { BpfLibc } from '../../src/cgroups/v2/resources';
import { recordingLibc } from '../fakes/recording-libc';
import { rdmaLine } from '../../src/cgroups/resource-values';
import { enableV2Controllers } from '../../src/cgroups/v2/controllers';
import { sharesToWeight } from '../../src/cgroups/v2/resources';
import { resourcesFromFlags } from '../../src/cli/commands/update';

type Plan = { mode: 'v1' | 'v2'; paths: Record<string, string> };

/** The manager of a fake tree's directories (v2's hierarchy root is the real one: only create uses it). */
function manager(plan: Plan, bpf?: () => BpfLibc): V1Manager | V2Manager {
  return plan.mode === 'v2' ? new V2Manager(plan.paths, '/sys/fs/cgroup', bpf) : new V1Manager(plan.paths);
}

function applyResources(plan: Plan, res: Resources, devices?: DeviceRule[], bpf?: () => BpfLibc): { warnings: string[] } {
  return manager(plan, bpf).apply(res, devices);
}

const HYBRID_MOUNTINFO = `
35 25 0:30 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw
36 25 0:31 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,memory
37 25 0:32 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,cpu,cpuacct
38 25 0:33 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,xattr,name=systemd
`;
const HYBRID_SELF = '0::/user.slice\n3:memory:/user.slice\n4:cpu,cpuacct:/user.slice\n1:name=systemd:/user.slice\n';
const V2_MOUNTINFO = '30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n';

describe('cgroup layout', () => {
  test("hybrid hosts are v1 with every hierarchy and the runtime's own paths", () => {
    const l = parseLayout(HYBRID_MOUNTINFO, HYBRID_SELF);
    expect(l.mode).toBe('v1');
    expect(l.hierarchies.map((h) => [h.mountpoint, h.controllers.join(','), h.ownPath])).toEqual([
      ['/sys/fs/cgroup/unified', '', '/user.slice'],
      ['/sys/fs/cgroup/memory', 'memory', '/user.slice'],
      ['/sys/fs/cgroup/cpu,cpuacct', 'cpu,cpuacct', '/user.slice'],
      ['/sys/fs/cgroup/systemd', 'name=systemd', '/user.slice'],
    ]);
  });
  test('a mountpoint with escaped characters (\\040 for a space) is unescaped; one without is taken as it is', () => {
    const l = parseLayout(
      '36 25 0:31 / /sys/fs/cgroup/my\\040memory rw - cgroup cgroup rw,memory\n37 25 0:32 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n',
      '3:memory:/a\n4:pids:/b\n',
    );
    expect(l.hierarchies.map((h) => [h.mountpoint, h.controllers.join(','), h.ownPath])).toEqual([
      ['/sys/fs/cgroup/my memory', 'memory', '/a'],
      ['/sys/fs/cgroup/pids', 'pids', '/b'],
    ]);
  });
  test('pure v2 hosts', () => {
    const l = parseLayout(V2_MOUNTINFO, '0::/init.scope\n', 'cpu memory pids');
    expect(l.mode).toBe('v2');
    expect(l.hierarchies[0].controllers).toEqual(['cpu', 'memory', 'pids']);
  });
  test("paths: default /<id>, absolute as given, relative under the runtime's cgroup", () => {
    const l = parseLayout(HYBRID_MOUNTINFO, HYBRID_SELF);
    expect(planCgroups(l, undefined, 'c1').paths.memory).toBe('/sys/fs/cgroup/memory/c1');
    expect(planCgroups(l, '/a/b', 'c1').paths['cpu,cpuacct']).toBe('/sys/fs/cgroup/cpu,cpuacct/a/b');
    expect(planCgroups(l, 'a/b', 'c1').paths.memory).toBe('/sys/fs/cgroup/memory/user.slice/a/b');
    const v2 = planCgroups(parseLayout(V2_MOUNTINFO, '0::/init.scope\n'), 'x', 'c1');
    expect(v2.paths).toEqual({ unified: '/sys/fs/cgroup/init.scope/x' });
  });
  test('a path escaping the hierarchy is refused', () => {
    const l = parseLayout(HYBRID_MOUNTINFO, HYBRID_SELF);
    expect(() => planCgroups(l, '../../..', 'c1')).toThrow(/cgroupsPath/);
  });
});

describe('cgroup directories on a fake tree', () => {
  const tree = fs.mkdtempSync(join(os.tmpdir(), 'tsr-unit-cg-'));
  afterAll(() => fs.rmSync(tree, { recursive: true, force: true }));
  test('only directories it created are recorded and removed; parents that existed stay', () => {
    fs.mkdirSync(join(tree, 'memory', 'existing'), { recursive: true });
    const plan = { mode: 'v1' as const, paths: { memory: join(tree, 'memory', 'existing', 'a', 'b') } };
    const recorded: string[][] = [];
    const created = manager(plan).create((d) => recorded.push(d));
    expect(created).toEqual([join(tree, 'memory/existing/a'), join(tree, 'memory/existing/a/b')]);
    expect(recorded[recorded.length - 1]).toEqual(created);
    expect(removeCgroups(created)).toEqual([]);
    expect(fs.existsSync(join(tree, 'memory', 'existing'))).toBe(true);
    expect(fs.existsSync(join(tree, 'memory', 'existing', 'a'))).toBe(false);
  });
  test('every hierarchy recorded at once, before any directory is made; co-mounted controllers (one directory, two names) made once', () => {
    fs.mkdirSync(join(tree, 'cpu,cpuacct'), { recursive: true });
    fs.mkdirSync(join(tree, 'pids'), { recursive: true });
    fs.symlinkSync('cpu,cpuacct', join(tree, 'cpu'));
    fs.symlinkSync('cpu,cpuacct', join(tree, 'cpuacct'));
    const paths = { cpu: join(tree, 'cpu', 'c1'), cpuacct: join(tree, 'cpuacct', 'c1'), pids: join(tree, 'pids', 'c1') };
    const recorded: string[][] = [];
    const created = makeDirs(paths, (d) => {
      recorded.push(d);
      if (recorded.length === 1) expect(d.filter((x) => fs.existsSync(x))).toEqual([]); // nothing made yet
    });
    expect(recorded[0]).toEqual([paths.cpu, paths.cpuacct, paths.pids]);
    expect(created).toEqual([paths.cpu, paths.pids]);
    expect(recorded[recorded.length - 1]).toEqual(created);
    expect(fs.statSync(join(tree, 'cpu,cpuacct', 'c1')).isDirectory()).toBe(true);
    expect(removeCgroups(created)).toEqual([]);
  });
  test('a cgroup that was there already is read for processes, one just made is not (it is empty)', () => {
    const paths = { pids: join(tree, 'pids', 'busy1'), memory: join(tree, 'memory', 'busy1') };
    for (const d of Object.values(paths)) {
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(join(d, 'cgroup.procs'), '123\n');
    }
    expect(() => refuseBusy(paths)).toThrow(`container's cgroup is not empty: processes are in ${paths.pids}`);
    expect(() => refuseBusy(paths, [paths.pids])).toThrow(`processes are in ${paths.memory}`);
    expect(() => refuseBusy(paths, [paths.pids, paths.memory])).not.toThrow();
    for (const d of Object.values(paths)) fs.rmSync(d, { recursive: true });
  });
  test('v1 resources are written to their files; what the host lacks is an error naming the field', () => {
    const mem = join(tree, 'memory', 'c');
    const pids = join(tree, 'pids', 'c');
    const blkio = join(tree, 'blkio', 'c');
    const cpu = join(tree, 'cpu,cpuacct', 'c');
    for (const d of [mem, pids, blkio, cpu]) fs.mkdirSync(d, { recursive: true });
    // A kernel without BFQ/CFQ has the throttle files but no weight.
    for (const f of ['blkio.throttle.read_bps_device', 'blkio.throttle.write_iops_device']) fs.writeFileSync(join(blkio, f), '');
    for (const f of ['cpu.rt_period_us', 'cpu.rt_runtime_us', 'cpu.cfs_period_us', 'cpu.cfs_quota_us']) fs.writeFileSync(join(cpu, f), '');
    const plan = { mode: 'v1' as const, paths: { memory: mem, pids, blkio, 'cpu,cpuacct': cpu } };
    const written: string[] = [];
    const read = (d: string, f: string) => fs.readFileSync(join(d, f), 'utf8');
    applyResources(plan, {
      memory: { limit: 1048576 },
      pids: { limit: 10 },
      cpu: { quota: 20000, realtimeRuntime: 950, realtimePeriod: 1000, period: 50000 },
      blockIO: {
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 100 }],
      },
    });
    written.push(
      read(mem, 'memory.limit_in_bytes'),
      read(pids, 'pids.max'),
      read(blkio, 'blkio.throttle.read_bps_device'),
      read(blkio, 'blkio.throttle.write_iops_device'),
      read(cpu, 'cpu.cfs_period_us'),
      read(cpu, 'cpu.cfs_quota_us'),
      read(cpu, 'cpu.rt_period_us'),
      read(cpu, 'cpu.rt_runtime_us'),
    );
    expect(written).toEqual(['1048576', '10', '8:0 1048576', '8:0 100', '50000', '20000', '1000', '950']);
    expect(() => applyResources(plan, { blockIO: { weight: 10 } })).toThrow(
      /linux.resources.blockIO.weight: not supported by this kernel \(none of blkio.weight, blkio.bfq.weight\)/,
    );
    expect(() => applyResources(plan, { cpu: { cpus: '0' } })).toThrow(
      /linux.resources.cpu.cpus: the cpuset cgroup controller is not available/,
    );
    expect(() => applyResources(plan, { hugepageLimits: [{ pageSize: '2MB', limit: 1 }] })).toThrow(
      /hugepageLimits\[0\]: the hugetlb cgroup controller is not available/,
    );
    expect(() => applyResources(plan, { network: { classID: 1 } })).toThrow(/network.classID: the net_cls cgroup controller/);
    expect(() => applyResources(plan, { unified: { 'memory.high': '1' } })).toThrow(/unified: needs a cgroup v2 host/);
    expect(() => applyResources(plan, { cpu: { bogus: 1 } })).toThrow(/cpu.bogus: unknown cpu setting/);
  });
  test("v1 device policy: reset to deny, then the exceptions, runc's defaults included", () => {
    const dev = join(tree, 'devices', 'c');
    fs.mkdirSync(dev, { recursive: true });
    applyResources({ mode: 'v1', paths: { devices: dev } }, {}, [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' },
    ]);
    // One write each, through one open a file (a plain file here keeps them all, in order): the
    // reset went to devices.deny, the exceptions, the config's then runc's defaults, to devices.allow.
    expect(fs.readFileSync(join(dev, 'devices.deny'), 'utf8')).toBe('a');
    expect(fs.readFileSync(join(dev, 'devices.allow'), 'utf8')).toBe(
      [
        'c 10:229 rw',
        'c *:* m',
        'b *:* m',
        'c 1:3 rwm',
        'c 1:8 rwm',
        'c 1:7 rwm',
        'c 5:0 rwm',
        'c 1:5 rwm',
        'c 1:9 rwm',
        'c 136:* rwm',
        'c 5:2 rwm',
        'c 10:200 rwm',
      ].join(''),
    );
  });
});

describe('zeros, orders and partial updates, as runc reads them', () => {
  const tree = fs.mkdtempSync(join(os.tmpdir(), 'tsr-unit-cg0-'));
  afterAll(() => fs.rmSync(tree, { recursive: true, force: true }));
  const read = (d: string, f: string) => fs.readFileSync(join(d, f), 'utf8');
  test('v1 memory: 0 is "not set"; an unlimited memory lifts swap; raising both writes swap first', () => {
    const mem = join(tree, 'memory');
    fs.mkdirSync(mem);
    for (const f of ['memory.limit_in_bytes', 'memory.memsw.limit_in_bytes']) fs.writeFileSync(join(mem, f), 'untouched');
    const plan = { mode: 'v1' as const, paths: { memory: mem } };
    applyResources(plan, { memory: { limit: 0, swap: 0, reservation: 0 } });
    expect([read(mem, 'memory.limit_in_bytes'), read(mem, 'memory.memsw.limit_in_bytes')]).toEqual(['untouched', 'untouched']);
    expect(fs.existsSync(join(mem, 'memory.soft_limit_in_bytes'))).toBe(false);
    applyResources(plan, { memory: { limit: -1 } });
    expect([read(mem, 'memory.limit_in_bytes'), read(mem, 'memory.memsw.limit_in_bytes')]).toEqual(['-1', '-1']);
    fs.writeFileSync(join(mem, 'memory.limit_in_bytes'), String(32 << 20));
    applyResources(plan, { memory: { limit: 64 << 20, swap: 128 << 20 } });
    expect([read(mem, 'memory.limit_in_bytes'), read(mem, 'memory.memsw.limit_in_bytes')]).toEqual([String(64 << 20), String(128 << 20)]);
  });
  test('v2: checkBeforeUpdate refuses a limit at or below the usage; unified values go a line at a time', () => {
    const dir = join(tree, 'v2');
    fs.mkdirSync(dir);
    fs.writeFileSync(join(dir, 'cgroup.controllers'), 'memory io');
    fs.writeFileSync(join(dir, 'memory.current'), String(50 << 20));
    const plan = { mode: 'v2' as const, paths: { unified: dir } };
    expect(() => applyResources(plan, { memory: { limit: 40 << 20, checkBeforeUpdate: true } })).toThrow(
      /memory.limit: 41943040 is not above the current usage 52428800/,
    );
    applyResources(plan, { memory: { limit: 40 << 20 } });
    expect(read(dir, 'memory.max')).toBe(String(40 << 20));
    // A plain file keeps the last line written: the last line alone means one write per line.
    applyResources(plan, { unified: { 'io.max': '8:0 rbps=1\n8:16 wbps=2\n' } });
    expect(read(dir, 'io.max')).toBe('8:16 wbps=2');
  });
  test('rdma: only the limits given', () => {
    expect(rdmaLine('mlx5_1', { hcaHandles: 3 })).toBe('mlx5_1 hca_handle=3');
    expect(rdmaLine('mlx5_1', { hcaHandles: 3, hcaObjects: 9 })).toBe('mlx5_1 hca_handle=3 hca_object=9');
    expect(() => rdmaLine('mlx5_1', {})).toThrow(/gives neither/);
  });
});

describe('cgroup v2 resources on a fake tree', () => {
  const tree = fs.mkdtempSync(join(os.tmpdir(), 'tsr-unit-cg2-'));
  afterAll(() => fs.rmSync(tree, { recursive: true, force: true }));
  test('controllers are enabled down the path; limits land in the v2 files', () => {
    fs.writeFileSync(join(tree, 'cgroup.controllers'), 'cpuset cpu io memory pids');
    fs.mkdirSync(join(tree, 'a', 'c1'), { recursive: true });
    fs.writeFileSync(join(tree, 'a', 'cgroup.controllers'), 'cpu memory pids');
    fs.writeFileSync(join(tree, 'a', 'c1', 'cgroup.controllers'), 'cpuset cpu io memory pids');
    enableV2Controllers(tree, join(tree, 'a', 'c1'), ['memory', 'pids', 'cpu', 'hugetlb']);
    expect(fs.readFileSync(join(tree, 'cgroup.subtree_control'), 'utf8')).toBe('+memory +pids +cpu');
    expect(fs.readFileSync(join(tree, 'a', 'cgroup.subtree_control'), 'utf8')).toBe('+memory +pids +cpu');
    const dir = join(tree, 'a', 'c1');
    const r = applyResources(
      { mode: 'v2', paths: { unified: dir } },
      {
        memory: { limit: 64 << 20, swap: 96 << 20, reservation: 32 << 20 },
        cpu: { shares: 1024, quota: 50000, period: 100000, cpus: '0' },
        pids: { limit: 0 },
        unified: { 'memory.high': '50000000' },
        blockIO: { weight: 500, throttleWriteBpsDevice: [{ major: 8, minor: 16, rate: 0 }] },
      },
    );
    const read = (f: string) => fs.readFileSync(join(dir, f), 'utf8');
    expect([read('memory.max'), read('memory.swap.max'), read('memory.low')]).toEqual([
      String(64 << 20),
      String(32 << 20),
      String(32 << 20),
    ]);
    expect([read('cpu.weight'), read('cpu.max'), read('cpuset.cpus'), read('pids.max'), read('memory.high')]).toEqual([
      '100',
      '50000 100000',
      '0',
      '0',
      '50000000',
    ]); // pids 0 is a limit of 0 (the spec: "the maximum number of tasks"); runc writes 1 (its suite's "pids.limit=0 means 1")
    expect([read('io.weight'), read('io.max')]).toEqual(['default 4950', '8:16 wbps=max']);
    expect(r.warnings).toEqual([]);
    // runc's curve: the defaults meet (1024 → 100) and the ends map onto the ends.
    expect([2, 1024, 262144, 1, 300000].map(sharesToWeight)).toEqual([1, 100, 10000, 1, 10000]);
  });
  test('what v2 cannot do is an error or a warning, never silent', () => {
    const dir = join(tree, 'a', 'c1');
    const plan = { mode: 'v2' as const, paths: { unified: dir } };
    expect(() => applyResources(plan, { memory: { disableOOMKiller: true } })).toThrow(/disableOOMKiller: not possible on cgroup v2/);
    expect(() => applyResources(plan, { unified: { '../x': '1' } })).toThrow(/not a cgroup file name/);
    expect(() => applyResources(plan, { cpu: { realtimeRuntime: 1 } })).toThrow(/realtimeRuntime: cgroup v2 has no real-time/);
    expect(() => applyResources(plan, { hugepageLimits: [{ pageSize: '2MB', limit: 1 }] })).toThrow(
      /hugepageLimits\[0\]: the hugetlb cgroup controller is not available/,
    );
    expect(() => applyResources(plan, { hugepageLimits: [{ pageSize: '2M', limit: 1 }] })).toThrow(/pageSize: "2M" is not a page size/);
    expect(applyResources(plan, { memory: { swappiness: 10 } }).warnings).toEqual([
      expect.stringMatching(/swappiness: has no cgroup v2 equivalent/),
    ]);
    expect(applyResources(plan, { network: { classID: 7 } }).warnings).toEqual([
      expect.stringMatching(/network: cgroup v2 has no net_cls/),
    ]);
  });
  test('v2 device policy: a compiled program loaded and attached to the cgroup directory', () => {
    const dir = join(tree, 'a', 'c1');
    const progFd = fs.openSync('/dev/null', 'r'); // closed by the code under test, as a real program fd is
    const oldFd = fs.openSync('/dev/null', 'r'); // an already attached program, as bpfProgFdById gives it
    const sys = recordingLibc({
      bpfLoadCgroupDeviceProgram: (insns: Buffer, license: string) => {
        sys.calls.push(['load', insns.length, license]);
        return progFd;
      },
      bpfQueryCgroupDevice: () => [42],
      bpfProgFdById: (id: number) => {
        sys.calls.push(['byId', id]);
        return oldFd;
      },
    });
    applyResources({ mode: 'v2', paths: { unified: dir } }, {}, [{ allow: false, access: 'rwm' }], () => sys);
    // the new program goes on before the old one comes off
    // RLIMIT_MEMLOCK raised for the load and put back (what the runtime forks later inherits its own)
    expect(sys.calls.map((c) => c[0])).toEqual([
      'setrlimit',
      'byId',
      'load',
      'bpfAttachCgroupDevice',
      'bpfDetachCgroupDevice',
      'setrlimit',
    ]);
    expect(sys.calls[5]).toEqual(['setrlimit', 8, 1024n, 4096n]);
    expect(sys.calls[2]).toEqual(['load', expect.any(Number), 'Apache']);
    expect(sys.calls[3]).toEqual(['bpfAttachCgroupDevice', expect.any(Number), progFd, true]);
    expect(sys.calls[4]).toEqual(['bpfDetachCgroupDevice', expect.any(Number), oldFd]);
    expect(() => fs.fstatSync(oldFd)).toThrow(/EBADF/);
    expect(() => fs.fstatSync(progFd)).toThrow(/EBADF/);
  });
  test('an update that gives part of cpu.max or swap alone keeps what is in force', () => {
    const dir = join(tree, 'a', 'c1');
    const plan = { mode: 'v2' as const, paths: { unified: dir } };
    const read = (f: string) => fs.readFileSync(join(dir, f), 'utf8');
    fs.writeFileSync(join(dir, 'cpu.max'), '20000 50000');
    applyResources(plan, { cpu: { quota: 30000 } });
    expect(read('cpu.max')).toBe('30000 50000');
    applyResources(plan, { cpu: { period: 200000 } });
    expect(read('cpu.max')).toBe('30000 200000');
    fs.writeFileSync(join(dir, 'memory.max'), String(64 << 20));
    applyResources(plan, { memory: { swap: 80 << 20 } });
    expect(read('memory.swap.max')).toBe(String(16 << 20));
    expect(() => applyResources(plan, { memory: { swap: 32 << 20 } })).toThrow(/memory.swap: 33554432 is below the memory limit/);
    fs.writeFileSync(join(dir, 'memory.max'), 'max');
    expect(() => applyResources(plan, { memory: { swap: 80 << 20 } })).toThrow(/memory.swap: a swap limit needs a memory limit/);
    applyResources(plan, { memory: { limit: -1, swap: 0 } });
    expect(read('memory.swap.max')).toBe('max');
  });
});

describe("update flags (runc's names)", () => {
  test('each flag lands in its linux.resources field', () => {
    expect(
      resourcesFromFlags({
        memory: '512m',
        'memory-swap': '1g',
        'memory-reservation': '256m',
        'kernel-memory-tcp': '8m',
        'cpu-share': '512',
        'cpu-period': '100000',
        'cpu-quota': '50000',
        'cpu-burst': '1000',
        'cpu-rt-period': '1000000',
        'cpu-rt-runtime': '950',
        'cpu-idle': '1',
        'cpuset-cpus': '0-1',
        'cpuset-mems': '0',
        'pids-limit': '99',
        'blkio-weight': '300',
      }),
    ).toEqual({
      memory: { limit: 512 << 20, swap: 1 << 30, reservation: 256 << 20, kernelTCP: 8 << 20 },
      cpu: {
        shares: 512,
        period: 100000,
        quota: 50000,
        burst: 1000,
        realtimePeriod: 1000000,
        realtimeRuntime: 950,
        idle: 1,
        cpus: '0-1',
        mems: '0',
      },
      pids: { limit: 99 },
      blockIO: { weight: 300 },
    });
    expect(() => resourcesFromFlags({ 'l3-cache-schema': 'L3:0=f' })).toThrow(/--l3-cache-schema: Intel RDT is not supported/);
    expect(() => resourcesFromFlags({ 'cpu-quota': 'half' })).toThrow(/--cpu-quota: "half" is not an integer/);
  });
});

describe('the managers on fake trees', () => {
  const tree = fs.mkdtempSync(join(os.tmpdir(), 'tsr-unit-cgm-'));
  afterAll(() => fs.rmSync(tree, { recursive: true, force: true }));
  const put = (dir: string, files: Record<string, string>) => {
    fs.mkdirSync(dir, { recursive: true });
    for (const [f, v] of Object.entries(files)) fs.writeFileSync(join(dir, f), v);
  };

  test('v1 create: new cpusets get their parent’s CPUs and nodes; a cgroup with processes or frozen is refused', () => {
    put(join(tree, 'cpuset'), { 'cpuset.cpus': '0-1', 'cpuset.mems': '0' });
    put(join(tree, 'cpuset', 'pod'), { 'cpuset.cpus': '', 'cpuset.mems': '' });
    const dir = join(tree, 'cpuset', 'pod', 'c1');
    put(dir, { 'cpuset.cpus': '', 'cpuset.mems': '' });
    const m = new V1Manager({ cpuset: dir });
    expect(m.create(() => undefined)).toEqual([]); // it existed: nothing of it is the container's to remove
    for (const d of [join(tree, 'cpuset', 'pod'), dir]) {
      expect([fs.readFileSync(join(d, 'cpuset.cpus'), 'utf8'), fs.readFileSync(join(d, 'cpuset.mems'), 'utf8')]).toEqual(['0-1', '0']);
    }
    put(dir, { 'cgroup.procs': '42\n' });
    expect(() => m.create(() => undefined)).toThrow(/container's cgroup is not empty: processes are in .*c1/);
    const fz = join(tree, 'freezer', 'c1');
    put(fz, { 'freezer.state': 'FROZEN\n' });
    expect(() => new V1Manager({ freezer: fz }).create(() => undefined)).toThrow(/unexpectedly frozen/);
  });

  test('v1 freezer: paused only when frozen by itself; pause and resume write freezer.state', () => {
    const fz = join(tree, 'freezer', 'c2');
    put(fz, { 'freezer.state': 'FROZEN\n', 'freezer.self_freezing': '0\n' });
    const m = new V1Manager({ freezer: fz, memory: join(tree, 'memory', 'c2') });
    expect(m.isPaused()).toBe(false); // a frozen parent's
    expect(m.frozenAlready()).toBe(true);
    fs.writeFileSync(join(fz, 'freezer.self_freezing'), '1');
    expect(m.isPaused()).toBe(true);
    m.setFrozen(false);
    expect(fs.readFileSync(join(fz, 'freezer.state'), 'utf8')).toBe('THAWED');
    expect(m.isPaused()).toBe(false);
    expect(() => new V1Manager({}).setFrozen(true)).toThrow(/no cgroup freezer/);
  });

  test('v2 freezer: cgroup.freeze, done when cgroup.events says so', () => {
    const dir = join(tree, 'v2', 'c1');
    put(dir, { 'cgroup.freeze': '0', 'cgroup.events': 'populated 1\nfrozen 1\n' });
    const m = new V2Manager({ unified: dir });
    expect(m.isPaused()).toBe(false);
    expect(m.frozenAlready()).toBe(true); // a parent froze it
    m.setFrozen(true);
    expect(fs.readFileSync(join(dir, 'cgroup.freeze'), 'utf8')).toBe('1');
    expect(m.isPaused()).toBe(true);
  });

  test('pids: the container’s cgroup and the cgroups it made below it, from the hierarchy that tells', () => {
    const dir = join(tree, 'pids', 'c3');
    put(dir, { 'cgroup.procs': '10\n11\n' });
    put(join(dir, 'inner'), { 'cgroup.procs': '12\n' });
    put(join(tree, 'memory', 'c3'), { 'cgroup.procs': '99\n' });
    expect(new V1Manager({ memory: join(tree, 'memory', 'c3'), pids: dir }).pids().sort()).toEqual([10, 11, 12]);
    expect(new V2Manager({ unified: dir }).pids().sort()).toEqual([10, 11, 12]);
    expect(new V1Manager({}).pids()).toEqual([]); // rootless: no cgroup
  });

  test("exec's --cgroup: sub-cgroups resolved per hierarchy; bad ones refused before any process exists", () => {
    const mem = join(tree, 'memory', 'c4');
    const cpu = join(tree, 'cpu,cpuacct', 'c4');
    put(join(mem, 'sub'), { 'cgroup.procs': '' });
    put(cpu, { 'cgroup.procs': '' });
    const m = new V1Manager({ memory: mem, 'cpu,cpuacct': cpu });
    m.execJoin(['memory:sub']).join(77, 1);
    expect(fs.readFileSync(join(mem, 'sub', 'cgroup.procs'), 'utf8')).toBe('77');
    expect(fs.readFileSync(join(cpu, 'cgroup.procs'), 'utf8')).toBe('77');
    expect(() => m.execJoin(['../x'])).toThrow(/--cgroup "..\/x": bad sub cgroup path/);
    expect(() => m.execJoin(['pids:sub'])).toThrow(/unknown controller pids/);
    expect(() => m.execJoin(['cpu:sub'])).toThrow(/error adding pid to .*cpu,cpuacct\/c4\/sub: no such file/);
  });

  test('statistics where the memory controller is: a hybrid host without v1 memory reads the unified cgroup; rootless has zeros', () => {
    const unified = join(tree, 'unified', 'c5');
    put(unified, { 'memory.current': '12345', 'memory.events': 'oom 3\noom_kill 3\n' });
    const hybrid = new V1Manager({ pids: join(tree, 'pids', 'c5'), unified });
    expect((hybrid.stats().memory as { usage: { usage: number } }).usage.usage).toBe(12345);
    expect(hybrid.oom()).toEqual({ kills: 3, under: false });
    for (const rootless of [new V1Manager({}), new V2Manager({})]) {
      expect((rootless.stats().memory as { usage: { usage: number } }).usage.usage).toBe(0);
      expect(rootless.oom()).toEqual({ kills: 0, under: false });
      expect(rootless.apply({}).warnings).toEqual([]); // an empty update has nothing to write
      expect(() => rootless.apply({ pids: { limit: 5 } })).toThrow(/pids cgroup controller is not available/);
    }
  });

  test('the cgroup mount’s view; the mode of a state recorded before the mode was', () => {
    const v1 = new V1Manager({ memory: '/m/c', 'cpu,cpuacct': '/c/c', 'name=systemd': '/s/c', unified: '/u/c' });
    expect(v1.mountView()).toEqual({
      kind: 'hierarchies',
      hierarchies: [
        { name: 'memory', dir: '/m/c', aliases: [] },
        { name: 'cpu,cpuacct', dir: '/c/c', aliases: ['cpu', 'cpuacct'] },
        { name: 'systemd', dir: '/s/c', aliases: [] },
        { name: 'unified', dir: '/u/c', aliases: [] },
      ],
    });
    expect(new V2Manager({ unified: '/u/c' }).mountView()).toEqual({ kind: 'unified', dir: '/u/c' });
    expect(openCgroups({ paths: { unified: '/u/c' } }).mode).toBe('v2');
    expect(openCgroups({ paths: { unified: '/u/c', memory: '/m/c' } }).mode).toBe('v1');
    expect(openCgroups({ mode: 'v2', paths: {} }).mode).toBe('v2'); // rootless on a v2 host
  });
});
