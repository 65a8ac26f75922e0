import fs = require('fs');
import { join } from 'path';
import { ContainerExistsError, ContainerNotFoundError, UserError, isErrno } from '../sys/errors';
import type { Hook, OciState } from '../ocispec/oci';
import { isSameLiveProcess } from './proc';
import { openCgroups } from '../cgroups/open';
import type { CgroupRecord } from '../cgroups/manager';

export const DEFAULT_ROOT = '/run/tsrunc';
const ID_PATTERN = /^[A-Za-z0-9_+\-.]+$/;

/** What the runtime keeps about a container between commands. */
export interface StoredState {
  ociVersion: string;
  id: string;
  bundle: string;
  rootfs: string;
  annotations: Record<string, string>;
  created: string;
  owner: string;
  /** The tsrunc process that is creating the container (status "creating" while it lives). */
  creatorPid: number;
  creatorStartTime?: string;
  /** The container's init process, once born. */
  pid?: number;
  pidStartTime?: string;
  /** Set when the init process reported that the container is set up and waits for start. */
  ready: boolean;
  /** Set once start has released the init process: it has exec'd (or is about to) the user program. */
  started: boolean;
  newPidNamespace: boolean;
  /** The hooks that run after create (poststart in start, poststop in delete). */
  hooks?: { poststart?: Hook[]; poststop?: Hook[] };
  /**
   * config.json has startContainer hooks (init runs them at start; a failure is start's error).
   * With them or poststart hooks start waits for the program's execve; absent (an older state): waits.
   */
  startContainerHooks?: boolean;
  /** config.json had a process (a container without one can be created but not started). */
  hasProcess?: boolean;
  /** No mount namespace: the rootfs mounts live in the runtime's namespace and delete removes them. */
  hostMounts?: boolean;
  cgroup?: CgroupRecord;
  /** the session keyring init joined (none with --no-new-keyring); exec joins it too */
  sessionKeyring?: string;
  /** Namespaces of the container as /proc/<pid>/ns entries to join (for exec), by type. */
  namespaceTypes: string[];
}

export function validateId(id: string): void {
  if (!id) throw new UserError('container id cannot be empty');
  if (id.length > 1024 || !ID_PATTERN.test(id) || id === '.' || id === '..') {
    throw new UserError(`invalid container id "${id}": use letters, digits, _ + - and . only`);
  }
}

export class StateStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, id);
  }

  fifoPath(id: string): string {
    return join(this.dir(id), 'exec.fifo');
  }

  /** Creates the container's directory; refuses a duplicate id. */
  createDir(id: string): string {
    validateId(id);
    fs.mkdirSync(this.root, { recursive: true, mode: 0o711 });
    const dir = this.dir(id);
    try {
      fs.mkdirSync(dir, { mode: 0o711 });
    } catch (e) {
      if (isErrno(e, 'EEXIST')) throw new ContainerExistsError(id);
      throw e;
    }
    return dir;
  }

  exists(id: string): boolean {
    return fs.existsSync(join(this.dir(id), 'state.json'));
  }

  /** Loads the stored state; a missing container is a UserError, as runc reports it. */
  load(id: string): StoredState {
    validateId(id);
    try {
      return JSON.parse(fs.readFileSync(join(this.dir(id), 'state.json'), 'utf8')) as StoredState;
    } catch (e) {
      if (isErrno(e, 'ENOENT')) throw new ContainerNotFoundError(id);
      throw new UserError(`container "${id}": state is unreadable: ${(e as Error).message}`);
    }
  }

  /** Atomic replace, so a reader never sees a half-written file. */
  save(st: StoredState): void {
    const file = join(this.dir(st.id), 'state.json');
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(st), { mode: 0o600 });
    fs.renameSync(tmp, file);
  }

  /** The container's directory holds only files: removed one by one (fs.rmSync's recursion costs a module load). */
  remove(id: string): void {
    const dir = this.dir(id);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return;
      throw e;
    }
    for (const n of names) {
      try {
        fs.unlinkSync(join(dir, n));
      } catch (e) {
        if (isErrno(e, 'EISDIR') || isErrno(e, 'EPERM')) fs.rmSync(join(dir, n), { recursive: true, force: true });
        else if (!isErrno(e, 'ENOENT')) throw e;
      }
    }
    try {
      fs.rmdirSync(dir);
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
  }

  list(): string[] {
    try {
      return fs
        .readdirSync(this.root)
        .filter((n) => ID_PATTERN.test(n) && this.exists(n))
        .sort();
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return [];
      throw e;
    }
  }
}

export type Status = OciState['status'];

/** The status is derived from the real process, never trusted from the file. */
export function deriveStatus(st: StoredState): Status {
  if (!st.ready) {
    return isSameLiveProcess(st.creatorPid, st.creatorStartTime) ? 'creating' : 'stopped';
  }
  if (st.pid === undefined || !isSameLiveProcess(st.pid, st.pidStartTime)) return 'stopped';
  if (st.cgroup && openCgroups(st.cgroup).isPaused()) return 'paused';
  return st.started ? 'running' : 'created';
}

/** The state document the runtime-spec defines, with runc's extra fields. */
export function ociState(st: StoredState, status: Status = deriveStatus(st)): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ociVersion: st.ociVersion,
    id: st.id,
    pid: status === 'created' || status === 'running' || status === 'paused' ? st.pid : 0,
    status,
    bundle: st.bundle,
    rootfs: st.rootfs,
    created: st.created,
    owner: st.owner,
  };
  if (Object.keys(st.annotations).length) out.annotations = st.annotations;
  return out;
}
