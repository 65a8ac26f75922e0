/*
 * Conformance: config.md (root, process args/env/cwd/user, hostname, mounts) and
 * config-linux.md (namespaces), checked from inside the container.
 * Runs against tsrunc, or against RUNTIME (e.g. RUNTIME=/usr/sbin/runc npx jest conformance).
 */
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import { Harness, nsLink } from './helpers';

const h = new Harness();
const rt = h.rt;
afterEach(() => h.cleanup());
afterAll(() => h.done());

/** Lines of output, without empty trailing ones. */
function lines(s: string): string[] {
  return s.split('\n').filter((l) => l !== '');
}

interface MountinfoEntry {
  id: string;
  parentId: string;
  mountPoint: string;
  options: string[];
  fsType: string;
  superOptions: string[];
}

/** One line of /proc/PID/mountinfo (see proc(5)). */
function parseMountinfo(line: string): MountinfoEntry {
  const f = line.split(' ');
  const sep = f.indexOf('-');
  return {
    id: f[0],
    parentId: f[1],
    mountPoint: f[4],
    options: f[5].split(','),
    fsType: f[sep + 1],
    superOptions: (f[sep + 3] ?? '').split(','),
  };
}

describe('process', () => {
  test('process.args is the program and its argv, word for word', async () => {
    // config.md Process: args has execvp argv semantics; the first entry is the program (looked
    // up like execvp's file) and each entry reaches the program as one argument, unsplit.
    const b = h.bundle(['sh', '-c', 'for a in "$0" "$@"; do echo "<$a>"; done', 'zero', 'a b', 'c*d', '', '$HOME']);
    const out = await h.runToCompletion(h.id(), b);
    expect(lines(out)).toEqual(['<zero>', '<a b>', '<c*d>', '<>', '<$HOME>']);
  });

  test('process.env is the environment of the program', async () => {
    // config.md Process: env has the semantics of environ: the program's environment is exactly
    // the configured list (nothing of the runtime's own environment leaks in). runc and tsrunc
    // both add HOME (from /etc/passwd, or "/") when env lacks it; that is the only addition
    // tolerated here.
    const env = ['PATH=/bin:/sbin', 'FOO=bar baz', 'EMPTY=', 'WITH_EQ=a=b'];
    const b = h.bundle(['env'], (c) => {
      c.process.env = env;
    });
    process.env.TSR_CONFORMANCE_LEAK = 'leaked';
    let out: string;
    try {
      out = await h.runToCompletion(h.id(), b);
    } finally {
      delete process.env.TSR_CONFORMANCE_LEAK;
    }
    const got = lines(out);
    expect(got.filter((l) => !l.startsWith('HOME=')).sort()).toEqual([...env].sort());
    expect(got.filter((l) => l.startsWith('HOME=')).length).toBeLessThanOrEqual(1);
    expect(out).not.toContain('TSR_CONFORMANCE_LEAK');
  });

  test('a HOME given in process.env is kept as given', async () => {
    // config.md Process: env is the program's environment; a configured value is not replaced.
    const b = h.bundle(['env'], (c) => {
      c.process.env = ['PATH=/bin', 'HOME=/tmp/elsewhere'];
    });
    const out = await h.runToCompletion(h.id(), b);
    expect(lines(out).sort()).toEqual(['HOME=/tmp/elsewhere', 'PATH=/bin']);
  });

  test('process.cwd is the working directory of the program', async () => {
    // config.md Process: cwd is the working directory set for the executable.
    const b = h.bundle(['sh', '-c', 'pwd; ls -d "$PWD"/marker'], (c) => {
      c.process.cwd = '/root/work';
    });
    fs.mkdirSync(join(b.dir, 'rootfs', 'root', 'work'));
    fs.writeFileSync(join(b.dir, 'rootfs', 'root', 'work', 'marker'), '');
    const out = await h.runToCompletion(h.id(), b);
    expect(lines(out)).toEqual(['/root/work', '/root/work/marker']);
  });

  test('process.user uid, gid and additionalGids are those of the program', async () => {
    // config.md POSIX-platform User: uid and gid are the user and group IDs of the process in the
    // container namespace; additionalGids are added to the process as supplementary groups.
    const b = h.bundle(['sh', '-c', 'id -u; id -g; id -G'], (c) => {
      c.process.user = { uid: 1000, gid: 1001, additionalGids: [1003, 1002] };
    });
    const [uid, gid, groups] = lines(await h.runToCompletion(h.id(), b));
    expect(uid).toBe('1000');
    expect(gid).toBe('1001');
    const g = groups.split(/\s+/);
    expect(g).toEqual(expect.arrayContaining(['1002', '1003']));
    expect(g).not.toContain('0'); // the runtime's own (root) groups are not kept
  });

  test('the default user 0:0 is root in the container', async () => {
    // config.md POSIX-platform User: uid 0 / gid 0 are applied as given.
    const b = h.bundle(['sh', '-c', 'id -u; id -g']);
    expect(lines(await h.runToCompletion(h.id(), b))).toEqual(['0', '0']);
  });
});

describe('hostname', () => {
  test("hostname is set in the container's new UTS namespace, not on the host", async () => {
    // config.md Hostname: the hostname as seen by processes in the container; on Linux it is set
    // in the container's UTS namespace (so the host's is untouched).
    const before = os.hostname();
    const b = h.bundle(['sh', '-c', 'hostname; cat /proc/sys/kernel/hostname'], (c) => {
      c.hostname = 'tsr-conformance-host';
    });
    const out = await h.runToCompletion(h.id(), b);
    expect(lines(out)).toEqual(['tsr-conformance-host', 'tsr-conformance-host']);
    expect(os.hostname()).toBe(before);
  });
});

describe('root', () => {
  test('root.readonly true: the root filesystem cannot be written', async () => {
    // config.md Root: if readonly is true the root filesystem MUST be read-only in the container.
    const b = h.bundle(['sh', '-c', 'touch /tsr-written 2>&1; echo "rc=$?"; cat /proc/self/mountinfo'], (c) => {
      c.root.readonly = true;
    });
    const out = await h.runToCompletion(h.id(), b);
    expect(out).toMatch(/rc=[1-9]/);
    expect(out.toLowerCase()).toContain('read-only');
    expect(fs.existsSync(join(b.dir, 'rootfs', 'tsr-written'))).toBe(false);
    // The root mount itself (the last mount on /) carries the ro option.
    const roots = lines(out)
      .filter((l) => /^\d+ \d+ /.test(l))
      .map(parseMountinfo)
      .filter((m) => m.mountPoint === '/');
    expect(roots.length).toBeGreaterThan(0);
    expect(roots[roots.length - 1].options).toContain('ro');
  });

  test("root.readonly false: writes to / land in the bundle's root filesystem", async () => {
    // config.md Root: readonly defaults to false; root.path is the container's root filesystem,
    // relative to the bundle.
    const b = h.bundle(['sh', '-c', 'echo written > /tsr-written; echo "rc=$?"'], (c) => {
      c.root.readonly = false;
    });
    const out = await h.runToCompletion(h.id(), b);
    expect(lines(out)).toEqual(['rc=0']);
    expect(fs.readFileSync(join(b.dir, 'rootfs', 'tsr-written'), 'utf8')).toBe('written\n');
  });

  test('an absolute root.path is used as the root filesystem', async () => {
    // config.md Root: on POSIX path is either an absolute path or one relative to the bundle.
    const b = h.bundle(['cat', '/whoami'], (c) => {
      c.root.readonly = true;
    });
    fs.renameSync(join(b.dir, 'rootfs'), join(b.dir, 'elsewhere'));
    fs.writeFileSync(join(b.dir, 'elsewhere', 'whoami'), 'absolute-rootfs\n');
    b.config.root.path = join(b.dir, 'elsewhere');
    b.write();
    expect(await h.runToCompletion(h.id(), b)).toBe('absolute-rootfs\n');
  });
});

describe('mounts', () => {
  test('mounts are made in the listed order (nested tmpfs)', async () => {
    // config.md Mounts: the runtime MUST mount entries in the listed order. /mnt/a/b is listed
    // after /mnt/a, so it is mounted on top of the /mnt/a tmpfs: its parent mount is /mnt/a's.
    const b = h.bundle(['sh', '-c', 'touch /mnt/a/b/file && echo ok; grep -E " /mnt/a(/b)? " /proc/self/mountinfo'], (c) => {
      c.mounts.push({ destination: '/mnt/a', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
      c.mounts.push({ destination: '/mnt/a/b', type: 'tmpfs', source: 'tmpfs', options: ['size=2m'] });
    });
    const out = lines(await h.runToCompletion(h.id(), b));
    expect(out[0]).toBe('ok');
    const mi = out.slice(1).map(parseMountinfo);
    const a = mi.filter((m) => m.mountPoint === '/mnt/a');
    const ab = mi.filter((m) => m.mountPoint === '/mnt/a/b');
    expect(a).toHaveLength(1);
    expect(ab).toHaveLength(1);
    expect(a[0].superOptions).toContain('size=1024k');
    expect(ab[0].superOptions).toContain('size=2048k');
    expect(ab[0].parentId).toBe(a[0].id); // /mnt/a/b was mounted inside the /mnt/a tmpfs
    expect(mi.indexOf(a[0])).toBeLessThan(mi.indexOf(ab[0])); // mountinfo lists mounts in the order made
  });

  test('mounts on the same destination: the later entry is mounted on top of the earlier', async () => {
    // config.md Mounts: the runtime MUST mount entries in the listed order, so of two mounts at one
    // destination the later covers the earlier (tmpfs size tells the two apart).
    const b = h.bundle(['cat', '/proc/self/mountinfo'], (c) => {
      c.mounts.push({ destination: '/mnt/same', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
      c.mounts.push({ destination: '/mnt/same', type: 'tmpfs', source: 'tmpfs', options: ['size=2m'] });
    });
    const mi = lines(await h.runToCompletion(h.id(), b)).map(parseMountinfo);
    const same = mi.filter((m) => m.mountPoint === '/mnt/same');
    expect(same).toHaveLength(2);
    expect(same[0].superOptions).toContain('size=1024k');
    expect(same[1].superOptions).toContain('size=2048k');
    expect(same[1].parentId).toBe(same[0].id); // the 2m tmpfs sits on the 1m one
  });

  test('the tmpfs mode= option sets the mode of the mount, also over an existing directory', async () => {
    // config.md Linux mount options: options are those of mount(8) (tmpfs takes mode=); the
    // mounted tmpfs's root has the requested mode.
    const b = h.bundle(['stat', '-c', '%a', '/mnt/moded'], (c) => {
      c.mounts.push({ destination: '/mnt/moded', type: 'tmpfs', source: 'tmpfs', options: ['mode=751'] });
    });
    fs.mkdirSync(join(b.dir, 'rootfs', 'mnt', 'moded'), { recursive: true, mode: 0o700 });
    fs.chmodSync(join(b.dir, 'rootfs', 'mnt', 'moded'), 0o700);
    const out = await h.runToCompletion(h.id(), b);
    if (rt.isRunc) {
      // runc 1.1.5 diverges: when the tmpfs destination already exists it chmods the new tmpfs
      // to the old directory's mode (rootfs_linux.go, case "tmpfs"), overriding mode=.
      expect(out).toBe('700\n');
      return;
    }
    expect(out).toBe('751\n');
  });

  test('bind mounts: rw writes reach the host directory, ro refuses writes', async () => {
    // config.md Mounts / Linux mount options: `bind`/`rbind` make a bind mount of source, and the
    // `ro` and `rw` options MUST be supported.
    const rw = h.hostDir();
    const ro = h.hostDir();
    fs.writeFileSync(join(ro, 'present'), 'from-host\n');
    const b = h.bundle(['sh', '-c', 'echo hi > /rw/f; cat /ro/present; touch /ro/new 2>/dev/null; echo "ro-rc=$?"'], (c) => {
      c.mounts.push({ destination: '/rw', type: 'bind', source: rw, options: ['rbind', 'rw'] });
      c.mounts.push({ destination: '/ro', type: 'bind', source: ro, options: ['rbind', 'ro'] });
    });
    const out = lines(await h.runToCompletion(h.id(), b));
    expect(out[0]).toBe('from-host');
    expect(out[1]).toMatch(/^ro-rc=[1-9]/);
    expect(fs.readFileSync(join(rw, 'f'), 'utf8')).toBe('hi\n');
    expect(fs.existsSync(join(ro, 'new'))).toBe(false);
  });
});

describe('namespaces', () => {
  test('the container process is pid 1 of a new pid namespace', async () => {
    // config-linux.md Namespaces: with a `pid` entry and no path the runtime MUST create a new pid
    // namespace: the container process is its first process (pid 1) and sees only its own.
    const b = h.bundle(['sh', '-c', 'echo "pid=$$"; ls /proc | grep -E "^[0-9]+$" | wc -l']);
    const id = h.id();
    h.create(id, b);
    const hostPid = rt.state(id).pid;
    expect(hostPid).not.toBe(1);
    expect(nsLink(hostPid, 'pid')).not.toBe(nsLink('self', 'pid'));
    rt.ok(['start', id]);
    await rt.waitStatus(id, 'stopped');
    const [pid, count] = lines(rt.output(id, b.dir));
    expect(pid).toBe('pid=1');
    // sh, ls, grep and wc at most: none of the host's processes
    expect(Number(count)).toBeLessThanOrEqual(4);
  });

  test('each namespace listed without a path is a new one', () => {
    // config-linux.md Namespaces: if path is not given, the runtime MUST create a new container
    // namespace of that type.
    const b = h.bundle(['sleep', '1000']);
    const id = h.id();
    h.create(id, b);
    const pid = rt.state(id).pid;
    const files: Record<string, string> = { pid: 'pid', network: 'net', ipc: 'ipc', uts: 'uts', mount: 'mnt', cgroup: 'cgroup' };
    const listed = (b.config.linux.namespaces as { type: string }[]).map((n) => n.type);
    expect(listed.length).toBeGreaterThan(0);
    for (const t of listed) {
      const f = files[t];
      if (!f || !fs.existsSync(`/proc/self/ns/${f}`)) continue;
      expect({ t, ns: nsLink(pid, f) }).not.toEqual({ t, ns: nsLink('self', f) });
      expect(nsLink(pid, f)).toBeDefined();
    }
  });

  test('a namespace type that is not listed is inherited from the runtime', () => {
    // config-linux.md Namespaces: a type missing from the namespaces array MUST be inherited from
    // the runtime's namespace of that type (here: network and ipc).
    const b = h.bundle(['sleep', '1000'], (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'network' && n.type !== 'ipc');
    });
    const id = h.id();
    h.create(id, b);
    const pid = rt.state(id).pid;
    expect(nsLink(pid, 'net')).toBe(nsLink('self', 'net'));
    expect(nsLink(pid, 'ipc')).toBe(nsLink('self', 'ipc'));
    expect(nsLink(pid, 'uts')).not.toBe(nsLink('self', 'uts')); // still listed: new
  });
});
