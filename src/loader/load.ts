import { appArmorEnabled } from '../security/apparmor';
import { readFileSync, statSync } from 'fs';
import { isAbsolute, join, posix, resolve } from 'path';
import { ConfigError, isErrno } from '../sys/errors';
import { NAMESPACE_FLAGS } from '../namespaces/types';
import { parseMountOptions, propagationFlag } from '../rootfs/mount-options';
import { isInside } from '../rootfs/safe-path';
import { capabilityMasks, checkAmbient } from '../security/capabilities';
import { resolveRlimits } from '../security/rlimits';
import type { SeccompConfig } from '../security/seccomp';
import { compileSeccompCached } from '../security/seccomp-cache';
import type { ContainerConfig, MemoryPolicy, MountConfig, NamespaceConfig, ProcessConfig, TimeOffsets } from '../ocispec/config';
import { validDeviceName } from '../namespaces/netdev';
import { parseCpuAffinity, parseIoPriority, parseMemoryPolicy, parsePersonality, parseScheduler } from '../ocispec/process-attrs';
import type { DeviceRule, NamespaceType, Process, Spec } from '../ocispec/oci';
import { schemaProblems } from '../ocispec/validate';
import { checkSysctls } from '../ocispec/sysctl-check';

export interface LoadOptions {
  warn?: (msg: string) => void;
  /** what only --debug shows */
  debug?: (msg: string) => void;
  /** where compiled seccomp programs are kept (security/seccomp-cache.ts); none: compiled each time */
  seccompCache?: string;
  /** the caller is not root: what it cannot have is refused here (checkRootless) */
  rootless?: boolean;
}

/** Reads and validates <bundle>/config.json. Every problem is a UserError naming the field. */
export function readSpec(bundle: string): Spec {
  const file = join(resolve(bundle), 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) throw new ConfigError(`${file}: no such file (is --bundle right?)`);
    throw new ConfigError(`${file}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: invalid JSON: ${(e as Error).message}`);
  }
  fillZeroDefaults(raw);
  const nul = stringWithNul(raw, '');
  if (nul) throw new ConfigError(`config.json: ${nul}: contains a NUL byte (the kernel would cut the string there)`);
  const problems = schemaProblems('config', raw);
  if (problems.length) throw new ConfigError(`config.json is invalid: ${problems.join('; ')}`);
  return raw as Spec;
}

/** The path (process.args[1]) of the first string with a NUL in it, or undefined. */
export function stringWithNul(v: unknown, at: string): string | undefined {
  if (typeof v === 'string') return v.includes('\0') ? at || '(the document)' : undefined;
  if (!v || typeof v !== 'object') return undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const found = stringWithNul(v[i], `${at}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  for (const [k, x] of Object.entries(v)) {
    if (k.includes('\0')) return `${at ? `${at}.` : ''}${k.replace(/\0/g, '\\0')}`;
    const found = stringWithNul(x, at ? `${at}.${k}` : k);
    if (found) return found;
  }
  return undefined;
}

/**
 * A property whose value is null is absent, as runc reads it (Go's zero value): scripts written
 * for runc null out what they do not want (`.linux.timeOffsets = null`). Inside objects only;
 * a null in an array stays, for the schema to name.
 */
function dropNulls(v: unknown): void {
  if (!v || typeof v !== 'object') return;
  if (Array.isArray(v)) {
    for (const x of v) dropNulls(x);
    return;
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (o[k] === null) delete o[k];
    else dropNulls(o[k]);
  }
}

/**
 * Fields runtime-spec marks REQUIRED that runc reads as 0 when absent (Go's zero values):
 * process.user's uid and gid, process.ioPriority's priority. The spec asks configs to give them
 * but does not ask runtimes to refuse, and scripts written for runc leave them out
 * (`.process.user = {"uid":0}`, `"ioPriority": {"class": "IOPRIO_CLASS_IDLE"}`).
 */
export function fillZeroDefaults(raw: unknown): void {
  dropNulls(raw);
  // An empty namespace path is no path: runc reads it so, and scripts blank a path to get a new one.
  const nss = (raw as { linux?: { namespaces?: unknown } } | null)?.linux?.namespaces;
  if (Array.isArray(nss))
    for (const n of nss) if (n && typeof n === 'object' && (n as { path?: unknown }).path === '') delete (n as { path?: unknown }).path;
  const proc = (raw as { process?: unknown } | null)?.process;
  if (!proc || typeof proc !== 'object') return;
  const obj = (v: unknown): Record<string, unknown> | undefined =>
    v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  const user = obj((proc as { user?: unknown }).user);
  if (user) {
    user.uid ??= 0;
    user.gid ??= 0;
  }
  const io = obj((proc as { ioPriority?: unknown }).ioPriority);
  if (io) io.priority ??= 0;
}

/**
 * The semantic checks and normalisation of an OCI process (config.json's, or exec's --process).
 * `where` names the field in messages.
 */
export function buildProcess(
  proc: Process,
  where: string,
  warn: (msg: string) => void,
  debug: (msg: string) => void = () => undefined,
): ProcessConfig {
  const fail = (msg: string): never => {
    throw new ConfigError(`${where === 'process' ? 'config.json: ' : ''}${where}${msg}`);
  };
  if (!proc.args || proc.args.length === 0) fail('.args: must contain at least one entry');
  if (!isAbsolute(proc.cwd)) fail(`.cwd: "${proc.cwd}" must be an absolute path`);
  if (proc.commandLine !== undefined) fail('.commandLine: is for Windows only');
  if (proc.apparmorProfile && !appArmorEnabled()) fail('.apparmorProfile: AppArmor is not enabled on this system');
  if (proc.selinuxLabel) fail('.selinuxLabel: SELinux is not enabled on this system');
  (proc.env ?? []).forEach((e, i) => {
    if (!e.includes('=')) fail(`.env[${i}]: "${e}" is not of the form KEY=value`);
    if (e.startsWith('=')) fail(`.env[${i}]: "${e}" has an empty name`);
  });
  // As runc: ids above 2^31-1 are refused. 4294967295 is (uid_t)-1, "no change" to set*id: a
  // process asked to run as it would stay root.
  const ids: [string, number | undefined][] = [
    ['.user.uid', proc.user?.uid],
    ['.user.gid', proc.user?.gid],
    ...(proc.user?.additionalGids ?? []).map((g, i): [string, number] => [`.user.additionalGids[${i}]`, g]),
  ];
  for (const [field, v] of ids) {
    if (v !== undefined && (v < 0 || v > 0x7fffffff)) fail(`${field}: ${v} is out of range (0-2147483647)`);
  }
  let capabilities;
  let rlimits;
  let scheduler;
  let ioPriority;
  let cpuAffinity;
  try {
    if (proc.scheduler) scheduler = parseScheduler(proc.scheduler, 'process.scheduler');
    if (proc.ioPriority) ioPriority = parseIoPriority(proc.ioPriority, 'process.ioPriority');
    if (proc.execCPUAffinity) cpuAffinity = parseCpuAffinity(proc.execCPUAffinity, 'process.execCPUAffinity');
    capabilities = proc.capabilities ? checkAmbient(capabilityMasks(proc.capabilities, warn), warn, debug) : undefined;
    rlimits = resolveRlimits(proc.rlimits ?? []);
  } catch (e) {
    return fail(`.${(e as Error).message.replace(/^process\./, '')}`);
  }
  const user = proc.user ?? { uid: 0, gid: 0 }; // absent from an exec --process file: root, as runc
  return {
    args: proc.args!,
    env: proc.env ?? [],
    cwd: proc.cwd,
    uid: user.uid,
    gid: user.gid,
    additionalGids: user.additionalGids ?? [],
    umask: user.umask,
    terminal: proc.terminal === true,
    consoleSize: proc.consoleSize,
    capabilities,
    rlimits,
    noNewPrivileges: proc.noNewPrivileges === true,
    oomScoreAdj: proc.oomScoreAdj,
    apparmorProfile: proc.apparmorProfile || undefined,
    scheduler,
    ioPriority,
    cpuAffinity,
  };
}

/**
 * Device rules with access letters other than r, w and m: runc ignores those letters, and a rule
 * with the rest means less than asked, never more; said in a warning. A rule left with no access
 * at all is an error (it would mean "rwm").
 */
/** Each range must map something and stay within 32-bit ids (the kernel refuses it, unnamed, otherwise). */
function checkMappings(where: string, maps: readonly { containerID: number; hostID: number; size: number }[] | undefined): void {
  (maps ?? []).forEach((m, i) => {
    if (m.size < 1) throw new ConfigError(`config.json: ${where}[${i}].size: ${m.size} maps nothing; it must be at least 1`);
    for (const k of ['containerID', 'hostID'] as const) {
      if (m[k] + m.size > 4294967295)
        throw new ConfigError(`config.json: ${where}[${i}]: ${k} ${m[k]} + size ${m.size} goes beyond the largest id (4294967294)`);
    }
  });
}

/** What an unprivileged caller cannot have: clear errors, not half a container. */
function checkRootless(cfg: ContainerConfig, warn: (m: string) => void): void {
  if (!cfg.namespaces.some((n) => n.type === 'user')) {
    throw new ConfigError('config.json: linux.namespaces: a non-root caller needs a user namespace (see tsrunc spec --rootless)');
  }
  for (const [k, v] of Object.entries(cfg.resources)) {
    if (v === undefined || k === 'devices') continue;
    throw new ConfigError(`config.json: linux.resources.${k}: a non-root caller has no cgroups to apply it`);
  }
  if (cfg.deviceRules.some((r) => r.allow)) warn('linux.resources.devices: no device cgroup for a non-root caller; rules ignored');
  if (Object.keys(cfg.netDevices).length) {
    throw new ConfigError('config.json: linux.netDevices: network devices are not supported for rootless containers');
  }
}

function deviceRules(rules: readonly DeviceRule[], warn: (m: string) => void): DeviceRule[] {
  return rules.map((r, i) => {
    if (r.access === undefined || /^[rwm]*$/.test(r.access)) return r;
    const kept = r.access.replace(/[^rwm]/g, '');
    if (!kept) throw new ConfigError(`config.json: linux.resources.devices[${i}].access: "${r.access}" is not a combination of r, w and m`);
    warn(`linux.resources.devices[${i}].access: "${r.access}": only r, w and m mean something; "${kept}" is used`);
    return { ...r, access: kept };
  });
}

/** Turns a validated spec into the runtime's internal configuration; semantic checks live here. */
export function buildConfig(spec: Spec, bundle: string, id: string, opts: LoadOptions = {}): ContainerConfig {
  const warn = opts.warn ?? (() => undefined);
  const fail = (msg: string): never => {
    throw new ConfigError(`config.json: ${msg}`);
  };
  bundle = resolve(bundle);

  if (!spec.root) fail('root: is required on Linux');
  const rootfs = resolve(bundle, spec.root!.path);
  try {
    if (!statSync(rootfs).isDirectory()) fail(`root.path: ${rootfs} is not a directory`);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    fail(`root.path: ${rootfs} does not exist`);
  }

  const processConfig = spec.process && buildProcess(spec.process, 'process', warn, opts.debug);

  const linux = spec.linux ?? {};
  const namespaces: NamespaceConfig[] = [];
  const seen = new Set<NamespaceType>();
  (linux.namespaces ?? []).forEach((ns, i) => {
    const flag = NAMESPACE_FLAGS[ns.type];
    if (flag === undefined) fail(`linux.namespaces[${i}].type: unknown namespace type "${ns.type}"`);
    if (seen.has(ns.type)) fail(`linux.namespaces[${i}].type: duplicate namespace "${ns.type}"`);
    seen.add(ns.type);
    const path = ns.path;
    if (path !== undefined && !isAbsolute(path)) fail(`linux.namespaces[${i}].path: "${path}" must be absolute`);
    namespaces.push({ type: ns.type, flag, path });
  });
  const userNs = (linux.namespaces ?? []).find((n) => n.type === 'user');
  if (!userNs && (linux.uidMappings?.length || linux.gidMappings?.length)) {
    fail('linux.uidMappings/gidMappings: mappings need a user namespace in linux.namespaces');
  }
  if (userNs && userNs.path === undefined) {
    for (const key of ['uidMappings', 'gidMappings'] as const) {
      const maps = linux[key] ?? [];
      if (!maps.length) fail(`linux.${key}: a new user namespace needs mappings`);
      if (!maps.some((m) => m.containerID === 0))
        fail(`linux.${key}: the container's root (id 0) must be mapped: the runtime sets up the container as root`);
    }
  }
  for (const key of ['uidMappings', 'gidMappings'] as const) checkMappings(`linux.${key}`, linux[key]);
  let timeOffsets: TimeOffsets | undefined;
  if (linux.timeOffsets) {
    const timeNs = namespaces.find((n) => n.type === 'time');
    if (!timeNs || timeNs.path !== undefined)
      fail('linux.timeOffsets: offsets are for a new time namespace: add {"type": "time"} to linux.namespaces');
    timeOffsets = {};
    for (const [clock, v] of Object.entries(linux.timeOffsets)) {
      if (clock !== 'monotonic' && clock !== 'boottime') fail(`linux.timeOffsets.${clock}: only monotonic and boottime have offsets`);
      const o = v as { secs?: number; nanosecs?: number };
      if ((o.nanosecs ?? 0) > 999_999_999) fail(`linux.timeOffsets.${clock}.nanosecs: ${o.nanosecs} is not below one second`);
      timeOffsets[clock as 'monotonic' | 'boottime'] = { secs: o.secs ?? 0, nanosecs: o.nanosecs ?? 0 };
    }
  }
  // the kernel's limit (__NEW_UTS_LEN); longer is EINVAL from sethostname, naming nothing
  for (const key of ['hostname', 'domainname'] as const) {
    const v = spec[key];
    if (v !== undefined && Buffer.byteLength(v) > 64) fail(`${key}: ${Buffer.byteLength(v)} bytes is longer than the kernel's 64`);
  }
  if (spec.hostname !== undefined && spec.hostname !== '' && !seen.has('uts')) {
    fail('hostname: setting the hostname needs a uts namespace in linux.namespaces');
  }
  if (spec.domainname !== undefined && spec.domainname !== '' && !seen.has('uts')) {
    fail('domainname: setting the domainname needs a uts namespace in linux.namespaces');
  }

  const mounts: MountConfig[] = (spec.mounts ?? []).map((m, i) => {
    let destination = m.destination;
    if (!isAbsolute(destination)) destination = '/' + destination; // spec 1.2: relative means relative to /
    destination = posix.normalize(destination);
    if (destination === '/') fail(`mounts[${i}].destination: cannot mount over the root`);
    let parsed;
    try {
      parsed = parseMountOptions(m.options ?? [], `mounts[${i}].options`);
    } catch (e) {
      return fail((e as Error).message.replace(/^mounts/, 'mounts'));
    }

    const type = m.type ?? (parsed.bind ? 'bind' : '');
    if (type === 'bind') {
      parsed.bind = true;
      parsed.flags |= 0x1000;
    }
    if (!parsed.bind && !type) fail(`mounts[${i}].type: required for a mount that is not a bind mount`);
    if (parsed.copyUp && type !== 'tmpfs') fail(`mounts[${i}].options: tmpcopyup is for tmpfs mounts, not ${type}`);
    let source = m.source ?? (parsed.bind ? '' : type);
    if (parsed.bind) {
      if (!source) fail(`mounts[${i}].source: required for a bind mount`);
      source = resolve(bundle, source);
    }
    if ((m.uidMappings || m.gidMappings || parsed.idmap) && !parsed.bind) fail(`mounts[${i}]: only bind mounts can be idmapped`);
    if (m.uidMappings?.length !== m.gidMappings?.length && (!m.uidMappings?.length || !m.gidMappings?.length)) {
      fail(`mounts[${i}]: uidMappings and gidMappings go together`);
    }
    checkMappings(`mounts[${i}].uidMappings`, m.uidMappings);
    checkMappings(`mounts[${i}].gidMappings`, m.gidMappings);
    let uidMappings = m.uidMappings;
    let gidMappings = m.gidMappings;
    let idmapUserns: string | undefined;
    if (m.uidMappings?.length && !parsed.idmap) parsed.idmap = 'idmap';
    if (parsed.idmap && !m.uidMappings?.length) {
      // runtime-spec: without mappings of its own, the container's user namespace's (or an error)
      if (!userNs) fail(`mounts[${i}].options: ${parsed.idmap} without uidMappings/gidMappings needs a user namespace in linux.namespaces`);
      if (userNs!.path !== undefined && userNs!.path !== '') idmapUserns = userNs!.path;
      else {
        uidMappings = linux.uidMappings;
        gidMappings = linux.gidMappings;
      }
    }
    if (parsed.idmap && isInside(rootfs, source)) {
      fail(`mounts[${i}] (${destination}): an idmapped mount whose source is inside the rootfs is not supported by tsrunc yet`);
    }
    // As runc: a read-only /dev gets its devices and mounts first, and is made read-only last.
    const readonlyLast = destination === '/dev' && (parsed.flags & 1) !== 0 && !parsed.bind;
    if (readonlyLast) parsed.flags &= ~1;
    return { ...parsed, destination, source, type, index: i, uidMappings, gidMappings, idmapUserns, readonlyLast };
  });

  let rootfsPropagation: number | undefined;
  if (linux.rootfsPropagation) {
    rootfsPropagation = propagationFlag(linux.rootfsPropagation);
    if (rootfsPropagation === undefined) fail(`linux.rootfsPropagation: unknown value "${linux.rootfsPropagation}"`);
  }

  (linux.devices ?? []).forEach((d, i) => {
    if (!isAbsolute(d.path)) fail(`linux.devices[${i}].path: "${d.path}" must be absolute`);
    if (d.type !== 'p' && (d.major === undefined || d.minor === undefined)) {
      fail(`linux.devices[${i}]: major and minor are required for type "${d.type}"`);
    }
    // the kernel's dev_t: 12 bits of major, 20 of minor
    if (d.major !== undefined && (d.major < 0 || d.major > 4095))
      fail(`linux.devices[${i}].major: ${d.major} is not a device major number (0-4095)`);
    if (d.minor !== undefined && (d.minor < 0 || d.minor > 1048575))
      fail(`linux.devices[${i}].minor: ${d.minor} is not a device minor number (0-1048575)`);
  });
  for (const key of ['maskedPaths', 'readonlyPaths'] as const) {
    (linux[key] ?? []).forEach((path, i) => {
      if (!isAbsolute(path)) fail(`linux.${key}[${i}]: "${path}" must be absolute`);
    });
  }
  if (linux.mountLabel) fail('linux.mountLabel: SELinux is not enabled on this system');
  if (linux.intelRdt !== undefined) fail('linux.intelRdt: not supported by tsrunc yet');
  let personality: number | undefined;
  let memoryPolicy: MemoryPolicy | undefined;
  try {
    if (linux.personality !== undefined) personality = parsePersonality(linux.personality);
    if (linux.memoryPolicy !== undefined) memoryPolicy = parseMemoryPolicy(linux.memoryPolicy);
  } catch (e) {
    return fail((e as Error).message);
  }
  const netDevices: Record<string, string> = {};
  if (linux.netDevices && Object.keys(linux.netDevices).length) {
    if (!namespaces.some((n) => n.type === 'network'))
      fail('linux.netDevices: unable to move network devices without a network namespace in linux.namespaces');
    const taken = new Set<string>();
    for (const [host, dev] of Object.entries(linux.netDevices)) {
      if (!validDeviceName(host)) fail(`linux.netDevices: invalid network device name "${host}"`);
      const name = dev.name || host;
      if (!validDeviceName(name)) fail(`linux.netDevices.${host}.name: invalid network device name "${name}"`);
      if (taken.has(name)) fail(`linux.netDevices.${host}.name: "${name}" is given to two devices`);
      taken.add(name);
      netDevices[host] = name;
    }
  }
  // As runc: a deadline task needs the whole root domain's CPUs, which a cpuset takes away.
  if (processConfig?.scheduler?.policy === 6 && linux.resources?.cpu?.cpus) {
    fail("process.scheduler: SCHED_DEADLINE: process scheduler can't be used together with AllowedCPUs (linux.resources.cpu.cpus)");
  }

  let seccomp;
  if (linux.seccomp) {
    try {
      const compiled = compileSeccompCached(linux.seccomp as SeccompConfig, warn, opts.debug ?? (() => undefined), opts.seccompCache);
      const sc = linux.seccomp as SeccompConfig;
      seccomp = {
        program: compiled.program.toString('base64'),
        flags: compiled.flags,
        listenerPath: sc.listenerPath,
        listenerMetadata: sc.listenerMetadata,
      };
    } catch (e) {
      return fail((e as Error).message);
    }
  }

  // Settings that would change the host, or that the caller cannot have: refused here, with the rest.
  const fresh = new Set<NamespaceType>(namespaces.filter((n) => n.path === undefined).map((n) => n.type));
  try {
    checkSysctls(linux.sysctl ?? {}, fresh);
  } catch (e) {
    fail((e as Error).message);
  }

  const cfg: ContainerConfig = {
    id,
    bundle,
    rootfs,
    rootReadonly: spec.root!.readonly === true,
    seccomp,
    process: processConfig,
    namespaces,
    uidMappings: linux.uidMappings ?? [],
    gidMappings: linux.gidMappings ?? [],
    mounts,
    hostname: spec.hostname,
    domainname: spec.domainname,
    rootfsPropagation,
    maskedPaths: linux.maskedPaths ?? [],
    readonlyPaths: linux.readonlyPaths ?? [],
    devices: linux.devices ?? [],
    deviceRules: deviceRules(linux.resources?.devices ?? [], warn),
    resources: linux.resources ?? {},
    cgroupsPath: linux.cgroupsPath,
    sysctl: linux.sysctl ?? {},
    timeOffsets,
    personality,
    memoryPolicy,
    netDevices,
    hooks: spec.hooks ?? {},
    annotations: spec.annotations ?? {},
    ociVersion: spec.ociVersion,
  };
  if (opts.rootless) checkRootless(cfg, warn);
  return cfg;
}
