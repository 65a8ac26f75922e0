import fs = require('fs');
import type { Libc } from '../sys/libc';
import * as C from '../sys/constants';
import type { IdMapping } from '../ocispec/oci';
import { forkCopy } from './copy';
import { ChannelClosed, ChannelTimeout, channelPair } from './channel';
import { mapText } from './birth';
import { ATTEMPTS, HELLO_TIMEOUT_MS, LostCopy } from './hello';

/**
 * A user namespace with the given maps, as an fd (for idmapped mounts): a forked single-threaded
 * copy creates it and waits, the maps are written, the namespace is opened, the copy is killed.
 * A copy lost to the fork (no word within the deadline, or dead of a signal) is tried again.
 */
export function createUserNamespace(sys: Libc, uidMappings: readonly IdMapping[], gidMappings: readonly IdMapping[]): number {
  for (let attempt = 1; ; attempt++) {
    let r: number | Error;
    try {
      r = attemptUserNamespace(sys, uidMappings, gidMappings);
    } catch (e) {
      if (!(e instanceof LostCopy)) throw e;
      r = e; // its fork (process/copy.ts)
    }
    if (typeof r === 'number') return r;
    if (attempt >= ATTEMPTS) throw r;
  }
}

function attemptUserNamespace(sys: Libc, uidMappings: readonly IdMapping[], gidMappings: readonly IdMapping[]): number | Error {
  const { runtime, child } = channelPair(sys);
  let pid: number;
  try {
    pid = forkCopy(sys, 3, [child.fd], () => {
      sys.unshare(C.CLONE_NEWUSER);
      child.send({ type: 'userns' });
      child.receive(-1, 'until the runtime is done with us'); // ends with the runtime's end
      return sys.exit(0);
    });
  } catch (e) {
    runtime.close();
    child.close();
    throw e;
  }
  child.close();
  let lost: Error | undefined;
  let status: number;
  try {
    const msg = runtime.receive(HELLO_TIMEOUT_MS * 2, 'creating a user namespace for an idmapped mount');
    if (msg.type !== 'userns') throw new Error(`unexpected message: ${msg.type}`);
    fs.writeFileSync(`/proc/${pid}/uid_map`, mapText(uidMappings));
    fs.writeFileSync(`/proc/${pid}/gid_map`, mapText(gidMappings));
    return fs.openSync(`/proc/${pid}/ns/user`, C.O_RDONLY | C.O_CLOEXEC);
  } catch (e) {
    if (!(e instanceof ChannelTimeout || e instanceof ChannelClosed)) throw e;
    lost = e;
  } finally {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
    status = sys.waitpid(pid, false).status;
    runtime.close();
  }
  // closed without a signal: it failed on its own (unshare refused, say), which a retry will not mend
  if ((status & 0x7f) === 0)
    throw new Error(`creating a user namespace for an idmapped mount: the helper exited with status ${(status >> 8) & 0xff}`);
  return lost;
}
