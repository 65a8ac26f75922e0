// Escape regressions (issue 13): runc's CVE classes since 2019, each tried against tsrunc the way
// the CVE worked, each failing if its protection is taken away. (More in security.test.ts and,
// for bad ids and a /proc/self/fd cwd, errors.test.ts.)
import { afterAll, describe, expect, test } from '@jest/globals';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { bundleTracker, uniqueId } from '../helpers/bundle';
import { Runtime } from '../helpers/runtime';
import { ConsoleSocket } from '../helpers/console';

const rt = new Runtime();
const tracked = bundleTracker();
const bundle = tracked.make;
const dirs: string[] = [];
afterAll(() => {
  rt.cleanup();
  tracked.removeAll();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tmpDir(tag: string): string {
  const d = fs.mkdtempSync(join(os.tmpdir(), `tsr-${tag}-`));
  dirs.push(d);
  return d;
}

/** A rootfs without a tmpfs on /dev (its own directory is used), with a host volume at /vol. */
function devlessBundle(args: string[], vol: string, edit?: (c: Record<string, any>) => void) {
  const b = bundle(args, (c) => {
    c.mounts = c.mounts.filter((m: { destination: string }) => m.destination !== '/dev');
    c.mounts.push({ source: vol, destination: '/vol', options: ['bind'] });
    c.linux.maskedPaths = ['/proc/kcore'];
    edit?.(c);
  });
  fs.mkdirSync(join(b.dir, 'rootfs', 'vol'), { recursive: true });
  fs.rmSync(join(b.dir, 'rootfs', 'dev'), { recursive: true, force: true });
  fs.mkdirSync(join(b.dir, 'rootfs', 'dev'));
  return b;
}

describe('leaked fds and the host cwd (CVE-2024-21626)', () => {
  test("the program of run and of exec has only its stdio, and its cwd is the container's", () => {
    const show = ['sh', '-c', 'ls /proc/self/fd | tr "\\n" " "; readlink /proc/self/cwd'];
    const b = bundle(show, (c) => {
      c.process.cwd = '/etc';
    });
    const r = rt.run(['run', '--bundle', b.dir, uniqueId()]);
    // 3 is ls's own handle on /proc/self/fd
    expect(r.stdout).toBe('0 1 2 3 /etc\n');
    const box = bundle(['sleep', '30']);
    const id = uniqueId();
    expect(rt.create(id, box.dir).status).toBe(0);
    rt.ok(['start', id]);
    expect(rt.run(['exec', '--cwd', '/bin', id, ...show]).stdout).toBe('0 1 2 3 /bin\n');
    // The CVE's attack: a cwd through an fd the runtime left open (a host directory).
    const reached: string[] = [];
    for (let n = 3; n <= 12; n++) {
      const e = rt.run(['exec', '--cwd', `/proc/self/fd/${n}`, id, 'pwd']);
      if (e.status === 0 || e.stdout) reached.push(`fd ${n}: ${e.stdout.trim()}`);
    }
    expect(reached).toEqual([]);
    rt.ok(['delete', '--force', id]);
  });
});

describe("the runtime's executable during exec (CVE-2019-5736)", () => {
  test('a container that watches for the exec copies (tsrunc:exec) cannot write their /proc/PID/exe', async () => {
    const box = bundle(
      [
        'sh',
        '-c',
        [
          'while [ ! -e /tmp/stop ]; do',
          '  for p in /proc/[0-9]*; do',
          '    c=$(cat $p/comm 2>/dev/null) || continue',
          '    case "$c" in tsrunc*|node*) echo "SAW $c" >> /tmp/log; (echo x >> $p/exe) 2>/dev/null && echo "WROTE $c" >> /tmp/log;; esac',
          '  done',
          'done',
        ].join('\n'),
      ],
      (c) => {
        c.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs' });
      },
    );
    const id = uniqueId();
    expect(rt.create(id, box.dir).status).toBe(0);
    rt.ok(['start', id]);
    const node = fs.readFileSync(process.execPath).subarray(0, 1 << 16);
    let saw = '';
    for (let i = 0; i < 40 && !/SAW tsrunc:exec/.test(saw); i++) {
      rt.ok(['exec', id, 'true']);
      saw = rt.run(['exec', id, 'cat', '/tmp/log']).stdout;
      await sleep(10);
    }
    rt.run(['exec', id, 'touch', '/tmp/stop']);
    // the watcher really saw the exec copies (else the test proves nothing), and wrote to none
    expect(saw).toMatch(/SAW tsrunc:exec/);
    expect(saw).not.toMatch(/WROTE/);
    expect(
      fs
        .readFileSync(process.execPath)
        .subarray(0, 1 << 16)
        .equals(node),
    ).toBe(true);
    rt.ok(['delete', '--force', id]);
  });
});

describe('a mount target swapped for a symlink during create (CVE-2021-30465)', () => {
  test('the mount lands where it was checked, or create refuses; never where the link points', async () => {
    // where the tmpfs mounts are (mountinfo's 5th field), but the config's own and the masks
    const b = bundle(
      ['sh', '-c', 'grep " - tmpfs " /proc/self/mountinfo | cut -d" " -f5 | grep -vE "^/(dev|dev/shm|sys/fs/cgroup)$"; true'],
      (c) => {
        c.mounts.push({ destination: '/mnt/target', type: 'tmpfs', source: 'tmpfs' });
      },
    );
    const rootfs = join(b.dir, 'rootfs');
    fs.mkdirSync(join(rootfs, 'escaped'));
    fs.mkdirSync(join(rootfs, 'mnt', 'target'), { recursive: true });
    // The link points (as a host path) at another directory of the rootfs: where a mount that
    // followed it would be seen from inside.
    fs.symlinkSync(join(rootfs, 'escaped'), join(rootfs, 'mnt', 'link'));
    const racer = spawn(
      process.execPath,
      [
        '-e',
        `
      const fs = require('fs'); const d = ${JSON.stringify(join(rootfs, 'mnt'))};
      for (;;) { try {
        fs.renameSync(d + '/target', d + '/spare2'); fs.renameSync(d + '/link', d + '/target');
        fs.renameSync(d + '/target', d + '/link'); fs.renameSync(d + '/spare2', d + '/target');
      } catch {} }`,
      ],
      { stdio: 'ignore' },
    );
    const outcomes = { mounted: 0, detached: 0, refused: 0, followed: 0 };
    const odd: string[] = [];
    try {
      await sleep(100);
      for (let i = 0; i < 20; i++) {
        const r = rt.run(['run', '--bundle', b.dir, uniqueId()]);
        // On the directory that was checked: at its name, at the name the racer gave it meanwhile,
        // or, where secureJoin met the link, at its target taken inside the container's root.
        const at = r.stdout.split('\n').filter((l) => l && !/^\/(proc|sys)\//.test(l));
        if (r.status === 0 && at.length === 1 && ['/mnt/target', '/mnt/spare2', join(rootfs, 'escaped')].includes(at[0]))
          outcomes.mounted++;
        // or nowhere: the racer renamed a directory over the one mounted on, and the kernel
        // detaches the mounts of a dentry replaced so, in every namespace
        else if (r.status === 0 && at.length === 0) outcomes.detached++;
        else if (r.status !== 0 && /mounts\[7\] \(\/mnt\/target\)/.test(r.stderr)) outcomes.refused++;
        else {
          outcomes.followed++;
          odd.push(`rc=${r.status} ${r.stdout} ${r.stderr}`);
        }
      }
    } finally {
      racer.kill('SIGKILL');
    }
    expect(odd).toEqual([]);
    expect(outcomes.mounted + outcomes.detached + outcomes.refused).toBe(20);
    expect(outcomes.mounted).toBeGreaterThan(0);
  });
});

describe('/dev/console replaced by a symlink (CVE-2025-52565)', () => {
  test.each([
    ['an existing host file', true],
    ['a host file not there yet', false],
  ])('pointing at %s in a bound volume: refused, and the file is as it was', (_name, exists) => {
    const vol = tmpDir('vol');
    if (exists) fs.writeFileSync(join(vol, 'victim'), 'precious\n');
    const b = devlessBundle(['true'], vol, (c) => {
      c.process.terminal = true;
    });
    fs.symlinkSync('/vol/victim', join(b.dir, 'rootfs', 'dev', 'console'));
    const sock = new ConsoleSocket(join(b.dir, 'console.sock'));
    void sock;
    const r = rt.create(uniqueId(), b.dir, ['--console-socket', join(b.dir, 'console.sock')]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/process.terminal: .*\/dev\/console in the container is a symbolic link; refusing to bind over it/);
    if (exists) expect(fs.readFileSync(join(vol, 'victim'), 'utf8')).toBe('precious\n');
    else expect(fs.existsSync(join(vol, 'victim'))).toBe(false);
  });
});

describe('a procfs write redirected by a mount (CVE-2025-52881)', () => {
  test('a sysctl file covered by a bind (a hook stands in for the racing mount) is not written through', () => {
    const decoy = join(tmpDir('decoy'), 'somaxconn');
    fs.writeFileSync(decoy, 'untouched\n');
    const b = bundle(['cat', '/proc/sys/net/core/somaxconn'], (c) => {
      c.linux.sysctl = { 'net.core.somaxconn': '1234' };
      // createContainer: in the container's mount namespace, after the mounts, before the sysctls
      c.hooks = { createContainer: [{ path: '/bin/sh', args: ['sh', '-c', `mount --bind ${decoy} proc/sys/net/core/somaxconn`] }] };
    });
    const r = rt.run(['run', '--bundle', b.dir, uniqueId()]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/linux.sysctl: setting net.core.somaxconn=1234: .*EXDEV/);
    expect(fs.readFileSync(decoy, 'utf8')).toBe('untouched\n');
  });
});

describe('/proc and /sys as symlinks (CVE-2019-16884)', () => {
  test.each(['proc', 'sys'])('a rootfs whose /%s is a symlink is refused', (dir) => {
    const b = bundle(['true']);
    const rootfs = join(b.dir, 'rootfs');
    fs.rmSync(join(rootfs, dir), { recursive: true, force: true });
    fs.mkdirSync(join(rootfs, 'elsewhere'));
    fs.symlinkSync('/elsewhere', join(rootfs, dir));
    const id = uniqueId();
    const r = rt.create(id, b.dir);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`/${dir} cannot be mounted on: .* must be mounted on ordinary directory`));
    expect(fs.readdirSync(join(rootfs, 'elsewhere'))).toEqual([]);
    expect(fs.existsSync(join(rt.root, id))).toBe(false);
    expect(spawnSync('grep', ['-c', rootfs, '/proc/self/mountinfo'], { encoding: 'utf8' }).stdout.trim()).toBe('0');
  });
});
