// linux.seccomp.listenerPath (runtime-spec): where a filter with SCMP_ACT_NOTIFY sends its
// notification fd, with the container process state as the message.
import type { Libc } from '../sys/libc';
import type { SeccompProgram } from '../ocispec/config';
import { OCI_VERSION } from '../ocispec/oci';

/**
 * Connected by the runtime, before the process is born: the path is a host path, which the
 * process cannot reach any more when it installs its filter (after pivot_root).
 */
export function connectListener(sys: Libc, sc: SeccompProgram | undefined): number | undefined {
  if (!sc?.listenerPath) return undefined;
  try {
    return sys.connectUnix(sc.listenerPath);
  } catch (e) {
    throw new Error(`linux.seccomp.listenerPath: ${(e as Error).message}`);
  }
}

/** runtime-spec's containerProcessState: the fd's name, the process's pid, the metadata, the container's state. */
export function listenerState(sc: SeccompProgram, pid: number, state: Record<string, unknown>): string {
  return JSON.stringify({ ociVersion: OCI_VERSION, fds: ['seccompFd'], pid, metadata: sc.listenerMetadata ?? '', state });
}
