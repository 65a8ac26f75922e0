// Birth of an init process inside a user namespace.
//
// A multi-threaded process (every Node process) can neither unshare nor setns a user namespace.
// So the runtime forks: the child C1 is a copy with a single thread, which may. Forking Node is
// only safe-ish: V8 marks its heap MADV_DONTFORK (undone below with MADV_DOFORK over every
// mapping), and a lock held by another thread at fork time would stay held in the child. C1 and
// C2 therefore run only a short, synchronous, allocation-light path of already-loaded code and
// end in execve or _exit, and the runtime watches them with a deadline (shared/NODE-KERNEL-NOTES.md
// records 1,700 clean runs of this route; see issue 6 for the soak).
//
//   runtime ──fork──▶ C1: enter/create the user namespace ──▶ "U"
//   runtime: writes uid_map/gid_map ──▶ "M"
//   C1: become root in it, join/create the other namespaces (owned by the new user namespace),
//       spawn ──▶ C2 (PID 1 of the new pid namespace): node init-main.js. libuv forks and execs
//       in C code, so no JavaScript runs in a second forked copy.
//   C1: reports C2's pid, _exit. C2 is reparented to the runtime (a child subreaper).
// The runtime runs with V8's --single-threaded (bin/tsrunc): a garbage collection in C1 must not
// wait for helper threads that were not copied by fork.
import { spawn, type StdioOptions } from 'child_process';
import * as fs from 'fs';
import { Socket } from 'net';
import { constants } from 'os';
import { setFlagsFromString } from 'v8';
import { runInNewContext } from 'vm';
import type { Libc } from '../sys/libc';
import * as C from '../sys/constants';
import type { IdMapping } from '../spec/oci';
import type { BirthOptions } from './birth';
import { initScript, INIT_ENV, INIT_NODE_FLAGS } from './birth';
import { protectRuntime } from './protect-runtime';
import type { InitExit, InitHandle } from './init-handle';

const PR_SET_CHILD_SUBREAPER = 36;
const BIRTH_TIMEOUT_MS = 10_000;

let collect: (() => void) | undefined;

/**
 * V8 marks new heap pages MADV_DONTFORK as it allocates them, so a forked copy would fault on
 * them. Collect garbage first (a scavenge leaves the young generation empty, so the few objects
 * allocated below fit in pages that exist now), then mark every mapping MADV_DOFORK, re-reading
 * the maps until a reading shows nothing new. The caller forks right after.
 */
function markAllDofork(sys: Libc): void {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
  const known = new Set<string>();
  for (let pass = 0; pass < 8; pass++) {
    const fresh: number[] = [];
    for (const line of fs.readFileSync('/proc/self/maps', 'latin1').split('\n')) {
      const dash = line.indexOf('-');
      const space = line.indexOf(' ');
      if (dash < 0 || line.endsWith('[vsyscall]')) continue;
      const key = line.slice(0, space);
      if (known.has(key)) continue;
      known.add(key);
      fresh.push(parseInt(line.slice(0, dash), 16), parseInt(line.slice(dash + 1, space), 16));
    }
    if (pass > 0 && fresh.length === 0) return;
    for (let i = 0; i < fresh.length; i += 2) {
      try {
        sys.madviseDofork(fresh[i], fresh[i + 1] - fresh[i]);
      } catch {
        // special mappings refuse it; they are not V8's
      }
    }
  }
}

function mapText(maps: readonly IdMapping[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

function send(fd: number, text: string): void {
  fs.writeSync(fd, text);
}

/** Reads one line with a deadline (the other side may be a forked child that hung). */
function readLine(sys: Libc, fd: number, deadline: number, what: string): string {
  let line = '';
  const buf = Buffer.alloc(1);
  for (;;) {
    if (!sys.pollIn(fd, Math.max(0, deadline - Date.now()))) throw new Error(`${what}: no answer within ${BIRTH_TIMEOUT_MS / 1000}s`);
    const n = fs.readSync(fd, buf, 0, 1, null);
    if (n === 0) throw new Error(`${what}: the process went away`);
    const ch = buf.toString('latin1');
    if (ch === '\n') return line;
    line += ch;
  }
}

/** The forked child C1. Never returns: every path ends in _exit. */
function childOne(sys: Libc, opts: BirthOptions, ctl: number, syncChild: number, syncFd: number): never {
  try {
    const user = opts.namespaces.find((n) => n.type === 'user')!;
    if (user.path !== undefined) {
      const fd = fs.openSync(user.path, C.O_RDONLY);
      if (sys.nsType(fd) !== C.CLONE_NEWUSER) throw new Error(`linux.namespaces: ${user.path} is not a user namespace`);
      sys.setns(fd, C.CLONE_NEWUSER);
      fs.closeSync(fd);
    } else {
      sys.unshare(C.CLONE_NEWUSER);
      send(ctl, 'U\n');
      const buf = Buffer.alloc(1);
      if (fs.readSync(ctl, buf, 0, 1, null) !== 1 || buf[0] !== 0x4d /* M */) sys.exit(1);
    }
    sys.setresgid(0);
    sys.setresuid(0);
    // Paths first: joining a mount namespace changes what paths mean.
    const joined = opts.namespaces.filter((n) => n.type !== 'user' && n.path !== undefined)
      .map((n) => ({ n, fd: fs.openSync(n.path!, C.O_RDONLY) }));
    if (opts.namespaces.some((n) => n.type === 'mount')) sys.unshare(C.CLONE_FS);
    for (const { n, fd } of joined.sort((a, b) => Number(a.n.type === 'mount') - Number(b.n.type === 'mount'))) {
      if (sys.nsType(fd) !== n.flag) throw new Error(`linux.namespaces: ${n.path} is not a ${n.type} namespace`);
      sys.setns(fd, n.flag);
    }
    const fresh = opts.namespaces.filter((n) => n.type !== 'user' && n.type !== 'cgroup' && n.path === undefined)
      .reduce((acc, n) => acc | n.flag, 0);
    if (fresh) sys.unshare(fresh);
    if (fresh & C.CLONE_NEWNS) protectRuntime(sys);
    const stdio: StdioOptions = ['inherit', 'inherit', 'inherit'];
    for (let fd = 3; fd < syncFd; fd++) stdio.push(fd);
    stdio.push(syncChild);
    if (opts.fifoFd !== undefined) stdio.push(opts.fifoFd);
    if (opts.consoleFd !== undefined) stdio.push(opts.consoleFd);
    stdio.push(...(opts.extraFds ?? []));
    const c2 = spawn(process.execPath, [...INIT_NODE_FLAGS, initScript(opts.script), String(syncFd)], { stdio, detached: true, env: INIT_ENV });
    if (c2.pid === undefined) throw new Error('could not start the container init process');
    send(ctl, `P${c2.pid}\n`);
    sys.exit(0);
  } catch (e) {
    try {
      send(ctl, `E${(e instanceof Error ? e.message : String(e)).replace(/\n/g, ' ')}\n`);
    } finally {
      sys.exit(1);
    }
  }
}

/** A forked copy that died of a signal before doing anything: safe to try again. */
class LostCopy extends Error {}

export function bearInitInUserNamespace(sys: Libc, opts: BirthOptions): InitHandle {
  for (let attempt = 1; ; attempt++) {
    try {
      return attemptBirth(sys, opts);
    } catch (e) {
      if (!(e instanceof LostCopy) || attempt >= 3) throw e;
    }
  }
}

function attemptBirth(sys: Libc, opts: BirthOptions): InitHandle {
  const syncFd = 3 + opts.preserveFds;
  const [ctlParent, ctlChild] = sys.socketpair();
  const [syncParent, syncChild] = sys.socketpair();
  // The init's real parent (C1) exits at once: let it be reparented to us, so we can reap it.
  sys.prctl(PR_SET_CHILD_SUBREAPER, 1);
  markAllDofork(sys);
  const c1 = sys.fork();
  if (c1 === 0) childOne(sys, opts, ctlChild, syncChild, syncFd);
  fs.closeSync(ctlChild);
  fs.closeSync(syncChild);
  const deadline = Date.now() + BIRTH_TIMEOUT_MS;
  let initPid: number;
  let heard = false;
  try {
    const user = opts.namespaces.find((n) => n.type === 'user')!;
    let msg = readLine(sys, ctlParent, deadline, 'creating the user namespace');
    heard = true;
    if (msg === 'U') {
      if (user.path === undefined) {
        try {
          fs.writeFileSync(`/proc/${c1}/uid_map`, mapText(opts.uidMappings));
          // An unprivileged writer may map its own gid only after giving up setgroups.
          if (process.geteuid?.() !== 0) fs.writeFileSync(`/proc/${c1}/setgroups`, 'deny');
          fs.writeFileSync(`/proc/${c1}/gid_map`, mapText(opts.gidMappings));
        } catch (e) {
          throw new Error(`linux.uidMappings/gidMappings: writing the user namespace's maps: ${(e as Error).message}`);
        }
      }
      send(ctlParent, 'M');
      msg = readLine(sys, ctlParent, deadline, 'entering the namespaces');
    }
    if (msg.startsWith('E')) throw new Error(msg.slice(1));
    if (!msg.startsWith('P')) throw new Error(`unexpected message from the namespace helper: ${msg}`);
    initPid = Number(msg.slice(1));
  } catch (e) {
    try {
      process.kill(c1, 'SIGKILL');
    } catch {
      // gone
    }
    const w = sys.waitpid(c1, false);
    fs.closeSync(ctlParent);
    fs.closeSync(syncParent);
    if (!heard && (w.status & 0x7f) !== 0 && (w.status & 0x7f) !== 9) throw new LostCopy(String(e));
    throw e;
  }
  sys.waitpid(c1, false);
  fs.closeSync(ctlParent);

  // We reap the init ourselves (libuv only waits for processes it spawned).
  let timer: NodeJS.Timeout | undefined;
  const exited = new Promise<InitExit>((resolve) => {
    timer = setInterval(() => {
      const r = sys.waitpid(initPid, true);
      if (r.pid !== initPid) return;
      clearInterval(timer);
      const sig = r.status & 0x7f;
      resolve(sig ? { code: null, signal: signalName(sig) } : { code: (r.status >> 8) & 0xff, signal: null });
    }, 20);
  });
  const sync = new Socket({ fd: syncParent, readable: true, writable: true });
  return {
    pid: initPid,
    sync,
    syncFd,
    exited,
    release: () => {
      clearInterval(timer);
      sync.destroy();
    },
  };
}

function signalName(n: number): NodeJS.Signals {
  return (Object.keys(constants.signals) as NodeJS.Signals[]).find((k) => constants.signals[k] === n) ?? 'SIGKILL';
}

/**
 * A user namespace with the given maps, as an fd (for idmapped mounts): a forked single-threaded
 * copy creates it and waits, the maps are written, the namespace is opened, the copy is killed.
 */
export function createUserNamespace(sys: Libc, uidMappings: readonly IdMapping[], gidMappings: readonly IdMapping[]): number {
  const [parent, child] = sys.socketpair();
  markAllDofork(sys);
  const pid = sys.fork();
  if (pid === 0) {
    try {
      sys.unshare(C.CLONE_NEWUSER);
      send(child, 'U\n');
      fs.readSync(child, Buffer.alloc(1), 0, 1, null); // until the runtime is done with us
    } finally {
      sys.exit(0);
    }
  }
  fs.closeSync(child);
  try {
    const msg = readLine(sys, parent, Date.now() + BIRTH_TIMEOUT_MS, 'creating a user namespace for an idmapped mount');
    if (msg !== 'U') throw new Error(`unexpected message: ${msg}`);
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
    fs.closeSync(parent);
  }
}
