import fs = require('fs');
import { join } from 'path';
import { isErrno } from '../../sys/errors';
import type { Resources } from '../../ocispec/oci';
import type { DeviceRuleset } from '../devices/rules';
import { attachDeviceProgram, type DeviceProgramLibc } from '../devices/attach';
import { hugepageSize, rdmaLine } from '../resource-values';

/**
 * cgroup v1 cpu.shares (2..262144, default 1024) to v2 cpu.weight (1..10000, default 100): the curve
 * current runc uses, through log2(shares), so that the defaults meet.
 */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  return Math.ceil(10 ** ((l * l + 125 * l) / 612 - 7 / 34));
}

/** runc's conversion of a blkio weight (10..1000) to io.weight (1..10000). */
export function blkioToIoWeight(weight: number): number {
  return weight === 0 ? 0 : Math.floor(1 + ((weight - 10) * 9999) / 990);
}

export type BpfLibc = DeviceProgramLibc;

export function applyV2(
  dir: string | undefined,
  res: Resources,
  devices: DeviceRuleset | undefined,
  warnings: string[],
  sys: () => BpfLibc,
): void {
  if (!dir) throw new Error('linux.resources: no cgroup v2 hierarchy for the container');
  const R = 'linux.resources';
  let enabled: string[] | undefined;
  const need = (controller: string, field: string): void => {
    enabled ??= fs.readFileSync(join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
    if (!enabled.includes(controller)) throw new Error(`${field}: the ${controller} cgroup controller is not available to ${dir}`);
  };
  const write = (file: string, value: string | number, field: string): void => {
    const controller = file.split('.')[0];
    if (controller !== 'cgroup') need(controller, field);
    const path = join(dir, file);
    try {
      fs.writeFileSync(path, String(value));
    } catch (e) {
      // cgroupfs refuses to create a file it lacks (EACCES, not ENOENT).
      if (isErrno(e, 'ENOENT') || !fs.existsSync(path)) throw new Error(`${field}: not supported by this kernel (no ${file})`);
      throw new Error(`${field}: writing ${value} to ${path}: ${(e as Error).message}`);
    }
  };
  const has = (file: string) => fs.existsSync(join(dir, file));
  const readText = (file: string): string | undefined => {
    try {
      return fs.readFileSync(join(dir, file), 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  /** A "max"-or-number file as a number, -1 for max. */
  const readMax = (file: string): number | undefined => {
    const t = readText(file);
    return t === undefined || t === '' ? undefined : t === 'max' ? -1 : Number(t);
  };
  const max = (v: number) => (v < 0 ? 'max' : v);

  if (devices) {
    try {
      attachDeviceProgram(sys(), dir, devices);
    } catch (e) {
      throw new Error(`${R}.devices: ${(e as Error).message}`);
    }
  }
  const mem = res.memory as Record<string, number | boolean | undefined> | undefined;
  if (mem) {
    const field = (k: string) => `${R}.memory.${k}`;
    for (const [k, v] of Object.entries(mem)) {
      if (v === undefined) continue;
      if (k === 'swappiness' || k === 'kernel' || k === 'kernelTCP') warnings.push(`${field(k)}: has no cgroup v2 equivalent; ignored`);
      else if (k === 'disableOOMKiller' && v === true) throw new Error(`${field(k)}: not possible on cgroup v2`);
      else if (!['limit', 'swap', 'reservation', 'disableOOMKiller', 'useHierarchy', 'checkBeforeUpdate'].includes(k))
        throw new Error(`${field(k)}: unknown memory setting`);
    }
    // 0 means "not set" for the byte limits, as runc reads them.
    const limit = Number(mem.limit ?? 0);
    const swap = Number(mem.swap ?? 0);
    if (mem.checkBeforeUpdate === true && limit > 0) {
      // The spec: a limit below the current usage MUST be refused (v1's kernel refuses it itself).
      const usage = readMax('memory.current');
      if (usage !== undefined && limit <= usage) throw new Error(`${field('limit')}: ${limit} is not above the current usage ${usage}`);
    }
    // OCI's swap is memory+swap; v2's memory.swap.max is swap alone. An update that gives swap
    // alone is measured against the limit in force.
    let swapMax: string | number | undefined;
    if (limit === -1 && swap === 0)
      swapMax = 'max'; // unlimited memory lifts the swap limit too
    else if (swap === -1) swapMax = 'max';
    else if (swap > 0) {
      const inForce = limit !== 0 ? limit : readMax('memory.max');
      if (inForce === undefined || inForce <= 0) throw new Error(`${field('swap')}: a swap limit needs a memory limit on cgroup v2`);
      if (swap < inForce) throw new Error(`${field('swap')}: ${swap} is below the memory limit ${inForce} (swap counts memory plus swap)`);
      swapMax = swap - inForce;
    }
    if (swapMax !== undefined) {
      // Without swap accounting there is no memory.swap.max: "no swap limit" and "no swap" hold anyway.
      if (has('memory.swap.max') || !(swapMax === 'max' || swapMax === 0)) write('memory.swap.max', swapMax, field('swap'));
    }
    if (limit !== 0) write('memory.max', max(limit), field('limit'));
    if (mem.reservation !== undefined && mem.reservation !== 0) write('memory.low', max(Number(mem.reservation)), field('reservation'));
  }
  const cpu = res.cpu as Record<string, number | string | undefined> | undefined;
  if (cpu) {
    const f = `${R}.cpu`;
    for (const k of Object.keys(cpu)) {
      if (cpu[k] === undefined) continue;
      if (k === 'realtimePeriod' || k === 'realtimeRuntime') {
        if (Number(cpu[k]) !== 0) throw new Error(`${f}.${k}: cgroup v2 has no real-time scheduling limits`);
      } else if (!['shares', 'quota', 'period', 'burst', 'idle', 'cpus', 'mems'].includes(k))
        throw new Error(`${f}.${k}: unknown cpu setting`);
    }
    if (cpu.shares !== undefined && Number(cpu.shares) !== 0) write('cpu.weight', sharesToWeight(Number(cpu.shares)), `${f}.shares`);
    // The kernel checks burst against the quota: a burst refused before the new quota is tried after it.
    let burstLater = false;
    if (cpu.burst !== undefined) {
      try {
        write('cpu.max.burst', Number(cpu.burst), `${f}.burst`);
      } catch {
        burstLater = true;
      }
    }
    const quotaGiven = cpu.quota !== undefined && Number(cpu.quota) !== 0;
    const periodGiven = cpu.period !== undefined && Number(cpu.period) !== 0;
    if (quotaGiven || periodGiven) {
      // cpu.max holds both: what the config leaves out keeps its value in force.
      const [curQuota, curPeriod] = (readText('cpu.max') ?? 'max 100000').split(/\s+/);
      const quota = !quotaGiven ? curQuota : Number(cpu.quota) < 0 ? 'max' : Number(cpu.quota);
      const period = periodGiven ? Number(cpu.period) : (curPeriod ?? 100000);
      write('cpu.max', `${quota} ${period}`, quotaGiven ? `${f}.quota` : `${f}.period`);
    }
    if (burstLater) write('cpu.max.burst', Number(cpu.burst), `${f}.burst`);
    if (cpu.idle !== undefined) write('cpu.idle', Number(cpu.idle), `${f}.idle`);
    if (cpu.cpus) write('cpuset.cpus', String(cpu.cpus), `${f}.cpus`);
    if (cpu.mems) write('cpuset.mems', String(cpu.mems), `${f}.mems`);
  }
  // The spec: 0 is a valid pids limit (no new tasks), -1 none. runc writes 1 for 0; we keep 0.
  if (res.pids?.limit !== undefined) write('pids.max', res.pids.limit >= 0 ? res.pids.limit : 'max', `${R}.pids.limit`);
  const bio = res.blockIO;
  if (bio) {
    const f = `${R}.blockIO`;
    if (bio.weight !== undefined) {
      need('io', `${f}.weight`);
      // BFQ's weight keeps blkio's 1..1000 range; io.weight (1..10000) is scaled.
      if (has('io.bfq.weight')) write('io.bfq.weight', bio.weight, `${f}.weight`);
      else write('io.weight', `default ${blkioToIoWeight(bio.weight)}`, `${f}.weight`);
    }
    if (bio.leafWeight !== undefined) throw new Error(`${f}.leafWeight: cgroup v2 has no leaf weights`);
    (bio.weightDevice ?? []).forEach((d, i) => {
      const field = `${f}.weightDevice[${i}]`;
      if (d.leafWeight !== undefined) throw new Error(`${field}.leafWeight: cgroup v2 has no leaf weights`);
      if (d.weight === undefined) return;
      need('io', field);
      if (has('io.bfq.weight')) write('io.bfq.weight', `${d.major}:${d.minor} ${d.weight}`, field);
      else write('io.weight', `${d.major}:${d.minor} ${blkioToIoWeight(d.weight)}`, field);
    });
    const throttles = [
      ['throttleReadBpsDevice', 'rbps'],
      ['throttleWriteBpsDevice', 'wbps'],
      ['throttleReadIOPSDevice', 'riops'],
      ['throttleWriteIOPSDevice', 'wiops'],
    ] as const;
    for (const [key, name] of throttles) {
      // blkio's 0 means "no limit"; io.max says that with "max".
      (bio[key] ?? []).forEach((d, i) =>
        write('io.max', `${d.major}:${d.minor} ${name}=${d.rate === 0 ? 'max' : d.rate}`, `${f}.${key}[${i}]`),
      );
    }
  }
  (res.hugepageLimits ?? []).forEach((h, i) => {
    const field = `${R}.hugepageLimits[${i}]`;
    const size = hugepageSize(h.pageSize, field);
    need('hugetlb', field);
    if (!has(`hugetlb.${size}.max`)) throw new Error(`${field}.pageSize: this host has no ${size} huge pages`);
    write(`hugetlb.${size}.max`, h.limit, field);
    if (has(`hugetlb.${size}.rsvd.max`)) write(`hugetlb.${size}.rsvd.max`, h.limit, field);
  });
  if (res.network && (res.network.classID !== undefined || res.network.priorities?.length)) {
    // As runc: v2 has no net_cls/net_prio (an eBPF or nftables policy does that job).
    warnings.push(`${R}.network: cgroup v2 has no net_cls or net_prio controller; ignored`);
  }
  for (const [dev, l] of Object.entries(res.rdma ?? {})) write('rdma.max', rdmaLine(dev, l), `${R}.rdma.${dev}`);
  for (const [k, v] of Object.entries(res.unified ?? {})) {
    if (k.includes('/') || k.startsWith('.') || !k.includes('.')) throw new Error(`${R}.unified: "${k}" is not a cgroup file name`);
    // Files such as io.max take one line per write.
    for (const line of String(v)
      .split('\n')
      .filter((l) => l.trim() !== ''))
      write(k, line, `${R}.unified.${k}`);
  }
}
