import fs = require('fs');
import * as C from '../sys/constants';
import type { Libc } from '../sys/libc';
import { ContainerNotFoundError, ContainerStateError, UserError, isErrno } from '../sys/errors';
import { removeFile } from '../util/remove-file';
import { StateStore, deriveStatus, validateId, type StoredState } from '../state/store';
import { withDirLock } from '../state/lock';
import { openCgroups } from '../cgroups/open';
import type { Logger } from '../util/log';
import { destroyContainer, killAndReap } from './destroy';
import { hookState } from './hook-state';
import { runHooks, runHooksWarn } from '../hooks/run';
import { FIFO_HOOK_FAILED, FIFO_START } from '../process/channel';

/**
 * After the fifo is written, where hooks need it: waits until init has exec'd the program or died
 * (a startContainer hook or the exec failed; init said why on the container's stderr). init holds
 * the fifo close-on-exec, as its only writer by then: our read end hangs up at its execve or its
 * end. Without such hooks start returns once init is released, as runc's (nothing init does from
 * there fails start: a program that cannot be exec'd is the container's error, on its stderr),
 * ~4 ms sooner: init's credentials, capabilities, seccomp and the execve of a Node copy.
 */
const EXEC_WAIT_MS = 10_000;

function awaitExec(sys: Libc, readFd: number, log: Logger): void {
  if (!sys.pollHangup(readFd, EXEC_WAIT_MS))
    log.warn(
      `start: the container process had not exec'd its program after ${EXEC_WAIT_MS / 1000}s; start returns, the container carries on`,
    );
  const buf = Buffer.alloc(8);
  let n = 0;
  try {
    n = fs.readSync(readFd, buf, 0, buf.length, null);
  } catch {
    // EAGAIN: nothing written
  }
  // A startContainer hook failed: an error (runtime-spec). A program that cannot be exec'd (create
  // checked it; it went since) is reported by the container on its stderr, and start succeeds.
  if (buf.toString('latin1', 0, n).includes(FIFO_HOOK_FAILED)) {
    throw new UserError('a startContainer hook failed; the container is stopped (its stderr says why)');
  }
}

/** start: releases init, which execs the user program; then the poststart hooks. */
export function startContainer(sys: Libc, store: StateStore, id: string, log: Logger): void {
  const dir = store.dir(id);
  store.load(id); // a clear "does not exist" before locking
  withDirLock(sys, dir, () => {
    const st = store.load(id);
    const status = deriveStatus(st);
    if (status !== 'created') throw new ContainerStateError(`cannot start container "${id}": it is ${status}, not created`, id, status);
    // The spec: start MUST generate an error if process was not set.
    if (st.hasProcess === false) throw new UserError(`cannot start container "${id}": config.json has no process to run`);
    let fd: number;
    try {
      fd = fs.openSync(store.fifoPath(id), C.O_WRONLY | C.O_NONBLOCK | C.O_CLOEXEC);
    } catch (e) {
      if (isErrno(e, 'ENXIO') || isErrno(e, 'ENOENT')) throw new UserError(`cannot start container "${id}": its init process is gone`);
      throw e;
    }
    let gate = fd;
    let readFd: number | undefined;
    if (st.startContainerHooks !== false || st.hooks?.poststart?.length) {
      // Our own read end keeps what init writes back (a hook failure) after init is gone. A pipe
      // hangs up a reader only for writers opened after it: the byte goes through one opened now.
      readFd = fs.openSync(store.fifoPath(id), C.O_RDONLY | C.O_NONBLOCK | C.O_CLOEXEC);
      gate = fs.openSync(store.fifoPath(id), C.O_WRONLY | C.O_NONBLOCK | C.O_CLOEXEC);
      fs.closeSync(fd);
    }
    try {
      log.step('start: locked, state loaded');
      fs.writeSync(gate, FIFO_START);
      fs.closeSync(gate);
      st.started = true;
      store.save(st);
      removeFile(store.fifoPath(id));
      if (readFd !== undefined) {
        awaitExec(sys, readFd, log);
        log.step('start: the program runs');
      } else {
        log.step('start: init released');
      }
    } finally {
      if (readFd !== undefined) fs.closeSync(readFd);
    }
    // runtime-spec v1.3: a failed poststart hook is an error and stops the container (the
    // rest of the lifecycle is delete's); the hooks after it do not run.
    try {
      runHooks('poststart', st.hooks?.poststart, { ...hookState(st), status: 'running' });
    } catch (e) {
      stopAll(sys, st);
      throw new UserError(`${(e as Error).message}; the container is stopped`);
    }
  });
}

/** SIGKILL to everything in the container's cgroup, and to init, which is waited for (2 s). */
function stopAll(sys: Libc, st: StoredState): void {
  for (const p of st.cgroup ? openCgroups(st.cgroup).pids() : []) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone
    }
  }
  killAndReap(st.pid!, st.pidStartTime, 2000, sys);
}

/** pause/resume: freeze or thaw every process of a running (paused) container. */
export function setPaused(sys: Libc, store: StateStore, id: string, paused: boolean): void {
  withDirLock(sys, store.dir(id), () => {
    const st = store.load(id);
    const status = deriveStatus(st);
    // As runc, a created container can be paused too (its init waiting for start is frozen).
    const ok = paused ? ['running', 'created'] : ['paused'];
    if (!ok.includes(status))
      throw new ContainerStateError(
        `cannot ${paused ? 'pause' : 'resume'} container "${id}": it is ${status}, not ${ok.join(' or ')}`,
        id,
        status,
      );
    if (!st.cgroup) throw new UserError(`container "${id}" has no cgroup to freeze`);
    openCgroups(st.cgroup).setFrozen(paused);
  });
}

/** The pids of every process of the container (its cgroup). */
export function containerPids(store: StateStore, id: string): number[] {
  const st = store.load(id);
  if (deriveStatus(st) === 'stopped' || !st.cgroup) return [];
  return openCgroups(st.cgroup).pids();
}

/** delete: a running container needs force; an unknown id with force is not an error (containerd). */
export function deleteContainer(sys: Libc, store: StateStore, id: string, force: boolean, log: Logger): void {
  validateId(id);
  if (!fs.existsSync(store.dir(id))) {
    if (force) return;
    store.load(id); // throws "does not exist"
  }
  const dir = store.dir(id);
  let fd: number;
  try {
    fd = fs.openSync(dir, C.O_RDONLY | C.O_DIRECTORY);
  } catch (e) {
    if (isErrno(e, 'ENOENT') && force) return; // deleted by someone else meanwhile
    throw e;
  }
  fs.closeSync(fd);
  withDirLock(sys, dir, () => {
    if (!store.exists(id)) {
      // A create killed before it wrote any state: only the directory is left.
      if (force) store.remove(id);
      else throw new ContainerNotFoundError(id);
      return;
    }
    const st = store.load(id);
    const status = deriveStatus(st);
    // The spec: deleting a container that is not stopped (created included) is an error. runc
    // deletes a created one; containerd's client kills a task before deleting it (WithProcessKill),
    // so it needs neither, and runtime-tools' delete test holds us to the spec.
    if (!force && status !== 'stopped') {
      throw new ContainerStateError(`cannot delete container "${id}" that is not stopped: ${status}`, id, status);
    }
    log.step('delete: locked, state loaded');
    destroyContainer(sys, store, st, log);
    log.step('delete: destroyed');
    runHooksWarn('poststop', st.hooks?.poststop, { ...hookState(st), status: 'stopped' }, (m) => log.warn(m));
  });
}
