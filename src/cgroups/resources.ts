import type { DeviceRule, Resources } from '../ocispec/oci';
import { libc } from '../sys';
import type { CgroupPlan } from './manager';
import { emulateDeviceRules } from './devices/rules';
import { applyV1 } from './resources-v1';
import { applyV2, type BpfLibc } from './resources-v2';

export { sharesToWeight } from './resources-v2';

// runc's default device allow-list, appended after the config's own rules.
const DEFAULT_ALLOWED: DeviceRule[] = [
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
  { allow: true, type: 'c', major: 136, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' },
];

export interface ResourceResult {
  warnings: string[];
}

/**
 * Applies linux.resources to the container's cgroup before the user program runs. `devices`, when
 * given, is the device policy (the config's rules and the devices it creates), enforced on top of
 * "deny all" and followed by runc's defaults; update passes none, leaving the policy as it is.
 * What tsrunc cannot apply is an error naming the field, never silently skipped.
 */
export function applyResources(plan: CgroupPlan, res: Resources, devices?: DeviceRule[], sys: () => BpfLibc = libc): ResourceResult {
  const warnings: string[] = [];
  const ruleset = devices ? emulateDeviceRules([...devices, ...DEFAULT_ALLOWED]) : undefined;
  if (plan.mode === 'v2') applyV2(plan.paths.unified, res, ruleset, warnings, sys);
  else applyV1(plan, res, ruleset, warnings);
  return { warnings };
}
