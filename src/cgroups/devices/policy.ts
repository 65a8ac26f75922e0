import type { DeviceRule } from '../../ocispec/oci';
import { emulateDeviceRules, type DeviceRuleset } from './rules';

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

/**
 * The device policy a container's cgroup enforces: "deny all", then the config's rules, then
 * runc's default allow-list (as runc: the config's own rules cannot take those away).
 */
export function devicePolicy(rules: readonly DeviceRule[]): DeviceRuleset {
  return emulateDeviceRules([...rules, ...DEFAULT_ALLOWED]);
}
