import type { NamespaceType } from './oci';

const IPC_SYSCTLS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

/** Which namespace a sysctl belongs to; undefined for host-wide sysctls a container must not set. */
export function sysctlNamespace(key: string): NamespaceType | undefined {
  if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) return 'ipc';
  if (key.startsWith('net.')) return 'network';
  if (key === 'kernel.hostname' || key === 'kernel.domainname') return 'uts';
  return undefined;
}

/** Refuses, as runc does, a sysctl that would change the host rather than the container. */
export function checkSysctls(sysctl: Record<string, string>, newNamespaces: Set<NamespaceType>): void {
  for (const key of Object.keys(sysctl)) {
    const ns = sysctlNamespace(key);
    if (!ns) throw new Error(`linux.sysctl: "${key}" is not namespaced and would change the host`);
    if (!newNamespaces.has(ns)) throw new Error(`linux.sysctl: "${key}" needs a new ${ns} namespace`);
  }
}
