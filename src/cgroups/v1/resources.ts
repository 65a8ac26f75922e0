import fs = require('fs');
import { join } from 'path';
import { isErrno } from '../../sys/errors';
import type { Resources } from '../../ocispec/oci';
import { enableV2Controllers } from '../v2/controllers';
import { v1DeviceWrites, type DeviceRuleset } from '../devices/rules';
import { hugepageSize, rdmaLine } from '../resource-values';

/** The container's v1 cgroups, and on a hybrid host its cgroup in the unified hierarchy and that hierarchy's root. */
export interface V1Target {
  paths: Readonly<Record<string, string>>;
  /** read only when a controller must go on the unified hierarchy (it parses mountinfo) */
  unifiedRoot: () => string | undefined;
}

/** Writes one file of a v1 controller; errors name the field, the file and the errno. */
class V1Writer {
  constructor(private readonly plan: V1Target) {}

  dir(controller: string, field: string): string {
    const key = Object.keys(this.plan.paths).find((k) => k.split(',').includes(controller));
    if (!key) throw new Error(`${field}: the ${controller} cgroup controller is not available on this host`);
    return this.plan.paths[key];
  }

  hasController(controller: string): boolean {
    return Object.keys(this.plan.paths).some((k) => k.split(',').includes(controller));
  }

  has(controller: string, file: string): boolean {
    const key = Object.keys(this.plan.paths).find((k) => k.split(',').includes(controller));
    return key !== undefined && fs.existsSync(join(this.plan.paths[key], file));
  }

  write(controller: string, file: string, value: string | number, field: string): void {
    const path = join(this.dir(controller, field), file);
    try {
      fs.writeFileSync(path, String(value));
    } catch (e) {
      // cgroupfs refuses to create a file it lacks (EACCES, not ENOENT).
      if (isErrno(e, 'ENOENT') || !fs.existsSync(path)) throw new Error(`${field}: not supported by this kernel (no ${file})`);
      throw new Error(`${field}: writing ${value} to ${path}: ${(e as Error).message}`);
    }
  }

  /**
   * Lines, one write(2) each (the devices controller takes one rule a write), through one open of
   * each run of lines for the same file instead of an open and a close around every rule.
   */
  writeEach(controller: string, lines: readonly (readonly [file: string, line: string])[], field: string): void {
    for (let i = 0; i < lines.length;) {
      const file = lines[i][0];
      const path = join(this.dir(controller, field), file);
      let fd: number;
      try {
        fd = fs.openSync(path, 'w');
      } catch (e) {
        if (isErrno(e, 'ENOENT') || !fs.existsSync(path)) throw new Error(`${field}: not supported by this kernel (no ${file})`);
        throw new Error(`${field}: opening ${path}: ${(e as Error).message}`);
      }
      try {
        for (; i < lines.length && lines[i][0] === file; i++) {
          try {
            fs.writeSync(fd, lines[i][1]);
          } catch (e) {
            throw new Error(`${field}: writing ${lines[i][1]} to ${path}: ${(e as Error).message}`);
          }
        }
      } finally {
        fs.closeSync(fd);
      }
    }
  }

  /** A write the caller may retry later: false when the kernel refused the value (EINVAL). */
  tryWrite(controller: string, file: string, value: string | number, field: string): boolean {
    try {
      fs.writeFileSync(join(this.dir(controller, field), file), String(value));
      return true;
    } catch (e) {
      if (isErrno(e, 'EINVAL')) return false;
      throw e;
    }
  }

  /** The first of several files this kernel has (e.g. blkio.weight, or blkio.bfq.weight under BFQ). */
  pick(controller: string, files: string[], field: string): string {
    const dir = this.dir(controller, field);
    const f = files.find((x) => fs.existsSync(join(dir, x)));
    if (!f) throw new Error(`${field}: not supported by this kernel (none of ${files.join(', ')})`);
    return f;
  }
}

export function applyV1(plan: V1Target, res: Resources, devices: DeviceRuleset | undefined, warnings: string[]): void {
  const w = new V1Writer(plan);
  const R = 'linux.resources';
  if (devices) {
    w.writeEach('devices', v1DeviceWrites(devices), `${R}.devices`);
  }
  const mem = res.memory as Record<string, number | boolean | undefined> | undefined;
  if (mem) {
    for (const k of Object.keys(mem)) {
      if (
        ![
          'limit',
          'swap',
          'reservation',
          'swappiness',
          'disableOOMKiller',
          'kernel',
          'kernelTCP',
          'useHierarchy',
          'checkBeforeUpdate',
        ].includes(k)
      ) {
        throw new Error(`${R}.memory.${k}: unknown memory setting`);
      }
    }
    // 0 means "not set" for the byte limits, as runc reads them.
    const limit = Number(mem.limit ?? 0);
    let swap = Number(mem.swap ?? 0);
    const hasSwap = w.has('memory', 'memory.memsw.limit_in_bytes');
    // An unlimited memory without a swap value lifts the swap limit too (else the kernel refuses).
    if (limit === -1 && swap === 0 && hasSwap) swap = -1;
    const setLimit = () => {
      if (limit !== 0) w.write('memory', 'memory.limit_in_bytes', limit, `${R}.memory.limit`);
    };
    const setSwap = () => {
      if (swap !== 0) w.write('memory', 'memory.memsw.limit_in_bytes', swap, `${R}.memory.swap`);
    };
    // memsw must stay >= the limit: raising needs swap first, lowering the limit first.
    const current =
      limit !== 0 && swap !== 0 ? Number(fs.readFileSync(join(w.dir('memory', `${R}.memory`), 'memory.limit_in_bytes'), 'utf8')) : 0;
    if (limit !== 0 && swap !== 0 && (swap === -1 || current < swap)) {
      setSwap();
      setLimit();
    } else {
      setLimit();
      setSwap();
    }
    const field = (k: string) => `${R}.memory.${k}`;
    if (mem.reservation !== undefined && mem.reservation !== 0)
      w.write('memory', 'memory.soft_limit_in_bytes', Number(mem.reservation), field('reservation'));
    if (mem.swappiness !== undefined) w.write('memory', 'memory.swappiness', Number(mem.swappiness), field('swappiness'));
    if (mem.disableOOMKiller === true) w.write('memory', 'memory.oom_control', 1, field('disableOOMKiller'));
    if (mem.kernelTCP !== undefined && mem.kernelTCP !== 0)
      w.write('memory', 'memory.kmem.tcp.limit_in_bytes', Number(mem.kernelTCP), field('kernelTCP'));
    if (mem.kernel !== undefined && mem.kernel !== 0) {
      // Deprecated: newer kernels dropped kmem limits (the file may be gone, or ignore writes).
      if (w.has('memory', 'memory.kmem.limit_in_bytes'))
        w.write('memory', 'memory.kmem.limit_in_bytes', Number(mem.kernel), field('kernel'));
      else warnings.push(`${field('kernel')}: this kernel has no kernel memory limits; ignored`);
    }
  }
  const cpu = res.cpu as Record<string, number | string | undefined> | undefined;
  if (cpu) {
    const known = ['shares', 'period', 'quota', 'burst', 'realtimePeriod', 'realtimeRuntime', 'idle', 'cpus', 'mems'];
    for (const k of Object.keys(cpu)) if (!known.includes(k) && cpu[k] !== undefined) throw new Error(`${R}.cpu.${k}: unknown cpu setting`);
    const field = (k: string) => `${R}.cpu.${k}`;
    const set = (k: string) => cpu[k] !== undefined && Number(cpu[k]) !== 0;
    if (set('shares')) w.write('cpu', 'cpu.shares', Number(cpu.shares), field('shares'));
    // Period, burst and quota are checked against each other: what the kernel refuses before the
    // quota is in place is tried again after it (as runc does).
    const again: [string, string, number][] = [];
    const early = (k: string, file: string, v: number) => {
      if (!w.tryWrite('cpu', file, v, field(k))) again.push([k, file, v]);
    };
    if (set('period')) early('period', 'cpu.cfs_period_us', Number(cpu.period));
    if (cpu.burst !== undefined) early('burst', 'cpu.cfs_burst_us', Number(cpu.burst));
    if (set('quota')) w.write('cpu', 'cpu.cfs_quota_us', Number(cpu.quota), field('quota'));
    for (const [k, file, v] of again) w.write('cpu', file, v, field(k));
    // The same for the realtime pair: a period below the current runtime waits for the runtime
    // (runc's order, opencontainers/runc#4094).
    const rtAgain: [string, string, number][] = [];
    if (set('realtimePeriod') && !w.tryWrite('cpu', 'cpu.rt_period_us', Number(cpu.realtimePeriod), field('realtimePeriod'))) {
      rtAgain.push(['realtimePeriod', 'cpu.rt_period_us', Number(cpu.realtimePeriod)]);
    }
    if (set('realtimeRuntime')) w.write('cpu', 'cpu.rt_runtime_us', Number(cpu.realtimeRuntime), field('realtimeRuntime'));
    for (const [k, file, v] of rtAgain) w.write('cpu', file, v, field(k));
    if (cpu.idle !== undefined) w.write('cpu', 'cpu.idle', Number(cpu.idle), field('idle'));
    if (cpu.cpus) w.write('cpuset', 'cpuset.cpus', String(cpu.cpus), field('cpus'));
    if (cpu.mems) w.write('cpuset', 'cpuset.mems', String(cpu.mems), field('mems'));
  }
  // The spec: 0 is a valid pids limit (no new tasks), -1 none. runc writes 1 for 0; we keep 0.
  if (res.pids?.limit !== undefined) w.write('pids', 'pids.max', res.pids.limit >= 0 ? res.pids.limit : 'max', `${R}.pids.limit`);
  const bio = res.blockIO;
  if (bio) {
    const f = `${R}.blockIO`;
    if (bio.weight !== undefined)
      w.write('blkio', w.pick('blkio', ['blkio.weight', 'blkio.bfq.weight'], `${f}.weight`), bio.weight, `${f}.weight`);
    if (bio.leafWeight !== undefined) w.write('blkio', 'blkio.leaf_weight', bio.leafWeight, `${f}.leafWeight`);
    (bio.weightDevice ?? []).forEach((d, i) => {
      if (d.weight !== undefined) {
        const file = w.pick('blkio', ['blkio.weight_device', 'blkio.bfq.weight_device'], `${f}.weightDevice[${i}].weight`);
        w.write('blkio', file, `${d.major}:${d.minor} ${d.weight}`, `${f}.weightDevice[${i}].weight`);
      }
      if (d.leafWeight !== undefined)
        w.write('blkio', 'blkio.leaf_weight_device', `${d.major}:${d.minor} ${d.leafWeight}`, `${f}.weightDevice[${i}].leafWeight`);
    });
    const throttles = [
      ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
      ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
      ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
      ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
    ] as const;
    for (const [key, file] of throttles) {
      (bio[key] ?? []).forEach((d, i) => w.write('blkio', file, `${d.major}:${d.minor} ${d.rate}`, `${f}.${key}[${i}]`));
    }
  }
  const hugetlbOnUnified = res.hugepageLimits?.length && !w.hasController('hugetlb') && unifiedHas(plan, 'hugetlb');
  (res.hugepageLimits ?? []).forEach((h, i) => {
    const field = `${R}.hugepageLimits[${i}]`;
    const size = hugepageSize(h.pageSize, field);
    if (hugetlbOnUnified) {
      // A hybrid host may bind hugetlb to the unified (v2) hierarchy alone: limit it there.
      const dir = plan.paths.unified;
      if (!fs.existsSync(join(dir, `hugetlb.${size}.max`))) throw new Error(`${field}.pageSize: this host has no ${size} huge pages`);
      for (const f of [`hugetlb.${size}.max`, `hugetlb.${size}.rsvd.max`]) {
        if (f.includes('rsvd') && !fs.existsSync(join(dir, f))) continue;
        try {
          fs.writeFileSync(join(dir, f), String(h.limit));
        } catch (e) {
          throw new Error(`${field}: writing ${h.limit} to ${join(dir, f)}: ${(e as Error).message}`);
        }
      }
      return;
    }
    w.dir('hugetlb', field);
    if (!w.has('hugetlb', `hugetlb.${size}.limit_in_bytes`)) throw new Error(`${field}.pageSize: this host has no ${size} huge pages`);
    w.write('hugetlb', `hugetlb.${size}.limit_in_bytes`, h.limit, field);
    if (w.has('hugetlb', `hugetlb.${size}.rsvd.limit_in_bytes`)) w.write('hugetlb', `hugetlb.${size}.rsvd.limit_in_bytes`, h.limit, field);
  });
  if (res.network) {
    const f = `${R}.network`;
    if (res.network.classID !== undefined) w.write('net_cls', 'net_cls.classid', res.network.classID, `${f}.classID`);
    (res.network.priorities ?? []).forEach((p, i) =>
      w.write('net_prio', 'net_prio.ifpriomap', `${p.name} ${p.priority}`, `${f}.priorities[${i}]`),
    );
  }
  for (const [dev, l] of Object.entries(res.rdma ?? {})) w.write('rdma', 'rdma.max', rdmaLine(dev, l), `${R}.rdma.${dev}`);
  if (res.unified && Object.keys(res.unified).length)
    throw new Error(`invalid configuration: ${R}.unified: needs a cgroup v2 host; this one is cgroup v1`);
}

/**
 * Whether the container's cgroup in a hybrid host's unified hierarchy can use a controller that no
 * v1 hierarchy has, enabling it down the path as on a v2 host.
 */
function unifiedHas(plan: V1Target, controller: string): boolean {
  const dir = plan.paths.unified;
  const root = dir ? plan.unifiedRoot() : undefined;
  if (!dir || root === undefined) return false;
  enableV2Controllers(root, dir, [controller]);
  try {
    return fs.readFileSync(join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).includes(controller);
  } catch {
    return false;
  }
}
