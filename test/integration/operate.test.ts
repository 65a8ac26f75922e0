// Operating running containers: pause/resume, ps, features.
import { afterAll, describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import { spawn } from 'child_process';
import { join } from 'path';
import { makeBundle, uniqueId, type Bundle } from '../helpers/bundle';
import { Runtime, leftovers } from '../helpers/runtime';
import { hostLayout } from '../../src/cgroups/hierarchy';

// The same tests run on cgroup v1 (this CI host: hybrid) and on a pure v2 host (a lent machine).
const MODE = hostLayout().mode;

const rt = new Runtime();
const bundles: Bundle[] = [];
afterAll(() => {
  rt.cleanup();
  for (const b of bundles) b.remove();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('pause and resume', () => {
  test('pause freezes a counter, state says paused, resume thaws it; delete --force of a paused container works', async () => {
    // Replaced, not rewritten: a read between truncate and write would see no number.
    const b = makeBundle(
      ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /shared/c.tmp; mv /shared/c.tmp /shared/count; sleep 0.02; done'],
      (c) => {
        c.mounts.push({ destination: '/shared', type: 'bind', source: 'shared', options: ['bind'] });
      },
    );
    bundles.push(b);
    fs.mkdirSync(join(b.dir, 'shared'));
    const count = () => Number(fs.readFileSync(join(b.dir, 'shared', 'count'), 'utf8'));
    const id = uniqueId();
    expect(rt.create(id, b.dir).status).toBe(0);
    rt.ok(['start', id]);
    await sleep(300);
    rt.ok(['pause', id]);
    expect(rt.state(id).status).toBe('paused');
    const frozenAt = count();
    await sleep(300);
    expect(count()).toBe(frozenAt);
    expect(rt.run(['pause', id]).stderr).toMatch(/it is paused, not running/);
    rt.ok(['resume', id]);
    expect(rt.state(id).status).toBe('running');
    await sleep(300);
    expect(count()).toBeGreaterThan(frozenAt);
    rt.ok(['pause', id]);
    rt.ok(['delete', '--force', id]);
    expect(leftovers(id, b.dir)).toEqual([]);
  });
});

describe('ps', () => {
  test("lists the container's processes as pids (json) and as ps(1) lines (table)", async () => {
    const b = makeBundle(['sh', '-c', 'sleep 30 & sleep 31 & wait']);
    bundles.push(b);
    const id = uniqueId();
    expect(rt.create(id, b.dir).status).toBe(0);
    rt.ok(['start', id]);
    await sleep(300);
    const pids = JSON.parse(rt.ok(['ps', '--format', 'json', id])) as number[];
    expect(pids).toHaveLength(3);
    expect(pids).toContain(rt.state(id).pid);
    const table = rt.ok(['ps', id]).trim().split('\n');
    expect(table[0]).toMatch(/PID/);
    expect(table.slice(1).join('\n')).toMatch(/sleep 30[\s\S]*sleep 31|sleep 31[\s\S]*sleep 30/);
    expect(rt.ok(['ps', id, '--', '-o', 'pid,comm']).trim().split('\n')).toHaveLength(4);
    // As runc: what follows the id belongs to ps(1), options included.
    expect(rt.ok(['ps', id, '-o', 'pid,comm']).trim().split('\n')).toEqual([
      expect.stringMatching(/PID +COMMAND/),
      ...Array(3).fill(expect.stringMatching(/^ *\d+ (sh|sleep)$/)),
    ]);
  });

  test('processes in cgroups the container makes below its own: ps lists them, delete kills them and removes those cgroups', async () => {
    const sub = MODE === 'v2' ? '/sys/fs/cgroup/sub' : '/sys/fs/cgroup/pids/sub';
    const b = makeBundle(['sh', '-c', `mkdir ${sub} && sh -c 'echo $$ > ${sub}/cgroup.procs; exec sleep 60' & sleep 61`], (c) => {
      c.mounts = c.mounts.map((m: { destination: string; options?: string[] }) =>
        m.destination === '/sys/fs/cgroup' ? { ...m, options: (m.options ?? []).filter((o) => o !== 'ro') } : m,
      );
    });
    bundles.push(b);
    const id = uniqueId();
    expect(rt.create(id, b.dir).status).toBe(0);
    rt.ok(['start', id]);
    // Two processes (busybox sh execs its last command): sleep 61 as init, sleep 60 in sub.
    const hostSub = join(MODE === 'v2' ? '/sys/fs/cgroup' : '/sys/fs/cgroup/pids', id, 'sub', 'cgroup.procs');
    let inSub: number[] = [];
    for (let i = 0; i < 50 && inSub.length === 0; i++) {
      await sleep(100);
      try {
        inSub = fs.readFileSync(hostSub, 'utf8').split('\n').filter(Boolean).map(Number);
      } catch {
        /* not yet */
      }
    }
    expect(inSub).toHaveLength(1);
    const pids = JSON.parse(rt.ok(['ps', '--format', 'json', id])) as number[];
    expect(pids.sort()).toEqual([rt.state(id).pid, inSub[0]].sort());
    rt.ok(['delete', '--force', id]);
    expect(leftovers(id, b.dir)).toEqual([]);
    // dead: gone, or a zombie its reaper has not collected yet
    const alive = (p: number) => {
      try {
        return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${p}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    expect(pids.filter(alive)).toEqual([]);
  });
});

describe('list and pause, as runc', () => {
  test('list shows the owner; a created container can be paused and resumed', () => {
    const b = makeBundle(['true']);
    bundles.push(b);
    const id = uniqueId();
    expect(rt.create(id, b.dir).status).toBe(0);
    const row = (JSON.parse(rt.ok(['list', '--format', 'json'])) as { id: string; owner: string }[]).find((r) => r.id === id);
    expect(row?.owner).toBe('root');
    expect(
      rt
        .ok(['list'])
        .split('\n')
        .find((l) => l.startsWith(`${id} `)),
    ).toMatch(/ root$/);
    rt.ok(['pause', id]);
    expect(rt.state(id).status).toBe('paused');
    expect(rt.run(['start', id]).status).not.toBe(0);
    rt.ok(['resume', id]);
    expect(rt.state(id).status).toBe('created');
    rt.ok(['start', id]);
  });
});

test('features describes what tsrunc supports', () => {
  const f = JSON.parse(rt.ok(['features']));
  expect(f.ociVersionMax).toBe('1.3.0');
  expect(f.linux.namespaces).toContain('user');
  expect(f.linux.seccomp.enabled).toBe(true);
  expect(f.linux.apparmor.enabled).toBe(true); // support built in (runtime-spec features), used where the host has AppArmor
});

describe(`resources (cgroup ${MODE} on this host)`, () => {
  test('a memory limit OOM-kills a hog', () => {
    const b = makeBundle(['sh', '-c', 'a=xxxxxxxxxxxxxxxx; while :; do a="$a$a"; done'], (c) => {
      c.linux.resources.memory = { limit: 32 * 1024 * 1024, swap: 32 * 1024 * 1024 };
    });
    bundles.push(b);
    const id = uniqueId();
    const r = rt.run(['run', '--bundle', b.dir, id]);
    expect(r.status).toBe(137); // SIGKILL from the OOM killer
  });

  test('events streams stats every --interval and an oom event, and ends when the container stops', async () => {
    const b = makeBundle(['sh', '-c', 'sleep 1; a=xxxxxxxxxxxxxxxx; while :; do a="$a$a"; done'], (c) => {
      c.linux.resources.memory = { limit: 32 * 1024 * 1024, swap: 32 * 1024 * 1024 };
    });
    bundles.push(b);
    const id = uniqueId();
    expect(rt.create(id, b.dir).status).toBe(0);
    const ev = spawn(rt.binary, ['--root', rt.root, 'events', '--interval', '300ms', id], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    ev.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const ended = new Promise<number | null>((r) => ev.on('close', r)); // its output read to the end
    rt.ok(['start', id]);
    const code = await Promise.race([ended, sleep(20000).then(() => 'timeout')]);
    expect(code).toBe(0);
    const events = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; id: string; data?: { memory?: unknown } });
    expect(events.filter((e) => e.type === 'stats').length).toBeGreaterThanOrEqual(2);
    expect(events.every((e) => e.id === id)).toBe(true);
    expect(events.some((e) => e.type === 'oom')).toBe(true);
  });

  test('a pids limit stops a fork bomb', () => {
    const b = makeBundle(
      ['sh', '-c', 'for i in $(seq 30); do (sleep 2 &) 2>/dev/null || echo refused; done | sort | uniq -c; ls /proc | grep -c "^[0-9]"'],
      (c) => {
        c.linux.resources.pids = { limit: 10 };
      },
    );
    bundles.push(b);
    const r = rt.run(['run', '--bundle', b.dir, uniqueId()]);
    const [refused, procs] = r.stdout.trim().split('\n');
    // at most 10 tasks: most of the 30 forks were refused
    expect(Number(refused.trim().split(/\s+/)[0])).toBeGreaterThanOrEqual(20);
    expect(refused).toMatch(/refused$/);
    expect(Number(procs)).toBeLessThanOrEqual(10);
  });

  test('update changes a limit the container sees; events --stats reports usage and limits', () => {
    const b = makeBundle(['sleep', '30'], (c) => {
      c.mounts = c.mounts.map((m: { destination: string; options?: string[] }) =>
        m.destination === '/sys/fs/cgroup' ? { ...m, options: ['ro'] } : m,
      );
    });
    bundles.push(b);
    const id = uniqueId();
    expect(rt.create(id, b.dir).status).toBe(0);
    rt.ok(['start', id]);
    const files =
      MODE === 'v2'
        ? ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/pids.max']
        : ['/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/pids/pids.max'];
    const seen = () =>
      rt
        .ok(['exec', id, 'cat', ...files])
        .trim()
        .split('\n');
    rt.ok(['update', '--memory', '64m', '--pids-limit', '42', id]);
    expect(seen()).toEqual([String(64 * 1024 * 1024), '42']);
    rt.ok(['update', '--resources', '-', id], { input: JSON.stringify({ memory: { limit: 48 * 1024 * 1024 } }) });
    expect(seen()[0]).toBe(String(48 * 1024 * 1024));
    const ev = JSON.parse(rt.ok(['events', '--stats', id]));
    expect(ev).toMatchObject({ type: 'stats', id, data: { memory: { usage: { limit: 48 * 1024 * 1024 } }, pids: { limit: 42 } } });
    expect(ev.data.pids.current).toBeGreaterThanOrEqual(1);
    expect(rt.run(['update', '--memory', 'lots', id]).stderr).toMatch(/--memory: "lots" is not a size/);
    // runc's flag names; a quota given alone keeps the period in force.
    rt.ok(['update', '--cpu-share', '512', '--cpu-period', '50000', '--cpu-quota', '20000', id]);
    rt.ok(['update', '--cpu-quota', '30000', id]);
    const cpu =
      MODE === 'v2'
        ? ['/sys/fs/cgroup/cpu.weight', '/sys/fs/cgroup/cpu.max']
        : ['/sys/fs/cgroup/cpu/cpu.shares', '/sys/fs/cgroup/cpu/cpu.cfs_period_us', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us'];
    // v2: 512 shares are weight 59 on runc's curve
    expect(
      rt
        .ok(['exec', id, 'cat', ...cpu])
        .trim()
        .split('\n'),
    ).toEqual(MODE === 'v2' ? ['59', '30000 50000'] : ['512', '50000', '30000']);
  });

  test('device policy: a device outside the allow-list is refused even to a process that can mknod it', () => {
    // v1: the devices controller; v2: tsrunc's eBPF program. /dev/fuse (10:229) is in no default rule.
    const script =
      'mknod /dev/tfuse c 10 229 && { (: <> /dev/tfuse) 2>&1 | grep -oE "Operation not permitted|No such device" || echo opened; }; : > /dev/null && echo null-ok';
    const withMknod = (c: Record<string, any>) => {
      for (const set of ['bounding', 'effective', 'permitted']) c.process.capabilities[set].push('CAP_MKNOD');
    };
    const denied = makeBundle(['sh', '-c', script], withMknod);
    const allowed = makeBundle(['sh', '-c', script], (c) => {
      withMknod(c);
      c.linux.resources.devices = [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' },
      ];
    });
    bundles.push(denied, allowed);
    expect(rt.run(['run', '--bundle', denied.dir, uniqueId()]).stdout).toBe('Operation not permitted\nnull-ok\n');
    const r = rt.run(['run', '--bundle', allowed.dir, uniqueId()]);
    expect(r.stdout).toMatch(/^(opened|No such device)\nnull-ok\n$/);
  });

  test("cpu, block I/O and huge page settings reach the container's cgroup, or fail naming the field", () => {
    const disk = fs.readdirSync('/sys/block').find((d) => !/^(loop|ram|zram)/.test(d));
    expect(disk).toBeDefined();
    const [major, minor] = fs.readFileSync(`/sys/block/${disk}/dev`, 'utf8').trim().split(':').map(Number);
    const cg = (v1: string, v2: string) => `/sys/fs/cgroup/${MODE === 'v2' ? v2 : v1}`;
    const files =
      MODE === 'v2'
        ? [cg('', 'cpu.idle'), cg('', 'cpu.max.burst'), cg('', 'io.max')]
        : [
            cg('cpu/cpu.idle', ''),
            cg('cpu/cpu.cfs_burst_us', ''),
            cg('blkio/blkio.throttle.read_bps_device', ''),
            cg('blkio/blkio.throttle.write_iops_device', ''),
            cg('cpu/cpu.rt_runtime_us', ''),
          ];
    const b = makeBundle(['cat', ...files], (c) => {
      c.linux.resources.cpu = { idle: 1, burst: 1000, quota: 50000, period: 100000 };
      if (MODE === 'v1') Object.assign(c.linux.resources.cpu, { realtimePeriod: 1000000, realtimeRuntime: 1000 });
      c.linux.resources.blockIO = {
        throttleReadBpsDevice: [{ major, minor, rate: 1048576 }],
        throttleWriteIOPSDevice: [{ major, minor, rate: 100 }],
      };
    });
    bundles.push(b);
    const r = rt.run(['run', '--bundle', b.dir, uniqueId()]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(
      MODE === 'v2'
        ? ['1', '1000', `${major}:${minor} rbps=1048576 wbps=max riops=max wiops=100`]
        : ['1', '1000', `${major}:${minor} 1048576`, `${major}:${minor} 100`, '1000'],
    );

    // Huge pages: a hybrid host (this one) may have hugetlb on its unified hierarchy alone; tsrunc
    // limits it there (runc does not). Without the controller anywhere: an error naming the field.
    const controllers = (f: string) => {
      try {
        return fs.readFileSync(f, 'utf8').split(/\s+/);
      } catch {
        return [];
      }
    };
    const v1Hugetlb = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => / - cgroup .*\bhugetlb\b/.test(l));
    const seenAt =
      MODE === 'v2'
        ? controllers('/sys/fs/cgroup/cgroup.controllers').includes('hugetlb')
          ? '/sys/fs/cgroup/hugetlb.2MB.max'
          : undefined
        : v1Hugetlb
          ? '/sys/fs/cgroup/hugetlb/hugetlb.2MB.limit_in_bytes'
          : controllers('/sys/fs/cgroup/unified/cgroup.controllers').includes('hugetlb')
            ? '/sys/fs/cgroup/unified/hugetlb.2MB.max'
            : undefined;
    const hasHugetlb = seenAt !== undefined;
    const h = makeBundle(['cat', seenAt ?? '/dev/null'], (c) => {
      c.linux.resources.hugepageLimits = [{ pageSize: '2MB', limit: 4 * 2097152 }];
    });
    bundles.push(h);
    const id = uniqueId();
    const hr = rt.run(['run', '--bundle', h.dir, id]);
    if (hasHugetlb) {
      expect(hr.stdout.trim()).toBe(String(4 * 2097152));
    } else {
      expect(hr.status).not.toBe(0);
      expect(hr.stderr).toMatch(/linux\.resources\.hugepageLimits\[0\]: the hugetlb cgroup controller is not available/);
      expect(leftovers(id, h.dir)).toEqual([]);
    }
  });
});
