// The rootfs steps over the fake libc: real directories in a temporary rootfs, mounts recorded
// with the path their fd target resolves to (what the kernel would mount onto).
import { afterAll, describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { buildConfig } from '../../src/loader/load';
import { defaultSpec } from '../../src/ocispec/default-spec';
import type { Spec } from '../../src/ocispec/oci';
import type { ContainerConfig } from '../../src/ocispec/config';
import { prepareRootfs, finalizeRootfs, splitAtCgroups } from '../../src/rootfs/setup';
import type { MountContext } from '../../src/rootfs/mounts';
import * as C from '../../src/sys/constants';
import { recordingLibc } from '../fakes/recording-libc';

const tmp = fs.mkdtempSync(join(os.tmpdir(), 'tsr-unit-rootfs-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

interface Mounted {
  source: string | null;
  target: string;
  fstype: string | null;
  flags: number;
  data: string | null;
}

/** A fresh bundle with a rootfs, the config built from the default spec as edited, and a fake that records mounts by resolved target. */
function setup(edit: (s: Spec) => void = () => undefined) {
  const bundle = join(tmp, `b${n++}`);
  fs.mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  const spec = defaultSpec();
  edit(spec);
  const cfg = buildConfig(spec, bundle, 'c1');
  const mounts: Mounted[] = [];
  const mknods: [string, number, number, number][] = [];
  /** the paths mknod was given: by name under an fd of a fresh /dev, or by the rootfs's path */
  const mknodPaths: string[] = [];
  const sys = recordingLibc({
    mount: (source, target, fstype, flags, data) => {
      // an fd path (and what follows it) is resolved now, as the kernel resolves it at the call
      const fdPath = /^\/proc\/self\/fd\/\d+/.exec(target)?.[0];
      const resolved = fdPath ? fs.readlinkSync(fdPath) + target.slice(fdPath.length) : target;
      mounts.push({ source, target: resolved, fstype, flags, data });
    },
    mknod: (path, mode, major, minor) => {
      // by name under an fd of /dev (a fresh tmpfs /dev) or by path: recorded as the path it is
      const fdPath = /^\/proc\/self\/fd\/\d+/.exec(path)?.[0];
      mknodPaths.push(path);
      mknods.push([fdPath ? fs.readlinkSync(fdPath) + path.slice(fdPath.length) : path, mode, major, minor]);
      fs.writeFileSync(path, '', { flag: 'wx' }); // what the code goes on to chmod and chown; EEXIST as mknod
    },
  });
  return { cfg, rootfs: cfg.rootfs, sys, mounts, mknods, mknodPaths };
}

const v1Context = (cfg: ContainerConfig): MountContext => ({
  rootfs: cfg.rootfs,
  cgroups: {
    kind: 'hierarchies',
    hierarchies: [
      { name: 'memory', dir: '/sys/fs/cgroup/memory/c1', aliases: [] },
      { name: 'cpu,cpuacct', dir: '/sys/fs/cgroup/cpu,cpuacct/c1', aliases: ['cpu', 'cpuacct'] },
    ],
  },
  newCgroupNs: false,
});

describe('prepareRootfs (fake libc, real directories)', () => {
  test("the default spec's mounts, in order, onto directories made inside the rootfs; then devices and /dev's links", () => {
    const { cfg, rootfs, sys, mounts, mknods } = setup((s) => {
      s.process!.cwd = '/work/dir';
    });
    prepareRootfs(sys, cfg, v1Context(cfg), 'new');
    // propagation cut from the host first, then the rootfs bound onto itself
    expect(mounts[0]).toEqual({ source: null, target: '/', fstype: null, flags: C.MS_REC | C.MS_SLAVE, data: null });
    expect(mounts[1]).toEqual({ source: rootfs, target: rootfs, fstype: 'bind', flags: C.MS_BIND | C.MS_REC, data: null });
    const firstOf = (fstype: string) => mounts.find((m) => m.fstype === fstype);
    expect(firstOf('proc')).toMatchObject({ target: join(rootfs, 'proc'), source: 'proc' });
    expect(firstOf('devpts')).toMatchObject({ target: join(rootfs, 'dev/pts') });
    expect(firstOf('mqueue')).toMatchObject({ target: join(rootfs, 'dev/mqueue'), flags: C.MS_NOSUID | C.MS_NODEV | C.MS_NOEXEC });
    const order = mounts.slice(2).map((m) => m.target.slice(rootfs.length));
    expect(order.indexOf('/proc')).toBeLessThan(order.indexOf('/dev'));
    expect(order.indexOf('/dev')).toBeLessThan(order.indexOf('/dev/pts'));
    // v1's cgroup mount: a tmpfs, a read-only bind per hierarchy, a symlink per alias
    const cg = join(rootfs, 'sys/fs/cgroup');
    expect(mounts.filter((m) => m.target.startsWith(cg)).map((m) => [m.target.slice(cg.length), m.source, m.fstype])).toEqual([
      ['', 'tmpfs', 'tmpfs'],
      ['/memory', '/sys/fs/cgroup/memory/c1', 'bind'],
      ['/memory', null, null],
      ['/cpu,cpuacct', '/sys/fs/cgroup/cpu,cpuacct/c1', 'bind'],
      ['/cpu,cpuacct', null, null],
      ['', null, null],
    ]);
    expect(mounts.filter((m) => m.target === join(cg, 'memory') && m.source === null)[0].flags & C.MS_RDONLY).toBe(C.MS_RDONLY);
    expect(fs.readlinkSync(join(cg, 'cpu'))).toBe('cpu,cpuacct');
    expect(fs.readlinkSync(join(cg, 'cpuacct'))).toBe('cpu,cpuacct');
    // the default devices by mknod (1:3 is /dev/null), the standard links, the process's cwd
    const nul = mknods.find(([p]) => p.endsWith('/dev/null'));
    expect(nul && [nul[1] & C.S_IFMT, nul[2], nul[3]]).toEqual([C.S_IFCHR, 1, 3]);
    expect(mknods.map(([p]) => p.slice(rootfs.length)).sort()).toEqual(
      ['/dev/full', '/dev/null', '/dev/random', '/dev/tty', '/dev/urandom', '/dev/zero'].sort(),
    );
    expect(fs.readlinkSync(join(rootfs, 'dev/fd'))).toBe('/proc/self/fd');
    expect(fs.readlinkSync(join(rootfs, 'dev/stdin'))).toBe('/proc/self/fd/0');
    expect(fs.readlinkSync(join(rootfs, 'dev/ptmx'))).toBe('pts/ptmx');
    expect(fs.statSync(join(rootfs, 'work/dir')).isDirectory()).toBe(true);
  });

  test("devices go by name under an fd of the config's fresh tmpfs /dev; a name a mount took, and a /dev of the rootfs's own, the careful way", () => {
    const fresh = setup((s) => {
      s.root!.path = 'rootfs';
      s.mounts!.push({ destination: '/dev/tty', type: 'bind', source: '/etc/hostname', options: ['bind'] });
    });
    prepareRootfs(fresh.sys, fresh.cfg, v1Context(fresh.cfg), 'new');
    const raw = (name: string) => fresh.mknodPaths.filter((p) => p.endsWith(`/${name}`));
    expect(raw('null')).toEqual([expect.stringMatching(/^\/proc\/self\/fd\/\d+\/null$/)]);
    // the bind's mountpoint was there: EEXIST by name, then the careful way
    expect(raw('tty')).toEqual([expect.stringMatching(/^\/proc\/self\/fd\/\d+\/tty$/), join(fresh.rootfs, 'dev/tty')]);
    expect(fs.readlinkSync(join(fresh.rootfs, 'dev/stdout'))).toBe('/proc/self/fd/1');
    const own = setup((s) => {
      s.mounts = s.mounts!.filter((m) => m.destination !== '/dev' && !m.destination.startsWith('/dev/'));
    });
    fs.mkdirSync(join(own.rootfs, 'dev'));
    prepareRootfs(own.sys, own.cfg, v1Context(own.cfg), 'new');
    expect(own.mknodPaths.filter((p) => p.startsWith('/proc/'))).toEqual([]);
    expect(own.mknodPaths.length).toBe(6);
  });

  test('a destination through a symlink that leaves the rootfs lands inside it (the CVE-2021-30465 class)', () => {
    const outside = join(tmp, 'outside');
    fs.mkdirSync(outside, { recursive: true });
    const { cfg, rootfs, sys, mounts } = setup((s) => {
      s.mounts = [{ destination: '/data/x', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] }];
    });
    fs.symlinkSync(outside, join(rootfs, 'data'));
    prepareRootfs(sys, cfg, v1Context(cfg), 'new');
    const tmpfs = mounts.find((m) => m.fstype === 'tmpfs')!;
    // the link is read as if the rootfs were "/": <rootfs><outside>/x, never <outside>/x
    expect(tmpfs.target).toBe(join(rootfs, outside, 'x'));
    expect(fs.existsSync(join(outside, 'x'))).toBe(false);
  });

  test('proc onto a symlink is refused, naming the mount (the CVE-2019-16884 class)', () => {
    const { cfg, rootfs, sys, mounts } = setup();
    fs.symlinkSync('/etc', join(rootfs, 'proc'));
    expect(() => prepareRootfs(sys, cfg, v1Context(cfg), 'new')).toThrow(/\/proc/);
    expect(mounts.some((m) => m.fstype === 'proc')).toBe(false);
  });

  test("a bind mount's flags: bound, then remounted with exactly the flags asked", () => {
    const src = join(tmp, 'src');
    fs.mkdirSync(src, { recursive: true });
    const { cfg, rootfs, sys, mounts } = setup((s) => {
      s.mounts = [{ destination: '/mnt', type: 'bind', source: src, options: ['rbind', 'ro', 'nosuid'] }];
    });
    prepareRootfs(sys, cfg, v1Context(cfg), 'new');
    const onMnt = mounts.filter((m) => m.target === join(rootfs, 'mnt'));
    expect(onMnt).toEqual([
      { source: src, target: join(rootfs, 'mnt'), fstype: 'bind', flags: C.MS_BIND | C.MS_REC, data: null },
      { source: null, target: join(rootfs, 'mnt'), fstype: null, flags: C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY | C.MS_NOSUID, data: null },
    ]);
  });

  test('v2 without a cgroup namespace binds the container’s cgroup; with one, mounts a fresh cgroup2', () => {
    for (const newCgroupNs of [false, true]) {
      const { cfg, rootfs, sys, mounts } = setup((s) => {
        s.mounts = [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro'] }];
      });
      prepareRootfs(sys, cfg, { rootfs, cgroups: { kind: 'unified', dir: '/sys/fs/cgroup/c1' }, newCgroupNs }, 'new');
      const cg = mounts.filter((m) => m.target === join(rootfs, 'sys/fs/cgroup'));
      expect(cg.map((m) => [m.source, m.fstype])).toEqual(
        newCgroupNs
          ? [['cgroup', 'cgroup2']]
          : [
              ['/sys/fs/cgroup/c1', 'bind'],
              [null, null],
            ],
      );
    }
  });
});

describe('the rootfs split around the cgroups (what init builds before it is in them)', () => {
  const cgroup = { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro'] };
  const split = (edit: (s: Spec) => void) => splitAtCgroups(setup(edit).cfg);

  test('the default config: every mount before the cgroup mount, and the devices and cwd (only the cgroup mount follows them)', () => {
    const { cfg } = setup();
    expect(cfg.mounts[cfg.mounts.length - 1].type).toBe('cgroup');
    expect(splitAtCgroups(cfg)).toEqual({ earlyMounts: cfg.mounts.length - 1, earlyDevices: true });
  });

  test('no cgroup mount: all of it', () => {
    const { cfg } = setup((s) => (s.mounts = s.mounts!.filter((m) => m.type !== 'cgroup')));
    expect(splitAtCgroups(cfg)).toEqual({ earlyMounts: cfg.mounts.length, earlyDevices: true });
  });

  test('the devices and cwd wait where a mount other than a cgroup one follows, or a cgroup mount is over /dev, a device or the cwd', () => {
    const bind = { destination: '/mnt', type: 'bind', source: tmp, options: ['bind'] };
    expect(split((s) => (s.mounts = [cgroup, bind]))).toEqual({ earlyMounts: 0, earlyDevices: false });
    expect(split((s) => (s.mounts = [bind, cgroup]))).toEqual({ earlyMounts: 1, earlyDevices: true });
    expect(split((s) => (s.mounts = [{ ...cgroup, destination: '/dev/cg' }]))).toEqual({ earlyMounts: 0, earlyDevices: false });
    expect(
      split((s) => {
        s.mounts = [cgroup];
        s.linux!.devices = [{ path: '/sys/fs/cgroup/fuse', type: 'c', major: 10, minor: 229 }];
      }),
    ).toEqual({ earlyMounts: 0, earlyDevices: false });
    expect(
      split((s) => {
        s.mounts = [cgroup];
        s.process!.cwd = '/sys/fs/cgroup/x';
      }),
    ).toEqual({ earlyMounts: 0, earlyDevices: false });
    // a cwd above the cgroup mount is made alike either way
    expect(split((s) => (s.mounts = [cgroup]))).toEqual({ earlyMounts: 0, earlyDevices: true });
  });

  test('early then rest makes the same mounts, in the same order, as the whole', () => {
    const whole = setup();
    prepareRootfs(whole.sys, whole.cfg, v1Context(whole.cfg), 'new');
    const parts = setup();
    prepareRootfs(parts.sys, parts.cfg, v1Context(parts.cfg), 'new', 'early');
    const early = parts.mounts.length;
    prepareRootfs(parts.sys, parts.cfg, v1Context(parts.cfg), 'new', 'rest');
    const strip = (ms: Mounted[], root: string) =>
      ms.map((m) => ({ ...m, source: m.source?.replace(root, 'R'), target: m.target.replace(root, 'R') }));
    expect(strip(parts.mounts, parts.rootfs)).toEqual(strip(whole.mounts, whole.rootfs));
    expect(parts.mounts.slice(early).map((m) => m.target)[0]).toBe(join(parts.rootfs, 'sys/fs/cgroup'));
    expect(parts.mknods.map((m) => m[0].replace(parts.rootfs, 'R'))).toEqual(whole.mknods.map((m) => m[0].replace(whole.rootfs, 'R')));
  });
});

describe('finalizeRootfs (fake libc)', () => {
  test('read-only paths rebound read-only; masked directories share one read-only tmpfs, files get the checked /dev/null; missing ones skipped', () => {
    const { cfg, sys, mounts } = setup();
    const d1 = join(tmp, 'mask-d1');
    const d2 = join(tmp, 'mask-d2');
    const file = join(tmp, 'mask-f');
    const ro = join(tmp, 'ro');
    for (const d of [d1, d2, ro]) fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(file, 'secret');
    const done: ContainerConfig = {
      ...cfg,
      readonlyPaths: [ro],
      maskedPaths: [d1, file, join(tmp, 'missing'), d2, `${d1}/`],
      rootReadonly: true,
    };
    finalizeRootfs(sys, done);
    expect(mounts.map((m) => [m.source, m.target, m.fstype])).toEqual([
      [ro, ro, 'bind'],
      [null, ro, null],
      ['tmpfs', d1, 'tmpfs'],
      [expect.stringMatching(/^\/proc\/self\/fd\/\d+$|^\/dev\/null$/), file, 'bind'],
      [d1, d2, 'bind'],
      [null, '/', null],
    ]);
    expect(mounts[1].flags & (C.MS_RDONLY | C.MS_REMOUNT)).toBe(C.MS_RDONLY | C.MS_REMOUNT);
    expect(mounts[2].flags).toBe(C.MS_RDONLY);
    expect(mounts[5].flags & C.MS_RDONLY).toBe(C.MS_RDONLY);
  });
});
