// containerd-shim-tsrunc-v2's Node side (bin/containerd-shim-tsrunc-v2 is the launcher):
//   serve  — the long-lived shim: answers containerd's Task service on a unix socket for every
//            container of its group, creating them in-process (library API, fork birth);
//   delete — containerd's clean-up of a task whose shim is gone: the container and its rootfs
//            mount go, and a DeleteResponse is written to stdout.
// `start` is the launcher's alone: it hands out a running shim's address without starting Node.
import fs = require('fs');
import net = require('net');
import os = require('os');
import { basename, dirname, join } from 'path';
import { Runtime } from '../api/runtime';
import { libc } from '../sys';
import * as C from '../sys/constants';
import { Logger } from '../util/log';
import { ensureProtectedExe } from '../process/protected-exe';
import { Proto, timestamp } from './proto';
import { TtrpcServer } from './ttrpc';
import { Reaper } from './reaper';
import { Publisher } from './events';
import { TaskService, unmountRootfs } from './task-service';
import { PrebornInits } from '../container/preborn-inits';
import { isSameLiveProcess } from '../state/proc';

/** Where the containers of a containerd namespace are kept: runc's shim uses /run/containerd/runc/<ns>. */
export const STATE_BASE = '/run/containerd/tsrunc';
/**
 * A shim with no task stays this long after its group's last start (the next container, or the
 * first one's Create, which comes right after the start that made the shim).
 */
const IDLE_MS = Number(process.env.TSRUNC_SHIM_IDLE_MS ?? 10_000);

interface Flags {
  namespace: string;
  address: string;
  id: string;
  bundle: string;
  socket: string;
  debug: boolean;
  command: string;
}

/** Go's flag syntax, as containerd writes it: -name value, -name=value, --name; then the command. */
export function parseFlags(argv: readonly string[]): Flags {
  const f: Flags = { namespace: '', address: '', id: '', bundle: '', socket: '', debug: false, command: '' };
  const valued = new Set(['namespace', 'address', 'id', 'bundle', 'socket', 'publish-binary']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-')) {
      f.command = a;
      continue;
    }
    const [name, inline] = a.replace(/^--?/, '').split(/=(.*)/s, 2);
    if (name === 'debug') {
      f.debug = inline === undefined || inline === 'true';
      continue;
    }
    if (!valued.has(name)) continue;
    const value = inline ?? argv[++i] ?? '';
    if (name in f) (f as unknown as Record<string, string>)[name] = value;
  }
  return f;
}

function runtimeFor(log: Logger): (namespace: string) => Runtime {
  const runtimes = new Map<string, Runtime>();
  return (namespace) => {
    let rt = runtimes.get(namespace);
    if (!rt) {
      rt = new Runtime({ root: join(STATE_BASE, namespace), log });
      runtimes.set(namespace, rt);
    }
    return rt;
  };
}

/** stdio on /dev/null where the launcher left a gap: a container's fds must never land on 0-2. */
function stdioOpen(): void {
  for (let fd = 0; fd <= 2; fd++) {
    try {
      fs.fstatSync(fd);
    } catch {
      fs.openSync('/dev/null', fd === 0 ? 'r' : 'w');
    }
  }
}

/**
 * The shim leaves only when nobody is about to use it: under the launcher's lock, and not
 * within IDLE_MS of a start the launcher recorded (containerd connects right after).
 */
function tryLeave(socketPath: string, service: TaskService, server: net.Server, leave: () => void): boolean {
  if (!service.idle) return false;
  const sys = libc();
  let lock: number;
  try {
    lock = fs.openSync(`${socketPath}.lock`, C.O_RDWR | C.O_CREAT | C.O_CLOEXEC, 0o600);
  } catch {
    return false;
  }
  try {
    sys.flock(lock, C.LOCK_EX | C.LOCK_NB);
  } catch {
    fs.closeSync(lock);
    return false; // a start is being answered
  }
  let lastStart = 0;
  try {
    lastStart = fs.statSync(`${socketPath}.start`).mtimeMs;
  } catch {
    // never recorded
  }
  if (Date.now() - lastStart < IDLE_MS || !service.idle) {
    fs.closeSync(lock);
    return false;
  }
  // Still holding the lock: the launcher sees no socket and starts a new shim. The lock file stays
  // (a starter may be waiting on it); the rest of the group's files go.
  for (const f of ['', '.pid', '.start', '.log']) fs.rmSync(`${socketPath}${f}`, { force: true });
  server.close();
  leave();
  return true;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * What shims that died (killed, or the machine's shutdown) left in the socket directory: their
 * sockets, pid files and logs, each group's under its lock (a starter may be starting it anew).
 */
function collectDeadGroups(socketPath: string): void {
  const sys = libc();
  const dir = dirname(socketPath);
  // (a spare's files are its launcher's: made anew with each spare)
  for (const lockName of fs.readdirSync(dir).filter((n) => n.endsWith('.lock') && !n.startsWith('spare-'))) {
    const group = join(dir, lockName.slice(0, -'.lock'.length));
    if (group === socketPath) continue;
    const pid = (): number => {
      try {
        return Number(fs.readFileSync(`${group}.pid`, 'utf8'));
      } catch {
        return 0; // none: never started, or left cleanly
      }
    };
    if (!fs.existsSync(group) && !fs.existsSync(`${group}.pid`) && !fs.existsSync(`${group}.log`)) continue;
    if (pid() > 0 && alive(pid())) continue;
    let lock: number;
    try {
      lock = fs.openSync(`${group}.lock`, C.O_RDWR | C.O_CLOEXEC);
    } catch {
      continue;
    }
    try {
      sys.flock(lock, C.LOCK_EX | C.LOCK_NB);
      // under the lock, again: a starter may have made a shim since
      if (!(pid() > 0 && alive(pid()))) for (const ext of ['', '.pid', '.start', '.log']) fs.rmSync(`${group}${ext}`, { force: true });
    } catch {
      // being started now
    } finally {
      fs.closeSync(lock);
    }
  }
}

/** Loaded ahead by a spare (warmUp). */
let warmProto: Proto | undefined;
/**
 * A spare's pre-born inits, forked once it is warm: its group's first Creates fork nothing (a
 * pod's sandbox and its first container; kubelet creates them back to back).
 */
let sparePreborn: PrebornInits | undefined;
const SPARE_PREBORN_COUNT = 2;
/** An unclaimed spare's pre-born init is forked anew this often (it would leave by itself later). */
const SPARE_PREBORN_KEEP_MS = 10 * 60_000;
/** Once the spare is claimed: the first Create comes right after the start. */
const CLAIMED_PREBORN_KEEP_MS = 60_000;

async function serve(f: Flags, fromSpare = false): Promise<void> {
  const log = new Logger(`${f.socket}.log`, 'json', f.debug);
  // Containers are forked from this process: it must run from the read-only node (re-execs once).
  if (!fromSpare) ensureProtectedExe(libc(), log, 0);
  stdioOpen();
  const sys = libc();
  const proto = warmProto ?? Proto.load();
  const reaper = new Reaper(sys);
  reaper.start();
  const publisher = new Publisher(proto, process.env.TTRPC_ADDRESS, (m) => log.warn(m));
  const preborn = sparePreborn;
  preborn?.logTo(log);
  const ttrpc = new TtrpcServer(proto);
  const server = net.createServer((sock) => ttrpc.handle(sock));
  let leaving = false;
  const leave = () => {
    leaving = true;
    preborn?.drop();
    void publisher.flush().then(() => {
      publisher.close();
      ttrpc.closeAll();
      process.exit(0);
    });
  };
  const service: TaskService = new TaskService({
    sys,
    proto,
    reaper,
    publisher,
    runtime: runtimeFor(log),
    namespace: f.namespace,
    log: (m) => log.warn(m),
    debug: f.debug ? (m) => log.debug(m) : undefined,
    preborn,
  });
  // A shim nobody uses goes, even one whose first Create never came (containerd died meanwhile).
  setInterval(() => leaving || tryLeave(f.socket, service, server, leave), Math.max(100, IDLE_MS / 4));
  service.register(ttrpc);
  // Bound under a temporary name, renamed when it listens: the launcher waits for the name.
  const tmp = `${f.socket}.${process.pid}.tmp`;
  fs.rmSync(tmp, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(tmp, () => resolve());
  });
  fs.chmodSync(tmp, 0o600);
  fs.writeFileSync(`${f.socket}.pid`, String(process.pid));
  fs.renameSync(tmp, f.socket);
  log.debug(`shim ${process.pid} serving on ${f.socket}`);
  collectDeadGroups(f.socket);
  // SIGUSR2: the heap after a full collection, to the log (is a long-lived shim growing?)
  process.on('SIGUSR2', () => {
    (globalThis as { gc?: () => void }).gc?.();
    const m = process.memoryUsage();
    log.warn(`memory: rss ${m.rss >> 10} KiB, heap used ${m.heapUsed >> 10} KiB, external ${m.external >> 10} KiB`);
  });
  // containerd kills an unwanted shim with SIGKILL; a TERM ends it as cleanly as it can.
  process.on('SIGTERM', () => {
    if (leaving) return;
    // Under the group's lock, as an idle leave: a start in progress gets a new shim, not this socket.
    try {
      const lock = fs.openSync(`${f.socket}.lock`, C.O_RDWR | C.O_CREAT | C.O_CLOEXEC, 0o600);
      sys.flock(lock, C.LOCK_EX); // held until the process ends
    } catch {
      // leave all the same
    }
    for (const ext of ['', '.pid']) fs.rmSync(`${f.socket}${ext}`, { force: true });
    server.close();
    leave();
  });
}

/** Another live spare published for this socket (looked at without the lock: a hint only). */
function otherSpare(socket: string): boolean {
  try {
    const pid = Number(fs.readFileSync(`${socket}.pid`, 'utf8'));
    return pid > 0 && pid !== process.pid && fs.existsSync(`${socket}.${pid}.fifo`);
  } catch {
    return false;
  }
}

/**
 * A shim started ahead of need (the launcher keeps one per containerd): loaded and waiting on
 * <socket>.fifo for the group it is to serve, a line "<namespace> <group socket>"; then it serves
 * that group exactly as `serve` would. A new group (a pod) is handed to it, so its start pays no
 * Node start-up. The launcher owns the spare's files (under <socket>.lock); the spare leaves when
 * its containerd's socket is gone or another spare took its place.
 */
async function spare(f: Flags): Promise<void> {
  const log = new Logger(`${f.socket}.log`, 'json', f.debug);
  ensureProtectedExe(libc(), log, 0);
  stdioOpen();
  const sys = libc();
  try {
    warmUp();
  } catch (e) {
    log.warn(`spare ${process.pid}: warm-up failed, leaving: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
  // TSRUNC_SHIM_PREBORN=0 in containerd's environment: every init is forked when its Create comes.
  // (Not for a spare that is to leave at once: another is published already.)
  if (process.env.TSRUNC_SHIM_PREBORN !== '0' && !otherSpare(f.socket)) {
    sparePreborn = new PrebornInits(sys, log);
    sparePreborn.arm(SPARE_PREBORN_COUNT, SPARE_PREBORN_KEEP_MS, true);
  }
  // A fifo of its own (the launcher writes to the fifo of the very pid it checked), made before
  // the spare is published; published under the spare's lock, and only if no other spare is.
  const fifoPath = `${f.socket}.${process.pid}.fifo`;
  fs.rmSync(fifoPath, { force: true });
  sys.mkfifo(fifoPath, 0o600);
  // Read and write: the fifo always has a writer (no EOF) and a launcher's write never blocks.
  const fifo = new net.Socket({ fd: fs.openSync(fifoPath, C.O_RDWR | C.O_NONBLOCK | C.O_CLOEXEC), readable: true, writable: false });
  const pidFile = `${f.socket}.pid`;
  const published = (): number => {
    try {
      return Number(fs.readFileSync(pidFile, 'utf8')) || 0;
    } catch {
      return 0;
    }
  };
  const underLock = <T>(fn: () => T): T => {
    const lock = fs.openSync(`${f.socket}.lock`, C.O_RDWR | C.O_CREAT | C.O_CLOEXEC, 0o600);
    try {
      sys.flock(lock, C.LOCK_EX);
      return fn();
    } finally {
      fs.closeSync(lock);
    }
  };
  const isSpare = (pid: number): boolean => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('\0spare\0') && fs.existsSync(`${f.socket}.${pid}.fifo`);
    } catch {
      return false;
    }
  };
  const leave = (why: string): never => {
    log.debug(`spare ${process.pid} leaves unused: ${why}`);
    sparePreborn?.drop();
    fs.rmSync(fifoPath, { force: true });
    underLock(() => {
      if (published() === process.pid) fs.rmSync(pidFile, { force: true });
      if (!fs.existsSync(f.address)) fs.rmSync(`${f.socket}.log`, { force: true }); // its containerd is gone
    });
    process.exit(0);
  };
  const other = underLock(() => {
    const p = published();
    if (p > 0 && p !== process.pid && isSpare(p)) return p;
    fs.writeFileSync(`${pidFile}.tmp`, String(process.pid));
    fs.renameSync(`${pidFile}.tmp`, pidFile);
    // the fifos of spares that were killed (those that leave take theirs); a zombie is one too,
    // for as long as its parent takes to reap it (seconds, where that is a PID 1 that reaps late)
    const prefix = `${basename(f.socket)}.`;
    for (const name of fs.readdirSync(dirname(f.socket))) {
      const pid = name.startsWith(prefix) && name.endsWith('.fifo') ? Number(name.slice(prefix.length, -'.fifo'.length)) : 0;
      if (pid > 0 && pid !== process.pid && !isSameLiveProcess(pid, undefined)) fs.rmSync(join(dirname(f.socket), name), { force: true });
    }
    return 0;
  });
  if (other) leave(`spare ${other} is published`);
  const started = fs.statSync(join(__dirname, 'main.js')).mtimeMs;
  let watch: NodeJS.Timeout | undefined;
  const claim = await new Promise<string | undefined>((resolve) => {
    let buf = '';
    watch = setInterval(() => {
      const gone =
        !fs.existsSync(f.address) ||
        published() !== process.pid || // (a launcher clears it as it hands the spare a group)
        fs.statSync(join(__dirname, 'main.js'), { throwIfNoEntry: false })?.mtimeMs !== started; // upgraded since
      // after the poll phase: a claim already in the fifo is read first, and wins
      if (gone) setImmediate(() => resolve(''));
    }, 2000);
    fifo.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    fifo.once('close', () => resolve(''));
  });
  clearInterval(watch);
  fifo.destroy();
  fs.rmSync(fifoPath, { force: true });
  const [namespace, socket] = (claim ?? '').split(' ');
  if (!namespace || !socket) leave('its containerd went, another spare took its place, or tsrunc was upgraded');
  // Started at the lowest priority (the launcher's nice 19): back to containerd's, in every
  // thread (Linux keeps a priority per thread), before anything is forked from it.
  const nice = Number(process.env.TSRUNC_SPARE_NICE ?? 0) || 0;
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      os.setPriority(Number(tid), nice);
    } catch (e) {
      if (tid === String(process.pid)) log.warn(`spare ${process.pid}: its priority stays: ${(e as Error).message}`);
    }
  }
  delete process.env.TSRUNC_SPARE_NICE;
  sparePreborn?.keepFor(CLAIMED_PREBORN_KEEP_MS);
  // What containerd would have given a shim started for this group
  process.env.NAMESPACE = namespace;
  // Its stdout and stderr (crash traces) go to the group's log from now on, as a shim's of its own
  const out = fs.openSync(`${socket}.log`, C.O_WRONLY | C.O_APPEND | C.O_CREAT | C.O_CLOEXEC, 0o600);
  sys.dup2(out, 1);
  sys.dup2(out, 2);
  fs.closeSync(out);
  // Named as a shim of its group from now on (ps, the launcher and the tests look for serve)
  process.title = [
    process.execPath,
    ...process.execArgv,
    process.argv[1],
    'serve',
    '-namespace',
    namespace,
    '-address',
    f.address,
    '-socket',
    socket,
  ].join(' ');
  log.debug(`spare ${process.pid} serves ${namespace} on ${socket}`);
  // (the protected node was ensured at the spare's start: a re-exec now would restart it as a spare)
  await serve({ ...f, namespace, socket }, true);
}

/**
 * What a Create runs, loaded and compiled before it is needed (a spare's first Create would
 * otherwise pay it): the protobuf types, the modules the library loads on demand, its config step.
 */
function warmUp(): void {
  warmProto = Proto.load();
  warmProto.warm();
  Runtime.warmUp();
}

/** containerd's `delete`: the task's shim is gone; take away what is left and say how it ended. */
function deleteTask(f: Flags): void {
  const log = new Logger(undefined, 'json', false);
  const rt = new Runtime({ root: join(STATE_BASE, f.namespace), log });
  let pid = 0;
  try {
    pid = rt.state(f.id).pid;
  } catch {
    // never created, or gone
  }
  rt.delete(f.id, { force: true });
  const bundle = f.bundle || process.cwd();
  unmountRootfs(libc(), join(bundle, 'rootfs'));
  const proto = Proto.load();
  const res = proto.encode('containerd.task.v2.DeleteResponse', { pid, exitStatus: 128 + 9, exitedAt: timestamp() });
  fs.writeSync(1, res);
}

async function main(): Promise<number> {
  const f = parseFlags(process.argv.slice(2));
  switch (f.command) {
    case 'serve':
      if (!f.socket) throw new Error('serve: -socket is needed');
      await serve(f);
      return -1; // keeps running
    case 'spare':
      if (!f.socket) throw new Error('spare: -socket is needed');
      await spare(f);
      return -1; // keeps running
    case 'delete':
      deleteTask(f);
      return 0;
    default:
      throw new Error(`unknown command "${f.command}" (start is the launcher's; serve, spare, delete)`);
  }
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (e: unknown) => {
    fs.writeSync(2, `containerd-shim-tsrunc-v2: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
