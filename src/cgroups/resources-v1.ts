import * as fs from 'fs';
import { join } from 'path';
import { isErrno } from '../sys/errors';
import type { Resources } from '../spec/oci';
import type { CgroupPlan } from './manager';
import { enableV2Controllers } from './v2-controllers';
import { hostLayout } from './hierarchy';
import { v1DeviceWrites, type DeviceRuleset } from './devices/rules';

/** Writes one file of a v1 controller; errors name the field, the file and the errno. */
class V1Writer {
  constructor(private readonly plan: CgroupPlan) {}

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

  /** The first of several files this kernel has (e.g. blkio.weight, or blkio.bfq.weight under BFQ). */
  pick(controller: string, files: string[], field: string): string {
    const dir = this.dir(controller, field);
    const f = files.find((x) => fs.existsSync(join(dir, x)));
    if (!f) throw new Error(`${field}: not supported by this kernel (none of ${files.join(', ')})`);
    return f;
  }
}

export function applyV1(plan: CgroupPlan, res: Resources, devices: DeviceRuleset | undefined, warnings: string[]): void {
  const w = new V1Writer(plan);
  const R = 'linux.resources';
  if (devices) {
    for (const [file, line] of v1DeviceWrites(devices)) w.write('devices', file, line, `${R}.devices`);
  }
  const mem = res.memory as Record<string, number | boolean | undefined> | undefined;
  if (mem) {
    const limit = mem.limit as number | undefined;
    const swap = mem.swap as number | undefined;
    if (limit !== undefined && swap !== undefined) {
      // memsw must stay >= the limit: raising both needs swap first, lowering both the limit first.
      try {
        w.write('memory', 'memory.limit_in_bytes', limit, `${R}.memory.limit`);
        w.write('memory', 'memory.memsw.limit_in_bytes', swap, `${R}.memory.swap`);
      } catch {
        w.write('memory', 'memory.memsw.limit_in_bytes', swap, `${R}.memory.swap`);
        w.write('memory', 'memory.limit_in_bytes', limit, `${R}.memory.limit`);
      }
    }
    for (const [k, v] of Object.entries(mem)) {
      if (v === undefined) continue;
      const field = `${R}.memory.${k}`;
      switch (k) {
        case 'limit': if (swap === undefined) w.write('memory', 'memory.limit_in_bytes', Number(v), field); break;
        case 'swap': if (limit === undefined) w.write('memory', 'memory.memsw.limit_in_bytes', Number(v), field); break;
        case 'reservation': w.write('memory', 'memory.soft_limit_in_bytes', Number(v), field); break;
        case 'swappiness': w.write('memory', 'memory.swappiness', Number(v), field); break;
        case 'disableOOMKiller': if (v === true) w.write('memory', 'memory.oom_control', 1, field); break;
        case 'kernelTCP': w.write('memory', 'memory.kmem.tcp.limit_in_bytes', Number(v), field); break;
        case 'kernel':
          // Deprecated: newer kernels dropped kmem limits (the file may be gone, or ignore writes).
          if (w.has('memory', 'memory.kmem.limit_in_bytes')) w.write('memory', 'memory.kmem.limit_in_bytes', Number(v), field);
          else warnings.push(`${field}: this kernel has no kernel memory limits; ignored`);
          break;
        case 'useHierarchy': case 'checkBeforeUpdate': break;
        default: throw new Error(`${field}: unknown memory setting`);
      }
    }
  }
  const cpu = res.cpu as Record<string, number | string | undefined> | undefined;
  if (cpu) {
    // Fixed order: a period before its quota and runtime (the kernel checks them against each other).
    const order = ['shares', 'period', 'quota', 'burst', 'realtimePeriod', 'realtimeRuntime', 'idle', 'cpus', 'mems'];
    for (const k of Object.keys(cpu)) if (!order.includes(k) && cpu[k] !== undefined) throw new Error(`${R}.cpu.${k}: unknown cpu setting`);
    for (const k of order) {
      const v = cpu[k];
      if (v === undefined) continue;
      const field = `${R}.cpu.${k}`;
      switch (k) {
        case 'shares': w.write('cpu', 'cpu.shares', Number(v), field); break;
        case 'period': w.write('cpu', 'cpu.cfs_period_us', Number(v), field); break;
        case 'quota': w.write('cpu', 'cpu.cfs_quota_us', Number(v), field); break;
        case 'burst': w.write('cpu', 'cpu.cfs_burst_us', Number(v), field); break;
        case 'realtimePeriod': w.write('cpu', 'cpu.rt_period_us', Number(v), field); break;
        case 'realtimeRuntime': w.write('cpu', 'cpu.rt_runtime_us', Number(v), field); break;
        case 'idle': w.write('cpu', 'cpu.idle', Number(v), field); break;
        case 'cpus': w.write('cpuset', 'cpuset.cpus', String(v), field); break;
        case 'mems': w.write('cpuset', 'cpuset.mems', String(v), field); break;
      }
    }
  }
  if (res.pids?.limit !== undefined) w.write('pids', 'pids.max', res.pids.limit > 0 ? res.pids.limit : 'max', `${R}.pids.limit`);
  const bio = res.blockIO;
  if (bio) {
    const f = `${R}.blockIO`;
    if (bio.weight !== undefined) w.write('blkio', w.pick('blkio', ['blkio.weight', 'blkio.bfq.weight'], `${f}.weight`), bio.weight, `${f}.weight`);
    if (bio.leafWeight !== undefined) w.write('blkio', 'blkio.leaf_weight', bio.leafWeight, `${f}.leafWeight`);
    (bio.weightDevice ?? []).forEach((d, i) => {
      if (d.weight !== undefined) {
        const file = w.pick('blkio', ['blkio.weight_device', 'blkio.bfq.weight_device'], `${f}.weightDevice[${i}].weight`);
        w.write('blkio', file, `${d.major}:${d.minor} ${d.weight}`, `${f}.weightDevice[${i}].weight`);
      }
      if (d.leafWeight !== undefined) w.write('blkio', 'blkio.leaf_weight_device', `${d.major}:${d.minor} ${d.leafWeight}`, `${f}.weightDevice[${i}].leafWeight`);
    });
    const throttles = [
      ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'], ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
      ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'], ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
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
    (res.network.priorities ?? []).forEach((p, i) => w.write('net_prio', 'net_prio.ifpriomap', `${p.name} ${p.priority}`, `${f}.priorities[${i}]`));
  }
  for (const [dev, l] of Object.entries(res.rdma ?? {})) w.write('rdma', 'rdma.max', rdmaLine(dev, l), `${R}.rdma.${dev}`);
  if (res.unified && Object.keys(res.unified).length) throw new Error(`${R}.unified: needs a cgroup v2 host; this one is cgroup v1`);
}

/**
 * Whether the container's cgroup in a hybrid host's unified hierarchy can use a controller that no
 * v1 hierarchy has, enabling it down the path as on a v2 host.
 */
function unifiedHas(plan: CgroupPlan, controller: string): boolean {
  const dir = plan.paths.unified;
  if (!dir) return false;
  const root = hostLayout().hierarchies.find((h) => h.version === 2 && dir.startsWith(`${h.mountpoint}/`));
  if (!root) return false;
  enableV2Controllers(root.mountpoint, dir, [controller]);
  try {
    return fs.readFileSync(join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).includes(controller);
  } catch {
    return false;
  }
}

/** "2MB" → "2MB" after checking the form the kernel names its files by (64KB, 2MB, 1GB, ...). */
export function hugepageSize(pageSize: string, field: string): string {
  if (!/^[1-9]\d*[KMG]B$/.test(pageSize)) throw new Error(`${field}.pageSize: "${pageSize}" is not a page size such as 2MB or 1GB`);
  return pageSize;
}

export function rdmaLine(dev: string, l: { hcaHandles?: number; hcaObjects?: number }): string {
  if (!/^[^\s=]+$/.test(dev)) throw new Error(`linux.resources.rdma: "${dev}" is not a device name`);
  const v = (n: number | undefined) => (n === undefined ? 'max' : String(n));
  return `${dev} hca_handle=${v(l.hcaHandles)} hca_object=${v(l.hcaObjects)}`;
}
