import * as C from '../sys/constants';
import type { NamespaceType } from '../ocispec/oci';

export const NAMESPACE_FLAGS: Record<NamespaceType, number> = {
  pid: C.CLONE_NEWPID,
  network: C.CLONE_NEWNET,
  mount: C.CLONE_NEWNS,
  ipc: C.CLONE_NEWIPC,
  uts: C.CLONE_NEWUTS,
  user: C.CLONE_NEWUSER,
  cgroup: C.CLONE_NEWCGROUP,
  time: C.CLONE_NEWTIME,
};

/** Names of the entries in /proc/<pid>/ns/. */
export const PROC_NS_NAME: Record<NamespaceType, string> = {
  pid: 'pid',
  network: 'net',
  mount: 'mnt',
  ipc: 'ipc',
  uts: 'uts',
  user: 'user',
  cgroup: 'cgroup',
  time: 'time',
};
