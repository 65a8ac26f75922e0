import * as fs from 'fs';
import { join } from 'path';
import { libc } from '../sys';
import { UserError } from '../sys/errors';
import type { ContainerConfig, NamespaceConfig, ProcessConfig } from '../spec/config';
import { NAMESPACE_FLAGS, PROC_NS_NAME } from '../namespaces/types';
import { StateStore, deriveStatus } from '../state/store';
import { addProcess } from '../cgroups/manager';
import { bearInit } from '../process/birth';
import { decodeJson, encodeJson, type ExecBootstrap } from '../process/bootstrap';
import { exitStatus, type InitHandle } from '../process/init-handle';
import type { Logger } from '../util/log';
import { proxyConsole } from './console-proxy';

export interface ExecOptions {
  root: string;
  id: string;
  /** builds the process from the container's own (runc: exec inherits its settings) */
  process: (base: ProcessConfig | undefined) => ProcessConfig;
  detach: boolean;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds: number;
  log: Logger;
}

export function storedConfig(store: StateStore, id: string): ContainerConfig {
  return decodeJson<ContainerConfig>(fs.readFileSync(join(store.dir(id), 'config.json'), 'utf8'));
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT', 'SIGALRM'];

function awaitReady(h: InitHandle): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      h.sync.removeAllListeners('data');
      if (err) reject(err); else resolve();
    };
    void h.exited.then((e) => finish(new Error(`the exec process exited before it was ready (${e.signal ?? `status ${e.code}`})`)));
    h.sync.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const msg = JSON.parse(buf.slice(0, nl)) as { type: string; msg?: string };
      finish(msg.type === 'ready' ? undefined : new UserError(`exec failed: ${msg.msg}`));
    });
  });
}

/**
 * exec: a new process in every namespace and the cgroup of a created or running container, with
 * the container's seccomp filter and the given credentials. Returns the exit status to exit with
 * (0 when detached).
 */
export async function execInContainer(opts: ExecOptions): Promise<number> {
  const store = new StateStore(opts.root);
  const st = store.load(opts.id);
  const status = deriveStatus(st);
  if (status !== 'running' && status !== 'created') throw new UserError(`cannot exec in container "${opts.id}": it is ${status}`);
  const cfg = storedConfig(store, opts.id);
  const proc = opts.process(cfg.process);
  if (proc.terminal && opts.consoleSocket === undefined && opts.detach) {
    throw new UserError('--tty with --detach needs --console-socket to receive the pty master');
  }
  if (!proc.terminal && opts.consoleSocket !== undefined) throw new UserError('--console-socket is only for --tty');
  const sys = libc();
  // Joined by path: every namespace the container has, but the mount namespace (see exec-main.ts);
  // the exec process is born in a private copy of ours instead.
  const namespaces: NamespaceConfig[] = cfg.namespaces
    .filter((n) => n.type !== 'mount')
    .map((n) => ({ type: n.type, flag: n.flag, path: `/proc/${st.pid}/ns/${PROC_NS_NAME[n.type]}` }));
  namespaces.push({ type: 'mount', flag: NAMESPACE_FLAGS.mount });
  let consoleFd: number | undefined;
  let consolePeer: number | undefined;
  if (proc.terminal) {
    if (opts.consoleSocket !== undefined) consoleFd = sys.connectUnix(opts.consoleSocket);
    else [consoleFd, consolePeer] = sys.socketpair();
  }
  const h = bearInit(sys, {
    namespaces, uidMappings: [], gidMappings: [], preserveFds: opts.preserveFds, consoleFd, script: 'exec-main.js',
  });
  if (consoleFd !== undefined) fs.closeSync(consoleFd);
  try {
    if (st.cgroup) addProcess({ mode: 'v1', paths: st.cgroup.paths }, h.pid);
    const boot: ExecBootstrap = {
      process: proc,
      mountNs: `/proc/${st.pid}/ns/mnt`,
      seccomp: cfg.seccomp,
      preserveFds: opts.preserveFds,
      nofileSoft: process.env.TSRUNC_NOFILE_SOFT,
    };
    h.sync.write(encodeJson(boot) + '\n');
    await awaitReady(h);
  } catch (e) {
    try {
      process.kill(h.pid, 'SIGKILL');
    } catch {
      // gone
    }
    h.release();
    throw e;
  }
  if (opts.pidFile) {
    fs.writeFileSync(`${opts.pidFile}.tmp`, String(h.pid));
    fs.renameSync(`${opts.pidFile}.tmp`, opts.pidFile);
  }
  const master = consolePeer !== undefined ? sys.recvFd(consolePeer).fd : undefined;
  if (consolePeer !== undefined) fs.closeSync(consolePeer);
  if (opts.detach) {
    h.release();
    return 0;
  }
  h.sync.destroy();
  const stopProxy = master !== undefined ? proxyConsole(sys, master) : undefined;
  const forward = (sig: NodeJS.Signals) => {
    try {
      process.kill(h.pid, sig);
    } catch {
      // exiting
    }
  };
  for (const s of FORWARDED) process.on(s, forward);
  const code = exitStatus(await h.exited);
  for (const s of FORWARDED) process.removeListener(s, forward);
  await stopProxy?.();
  return code;
}
