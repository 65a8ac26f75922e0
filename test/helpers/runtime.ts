import { spawnSync, spawn, type SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { TSRUNC } from './bundle';

export interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * One runtime binary with its own state root: tsrunc by default, or whatever RUNTIME names
 * (conformance runs against Debian's runc too).
 */
export class Runtime {
  readonly root: string;

  constructor(readonly binary: string = process.env.RUNTIME || TSRUNC) {
    this.root = fs.mkdtempSync(join(os.tmpdir(), 'tsr-test-root-'));
  }

  get isRunc(): boolean {
    return /runc$/.test(this.binary) && !/tsrunc$/.test(this.binary);
  }

  run(args: string[], opts: { cwd?: string; input?: string; timeout?: number } = {}): Result {
    const r: SpawnSyncReturns<string> = spawnSync(this.binary, ['--root', this.root, ...args], {
      cwd: opts.cwd,
      input: opts.input ?? '',
      encoding: 'utf8',
      timeout: opts.timeout ?? 30000,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (r.error) throw r.error;
    return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
  }

  /** Runs and insists on success, showing stderr otherwise. */
  ok(args: string[], opts: { cwd?: string; input?: string } = {}): string {
    const r = this.run(args, opts);
    if (r.status !== 0) throw new Error(`${this.binary} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  }

  state(id: string): { status: string; pid: number; id: string; bundle: string; ociVersion: string; [k: string]: unknown } {
    return JSON.parse(this.ok(['state', id]));
  }

  /**
   * create with the container's stdio on files: the init must not hold the test's pipes open
   * (spawnSync waits for EOF on them). global: options before the command (--debug, --log).
   */
  create(id: string, bundle: string, extra: string[] = [], command = 'create', global: string[] = []): Result {
    const out = fs.openSync(join(bundle, `${id}.out`), 'w');
    try {
      const r = spawnSync(this.binary, ['--root', this.root, ...global, command, '--bundle', bundle, ...extra, id], {
        stdio: ['ignore', out, out],
        encoding: 'utf8',
        timeout: 30000,
      });
      if (r.error) throw r.error;
      return { status: r.status, signal: r.signal, stdout: '', stderr: fs.readFileSync(join(bundle, `${id}.out`), 'utf8') };
    } finally {
      fs.closeSync(out);
    }
  }

  /** The container's output so far (stdout and stderr of its process, from create's files). */
  output(id: string, bundle: string): string {
    return fs.readFileSync(join(bundle, `${id}.out`), 'utf8');
  }

  /** Waits until the container reaches a status (polling state). */
  async waitStatus(id: string, status: string, timeoutMs = 10000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const r = this.run(['state', id]);
      if (r.status === 0 && JSON.parse(r.stdout).status === status) return;
      if (Date.now() > end) throw new Error(`container ${id} did not become ${status}: ${r.stdout}${r.stderr}`);
      await new Promise((res) => setTimeout(res, 20));
    }
  }

  /** Force-deletes every container under this root and removes the root. */
  cleanup(): void {
    try {
      for (const id of fs.readdirSync(this.root)) this.run(['delete', '--force', id]);
    } catch {
      // root already gone
    }
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  spawnRun(id: string, bundle: string, extra: string[] = []) {
    return spawn(this.binary, ['--root', this.root, 'run', '--bundle', bundle, ...extra, id], { stdio: ['ignore', 'pipe', 'pipe'] });
  }
}

/** Leftovers a runtime must never leave: mounts of the bundle, cgroups named for the id, processes. */
export function leftovers(id: string, bundleDir: string): string[] {
  const found: string[] = [];
  const mi = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  for (const line of mi.split('\n')) if (line.includes(bundleDir)) found.push(`mount: ${line}`);
  for (const base of ['/sys/fs/cgroup', '/sys/fs/cgroup/memory', '/sys/fs/cgroup/pids', '/sys/fs/cgroup/unified']) {
    if (fs.existsSync(join(base, id))) found.push(`cgroup: ${join(base, id)}`);
  }
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(bundleDir) || cmd.includes(id)) found.push(`process ${pid}: ${cmd.replace(/\0/g, ' ')}`);
    } catch {
      // exited
    }
  }
  return found;
}
