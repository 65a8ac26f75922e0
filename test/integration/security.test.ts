// Protections that must hold against a hostile container. Each test fails if its protection is removed.
import { afterAll, describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { spawnSync } from 'child_process';
import { REPO, TSRUNC, bundleTracker, uniqueId } from '../helpers/bundle';
import { Runtime } from '../helpers/runtime';
import { PODMAN_CAPS, PODMAN_DEFAULT, forContainer } from '../helpers/seccomp-profiles';

const rt = new Runtime();
const tracked = bundleTracker();
const bundle = tracked.make;
const dirs: string[] = [];
afterAll(() => {
  rt.cleanup();
  tracked.removeAll();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('the runtime cannot be reached from a container (CVE-2019-5736 class)', () => {
  test('a process sharing the pid namespace of a waiting init cannot open its executable or its root', () => {
    // Container A is created: its init (node, running tsrunc's code) waits for start.
    const a = bundle(['sleep', '30']);
    const idA = uniqueId();
    expect(rt.create(idA, a.dir).status).toBe(0);
    const pidA = rt.state(idA).pid;
    // Container B joins A's pid namespace, where A's init is pid 1, and attacks it as root.
    const b = bundle(
      [
        'sh',
        '-c',
        [
          'cat /proc/1/comm',
          'echo x >> /proc/1/exe 2>/dev/null && echo WROTE-EXE || echo exe-write-refused',
          'head -c1 /proc/1/exe >/dev/null 2>&1 && echo OPENED-EXE || echo exe-open-refused',
          'ls /proc/1/root/ >/dev/null 2>&1 && echo ROOT-VISIBLE || echo root-refused',
          'ls /proc/1/cwd/ >/dev/null 2>&1 && echo CWD-VISIBLE || echo cwd-refused',
          'for f in /proc/1/fd/*; do head -c0 $f 2>/dev/null && echo OPENED-FD-$f; done; echo fds-refused',
        ].join('; '),
      ],
      (c) => {
        c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) =>
          n.type === 'pid' ? { type: 'pid', path: `/proc/${pidA}/ns/pid` } : n,
        );
      },
    );
    const r = rt.run(['run', '--bundle', b.dir, uniqueId()]);
    expect(r.stdout).toBe('tsrunc:init\nexe-write-refused\nexe-open-refused\nroot-refused\ncwd-refused\nfds-refused\n');
    // and the node binary is untouched
    expect(fs.statSync(process.execPath).size).toBeGreaterThan(1 << 20);
  });

  test("even with CAP_SYS_PTRACE, init's executable can only be reopened read-only", () => {
    const a = bundle(['sleep', '30']);
    const idA = uniqueId();
    expect(rt.create(idA, a.dir).status).toBe(0);
    const pidA = rt.state(idA).pid;
    const all = ['CAP_SYS_PTRACE', 'CAP_DAC_OVERRIDE', 'CAP_CHOWN', 'CAP_FOWNER', 'CAP_KILL'];
    // The attack: hold the executable open, then reopen it for writing through /proc/self/fd.
    // (The file is busy while any node runs; opening with O_TRUNC checks the mount first, so the
    // error tells a read-only mount apart.)
    const b = bundle(['sh', '-c', 'exec 3</proc/1/exe && echo held; : > /proc/self/fd/3'], (c) => {
      c.process.capabilities = { bounding: all, effective: all, permitted: all };
      c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) =>
        n.type === 'pid' ? { type: 'pid', path: `/proc/${pidA}/ns/pid` } : n,
      );
    });
    const r = rt.run(['run', '--bundle', b.dir, uniqueId()]);
    expect(r.stdout).toBe('held\n');
    expect(r.stderr).toMatch(/Read-only file system/);
  });
});

describe("the runtime's files are not mapped in a container's init", () => {
  test("a created init maps none of dist/ (create maps the bundle's code cache at boot, and takes it away once compiled)", () => {
    const b = bundle(['true']);
    const id = uniqueId();
    expect(rt.create(id, b.dir).status).toBe(0);
    const maps = fs.readFileSync(`/proc/${rt.state(id).pid}/maps`, 'utf8').split('\n');
    expect(maps.length).toBeGreaterThan(10); // node, its libraries, koffi's native module
    const dist = `${join(REPO, 'dist')}/`;
    expect(maps.filter((l) => l.includes(dist))).toEqual([]);
    expect(rt.run(['delete', '--force', id]).status).toBe(0);
  });
});

describe('no host fd reaches a container', () => {
  test("a created init holds only its stdio, the exec fifo, its channel and libuv's own pipes and eventfds", () => {
    // runc's create.bats "detect fd leak": before start, in the container's namespaces already
    const b = bundle(['true'], (c) => {
      c.linux.namespaces.push({ type: 'network', path: '/proc/self/ns/net' });
      c.linux.namespaces.splice(1, 1);
    });
    const id = uniqueId();
    expect(rt.create(id, b.dir).status).toBe(0);
    const pid = rt.state(id).pid;
    const links = fs.readdirSync(`/proc/${pid}/fd`).map((fd) => `${fd} -> ${fs.readlinkSync(`/proc/${pid}/fd/${fd}`)}`);
    const allowed = (l: string) =>
      / -> (pipe:\[\d+\]|anon_inode:\[(eventfd|signalfd)\]|socket:\[\d+\]|\/dev\/null|.*\/exec\.fifo|.*\.out)$/.test(l);
    expect(links.filter((l) => !allowed(l))).toEqual([]);
    expect(links.filter((l) => / -> socket:/.test(l)).length).toBeLessThanOrEqual(1); // the channel
    expect(rt.run(['delete', '--force', id]).status).toBe(0);
  });
});

describe('the node that containers are copies of runs from a read-only bind', () => {
  test('made at the first container command (which re-execs through it once), and made anew when node is replaced', () => {
    const work = fs.mkdtempSync(join(os.tmpdir(), 'tsr-test-node-'));
    dirs.push(work);
    const node = join(work, 'node');
    const bind = `/run/tsrunc-exe${node}`;
    const env = { ...process.env, TSRUNC_NODE: node };
    const runIt = () =>
      spawnSync(TSRUNC, ['--debug', '--root', rt.root, 'run', '--bundle', bundle(['true']).dir, uniqueId()], { env, encoding: 'utf8' });
    try {
      fs.copyFileSync(process.execPath, node);
      fs.chmodSync(node, 0o755);
      let r = runIt();
      expect(r.status).toBe(0);
      expect(r.stderr).toContain(`re-executing through the read-only ${bind}`);
      expect(fs.statSync(bind).ino).toBe(fs.statSync(node).ino);
      expect(() => fs.accessSync(bind, fs.constants.W_OK)).toThrow(/EROFS/);
      // From now on the launcher runs it: no re-exec.
      r = runIt();
      expect(r.status).toBe(0);
      expect(r.stderr).not.toContain('re-executing');
      // An upgrade replaces the file: the bind still holds the old one until tsrunc makes it anew.
      fs.copyFileSync(process.execPath, `${node}.new`);
      fs.chmodSync(`${node}.new`, 0o755);
      fs.renameSync(`${node}.new`, node);
      expect(fs.statSync(bind).ino).not.toBe(fs.statSync(node).ino);
      r = runIt();
      expect(r.status).toBe(0);
      expect(r.stderr).toContain('re-executing');
      expect(fs.statSync(bind).ino).toBe(fs.statSync(node).ino);
      // Unmounted by someone, the mount point stays as an empty file: the launcher must not run it.
      spawnSync('umount', ['-l', bind]);
      expect(fs.statSync(bind).size).toBe(0);
      const v = spawnSync(TSRUNC, ['--version'], { env, encoding: 'utf8' });
      expect(v.stdout).toMatch(/^tsrunc version/);
      r = runIt();
      expect(r.status).toBe(0);
      expect(r.stderr).toContain('re-executing');
    } finally {
      spawnSync('umount', ['-l', bind]);
      fs.rmSync(`/run/tsrunc-exe${work}`, { recursive: true, force: true });
      // and the directories made for it, where nothing else is
      for (let d = `/run/tsrunc-exe${join(work, '..')}`; d !== '/run/tsrunc-exe'; d = join(d, '..')) {
        try {
          fs.rmdirSync(d);
        } catch {
          break;
        }
      }
    }
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(work);
  });
});

describe('mount destinations stay inside the rootfs (CVE-2021-30465 class)', () => {
  test.each([
    ['an absolute symlink', (target: string) => target],
    ['a relative symlink climbing out', (target: string) => '../../../../../../../..' + target],
  ])('through %s', (_name, link) => {
    const outside = fs.mkdtempSync(join(os.tmpdir(), 'tsr-test-outside-'));
    dirs.push(outside);
    const b = bundle(['sh', '-c', `mount | grep -c " ${outside}/sub " ; ls -d ${outside}/sub`], (c) => {
      c.mounts.push({ destination: '/evil/sub', type: 'tmpfs', source: 'tmpfs' });
      c.root.readonly = false;
    });
    fs.symlinkSync(link(outside), join(b.dir, 'rootfs', 'evil'));
    const r = rt.run(['run', '--bundle', b.dir, uniqueId()]);
    expect(r.status).toBe(0);
    // Inside, the mount sits at the link's target as seen from the container's root...
    expect(r.stdout).toBe(`1\n${outside}/sub\n`);
    // ...which is inside the rootfs; the host directory was never touched.
    expect(fs.existsSync(join(outside, 'sub'))).toBe(false);
    expect(fs.existsSync(join(b.dir, 'rootfs', outside, 'sub'))).toBe(true);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(outside);
  });
});

describe('/dev without a tmpfs: its entries are never followed (CVE-2025-31133 class)', () => {
  test('a rootfs whose dev/null is a symlink into a bound host volume: the host file stays as it was', () => {
    const vol = fs.mkdtempSync(join(os.tmpdir(), 'tsr-vol-'));
    dirs.push(vol);
    fs.writeFileSync(join(vol, 'victim'), 'precious\n');
    const b = bundle(['sh', '-c', 'test -c /dev/null && echo null-is-a-device'], (c) => {
      c.mounts = c.mounts.filter((m: { destination: string }) => !m.destination.startsWith('/dev'));
      c.mounts.push({ source: vol, destination: '/vol', options: ['bind'] });
      c.linux.maskedPaths = ['/proc/kcore'];
    });
    fs.mkdirSync(join(b.dir, 'rootfs', 'vol'), { recursive: true });
    fs.rmSync(join(b.dir, 'rootfs', 'dev'), { recursive: true, force: true });
    fs.mkdirSync(join(b.dir, 'rootfs', 'dev'));
    fs.symlinkSync('/vol/victim', join(b.dir, 'rootfs', 'dev', 'null'));
    const r = rt.run(['run', '--bundle', b.dir, uniqueId()]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('null-is-a-device\n');
    expect(fs.lstatSync(join(vol, 'victim')).isFile()).toBe(true);
    expect(fs.readFileSync(join(vol, 'victim'), 'utf8')).toBe('precious\n');
  });
});

describe('masked and read-only paths', () => {
  test('masked files read empty, masked directories are empty and read-only, read-only paths refuse writes', () => {
    const b = bundle(
      [
        'sh',
        '-c',
        [
          'wc -c < /proc/cpuinfo',
          'ls /sys/firmware | wc -l',
          'touch /sys/firmware/x 2>/dev/null && echo WROTE-MASKED || echo masked-ro',
          'echo evil > /proc/sys/kernel/domainname 2>/dev/null && echo WROTE-RO || echo ro-refused',
          'cat /proc/sys/kernel/ostype',
        ].join('; '),
      ],
      (c) => {
        c.linux.maskedPaths = ['/proc/cpuinfo', '/sys/firmware', '/does/not/exist'];
        c.linux.readonlyPaths = ['/proc/sys'];
      },
    );
    const r = rt.run(['run', '--bundle', b.dir, uniqueId()]);
    expect(r.stdout).toBe('0\n0\nmasked-ro\nro-refused\nLinux\n');
    expect(fs.readFileSync('/proc/cpuinfo', 'utf8').length).toBeGreaterThan(0);
  });
});

describe('seccomp', () => {
  test('a denied syscall fails with the configured errno; the rest works', () => {
    const b = bundle(['sh', '-c', 'mkdir /tmp/d 2>&1; echo still-running'], (c) => {
      c.root.readonly = false;
      c.linux.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
      };
    });
    const r = rt.run(['run', '--bundle', b.dir, uniqueId()]);
    expect(r.stdout).toMatch(/Permission denied\nstill-running\n$/);
    expect(fs.existsSync(join(b.dir, 'rootfs', 'tmp', 'd'))).toBe(false);
  });
  test("podman's default profile (with podman's capabilities): installed, the container runs, and not a word about it", () => {
    const b = bundle(['sh', '-c', 'grep Seccomp: /proc/self/status; ls / >/dev/null && echo runs'], (c) => {
      c.process.capabilities = { bounding: PODMAN_CAPS, effective: PODMAN_CAPS, permitted: PODMAN_CAPS };
      c.linux.seccomp = forContainer(PODMAN_DEFAULT, PODMAN_CAPS);
    });
    const r = rt.run(['run', '--bundle', b.dir, uniqueId()]);
    expect(r.stderr).toBe(''); // its names of other architectures are skipped without a word
    expect(r.stdout).toBe('Seccomp:\t2\nruns\n');
    expect(r.status).toBe(0);
  });
  test('with noNewPrivileges the filter is installed last, and the program sees it', () => {
    const b = bundle(['grep', '-E', 'Seccomp:|NoNewPrivs', '/proc/self/status'], (c) => {
      c.process.noNewPrivileges = true;
      c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['reboot'], action: 'SCMP_ACT_ERRNO' }] };
    });
    expect(rt.run(['run', '--bundle', b.dir, uniqueId()]).stdout).toBe('NoNewPrivs:\t1\nSeccomp:\t2\n');
  });
});
