import fs = require('fs');
import type { Libc } from '../sys/libc';
import * as C from '../sys/constants';
import type { NamespaceConfig } from '../ocispec/config';
import { PROC_NS_NAME } from './types';

interface Joined {
  fd: number;
  ns: NamespaceConfig;
}

/** Opens every path before joining anything: joining a mount namespace changes what paths mean. */
/**
 * Opens a namespace path of the config and checks it is a namespace of its type: every failure
 * names the entry.
 */
export function openNamespaceFile(sys: Libc, ns: NamespaceConfig & { path: string }): number {
  let fd: number;
  try {
    fd = fs.openSync(ns.path, C.O_RDONLY | C.O_CLOEXEC);
  } catch (e) {
    throw new Error(`linux.namespaces: ${ns.type} path ${ns.path}: ${(e as Error).message}`);
  }
  let type: number | undefined;
  try {
    type = sys.nsType(fd);
  } catch {
    // not a namespace file at all
  }
  if (type !== ns.flag) {
    fs.closeSync(fd);
    throw new Error(`linux.namespaces: ${ns.path} is not a ${ns.type} namespace`);
  }
  return fd;
}

function openPaths(sys: Libc, namespaces: readonly NamespaceConfig[]): Joined[] {
  const joined: Joined[] = [];
  try {
    for (const ns of namespaces) {
      if (ns.path === undefined) continue;
      joined.push({ fd: openNamespaceFile(sys, { ...ns, path: ns.path }), ns });
    }
  } catch (e) {
    for (const j of joined) fs.closeSync(j.fd);
    throw e;
  }
  return joined;
}

/** Joins (mount last) and unshares; the calling thread's fs_struct is made private first when a mount namespace is involved. */
function enter(sys: Libc, namespaces: readonly NamespaceConfig[], joined: readonly Joined[]): void {
  // setns into a mount namespace (there and back) needs a private fs_struct.
  if (namespaces.some((n) => n.type === 'mount')) sys.unshare(C.CLONE_FS);
  const order = [...joined].sort((a, b) => Number(a.ns.type === 'mount') - Number(b.ns.type === 'mount'));
  for (const { fd, ns } of order) sys.setns(fd, ns.flag);
  const newFlags = namespaces.filter((n) => n.path === undefined).reduce((acc, n) => acc | n.flag, 0);
  if (newFlags) sys.unshare(newFlags);
}

/**
 * The namespaces the creating thread enters: all but the user namespace, the time namespace (the
 * process enters it itself: namespaces/time.ts) and a new cgroup namespace (init unshares that
 * once it sits in its cgroup).
 */
function entered(namespaces: readonly NamespaceConfig[]): NamespaceConfig[] {
  return namespaces.filter((n) => n.type !== 'user' && n.type !== 'time' && (n.type !== 'cgroup' || n.path !== undefined));
}

/**
 * For a forked copy, which never goes back: enters the container's namespaces (joined by path
 * or new) but the user namespace, which the copy has entered already.
 */
export function enterNamespaces(sys: Libc, namespaces: readonly NamespaceConfig[]): void {
  const touched = entered(namespaces);
  const joined = openPaths(sys, touched);
  try {
    enter(sys, touched, joined);
  } finally {
    for (const j of joined) fs.closeSync(j.fd);
  }
}

/**
 * Runs fn with the calling (main) thread inside the container's namespaces: joined by path or
 * newly unshared. Only this thread moves, and only a process forked from it is born inside;
 * afterwards the thread goes back to the namespaces it came from. fn is given the fds held for
 * that (a copy forked inside must close them).
 */
export function inNamespaces<T>(sys: Libc, namespaces: readonly NamespaceConfig[], fn: (held: readonly number[]) => T): T {
  const touched = entered(namespaces);
  if (!touched.length) return fn([]);
  const saved: { fd: number; flag: number; mnt: boolean }[] = [];
  let joined: Joined[] = [];
  const cwd = process.cwd();
  let moved = false;
  try {
    for (const ns of touched) {
      saved.push({
        fd: fs.openSync(`/proc/self/ns/${PROC_NS_NAME[ns.type]}`, C.O_RDONLY | C.O_CLOEXEC),
        flag: ns.flag,
        mnt: ns.type === 'mount',
      });
    }
    joined = openPaths(sys, touched);
    moved = true;
    enter(sys, touched, joined);
    return fn([...saved.map((s) => s.fd), ...joined.map((j) => j.fd)]);
  } finally {
    // Back to where we were; mount first, while the paths of the host are what we expect.
    try {
      if (moved) {
        const restoreOrder = [...saved].sort((a, b) => Number(b.mnt) - Number(a.mnt));
        for (const s of restoreOrder) sys.setns(s.fd, s.flag);
        process.chdir(cwd);
      }
    } finally {
      for (const s of saved) fs.closeSync(s.fd);
      for (const j of joined) fs.closeSync(j.fd);
    }
  }
}

/**
 * In a copy about to enter its user namespace: joins now, with the host's privileges, the
 * namespaces given by path that it may join (as runc): one owned by another user namespace (the
 * host's network namespace, say) cannot be joined from inside the container's. The mount
 * namespace waits (it changes what paths mean); what is refused here is tried again inside.
 * Returns the namespaces left to enter.
 */
export function joinBeforeUserNamespace(sys: Libc, namespaces: readonly NamespaceConfig[]): NamespaceConfig[] {
  const rest: NamespaceConfig[] = [];
  for (const ns of namespaces) {
    if (ns.path === undefined || ns.type === 'user' || ns.type === 'mount' || ns.type === 'time') {
      rest.push(ns);
      continue;
    }
    const [j] = openPaths(sys, [ns]);
    try {
      sys.setns(j.fd, ns.flag);
    } catch (e) {
      if (!/EPERM/.test((e as Error).message)) throw e;
      rest.push(ns);
    } finally {
      fs.closeSync(j.fd);
    }
  }
  return rest;
}
