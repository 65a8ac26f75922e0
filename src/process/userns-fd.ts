import * as fs from 'fs';
import type { Libc } from '../sys/libc';
import * as C from '../sys/constants';
import type { IdMapping } from '../spec/oci';
import { forkCopy } from './copy';
import { channelPair } from './channel';
import { HELLO_TIMEOUT_MS, mapText } from './birth';

/**
 * A user namespace with the given maps, as an fd (for idmapped mounts): a forked single-threaded
 * copy creates it and waits, the maps are written, the namespace is opened, the copy is killed.
 */
export function createUserNamespace(sys: Libc, uidMappings: readonly IdMapping[], gidMappings: readonly IdMapping[]): number {
  const { runtime, child } = channelPair(sys);
  const pid = forkCopy(sys, 3, [child.fd], () => {
    sys.unshare(C.CLONE_NEWUSER);
    child.send({ type: 'userns' });
    child.receive(-1, 'until the runtime is done with us'); // ends with the runtime's end
    return sys.exit(0);
  });
  child.close();
  try {
    const msg = runtime.receive(HELLO_TIMEOUT_MS * 2, 'creating a user namespace for an idmapped mount');
    if (msg.type !== 'userns') throw new Error(`unexpected message: ${msg.type}`);
    fs.writeFileSync(`/proc/${pid}/uid_map`, mapText(uidMappings));
    fs.writeFileSync(`/proc/${pid}/gid_map`, mapText(gidMappings));
    return fs.openSync(`/proc/${pid}/ns/user`, C.O_RDONLY | C.O_CLOEXEC);
  } finally {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
    sys.waitpid(pid, false);
    runtime.close();
  }
}
