/*
 * Shared helpers for the conformance suite (conformance/*.test.ts).
 *
 * The suite is written against the OCI runtime-spec (runtime.md, config.md, config-linux.md) and
 * runs against any runc-compatible binary: tsrunc by default, or whatever RUNTIME names, e.g.
 *   RUNTIME=/usr/sbin/runc npx jest conformance
 *
 * Only the spec's operations (create, start, state, kill, delete) are used to drive containers;
 * the runc CLI spelling of them (`create --bundle DIR ID`, `kill ID SIGNAL`, ...) is the interface.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { expect } from '@jest/globals';
import { makeBundle, uniqueId, type Bundle, type Config } from '../test/helpers/bundle';
import { Runtime, type Result, leftovers } from '../test/helpers/runtime';

export { leftovers, uniqueId, Runtime };
export type { Bundle, Config, Result };

export type State = ReturnType<Runtime['state']>;

export function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

/** Polls pred until it is true; throws with what() after timeoutMs. */
export async function waitFor(pred: () => boolean, what: () => string, timeoutMs = 10000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what()}`);
    await sleep(25);
  }
}

/** Whether a process exists and is not a zombie (a zombie has exited: it only awaits reaping). */
export function pidAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state field follows the parenthesised comm, which may itself contain spaces.
    const st = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return st !== 'Z' && st !== 'X';
  } catch {
    return false;
  }
}

/** A refused operation had no effect: same status, same live process. */
export function expectUnchanged(rt: Runtime, id: string, status: string, pid: number): void {
  const s = rt.state(id);
  expect(s.status).toBe(status);
  expect(s.pid).toBe(pid);
  expect(pidAlive(pid)).toBe(true);
}

/** The namespace link of a process (e.g. 'pid:[4026531836]'), or undefined if unreadable. */
export function nsLink(pid: number | 'self', type: string): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/${type}`);
  } catch {
    return undefined;
  }
}

/**
 * Checks a state object against runtime.md "State" (and the shape schema/state-schema.json gives
 * it): returns a list of problems, empty if none.
 */
export function stateProblems(s: Record<string, unknown>, expect: { id: string; status?: string; bundle?: string }): string[] {
  const p: string[] = [];
  if (typeof s.ociVersion !== 'string' || s.ociVersion === '')
    p.push(`ociVersion must be a non-empty string: ${JSON.stringify(s.ociVersion)}`);
  if (s.id !== expect.id) p.push(`id ${JSON.stringify(s.id)} != ${expect.id}`);
  if (typeof s.status !== 'string') p.push(`status must be a string: ${JSON.stringify(s.status)}`);
  if (expect.status !== undefined && s.status !== expect.status) p.push(`status ${JSON.stringify(s.status)} != ${expect.status}`);
  if (typeof s.bundle !== 'string' || !s.bundle.startsWith('/')) p.push(`bundle must be an absolute path: ${JSON.stringify(s.bundle)}`);
  if (expect.bundle !== undefined && s.bundle !== expect.bundle) p.push(`bundle ${JSON.stringify(s.bundle)} != ${expect.bundle}`);
  if (s.status === 'created' || s.status === 'running') {
    if (!Number.isInteger(s.pid) || (s.pid as number) <= 0) p.push(`pid is REQUIRED (> 0) when ${s.status}: ${JSON.stringify(s.pid)}`);
  } else if (s.pid !== undefined && (!Number.isInteger(s.pid) || (s.pid as number) < 0)) {
    p.push(`pid must be a non-negative integer: ${JSON.stringify(s.pid)}`);
  }
  if (s.annotations !== undefined) {
    const a = s.annotations;
    if (a === null || typeof a !== 'object' || Array.isArray(a)) p.push(`annotations must be a map: ${JSON.stringify(a)}`);
    else for (const [k, v] of Object.entries(a)) if (typeof v !== 'string') p.push(`annotation ${k} must be a string`);
  }
  return p;
}

/**
 * One test file's containers, bundles and scratch directories, all removed by cleanup() (call it
 * from afterEach: it force-deletes this test's containers before removing their bundles, and
 * never throws), plus the runtime (call done() from afterAll).
 */
export class Harness {
  readonly rt = new Runtime();
  private ids: string[] = [];
  private bundles: Bundle[] = [];
  private dirs: string[] = [];

  /** A fresh container id, deleted (forcibly) at cleanup. */
  id(): string {
    const id = uniqueId();
    this.ids.push(id);
    return id;
  }

  /** A fresh bundle (busybox rootfs, default config with process.args = args), removed at cleanup. */
  bundle(args: string[], edit?: (c: Config) => void): Bundle {
    const b = makeBundle(args, edit);
    this.bundles.push(b);
    return b;
  }

  /** A scratch host directory (e.g. the source of a bind mount), removed at cleanup. */
  hostDir(): string {
    const d = fs.mkdtempSync(join(os.tmpdir(), 'tsr-test-host-'));
    this.dirs.push(d);
    return d;
  }

  /** A bundle whose container sees a fresh host directory read-write at /out. */
  bundleWithOut(args: string[], edit?: (c: Config) => void): { b: Bundle; out: string } {
    const out = this.hostDir();
    const b = this.bundle(args, (c) => {
      c.mounts.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
      edit?.(c);
    });
    return { b, out };
  }

  /** create, insisting on success (shows the runtime's output otherwise). */
  create(id: string, b: Bundle): void {
    const r = this.rt.create(id, b.dir);
    if (r.status !== 0) throw new Error(`create ${id} exited ${r.status} (signal ${r.signal}): ${r.stderr}`);
  }

  /** create and start, until the runtime reports it running; returns the container's pid. */
  async startRunning(id: string, b: Bundle): Promise<number> {
    this.create(id, b);
    this.rt.ok(['start', id]);
    await this.rt.waitStatus(id, 'running');
    return this.rt.state(id).pid;
  }

  /** create, start and wait for the container process to exit; returns its output (stdout+stderr). */
  async runToCompletion(id: string, b: Bundle, timeoutMs = 15000): Promise<string> {
    this.create(id, b);
    this.rt.ok(['start', id]);
    await this.rt.waitStatus(id, 'stopped', timeoutMs);
    return this.rt.output(id, b.dir);
  }

  /**
   * Runs the runtime with args and asserts that it generates an error (a non-zero exit status,
   * not a crash by signal); the failure message names the command and shows its output.
   */
  expectFails(args: string[]): Result {
    const r = this.rt.run(args);
    if (r.status === 0) {
      throw new Error(`expected \`${args.join(' ')}\` to fail, but it exited 0\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    }
    expect(r.status).not.toBe(0);
    expect(r.signal).toBeNull();
    return r;
  }

  /** The state of a container, or null if the runtime says (non-zero exit) it does not exist. */
  stateOrNull(id: string): State | null {
    const r = this.rt.run(['state', id]);
    return r.status === 0 ? (JSON.parse(r.stdout) as State) : null;
  }

  /** The runtime run with a working directory (for relative --bundle paths). */
  createIn(cwd: string, bundleArg: string, id: string, outFile: string): Result {
    const out = fs.openSync(outFile, 'w');
    try {
      const r = spawnSync(this.rt.binary, ['--root', this.rt.root, 'create', '--bundle', bundleArg, id], {
        cwd,
        stdio: ['ignore', out, out],
        encoding: 'utf8',
        timeout: 30000,
      });
      if (r.error) throw r.error;
      return { status: r.status, signal: r.signal, stdout: '', stderr: fs.readFileSync(outFile, 'utf8') };
    } finally {
      fs.closeSync(out);
    }
  }

  /** Ids the runtime lists (`list -q`); used to show that a failed operation left no container. */
  listIds(): string[] {
    const r = this.rt.run(['list', '-q']);
    if (r.status !== 0) throw new Error(`list exited ${r.status}: ${r.stderr}`);
    return r.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  }

  /** Force-deletes this test's containers, then removes its bundles and scratch dirs. Never throws. */
  cleanup(): void {
    for (const id of this.ids) {
      try {
        this.rt.run(['delete', '--force', id]);
      } catch {
        // best effort: cleanup must go on
      }
    }
    for (const b of this.bundles) {
      try {
        b.remove();
      } catch {
        // best effort
      }
    }
    for (const d of this.dirs) fs.rmSync(d, { recursive: true, force: true });
    this.ids = [];
    this.bundles = [];
    this.dirs = [];
  }

  /** cleanup(), then the runtime's own cleanup (every container under its root, and the root). */
  done(): void {
    this.cleanup();
    this.rt.cleanup();
  }
}
