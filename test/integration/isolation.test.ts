// What the container's process sees: namespaces, rootfs, credentials, limits, fds.
import { afterAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { makeBundle, uniqueId, TSRUNC, type Bundle } from '../helpers/bundle';
import { Runtime } from '../helpers/runtime';

const rt = new Runtime();
const bundles: Bundle[] = [];
afterAll(() => {
  rt.cleanup();
  for (const b of bundles) b.remove();
});

/** Runs sh -c script in a fresh container (config edited by edit) and returns its stdout. */
function inContainer(script: string, edit?: Parameters<typeof makeBundle>[1]): { out: string; err: string; status: number | null } {
  const b = makeBundle(['sh', '-c', script], edit);
  bundles.push(b);
  const r = rt.run(['run', '--bundle', b.dir, uniqueId()]);
  return { out: r.stdout, err: r.stderr, status: r.status };
}

describe('namespaces', () => {
  test('the process is pid 1 of its own pid namespace and sees only its own processes', () => {
    // The glob is expanded by the shell itself, before any child exists.
    const { out } = inContainer('echo $$; for p in /proc/[0-9]*; do echo "${p#/proc/} $(cat $p/comm)"; done');
    expect(out).toBe('1\n1 sh\n');
  });
  test('hostname and domainname come from the config, in a new uts namespace', () => {
    const { out } = inContainer('hostname; cat /proc/sys/kernel/domainname', (c) => {
      c.hostname = 'box1';
      c.domainname = 'example.test';
    });
    expect(out).toBe('box1\nexample.test\n');
    expect(os.hostname()).not.toBe('box1');
  });
  test("each namespace in the config is new; the others are the host's", () => {
    const host = (n: string) => fs.readlinkSync(`/proc/self/ns/${n}`);
    const { out } = inContainer('for n in mnt uts ipc net pid cgroup user; do readlink /proc/self/ns/$n; done', (c) => {
      // the default config has a cgroup namespace only on a pure v2 host, as runc's
      if (!c.linux.namespaces.some((n: { type: string }) => n.type === 'cgroup')) c.linux.namespaces.push({ type: 'cgroup' });
    });
    const [mnt, uts, ipc, net, pid, cgroup, user] = out.trim().split('\n');
    expect([mnt, uts, ipc, net, pid, cgroup].some((v, i) => v === host(['mnt', 'uts', 'ipc', 'net', 'pid', 'cgroup'][i]))).toBe(false);
    expect(user).toBe(host('user'));
  });
  test("joining a namespace by path (the host's network namespace)", () => {
    const mine = `/proc/${process.pid}/ns/net`;
    const { out } = inContainer('readlink /proc/self/ns/net', (c) => {
      c.linux.namespaces = c.linux.namespaces.map((n: { type: string }) => (n.type === 'network' ? { type: 'network', path: mine } : n));
    });
    expect(out.trim()).toBe(fs.readlinkSync(mine));
  });
  test("no mount namespace: the container shares the host's, and delete takes its mounts away", () => {
    const b = makeBundle(['sh', '-c', 'readlink /proc/self/ns/mnt'], (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'mount');
    });
    bundles.push(b);
    const r = rt.run(['run', '--bundle', b.dir, uniqueId()]);
    expect(r.stdout.trim()).toBe(fs.readlinkSync('/proc/self/ns/mnt'));
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(b.dir);
  });
});

describe('root filesystem', () => {
  test('pivot_root: the rootfs is "/", the host\'s root is gone, mounts are the config\'s', () => {
    const { out } = inContainer('cat /proc/self/mountinfo; ls /');
    expect(out).toMatch(/ \/ ro,/); // root.readonly in the default config
    expect(out).toMatch(/ \/proc rw.* - proc /);
    expect(out).toMatch(/ \/dev\/pts .* - devpts /);
    expect(out).not.toMatch(/\/work|\/home/);
  });
  test('--no-pivot enters the rootfs with MS_MOVE and chroot', () => {
    const b = makeBundle(['sh', '-c', 'ls /bin/busybox && echo $$']);
    bundles.push(b);
    const r = rt.run(['run', '--no-pivot', '--bundle', b.dir, uniqueId()]);
    expect(r.stdout).toBe('/bin/busybox\n1\n');
  });
  test('root.readonly: writes fail; a tmpfs mount stays writable', () => {
    const { out } = inContainer('touch /x 2>&1; touch /tmp/y && echo tmp-ok', (c) => {
      c.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] });
    });
    expect(out).toMatch(/Read-only file system/);
    expect(out).toContain('tmp-ok');
  });
  test("tmpcopyup (runc's extension, podman --read-only): the tmpfs starts with the directory's files, modes and owners", () => {
    const b = makeBundle(
      [
        'sh',
        '-c',
        [
          'stat -c "%n %a %u:%g" /srv/keep /srv/sub /srv/sub/f /srv/link',
          'cat /srv/keep /srv/sub/f; readlink /srv/link',
          'echo changed > /srv/keep && cat /srv/keep',
          'grep " /srv " /proc/self/mountinfo | grep -c tmpfs',
          'touch /srv/ro/x 2>/dev/null && echo WROTE-RO || echo ro-kept',
        ].join('; '),
      ],
      (c) => {
        c.root.readonly = true;
        c.mounts.push({ destination: '/srv', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'tmpcopyup'] });
        c.mounts.push({ destination: '/srv/ro', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'tmpcopyup'] });
      },
    );
    bundles.push(b);
    const srv = join(b.dir, 'rootfs', 'srv');
    fs.mkdirSync(join(srv, 'sub'), { recursive: true, mode: 0o750 });
    fs.mkdirSync(join(srv, 'ro'));
    fs.writeFileSync(join(srv, 'keep'), 'kept\n', { mode: 0o640 });
    fs.writeFileSync(join(srv, 'sub', 'f'), 'deep\n');
    fs.chownSync(join(srv, 'sub', 'f'), 1000, 1000);
    fs.chmodSync(join(srv, 'sub'), 0o750);
    fs.chmodSync(join(srv, 'keep'), 0o640);
    fs.symlinkSync('sub/f', join(srv, 'link'));
    const r = rt.run(['run', '--bundle', b.dir, uniqueId()]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      '/srv/keep 640 0:0\n/srv/sub 750 0:0\n/srv/sub/f 644 1000:1000\n/srv/link 777 0:0\nkept\ndeep\nsub/f\nchanged\n1\nro-kept\n',
    );
    // the bundle's files are untouched
    expect(fs.readFileSync(join(srv, 'keep'), 'utf8')).toBe('kept\n');
  });
  test('tmpcopyup on anything but tmpfs is an error naming the mount', () => {
    const b = makeBundle(['true'], (c) => {
      c.mounts.push({ destination: '/x', type: 'bind', source: '/tmp', options: ['rbind', 'tmpcopyup'] });
    });
    bundles.push(b);
    const r = rt.run(['run', '--bundle', b.dir, uniqueId()]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/mounts\[\d+\]\.options: tmpcopyup is for tmpfs mounts, not bind/);
  });
  test('bind mounts from the bundle, read-only when asked; mounts apply in order', () => {
    const b = makeBundle(
      ['sh', '-c', 'cat /data/f; echo w > /data/g 2>/dev/null || echo ro-ok; grep -E " /a(/b)? " /proc/self/mountinfo | cut -d" " -f5'],
      (c) => {
        c.mounts.push({ destination: '/data', type: 'bind', source: 'hostdata', options: ['rbind', 'ro'] });
        c.mounts.push({ destination: '/a', type: 'tmpfs', source: 'tmpfs' });
        c.mounts.push({ destination: '/a/b', type: 'tmpfs', source: 'tmpfs' });
      },
    );
    bundles.push(b);
    fs.mkdirSync(join(b.dir, 'hostdata'));
    fs.writeFileSync(join(b.dir, 'hostdata', 'f'), 'from host\n');
    const r = rt.run(['run', '--bundle', b.dir, uniqueId()]);
    expect(r.stdout).toBe('from host\nro-ok\n/a\n/a/b\n');
    expect(fs.existsSync(join(b.dir, 'hostdata', 'g'))).toBe(false);
  });
  test('the cgroup mount (default: ro): it and every mount in it read-only, nosuid, nodev, noexec; writes refused', () => {
    const { out } = inContainer(
      'grep " /sys/fs/cgroup" /proc/self/mountinfo | cut -d" " -f6 | sort -u; touch /sys/fs/cgroup/x 2>/dev/null || echo refused',
    );
    const [opts, ...rest] = out.trim().split('\n');
    expect([opts.split(',').sort(), rest]).toEqual([['nodev', 'noexec', 'nosuid', 'relatime', 'ro'], ['refused']]);
  });
  test('default devices and /dev symlinks', () => {
    const { out } = inContainer(
      'for d in null zero full random urandom tty; do ls -l /dev/$d | awk "{print \\$1, \\$5, \\$6}"; done; readlink /dev/fd; readlink /dev/ptmx; echo x > /dev/null && echo null-ok',
    );
    expect(out).toBe(
      'crw-rw-rw- 1, 3\ncrw-rw-rw- 1, 5\ncrw-rw-rw- 1, 7\ncrw-rw-rw- 1, 8\ncrw-rw-rw- 1, 9\ncrw-rw-rw- 5, 0\n/proc/self/fd\npts/ptmx\nnull-ok\n',
    );
  });
  test('linux.devices are created with their mode and owner', () => {
    const { out } = inContainer('ls -ln /dev/fuse2 | awk "{print \\$1, \\$3, \\$4, \\$5, \\$6}"', (c) => {
      c.linux.devices = [{ path: '/dev/fuse2', type: 'c', major: 10, minor: 229, fileMode: 0o640, uid: 5, gid: 6 }];
    });
    expect(out).toBe('crw-r----- 5 6 10, 229\n');
  });
});

describe('process', () => {
  test('args, env, cwd (created if missing) and HOME', () => {
    const { out } = inContainer('pwd; echo $FOO; echo $HOME', (c) => {
      c.process.env.push('FOO=bar baz');
      c.process.cwd = '/work/dir';
      c.root.readonly = false;
    });
    expect(out).toBe('/work/dir\nbar baz\n/root\n');
  });
  test('user: uid, gid, additional groups and umask', () => {
    const { out } = inContainer('id -u; id -g; id -G; umask', (c) => {
      c.process.user = { uid: 1234, gid: 5678, additionalGids: [10, 20], umask: 0o027 };
    });
    expect(out).toBe('1234\n5678\n5678 10 20\n0027\n');
  });
  test('capabilities: the five sets as configured, for root', () => {
    const { out } = inContainer('grep Cap /proc/self/status', (c) => {
      const caps = ['CAP_KILL', 'CAP_CHOWN'];
      c.process.capabilities = { bounding: [...caps, 'CAP_NET_RAW'], effective: caps, permitted: caps, inheritable: caps, ambient: caps };
    });
    expect(out).toBe(
      'CapInh:\t0000000000000021\nCapPrm:\t0000000000000021\nCapEff:\t0000000000000021\nCapBnd:\t0000000000002021\nCapAmb:\t0000000000000021\n',
    );
  });
  test('capabilities survive the switch to a non-root user (ambient)', () => {
    const { out } = inContainer('grep -E "CapEff|CapAmb" /proc/self/status; id -u', (c) => {
      const caps = ['CAP_NET_BIND_SERVICE'];
      c.process.user = { uid: 1000, gid: 1000 };
      c.process.capabilities = { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: caps };
    });
    expect(out).toBe('CapEff:\t0000000000000400\nCapAmb:\t0000000000000400\n1000\n');
  });
  test("rlimits from the config; without one, the caller's NOFILE soft limit (not Node's raised one)", () => {
    const { out } = inContainer('ulimit -n; ulimit -c', (c) => {
      c.process.rlimits = [{ type: 'RLIMIT_CORE', soft: 1024, hard: 2048 }];
    });
    const caller = spawnSync('sh', ['-c', 'ulimit -Sn'], { encoding: 'utf8' }).stdout.trim();
    expect(out).toBe(`${caller}\n2\n`); // ulimit -c reports 512-byte blocks
  });
  test('noNewPrivileges', () => {
    const { out } = inContainer('grep NoNewPrivs /proc/self/status', (c) => {
      c.process.noNewPrivileges = true;
    });
    expect(out).toBe('NoNewPrivs:\t1\n');
  });
  test('no signal is left ignored or blocked by the runtime (Node ignores SIGPIPE)', () => {
    // Not through sh, which ignores SIGQUIT itself.
    const b = makeBundle(['grep', '-E', 'SigBlk|SigIgn', '/proc/self/status']);
    bundles.push(b);
    expect(rt.run(['run', '--bundle', b.dir, uniqueId()]).stdout).toBe('SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n');
  });
});

describe('fd hygiene', () => {
  test('no fd of the runtime or of its caller reaches the container; --preserve-fds passes exactly N', () => {
    const b = makeBundle(['sh', '-c', 'ls /proc/self/fd | sort -n | tr "\\n" " "; cat <&3']);
    bundles.push(b);
    const extra = join(b.dir, 'extra');
    fs.writeFileSync(extra, 'preserved fd 3\n');
    const fd3 = fs.openSync(extra, 'r');
    const fd4 = fs.openSync(extra, 'r');
    const run = (preserve: number) =>
      spawnSync(TSRUNC, ['--root', rt.root, 'run', '--preserve-fds', String(preserve), '--bundle', b.dir, uniqueId()], {
        stdio: ['ignore', 'pipe', 'pipe', fd3, fd4],
        encoding: 'utf8',
      });
    const none = run(0);
    // ls sees its own directory fd (3) besides stdio; nothing else.
    expect(none.stdout).toMatch(/^0 1 2 3 $/);
    const one = run(1);
    expect(one.stdout).toBe('0 1 2 3 4 preserved fd 3\n');
    fs.closeSync(fd3);
    fs.closeSync(fd4);
    const g3 = fs.openSync(extra, 'r');
    const g4 = fs.openSync(extra, 'r');
    const activated = spawnSync(TSRUNC, ['--root', rt.root, 'run', '--bundle', b.dir, uniqueId()], {
      stdio: ['ignore', 'pipe', 'pipe', g3, g4],
      encoding: 'utf8',
      env: { ...process.env, LISTEN_FDS: '2' },
    });
    // LISTEN_FDS=2: fds 3 and 4 pass (ls's own dir fd is then 5)
    expect(activated.stdout).toBe('0 1 2 3 4 5 preserved fd 3\n');
    fs.closeSync(g3);
    fs.closeSync(g4);
  });
});

describe('user namespace (rootful)', () => {
  const maps = (c: Record<string, any>) => {
    c.linux.namespaces.push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  };
  test('root inside is an unprivileged uid outside; files it creates belong to the mapped ids', () => {
    const b = makeBundle(
      ['sh', '-c', 'id -u; cat /proc/self/uid_map; echo $$; touch /shared/made-inside; grep CapEff /proc/self/status'],
      (c) => {
        maps(c);
        c.mounts.push({ destination: '/shared', type: 'bind', source: 'shared', options: ['bind'] });
      },
    );
    bundles.push(b);
    fs.mkdirSync(join(b.dir, 'shared'));
    fs.chownSync(join(b.dir, 'shared'), 100000, 100000);
    fs.mkdirSync(join(b.dir, 'rootfs', 'shared')); // the mapped root cannot create it in a root-owned rootfs
    const id = uniqueId();
    const r = rt.run(['run', '--bundle', b.dir, id]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^0\n\s+0\s+100000\s+65536\n1\nCapEff:\t0000000020000420\n$/);
    const st = fs.statSync(join(b.dir, 'shared', 'made-inside'));
    expect([st.uid, st.gid]).toEqual([100000, 100000]);
  });
  test("the container's namespaces are owned by its user namespace: proc, sysfs and hostname work", () => {
    const { out } = inContainer('hostname; ls /proc/self/ns/user >/dev/null && mount | grep -c -E " /proc | /sys "', (c) => {
      maps(c);
      c.hostname = 'userns-box';
    });
    expect(out).toBe('userns-box\n2\n');
  });
  test('a non-root user inside a user namespace', () => {
    const { out } = inContainer('id -u; id -g', (c) => {
      maps(c);
      c.process.user = { uid: 1000, gid: 1000 };
    });
    expect(out).toBe('1000\n1000\n');
  });
  test('a new user namespace without mappings is refused, naming the field', () => {
    const b = makeBundle(['true'], (c) => {
      c.linux.namespaces.push({ type: 'user' });
    });
    bundles.push(b);
    const r = rt.run(['create', '--bundle', b.dir, uniqueId()]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/linux.uidMappings: a new user namespace needs mappings/);
  });
});

describe('idmapped mounts', () => {
  const idmap = (hostID: number, size: number) => [{ containerID: 0, hostID, size }];
  test("on-disk ids are shown through the mount's mapping (disk 0 → 1000)", () => {
    const b = makeBundle(['stat', '-c', '%u %g', '/data/f'], (c) => {
      c.mounts.push({
        destination: '/data',
        type: 'bind',
        source: 'hostdata',
        options: ['rbind'],
        uidMappings: idmap(1000, 1),
        gidMappings: idmap(1000, 1),
      });
    });
    bundles.push(b);
    fs.mkdirSync(join(b.dir, 'hostdata'));
    fs.writeFileSync(join(b.dir, 'hostdata', 'f'), 'x');
    expect(rt.run(['run', '--bundle', b.dir, uniqueId()]).stdout).toBe('1000 1000\n');
  });
  test("in a user namespace, root-owned host files are root's inside, and what root writes is root's on disk", () => {
    const b = makeBundle(['sh', '-c', 'stat -c "%u %g" /data/f; echo new > /data/g && echo wrote'], (c) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = idmap(100000, 65536);
      c.linux.gidMappings = idmap(100000, 65536);
      c.mounts.push({
        destination: '/data',
        type: 'bind',
        source: 'hostdata',
        options: ['rbind'],
        uidMappings: idmap(100000, 65536),
        gidMappings: idmap(100000, 65536),
      });
    });
    bundles.push(b);
    fs.mkdirSync(join(b.dir, 'hostdata'));
    fs.writeFileSync(join(b.dir, 'hostdata', 'f'), 'x');
    fs.mkdirSync(join(b.dir, 'rootfs', 'data'));
    const r = rt.run(['run', '--bundle', b.dir, uniqueId()]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('0 0\nwrote\n');
    const st = fs.statSync(join(b.dir, 'hostdata', 'g'));
    expect([st.uid, st.gid]).toEqual([0, 0]);
  });
  test('only bind mounts can be idmapped', () => {
    const b = makeBundle(['true'], (c) => {
      c.mounts.push({ destination: '/t', type: 'tmpfs', source: 'tmpfs', uidMappings: idmap(1000, 1), gidMappings: idmap(1000, 1) });
    });
    bundles.push(b);
    expect(rt.run(['create', '--bundle', b.dir, uniqueId()]).stderr).toMatch(/mounts\[7\]: only bind mounts can be idmapped/);
  });
});
