import type { DeviceRule } from '../../ocispec/oci';

/**
 * The device cgroup's semantics (cgroup v1's devices.allow/deny, which OCI device rules are written
 * for), emulated so that v1 and v2 enforce the same thing: a default (allow or deny every device)
 * and exceptions to it. runc and crun emulate it too; starting from "deny all" is what they do.
 */
export type DeviceType = 'c' | 'b';

export interface DeviceException {
  type: DeviceType;
  /** -1: any */
  major: number;
  minor: number;
  /** a subset of "rwm", in that order */
  access: string;
}

export interface DeviceRuleset {
  defaultAllow: boolean;
  /** Each one's action is the opposite of the default. */
  exceptions: DeviceException[];
}

const ACCESS = ['r', 'w', 'm'] as const;

function accessOf(r: DeviceRule, where: string): Set<string> {
  const a = r.access ?? 'rwm';
  if (a === '' || [...a].some((c) => !(ACCESS as readonly string[]).includes(c))) {
    throw new Error(`${where}.access: "${a}" is not a combination of r, w and m`);
  }
  return new Set(a);
}

function keyOf(type: DeviceType, major: number, minor: number): string {
  return `${type} ${major}:${minor}`;
}

/** Applies the rules in order, from "deny every device"; throws naming the rule it cannot express. */
export function emulateDeviceRules(rules: readonly DeviceRule[], field = 'linux.resources.devices'): DeviceRuleset {
  let defaultAllow = false;
  let exceptions = new Map<string, { type: DeviceType; major: number; minor: number; access: Set<string> }>();
  rules.forEach((r, i) => {
    const where = `${field}[${i}]`;
    const type = r.type ?? 'a';
    if (type !== 'a' && type !== 'c' && type !== 'b') throw new Error(`${where}.type: "${type}" is not a, c or b`);
    const access = accessOf(r, where);
    if (type === 'a') {
      // "a" resets the whole list, whatever its major, minor and access say (as the kernel does).
      defaultAllow = r.allow;
      exceptions = new Map();
      return;
    }
    const number = (v: number | undefined, what: string): number => {
      if (v === undefined || v === -1) return -1;
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`${where}.${what}: ${v} is not a device number (or -1 for any)`);
      return v;
    };
    const major = number(r.major, 'major');
    const minor = number(r.minor, 'minor');
    const key = keyOf(type, major, minor);
    if (r.allow !== defaultAllow) {
      const cur = exceptions.get(key);
      exceptions.set(key, { type, major, minor, access: new Set([...(cur?.access ?? []), ...access]) });
      return;
    }
    // A rule with the default's action takes access away from an exact exception. It cannot carve
    // a hole out of a wider (wildcard) exception: the kernel would silently keep the wider one.
    for (const [wm, wn] of [
      [-1, minor],
      [major, -1],
      [-1, -1],
    ]) {
      if (wm === major && wn === minor) continue;
      const wide = exceptions.get(keyOf(type, wm, wn));
      if (wide && [...access].some((c) => wide.access.has(c))) {
        throw new Error(
          `${where}: cannot ${r.allow ? 'allow' : 'deny'} ${key} ${[...access].join('')}: ` +
            `an earlier rule ${defaultAllow ? 'denies' : 'allows'} ${keyOf(type, wm, wn)} as a whole`,
        );
      }
    }
    const cur = exceptions.get(key);
    if (!cur) return;
    for (const c of access) cur.access.delete(c);
    if (cur.access.size === 0) exceptions.delete(key);
  });
  return {
    defaultAllow,
    exceptions: [...exceptions.values()].map((e) => ({
      type: e.type,
      major: e.major,
      minor: e.minor,
      access: ACCESS.filter((c) => e.access.has(c)).join(''),
    })),
  };
}

/** cgroup v1 lines (file, line) that put a fresh or existing devices cgroup into the ruleset's state. */
export function v1DeviceWrites(set: DeviceRuleset): [file: 'devices.allow' | 'devices.deny', line: string][] {
  const n = (v: number) => (v < 0 ? '*' : String(v));
  const reset: [file: 'devices.allow' | 'devices.deny', line: string] = [set.defaultAllow ? 'devices.allow' : 'devices.deny', 'a'];
  return [
    reset,
    ...set.exceptions.map((e): [file: 'devices.allow' | 'devices.deny', line: string] => [
      set.defaultAllow ? 'devices.deny' : 'devices.allow',
      `${e.type} ${n(e.major)}:${n(e.minor)} ${e.access}`,
    ]),
  ];
}
