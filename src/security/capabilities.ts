import { readFileSync } from 'fs';
import type { Libc } from '../sys/libc';
import * as C from '../sys/constants';
import type { Capabilities } from '../ocispec/oci';
import type { CapMasks } from '../ocispec/config';

// Kernel capability numbers (include/uapi/linux/capability.h).
export const CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

const CAP_INDEX = new Map(CAPABILITIES.map((name, i) => [name, i]));

export type CapSetName = keyof Capabilities;
export const CAP_SETS: readonly CapSetName[] = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'];

/** Capability sets as bit masks, ready for capset/prctl. */
export type { CapMasks };

let knownLast: number | undefined;

/** The kernel's highest capability, read once a process (exec drops and raises by it twice). */
export function lastCap(): number {
  if (knownLast !== undefined) return knownLast;
  try {
    knownLast = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
  } catch {
    knownLast = CAPABILITIES.length - 1;
  }
  return knownLast;
}

/**
 * Names this runtime or the running kernel does not know are dropped with a warning: runtime-spec
 * (config.md, capabilities) says such values MUST be logged as a warning and the runtime SHOULD
 * NOT fail; runc does the same.
 */
export function capabilityMasks(caps: Capabilities, warn: (msg: string) => void, last = lastCap()): CapMasks {
  const masks: CapMasks = { bounding: 0n, effective: 0n, permitted: 0n, inheritable: 0n, ambient: 0n };
  for (const set of CAP_SETS) {
    const ignored: string[] = [];
    for (const name of caps[set] ?? []) {
      const n = CAP_INDEX.get(name);
      if (n === undefined || n > last) ignored.push(name);
      else masks[set] |= 1n << BigInt(n);
    }
    if (ignored.length) warn(`process.capabilities.${set}: ignoring unknown or unavailable capabilities: ${ignored.join(', ')}`);
  }
  return masks;
}

/** Drops what is not in the bounding set: needs CAP_SETPCAP, so it runs before the uid switch. */
export function dropBounding(sys: Libc, masks: CapMasks, last = lastCap()): void {
  for (let n = 0; n <= last; n++) {
    if ((masks.bounding & (1n << BigInt(n))) === 0n) sys.prctl(C.PR_CAPBSET_DROP, n);
  }
}

/**
 * Sets effective/permitted/inheritable and raises ambient on the calling thread; runs after the
 * uid switch (KEEPCAPS kept the permitted set across it) and right before execve from this thread.
 */
export function applyCapabilities(sys: Libc, masks: CapMasks, last = lastCap()): void {
  sys.capset(masks.effective, masks.permitted, masks.inheritable);
  sys.prctl(C.PR_CAP_AMBIENT, C.PR_CAP_AMBIENT_CLEAR_ALL);
  for (let n = 0; n <= last; n++) {
    if ((masks.ambient & (1n << BigInt(n))) !== 0n) sys.prctl(C.PR_CAP_AMBIENT, C.PR_CAP_AMBIENT_RAISE, n);
  }
}

/**
 * The kernel refuses an ambient capability that is not both permitted and inheritable; it is
 * dropped. With some inheritable set given, that is worth a warning (runc's words, which scripts
 * grep). With none at all, only a debug note: runc 1.1's own `spec` writes such a config and
 * runs it without a word, and scripts compare a container's stderr.
 */
export function checkAmbient(masks: CapMasks, warn: (msg: string) => void, note: (msg: string) => void): CapMasks {
  const allowed = masks.permitted & masks.inheritable;
  const refused = masks.ambient & ~allowed;
  if (refused === 0n) return masks;
  const names = CAPABILITIES.filter((_, i) => (refused & (1n << BigInt(i))) !== 0n);
  const tell = masks.inheritable === 0n ? note : warn;
  for (const name of names)
    tell(`process.capabilities.ambient: can't raise ambient capability ${name}: not in both permitted and inheritable; ignored`);
  return { ...masks, ambient: masks.ambient & allowed };
}
