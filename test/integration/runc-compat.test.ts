// Drop-in compatibility with runc where scripts written for runc see the difference.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { bundleTracker, TSRUNC } from '../helpers/bundle';
import { Runtime } from '../helpers/runtime';

const RUNC = '/usr/sbin/runc'; // Debian's, installed by scripts/setup.sh
const dirs: string[] = [];
const tracked = bundleTracker();
const rt = new Runtime();
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  tracked.removeAll();
  rt.cleanup();
});

function specOf(binary: string, args: string[]): { text: string; mode: number } {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'tsr-test-spec-'));
  dirs.push(dir);
  const r = spawnSync(binary, ['spec', ...args], { cwd: dir, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const file = join(dir, 'config.json');
  return { text: fs.readFileSync(file, 'utf8'), mode: fs.statSync(file).mode & 0o777 };
}

describe('tsrunc spec writes what runc spec writes', () => {
  test.each([[[]], [['--rootless']]])('spec %j: the same file, byte for byte, but for ociVersion', (args) => {
    const ours = specOf(TSRUNC, args);
    const runc = specOf(RUNC, args);
    const version = /^\t"ociVersion": "[^"]*",$/m;
    expect(ours.text).toMatch(version);
    expect(ours.text.replace(version, '')).toBe(runc.text.replace(version, ''));
    expect(ours.mode).toBe(runc.mode);
  });

  test("a container from runc spec's config (ambient capabilities not inheritable) prints nothing on stderr", () => {
    const runc = JSON.parse(specOf(RUNC, []).text);
    const b = tracked.make(['sh', '-c', 'grep -E "CapAmb|CapEff" /proc/self/status'], (c) => {
      c.process = { ...runc.process, args: c.process.args, terminal: false };
    });
    expect(b.config.process.capabilities.ambient.length).toBeGreaterThan(0);
    const r = rt.run(['run', '--bundle', b.dir, `compat-${process.pid}`]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // runc drops what the kernel refuses to make ambient: nothing here, CAP_AUDIT_WRITE|KILL|NET_BIND_SERVICE effective
    expect(r.stdout).toBe('CapEff:\t0000000020000420\nCapAmb:\t0000000000000000\n');
  });
});

describe("what runc users' configs rely on", () => {
  const run = (args: string[], edit: (c: Record<string, any>) => void) => {
    const b = tracked.make(args, edit);
    const id = `compat-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    return { ...rt.run(['run', '--bundle', b.dir, id]), id, b };
  };
  const USERNS = (c: Record<string, any>) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  };

  test("a bind source the container's root cannot reach is bound (the runtime clones it), and a read-only /dev still gets its mounts", () => {
    const src = fs.mkdtempSync(join(os.tmpdir(), 'tsr-src-'));
    dirs.push(src);
    fs.mkdirSync(join(src, 'inner'));
    fs.writeFileSync(join(src, 'inner', 'f'), 'reached\n');
    fs.chmodSync(src, 0o700); // host root only
    const r = run(['sh', '-c', 'cat /tmp/m/f; grep -c "^devpts /dev/pts" /proc/mounts; touch /dev/x 2>/dev/null || echo dev-ro'], (c) => {
      USERNS(c); // its root (host uid 100000) may write only the rootfs's /tmp
      c.mounts.push({ source: join(src, 'inner'), destination: '/tmp/m', options: ['rbind'] });
      c.mounts.find((m: { destination: string }) => m.destination === '/dev').options.push('ro');
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('reached\n1\ndev-ro\n');
  });

  test("an empty namespace path is a new namespace; null is absent; a destination under the rootfs's host path is taken as that", () => {
    const r = run(['sh', '-c', 'readlink /proc/self/ns/uts; test -d /opt/here && echo here'], (c) => {
      c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) => (n.type === 'uts' ? { type: 'uts', path: '' } : n));
      c.linux.timeOffsets = null;
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')[0]).not.toBe(fs.readlinkSync('/proc/self/ns/uts'));
    const b = tracked.make(['sh', '-c', 'test -d /opt/here && echo here'], () => undefined);
    b.config.mounts.push({ type: 'tmpfs', source: 'tmpfs', destination: join(b.dir, 'rootfs', 'opt') });
    b.config.mounts.push({ type: 'tmpfs', source: 'tmpfs', destination: '/opt/here' });
    b.write();
    const r2 = rt.run(['run', '--bundle', b.dir, `compat-${process.pid}-dest`]);
    expect(r2.stderr).toBe('');
    expect(r2.stdout).toBe('here\n');
  });

  test('with a user namespace, a network namespace the host owns is joined before it (as runc)', () => {
    const r = run(['readlink', '/proc/self/ns/net'], (c) => {
      USERNS(c);
      c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) =>
        n.type === 'network' ? { type: 'network', path: '/proc/self/ns/net' } : n,
      );
      // sysfs belongs to the network namespace's owner: bound from the host instead
      c.mounts = c.mounts.map((m: { type: string; destination: string }) =>
        m.type === 'sysfs' ? { source: '/sys', destination: m.destination, type: 'bind', options: ['rbind'] } : m,
      );
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(fs.readlinkSync('/proc/self/ns/net'));
  });
});

describe('cgroups a container cannot use', () => {
  const v2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
  const name = `tsr-compat-${process.pid}`;
  const freezer = v2 ? `/sys/fs/cgroup/${name}` : `/sys/fs/cgroup/freezer/${name}`;
  afterAll(() => {
    try {
      fs.writeFileSync(join(freezer, v2 ? 'cgroup.freeze' : 'freezer.state'), v2 ? '0' : 'THAWED');
    } catch {
      // not made
    }
    spawnSync('rmdir', [freezer]);
  });
  test("a frozen one is refused at once (it used to hang create), in runc's words; the cgroup stays as it was", () => {
    fs.mkdirSync(freezer, { recursive: true });
    fs.writeFileSync(join(freezer, v2 ? 'cgroup.freeze' : 'freezer.state'), v2 ? '1' : 'FROZEN');
    const b = tracked.make(['true'], (c) => {
      c.linux.cgroupsPath = `/${name}`;
    });
    const id = `compat-${process.pid}-frozen`;
    const t0 = Date.now();
    const r = rt.run(['run', '--bundle', b.dir, id], { timeout: 20000 });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/container's cgroup unexpectedly frozen/);
    expect(fs.existsSync(freezer)).toBe(true);
    expect(fs.existsSync(join(rt.root, id))).toBe(false);
  });
  test("one with processes in it is refused, in runc's words", () => {
    const b1 = tracked.make(['sleep', '30'], (c) => {
      c.linux.cgroupsPath = `/${name}-busy`;
    });
    const id1 = `compat-${process.pid}-busy1`;
    expect(rt.create(id1, b1.dir).status).toBe(0);
    const b2 = tracked.make(['true'], (c) => {
      c.linux.cgroupsPath = `/${name}-busy`;
    });
    const id2 = `compat-${process.pid}-busy2`;
    const r = rt.run(['run', '--bundle', b2.dir, id2]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/container's cgroup is not empty/);
    // the refusal comes while the forked init starts up: it is taken away (a copy keeps the
    // runtime's command line), and nothing of the container stays
    const copies = fs.readdirSync('/proc').filter((p) => {
      try {
        return /^\d+$/.test(p) && fs.readFileSync(`/proc/${p}/cmdline`, 'latin1').split('\0').includes(id2);
      } catch {
        return false;
      }
    });
    expect(copies).toEqual([]);
    expect(fs.existsSync(join(rt.root, id2))).toBe(false);
    expect(rt.run(['delete', '--force', id1]).status).toBe(0);
  });
});

describe('bind mount flags, as runc sets them', () => {
  const src = join(os.tmpdir(), `tsr-rosrc-${process.pid}`);
  beforeAll(() => {
    fs.mkdirSync(src, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'noexec', 'tmpfs', src]);
    execFileSync('mount', ['--bind', '-o', 'remount,ro,noexec', src]);
  });
  afterAll(() => {
    spawnSync('umount', [src]);
    fs.rmSync(src, { recursive: true, force: true });
  });
  const flags = (options: string[], userns = false) => {
    const b = tracked.make(['sh', '-c', 'grep " /tmp/m " /proc/self/mountinfo | cut -d" " -f6'], (c) => {
      if (userns) {
        c.linux.namespaces.push({ type: 'user' });
        c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      }
      c.mounts.push({ source: src, destination: '/tmp/m', type: 'bind', options });
    });
    return rt.run(['run', '--bundle', b.dir, `compat-${process.pid}-${Math.random().toString(36).slice(2, 8)}`]);
  };
  test("no flag option keeps the source's; any option sets exactly those asked (mount(8)-unlike, as runc)", () => {
    expect(flags(['bind']).stdout.trim().split(',')).toEqual(expect.arrayContaining(['ro', 'noexec']));
    const cleared = flags(['bind', 'dev']).stdout.trim().split(',');
    expect(cleared).toContain('rw');
    expect(cleared).not.toContain('noexec');
  });
  test("with a user namespace the source's flags are locked, as the kernel locks inherited mounts: kept, and clearing one is an error", () => {
    expect(flags(['bind', 'nosuid'], true).stdout.trim().split(',')).toEqual(expect.arrayContaining(['ro', 'noexec', 'nosuid']));
    const r = flags(['bind', 'rw'], true);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/mounts\[\d+\] \(\/tmp\/m\): error mounting: cannot clear locked flags ro/);
  });
});
