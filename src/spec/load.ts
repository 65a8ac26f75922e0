import { appArmorEnabled } from '../security/apparmor';
import { readFileSync, statSync } from 'fs';
import { isAbsolute, join, posix, resolve } from 'path';
import { UserError, isErrno } from '../sys/errors';
import { NAMESPACE_FLAGS } from '../namespaces/types';
import { parseMountOptions, propagationFlag } from '../rootfs/mount-options';
import { capabilityMasks, checkAmbient } from '../security/capabilities';
import { resolveRlimits } from '../security/rlimits';
import type { SeccompConfig } from '../security/seccomp';
import { compileSeccompCached } from '../security/seccomp-cache';
import type { ContainerConfig, MountConfig, NamespaceConfig, ProcessConfig } from './config';
import type { NamespaceType, Process, Spec } from './oci';
import { schemaProblems } from './validate';

export interface LoadOptions {
  warn?: (msg: string) => void;
  /** what only --debug shows */
  debug?: (msg: string) => void;
  /** where compiled seccomp programs are kept (security/seccomp-cache.ts); none: compiled each time */
  seccompCache?: string;
}

/** Reads and validates <bundle>/config.json. Every problem is a UserError naming the field. */
export function readSpec(bundle: string): Spec {
  const file = join(resolve(bundle), 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) throw new UserError(`${file}: no such file (is --bundle right?)`);
    throw new UserError(`${file}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file}: invalid JSON: ${(e as Error).message}`);
  }
  defaultUser(raw);
  const problems = schemaProblems('config', raw);
  if (problems.length) throw new UserError(`config.json is invalid: ${problems.join('; ')}`);
  return raw as Spec;
}

/**
 * A process.user without uid or gid means 0, as in runc (Go's zero values): runtime-spec asks
 * configs to give both but does not ask runtimes to refuse, and scripts written for runc leave
 * them out (`.process.user = {"uid":0}`).
 */
export function defaultUser(raw: unknown): void {
  const proc = (raw as { process?: unknown } | null)?.process;
  if (!proc || typeof proc !== 'object') return;
  const user = (proc as { user?: unknown }).user;
  if (!user || typeof user !== 'object' || Array.isArray(user)) return;
  const u = user as Record<string, unknown>;
  u.uid ??= 0;
  u.gid ??= 0;
}

/**
 * The semantic checks and normalisation of an OCI process (config.json's, or exec's --process).
 * `where` names the field in messages.
 */
export function buildProcess(proc: Process, where: string, warn: (msg: string) => void, debug: (msg: string) => void = () => undefined): ProcessConfig {
  const fail = (msg: string): never => {
    throw new UserError(`${where === 'process' ? 'config.json: ' : ''}${where}${msg}`);
  };
  if (!proc.args || proc.args.length === 0) fail('.args: must contain at least one entry');
  if (!isAbsolute(proc.cwd)) fail(`.cwd: "${proc.cwd}" must be an absolute path`);
  if (proc.commandLine !== undefined) fail('.commandLine: is for Windows only');
  if (proc.apparmorProfile && !appArmorEnabled()) fail('.apparmorProfile: AppArmor is not enabled on this system');
  if (proc.selinuxLabel) fail('.selinuxLabel: SELinux is not enabled on this system');
  for (const f of ['scheduler', 'ioPriority', 'execCPUAffinity'] as const) {
    if (proc[f] !== undefined) fail(`.${f}: not supported by tsrunc yet`);
  }
  (proc.env ?? []).forEach((e, i) => {
    if (!e.includes('=')) fail(`.env[${i}]: "${e}" is not of the form KEY=value`);
  });
  let capabilities;
  let rlimits;
  try {
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
  };
}

/** Turns a validated spec into the runtime's internal configuration; semantic checks live here. */
export function buildConfig(spec: Spec, bundle: string, id: string, opts: LoadOptions = {}): ContainerConfig {
  const warn = opts.warn ?? (() => undefined);
  const fail = (msg: string): never => {
    throw new UserError(`config.json: ${msg}`);
  };
  bundle = resolve(bundle);

  if (!spec.root) fail('root: is required on Linux');
  const rootfs = resolve(bundle, spec.root!.path);
  try {
    if (!statSync(rootfs).isDirectory()) fail(`root.path: ${rootfs} is not a directory`);
  } catch (e) {
    if (e instanceof UserError) throw e;
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
    if (ns.path !== undefined && !isAbsolute(ns.path)) fail(`linux.namespaces[${i}].path: "${ns.path}" must be absolute`);
    namespaces.push({ type: ns.type, flag, path: ns.path });
  });
  const userNs = (linux.namespaces ?? []).find((n) => n.type === 'user');
  if (!userNs && (linux.uidMappings?.length || linux.gidMappings?.length)) {
    fail('linux.uidMappings/gidMappings: mappings need a user namespace in linux.namespaces');
  }
  if (userNs && userNs.path === undefined) {
    for (const key of ['uidMappings', 'gidMappings'] as const) {
      const maps = linux[key] ?? [];
      if (!maps.length) fail(`linux.${key}: a new user namespace needs mappings`);
      if (!maps.some((m) => m.containerID === 0)) fail(`linux.${key}: the container's root (id 0) must be mapped: the runtime sets up the container as root`);
    }
  }
  if (linux.timeOffsets) fail('linux.timeOffsets: not supported by tsrunc yet');
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
    if ((m.uidMappings || m.gidMappings) && !parsed.bind) fail(`mounts[${i}]: only bind mounts can be idmapped`);
    if (m.uidMappings?.length !== m.gidMappings?.length && (!m.uidMappings?.length || !m.gidMappings?.length)) {
      fail(`mounts[${i}]: uidMappings and gidMappings go together`);
    }
    return { ...parsed, destination, source, type, index: i, uidMappings: m.uidMappings, gidMappings: m.gidMappings };
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
  });
  for (const key of ['maskedPaths', 'readonlyPaths'] as const) {
    (linux[key] ?? []).forEach((path, i) => {
      if (!isAbsolute(path)) fail(`linux.${key}[${i}]: "${path}" must be absolute`);
    });
  }
  if (linux.mountLabel) fail('linux.mountLabel: SELinux is not enabled on this system');
  if (linux.intelRdt !== undefined) fail('linux.intelRdt: not supported by tsrunc yet');
  if (linux.personality !== undefined) fail('linux.personality: not supported by tsrunc yet');

  let seccomp;
  if (linux.seccomp) {
    try {
      const compiled = compileSeccompCached(linux.seccomp as SeccompConfig, warn, opts.debug ?? (() => undefined), opts.seccompCache);
      seccomp = { program: compiled.program.toString('base64'), flags: compiled.flags };
    } catch (e) {
      return fail((e as Error).message);
    }
  }

  return {
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
    deviceRules: linux.resources?.devices ?? [],
    resources: linux.resources ?? {},
    cgroupsPath: linux.cgroupsPath,
    sysctl: linux.sysctl ?? {},
    hooks: spec.hooks ?? {},
    annotations: spec.annotations ?? {},
    ociVersion: spec.ociVersion,
  };
}
