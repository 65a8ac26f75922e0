// runtime-spec v1.2/v1.3 settings beyond credentials, as the program sees them: the time namespace,
// personality, scheduler, I/O priority, CPU affinity, memory policy, recursive mount attributes.
import { afterAll, describe, expect, test } from '@jest/globals';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { bundleTracker, uniqueId, TSRUNC, type Config } from '../helpers/bundle';
import { Runtime } from '../helpers/runtime';

const rt = new Runtime();
const tracked = bundleTracker();
const dirs: string[] = [];
afterAll(() => {
  rt.cleanup();
  tracked.removeAll();
  for (const d of dirs) {
    spawnSync('umount', ['-R', d]);
    fs.rmSync(d, { recursive: true, force: true });
  }
});

function run(script: string, edit: (c: Config) => void): { out: string; err: string; status: number | null } {
  const b = tracked.make(['sh', '-c', script], edit);
  const r = rt.run(['run', '--bundle', b.dir, uniqueId()]);
  return { out: r.stdout, err: r.stderr, status: r.status };
}

/** A running container (sleep) for exec tests; returns its id. */
function running(edit: (c: Config) => void): string {
  const b = tracked.make(['sleep', '60'], edit);
  const id = uniqueId();
  expect(rt.create(id, b.dir).status).toBe(0);
  expect(rt.run(['start', id]).status).toBe(0);
  return id;
}

const OFFSETS = { monotonic: { secs: 7881, nanosecs: 2718281 }, boottime: { secs: 1337, nanosecs: 3141519 } };

describe('time namespace (linux.timeOffsets)', () => {
  test('a new one with offsets: init and exec see them', () => {
    const timed = (c: Config) => {
      c.linux.namespaces.push({ type: 'time' });
      c.linux.timeOffsets = OFFSETS;
    };
    const r = run('cat /proc/self/timens_offsets; readlink /proc/self/ns/time', timed);
    expect(r.err).toBe('');
    const [mono, boot, ns] = r.out.trim().split('\n');
    expect(mono.split(/\s+/)).toEqual(['monotonic', '7881', '2718281']);
    expect(boot.split(/\s+/)).toEqual(['boottime', '1337', '3141519']);
    expect(ns).not.toBe(fs.readlinkSync('/proc/self/ns/time'));
    const id = running(timed);
    expect(rt.ok(['exec', id, 'cat', '/proc/self/timens_offsets']).split('\n')[0].split(/\s+/)).toEqual(['monotonic', '7881', '2718281']);
    expect(rt.run(['delete', '--force', id]).status).toBe(0);
  });
  test("with a user namespace too, whose root is not the host's (the runtime writes the offsets)", () => {
    const r = run('cat /proc/self/timens_offsets', (c) => {
      c.linux.namespaces.push({ type: 'user' }, { type: 'time' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.timeOffsets = OFFSETS;
    });
    expect(r.out.split('\n')[1].split(/\s+/)).toEqual(['boottime', '1337', '3141519']);
  });
  test('timeOffsets null is no offsets (as runc reads it): a new namespace at zero', () => {
    const r = run('cat /proc/self/timens_offsets', (c) => {
      c.linux.namespaces.push({ type: 'time' });
      c.linux.timeOffsets = null;
    });
    expect(r.out.split('\n')[0].split(/\s+/)).toEqual(['monotonic', '0', '0']);
  });
  test('offsets without a new time namespace are an error naming the field, and nothing is left', () => {
    const b = tracked.make(['true'], (c) => {
      c.linux.timeOffsets = OFFSETS;
    });
    const id = uniqueId();
    const r = rt.run(['run', '--bundle', b.dir, id]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/linux.timeOffsets: .*\{"type": "time"\}/);
    expect(fs.existsSync(join(rt.root, id))).toBe(false);
  });
  test("joining another container's time namespace by path", () => {
    const id = running((c) => {
      c.linux.namespaces.push({ type: 'time' });
      c.linux.timeOffsets = OFFSETS;
    });
    const pid = rt.state(id).pid;
    const r = run('readlink /proc/self/ns/time', (c) => {
      c.linux.namespaces.push({ type: 'time', path: `/proc/${pid}/ns/time` });
    });
    expect(r.out.trim()).toBe(fs.readlinkSync(`/proc/${pid}/ns/time`));
    expect(rt.run(['delete', '--force', id]).status).toBe(0);
  });
});

describe('personality, scheduler, I/O priority, memory policy', () => {
  test('linux.personality LINUX32: uname says i686, for exec too', () => {
    expect(
      run('uname -m', (c) => {
        c.linux.personality = { domain: 'LINUX32' };
      }).out,
    ).toBe('i686\n');
    const id = running((c) => {
      c.linux.personality = { domain: 'LINUX32' };
    });
    expect(rt.ok(['exec', id, 'uname', '-m'])).toBe('i686\n');
    expect(rt.run(['delete', '--force', id]).status).toBe(0);
  });
  test('process.scheduler SCHED_BATCH with nice 19 (policy and nice of /proc/self/stat)', () => {
    const r = run('cut -d" " -f19,41 /proc/self/stat', (c) => {
      c.process.scheduler = { policy: 'SCHED_BATCH', nice: 19 };
    });
    expect(r.out).toBe('19 3\n');
  });
  test('process.ioPriority: best-effort 4 for init, idle for an exec whose process.json says so', () => {
    const id = running((c) => {
      c.process.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 4 };
    });
    expect(rt.ok(['exec', id, 'ionice', '-p', '1'])).toMatch(/best-effort: prio 4/);
    const file = join(os.tmpdir(), `tsr-proc-${process.pid}.json`);
    fs.writeFileSync(file, JSON.stringify({ args: ['/bin/ionice'], cwd: '/', ioPriority: { class: 'IOPRIO_CLASS_IDLE' } }));
    try {
      expect(rt.ok(['exec', '--process', file, id])).toMatch(/^idle/);
    } finally {
      fs.rmSync(file);
    }
    expect(rt.run(['delete', '--force', id]).status).toBe(0);
  });
  test("linux.memoryPolicy: interleave over node 0; a bad mode is refused in runc's words", () => {
    expect(
      run('head -n 1 /proc/self/numa_maps | cut -d" " -f2', (c) => {
        c.linux.memoryPolicy = { mode: 'MPOL_INTERLEAVE', nodes: '0' };
      }).out,
    ).toBe('interleave:0\n');
    const bad = run('true', (c) => {
      c.linux.memoryPolicy = { mode: 'INTERLEAVE', nodes: '0' };
    });
    expect(bad.status).toBe(1);
    expect(bad.err).toMatch(/linux.memoryPolicy: invalid memory policy mode "INTERLEAVE"/);
  });
});

describe('CPU affinity', () => {
  test("the program runs on every CPU its cgroup allows, not on the runtime's narrowed set; exec's final set is honoured", () => {
    const all = fs.readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
    const b = tracked.make(['grep', 'Cpus_allowed_list', '/proc/self/status']);
    const r = spawnSync('taskset', ['-c', '0', TSRUNC, '--root', rt.root, 'run', '--bundle', b.dir, uniqueId()], { encoding: 'utf8' });
    expect(r.stdout).toBe(`Cpus_allowed_list:\t${all}\n`);
    const id = running(() => undefined);
    const file = join(os.tmpdir(), `tsr-aff-${process.pid}.json`);
    fs.writeFileSync(
      file,
      JSON.stringify({ args: ['/bin/grep', 'Cpus_allowed_list', '/proc/self/status'], cwd: '/', execCPUAffinity: { final: '0' } }),
    );
    try {
      expect(rt.ok(['exec', '--process', file, id])).toBe('Cpus_allowed_list:\t0\n');
    } finally {
      fs.rmSync(file);
    }
    expect(rt.run(['delete', '--force', id]).status).toBe(0);
  });
});

describe('recursive mount attributes', () => {
  test('rbind with rro is read-only all the way down; with ro only the top is', () => {
    const vol = fs.mkdtempSync(join(os.tmpdir(), 'tsr-vol-'));
    dirs.push(vol);
    execFileSync('mount', ['-t', 'tmpfs', 'none', vol]);
    fs.mkdirSync(join(vol, 'sub'));
    execFileSync('mount', ['-t', 'tmpfs', 'none', join(vol, 'sub')]);
    const probe = 'touch /mnt/a 2>/dev/null && echo top-rw || echo top-ro; touch /mnt/sub/b 2>/dev/null && echo sub-rw || echo sub-ro';
    const mnt = (options: string[]) => (c: Config) => {
      c.mounts.push({ source: vol, destination: '/mnt', options });
    };
    expect(run(probe, mnt(['rbind', 'rro'])).out).toBe('top-ro\nsub-ro\n');
    expect(run(probe, mnt(['rbind', 'ro'])).out).toBe('top-ro\nsub-rw\n');
  });
});

describe('linux.netDevices (runtime-spec v1.3)', () => {
  // No dummy driver on this kernel: one end of a veth pair is the host device to move.
  const HOST = `tsrv${process.pid % 10000}`;
  afterAll(() => {
    spawnSync('ip', ['link', 'del', `${HOST}p`]);
  });
  test('a host interface moves in, renamed, with its permanent global address and up; the host has it no more', () => {
    execFileSync('ip', ['link', 'add', HOST, 'type', 'veth', 'peer', 'name', `${HOST}p`]);
    execFileSync('ip', ['address', 'add', '169.254.169.77/32', 'dev', HOST]);
    execFileSync('ip', ['address', 'add', '127.0.0.33/8', 'dev', HOST]); // host scope: stays behind
    const r = run('ip address show dev ctr0', (c) => {
      c.linux.netDevices = { [HOST]: { name: 'ctr0' } };
    });
    expect(r.err).toBe('');
    expect(r.out).toMatch(/ctr0@/);
    expect(r.out).toMatch(/inet 169\.254\.169\.77\/32 /);
    expect(r.out).not.toMatch(/127\.0\.0\.33/);
    expect(r.out).toMatch(/<[^>]*\bUP\b[^>]*>/);
    expect(spawnSync('ip', ['link', 'show', HOST]).status).not.toBe(0);
  });
  test('refused without a network namespace, or for a device that is not there (naming it), leaving nothing', () => {
    const noNet = run('true', (c) => {
      c.linux.netDevices = { eth9: {} };
      c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== 'network');
    });
    expect(noNet.status).toBe(1);
    expect(noNet.err).toMatch(/linux.netDevices: unable to move network devices without a network namespace/);
    const b = tracked.make(['true'], (c) => {
      c.linux.netDevices = { tsrnosuch0: {} };
    });
    const id = uniqueId();
    const missing = rt.run(['run', '--bundle', b.dir, id]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/linux.netDevices.tsrnosuch0: finding tsrnosuch0: no such device/);
    expect(fs.existsSync(join(rt.root, id))).toBe(false);
  });
});
