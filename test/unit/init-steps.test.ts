// init's life in the copy, step by step, over the fake libc and a fake channel: what it tells the
// runtime, and the order of the calls that make the container (the order is the security: the
// rootfs before pivot_root, credentials before capabilities, no_new_privs before seccomp, execve last).
import { afterAll, afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { buildConfig } from '../../src/loader/load';
import { defaultSpec } from '../../src/ocispec/default-spec';
import type { Spec } from '../../src/ocispec/oci';
import { initLife, type InitPlan } from '../../src/process/init-copy';
import { FIFO_START, INIT_COMM, type ChildEnd, type ChildMessage, type RuntimeMessage } from '../../src/process/channel';
import * as C from '../../src/sys/constants';
import { recordingLibc } from '../fakes/recording-libc';
import { copyStarts, forkBegins, timedForks } from '../../src/process/copy-steps';

const tmp = fs.mkdtempSync(join(os.tmpdir(), 'tsr-unit-init-'));
let cwd: string;
let umask: number;
// init changes the process's cwd and umask, as the copy does: the test process gets its own back.
beforeEach(() => {
  cwd = process.cwd();
  umask = process.umask();
});
afterEach(() => {
  process.chdir(cwd);
  process.umask(umask);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

/** What the runtime would say, in order; what init said. */
function fakeChannel(says: RuntimeMessage[]): { ch: ChildEnd; said: ChildMessage[] } {
  const said: ChildMessage[] = [];
  const ch = {
    send: (m: ChildMessage) => said.push(m),
    receive: (_ms: number, what: string): RuntimeMessage => {
      const m = says.shift();
      if (!m) throw new Error(`the runtime said nothing (${what})`);
      return m;
    },
  };
  return { ch: ch as unknown as ChildEnd, said };
}

function make(edit: (s: Spec) => void = () => undefined) {
  const bundle = join(tmp, `b${n++}`);
  fs.mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  const spec = defaultSpec();
  spec.process!.terminal = false;
  edit(spec);
  const cfg = buildConfig(spec, bundle, 'c1');
  const plan: InitPlan = {
    config: cfg,
    createHooks: false,
    noPivot: false,
    sessionKeyring: '_ses.c1',
    preserveFds: 0,
    cgroups: { kind: 'hierarchies', hierarchies: [] },
    newCgroupNs: false,
  };
  // the exec fifo as start leaves it: one START byte to read
  const fifoFile = join(bundle, 'fifo');
  fs.writeFileSync(fifoFile, FIFO_START);
  const fifo = fs.openSync(fifoFile, 'r');
  const sys = recordingLibc({
    // a real fd for the signalfd init closes, and nothing but the fifo ready
    signalFd: () => fs.openSync('/dev/null', 'r'),
    pollReadable: (fds: number[]) => [fds[0]],
    // a plain file where the node would be: the code goes on to chmod it
    mknod: (path: string, ...rest: unknown[]) => {
      sys.calls.push(['mknod', path, ...rest]);
      fs.writeFileSync(path, '');
    },
    execve: (...args: unknown[]) => {
      sys.calls.push(['execve', ...args]);
      return undefined as never;
    },
  });
  return { cfg, plan, sys, fds: { channel: -1, fifo } };
}

/** A channel that says 'go' once and records its receive among the calls: what init did before it. */
function goRecorded(sys: { calls: unknown[][] }): ChildEnd {
  const says: RuntimeMessage[] = [{ type: 'go', hookState: {} }];
  return {
    send: () => undefined,
    receive: (): RuntimeMessage => {
      sys.calls.push(['receive']);
      return says.shift()!;
    },
  } as unknown as ChildEnd;
}

describe('initLife (fake libc, fake channel)', () => {
  test("where its runtime logs timing, init's ready carries its steps, in order", () => {
    const { plan, sys, fds } = make();
    const { ch, said } = fakeChannel([{ type: 'go', hookState: {} }]);
    timedForks(true, () => {
      forkBegins();
      copyStarts(); // as in a copy forked there
    });
    try {
      initLife(sys, ch, fds, plan);
    } finally {
      copyStarts(); // this process keeps none again
    }
    expect(said).toHaveLength(1);
    const ready = said[0] as Extract<ChildMessage, { type: 'ready' }>;
    expect(ready.type).toBe('ready');
    expect(ready.timing!.steps.map((s) => s.name)).toEqual([
      'forked',
      'keyring, rootfs up to its cgroups',
      'placed in its cgroups (go)',
      'rootfs mounted',
      'pivot_root',
      'rootfs finished, program found',
    ]);
  });

  test('go → the container is made, ready is said, START read, and the program exec’d after its credentials, capabilities, no_new_privs and seccomp', () => {
    // After the (fake) pivot_root these paths are the host's: the test's own, not /proc's.
    const masked = join(tmp, 'masked-file');
    const readonly = join(tmp, 'readonly-dir');
    fs.writeFileSync(masked, '');
    fs.mkdirSync(readonly);
    const { plan, sys, fds } = make((s) => {
      s.linux!.maskedPaths = [masked];
      s.linux!.readonlyPaths = [readonly];
      s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] };
    });
    const { ch, said } = fakeChannel([{ type: 'go', hookState: {} }]);
    initLife(sys, ch, fds, plan);
    expect(said).toStrictEqual([{ type: 'ready' }]);
    const names = sys.calls.map((c) => c[0]);
    const at = (name: string, pred: (c: unknown[]) => boolean = () => true) => sys.calls.findIndex((c) => c[0] === name && pred(c));
    const prctl = (opt: number) => (c: unknown[]) => c[1] === opt;
    expect(sys.calls[0]).toEqual(['setThreadName', INIT_COMM]);
    expect(sys.calls[1]).toEqual(['joinSessionKeyring', '_ses.c1']);
    // the rootfs is built, the hostname set, then pivot_root, then the masked and read-only paths
    expect(at('mount')).toBeGreaterThan(1);
    expect(at('sethostname')).toBeGreaterThan(at('mount'));
    expect(sys.calls[at('sethostname')]).toEqual(['sethostname', 'runc']);
    expect(at('pivotRoot')).toBeGreaterThan(at('sethostname'));
    expect(at('mount', (c) => c[2] === readonly)).toBeGreaterThan(at('pivotRoot'));
    const maskedAt = at('mount', (c) => c[2] === masked);
    expect(maskedAt).toBeGreaterThan(at('mount', (c) => c[2] === readonly));
    // credentials: groups, gid, uid; then the capabilities; no_new_privs, then seccomp, then execve
    expect(at('setgroups')).toBeGreaterThan(maskedAt);
    expect(at('setresgid')).toBeGreaterThan(at('setgroups'));
    expect(at('setresuid')).toBeGreaterThan(at('setresgid'));
    expect(at('capset')).toBeGreaterThan(at('setresuid'));
    // every fd above stdio marked close-on-exec (execve closes them) before anything else changes
    expect(at('closeRange')).toBeGreaterThan(maskedAt);
    expect(at('closeRange')).toBeLessThan(at('setgroups'));
    expect(sys.calls[at('closeRange')]).toEqual(['closeRange', 3, 0xffffffff, true]);
    expect(at('prctl', prctl(C.PR_SET_NO_NEW_PRIVS))).toBeGreaterThan(at('capset'));
    expect(at('seccomp')).toBeGreaterThan(at('prctl', prctl(C.PR_SET_NO_NEW_PRIVS)));
    expect(names[names.length - 1]).toBe('execve');
    const [, exe, args, env] = sys.calls[names.length - 1] as [string, string, string[], string[]];
    expect(exe).toMatch(/\/sh$/);
    expect(args).toEqual(['sh']);
    expect(env).toEqual(expect.arrayContaining(['TERM=xterm', expect.stringMatching(/^PATH=/), 'HOME=/root']));
    expect(names).not.toContain('exit');
  });

  test('a mount that cannot be made is told to the runtime, naming it; nothing after it happens', () => {
    const { cfg, plan, sys, fds } = make();
    fs.symlinkSync('/etc', join(cfg.rootfs, 'proc'));
    const { ch, said } = fakeChannel([{ type: 'go' }]);
    expect(() => initLife(sys, ch, fds, plan)).toThrow('exit (fake)');
    expect(said).toEqual([{ type: 'error', msg: expect.stringMatching(/\/proc/) }]);
    const names = sys.calls.map((c) => c[0]);
    expect(names[names.length - 1]).toBe('exit');
    expect(sys.calls[names.length - 1]).toEqual(['exit', 1]);
    for (const never of ['sethostname', 'pivotRoot', 'setresuid', 'execve']) expect(names).not.toContain(never);
  });

  test('create-time hooks: init stops for them after its mounts, and goes on only when told', () => {
    const { plan, sys, fds } = make();
    plan.createHooks = true;
    const { ch, said } = fakeChannel([{ type: 'go' }, { type: 'continue' }]);
    initLife(sys, ch, fds, plan);
    expect(said).toStrictEqual([{ type: 'hooks' }, { type: 'ready' }]);
    // the runtime that does not say continue leaves init exiting, before pivot_root
    const second = make();
    second.plan.createHooks = true;
    const quiet = fakeChannel([{ type: 'go' }, { type: 'go' }]);
    expect(() => initLife(second.sys, quiet.ch, second.fds, second.plan)).toThrow('exit (fake)');
    expect(second.sys.calls.map((c) => c[0])).not.toContain('pivotRoot');
  });

  test('before go, init builds only what needs no cgroup: its keyring and the mounts before the first cgroup mount; the rest after', () => {
    const { cfg, plan, sys, fds } = make();
    const ch = goRecorded(sys);
    // (mounts are made through an fd of their target: found by source and type)
    const mountOf = (source: string, type: string, data?: string) =>
      sys.calls.findIndex((c) => c[0] === 'mount' && c[1] === source && c[3] === type && (data === undefined || c[5] === data));
    // (the fake execve returns: what follows the call is reached, whatever its type says)
    (initLife as (...a: Parameters<typeof initLife>) => void)(sys, ch, fds, plan);
    const go = sys.calls.findIndex((c) => c[0] === 'receive');
    expect(sys.calls.findIndex((c) => c[0] === 'joinSessionKeyring')).toBeLessThan(go);
    const early = cfg.mounts.filter((x) => x.type !== 'cgroup');
    expect(early.length).toBe(cfg.mounts.length - 1);
    for (const m of early) {
      expect(mountOf(m.source, m.type)).toBeGreaterThan(0);
      expect(mountOf(m.source, m.type)).toBeLessThan(go);
    }
    // the default config's devices follow only the cgroup mount: made early too
    expect(sys.calls.findIndex((c) => c[0] === 'mknod')).toBeGreaterThan(0);
    expect(sys.calls.findIndex((c) => c[0] === 'mknod')).toBeLessThan(go);
    // the cgroup mount (v1: a tmpfs of the hierarchies' binds) after
    expect(mountOf('tmpfs', 'tmpfs', 'mode=755')).toBeGreaterThan(go);
    expect(sys.calls.findIndex((c) => c[0] === 'pivotRoot')).toBeGreaterThan(go);
  });

  test('without a mount namespace of its own init mounts nothing before go (the mounts would outlive it unrecorded)', () => {
    const { plan, sys, fds } = make((s) => {
      s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'mount');
      s.linux!.maskedPaths = [];
      s.linux!.readonlyPaths = [];
    });
    const ch = goRecorded(sys);
    (initLife as (...a: Parameters<typeof initLife>) => void)(sys, ch, fds, plan);
    const go = sys.calls.findIndex((c) => c[0] === 'receive');
    expect(go).toBeGreaterThan(0);
    expect(sys.calls.findIndex((c) => c[0] === 'joinSessionKeyring')).toBeLessThan(go);
    const mounts = sys.calls.map((c, i) => [c[0], i] as const).filter(([name]) => name === 'mount');
    expect(mounts.length).toBeGreaterThan(0);
    for (const [, i] of mounts) expect(i).toBeGreaterThan(go);
  });

  test("run's init (startAtReady): no exec fifo; once ready it waits for 'start' on its channel, then execs the program", () => {
    const { plan, sys, fds } = make();
    plan.startAtReady = true;
    const says: RuntimeMessage[] = [{ type: 'go', hookState: {} }, { type: 'start' }];
    const ch = {
      send: (m: ChildMessage) => sys.calls.push(['send', m.type]),
      receive: (): RuntimeMessage => {
        const m = says.shift()!;
        sys.calls.push(['receive', m.type]);
        return m;
      },
    } as unknown as ChildEnd;
    (initLife as (...a: Parameters<typeof initLife>) => void)(sys, ch, { channel: fds.channel }, plan);
    const names = sys.calls.map((c) => c[0]);
    const ready = sys.calls.findIndex((c) => c[0] === 'send' && c[1] === 'ready');
    const start = sys.calls.findIndex((c) => c[0] === 'receive' && c[1] === 'start');
    expect(ready).toBeGreaterThan(0);
    expect(start).toBeGreaterThan(ready);
    // what the program's launch needs is done after start: credentials, then the execve, last
    expect(names.indexOf('setresuid', start)).toBeGreaterThan(start);
    expect(names[names.length - 1]).toBe('execve');
    expect(names).not.toContain('exit');
  });

  test("run's init: a runtime that goes away, or says anything but 'start', ends it without running the program", () => {
    for (const last of [undefined, { type: 'continue' } as RuntimeMessage]) {
      const { plan, sys, fds } = make();
      plan.startAtReady = true;
      const { ch, said } = fakeChannel(last ? [{ type: 'go', hookState: {} }, last] : [{ type: 'go', hookState: {} }]);
      expect(() => initLife(sys, ch, { channel: fds.channel }, plan)).toThrow('exit (fake)');
      expect(said).toStrictEqual([{ type: 'ready' }]);
      const names = sys.calls.map((c) => c[0]);
      expect(sys.calls[names.length - 1]).toEqual(['exit', 1]);
      for (const never of ['setresuid', 'capset', 'execve']) expect(names).not.toContain(never);
    }
  });

  test('a runtime that never says go: init exits having built only the early part, nothing of the rest', () => {
    const { plan, sys, fds } = make();
    const { ch, said } = fakeChannel([{ type: 'continue' }]);
    expect(() => initLife(sys, ch, fds, plan)).toThrow('exit (fake)');
    // The fake's exit throws where a real one never returns: init's catch reports that throw. It
    // is no message init sends.
    expect(said.filter((m) => !(m.type === 'error' && m.msg === 'exit (fake)'))).toEqual([]);
    const names = sys.calls.map((c) => c[0]);
    expect(sys.calls[names.length - 1]).toEqual(['exit', 1]);
    expect(sys.calls.some((c) => c[0] === 'mount' && c[1] === 'sysfs')).toBe(true);
    expect(sys.calls.some((c) => c[0] === 'mount' && c[5] === 'mode=755')).toBe(false); // the cgroup mount
    for (const never of ['unshare', 'sethostname', 'pivotRoot', 'setresuid', 'execve']) expect(names).not.toContain(never);
  });
});
