// process/vfork-birth.ts over the recording fake: the fake's vfork runs the child's function here,
// as the child would, and tells what it would then do (exec or exit).
import { describe, expect, test } from '@jest/globals';
import fs = require('fs');
import { recordingLibc } from '../fakes/recording-libc';
import { VforkChildFailed, bearByVfork } from '../../src/process/vfork-birth';
import { withoutAsync } from '../../src/process/copy';
import { SysError } from '../../src/sys/errors';
import { vforkFits } from '../../src/container/exec';
import { initFitsVfork } from '../../src/container/create-vfork';
import { vforkHost, type VforkHost } from '../../src/process/vfork-fits';
import { RLIMITS } from '../../src/security/rlimits';
import { compileSeccomp, type SeccompArg } from '../../src/security/seccomp';
import {
  DOCKER_CAPS,
  DOCKER_DEFAULT,
  PODMAN_CAPS,
  PODMAN_DEFAULT,
  containerdRuntimeDefault,
  forContainer,
} from '../helpers/seccomp-profiles';
import type { ContainerConfig, NamespaceConfig, ProcessConfig } from '../../src/ocispec/config';

const target = { path: '/bin/true', argv: ['true'], envp: ['PATH=/bin'] };
/** The child closes every fd of the parent's from keep on: here, in this process, none. */
const nothingClosed = { keep: 1 << 20, fds: [] };

describe('bearByVfork', () => {
  test('runs the set-up in the child with signals blocked and a kill timer armed, and the child execs what it returned', () => {
    const sys = recordingLibc();
    sys.blockAllSignals = () => {
      sys.calls.push(['blockAllSignals']);
      return Buffer.alloc(128);
    };
    const pid = bearByVfork(sys, { body: () => target, deadlineMs: 60_000, ...nothingClosed });
    expect(pid).toBe(4242);
    // signals blocked before the clone, the timer armed in the child, the mask back after it
    expect(sys.calls.map((c) => c[0])).toEqual(['blockAllSignals', 'vfork', 'armKillTimer', 'vfork: next', 'restoreSignalMask']);
    expect(sys.calls).toContainEqual(['armKillTimer', 60_000]);
    expect(sys.calls).toContainEqual(['vfork: next', { exec: target }]);
  });

  test("a set-up that throws: the child exits 1, is reaped, and the failure is the caller's", () => {
    const sys = recordingLibc();
    const why = new Error('exec: "x": executable file not found in $PATH');
    let thrown: unknown;
    try {
      bearByVfork(sys, {
        body: () => {
          throw why;
        },
        deadlineMs: 1000,
        ...nothingClosed,
      });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(VforkChildFailed);
    expect((thrown as VforkChildFailed).cause).toBe(why);
    expect(sys.calls).toContainEqual(['vfork: next', { exit: 1 }]);
    expect(sys.calls).toContainEqual(['waitpid', 4242, false]);
    expect(sys.calls.at(-1)?.[0]).toBe('waitpid'); // after the signal mask is back
  });

  test("a failed execve comes back as execve's errno, with the program's path", () => {
    const sys = recordingLibc({
      vfork: (child) => {
        child();
        return { pid: 77, execReached: true, execErrno: 13 };
      },
    });
    let thrown: unknown;
    try {
      bearByVfork(sys, { body: () => target, deadlineMs: 1000, ...nothingClosed });
    } catch (e) {
      thrown = e;
    }
    const cause = (thrown as VforkChildFailed).cause as SysError;
    expect(cause).toBeInstanceOf(SysError);
    expect([cause.op, cause.errno, cause.path]).toEqual(['execve', 13, '/bin/true']);
    expect(sys.calls).toContainEqual(['waitpid', 77, false]);
  });

  test('a child killed on its way, before its execve, is an error naming the signal (not a program that ran)', () => {
    const sys = recordingLibc({
      vfork: () => ({ pid: 78, execReached: false }),
      waitpid: (pid) => ({ pid, status: 9 }),
    });
    expect(() => bearByVfork(sys, { body: () => target, deadlineMs: 1000, ...nothingClosed })).toThrow(
      new VforkChildFailed(new Error('the process was killed by signal 9 before its program started')),
    );
  });

  test('where vfork is not supported nothing is done: the caller forks', () => {
    const sys = recordingLibc({ vforkSupported: () => false });
    expect(bearByVfork(sys, { body: () => target, deadlineMs: 1000, ...nothingClosed })).toBeUndefined();
    expect(sys.calls).toEqual([]);
  });

  test('the set-up runs without what waits for the event loop', () => {
    const sys = recordingLibc();
    const tried: string[] = [];
    const attempt = (name: string, f: () => unknown) => {
      try {
        f();
      } catch (e) {
        tried.push(`${name}: ${(e as Error).message}`);
      }
    };
    bearByVfork(sys, {
      body: () => {
        attempt('setTimeout', () => setTimeout(() => undefined, 1));
        attempt('nextTick', () => process.nextTick(() => undefined));
        attempt('readFile', () => fs.readFile('/etc/hostname', () => undefined));
        attempt('exit', () => process.exit(3));
        return target;
      },
      deadlineMs: 1000,
      ...nothingClosed,
    });
    expect(tried).toHaveLength(4);
    for (const t of tried) expect(t).toMatch(/is not available in a forked copy of the runtime/);
  });
});

describe('withoutAsync', () => {
  test('puts back every function it replaced, the same ones, also when its function throws', () => {
    // the functions themselves, compared by identity (none is called)
    const now = (): unknown[] => [
      setTimeout,
      setImmediate,
      queueMicrotask,
      ...['nextTick', 'exit'].map((k) => Reflect.get(process, k)),
      ...['readFile', 'stat'].map((k) => Reflect.get(fs, k)),
    ];
    const before = now();
    const promises = fs.promises;
    expect(() =>
      withoutAsync(() => {
        expect(setTimeout).not.toBe(before[0]);
        expect(() => fs.promises).toThrow(/fs.promises/);
        throw new Error('out');
      }),
    ).toThrow('out');
    now().forEach((f, i) => expect(f).toBe(before[i]));
    expect(fs.promises).toBe(promises);
    expect(withoutAsync(() => 5)).toBe(5);
  });
});

describe("exec's choice of vfork (container/exec.ts vforkFits)", () => {
  const base = { namespaces: [], resources: {}, process: { capabilities: { bounding: 0n } } } as unknown as ContainerConfig;
  const proc = { rlimits: [] } as unknown as ProcessConfig;
  const quietHost: VforkHost = { boundingSets: () => [0xa80425fbn], numa: () => false, suidDumpable: () => '0\n' };
  const filter = (action: string, args?: { index: number; value: number; op: string }[]): ContainerConfig['seccomp'] => {
    const { program } = compileSeccomp(
      { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['rt_sigprocmask'], action, args }] },
      () => undefined,
    );
    return { program: program.toString('base64'), flags: 0 };
  };
  const fits = (edit: Partial<ContainerConfig>, more: { ns?: NamespaceConfig[]; proc?: ProcessConfig; host?: Partial<VforkHost> } = {}) =>
    vforkFits({ ...base, ...edit }, more.ns ?? [], more.proc ?? proc, { ...quietHost, ...more.host });

  test('a plain container, and one whose seccomp filter lets rt_sigprocmask through (or logs it)', () => {
    expect(fits({})).toBe(true);
    expect(fits({ seccomp: filter('SCMP_ACT_ALLOW') })).toBe(true);
    expect(fits({ seccomp: filter('SCMP_ACT_LOG') })).toBe(true);
  });

  test("forks where glibc's rt_sigprocmask could be refused (setcontext's call or getcontext's), a listener, a user or time namespace", () => {
    for (const action of ['SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_TRAP', 'SCMP_ACT_TRACE'])
      expect(fits({ seccomp: filter(action) })).toBe(false);
    // only getcontext's form (SIG_BLOCK) refused, or only setcontext's (SIG_SETMASK)
    for (const how of [0, 2])
      expect(fits({ seccomp: filter('SCMP_ACT_ERRNO', [{ index: 0, value: how, op: 'SCMP_CMP_EQ' }]) })).toBe(false);
    expect(fits({ seccomp: { ...filter('SCMP_ACT_ALLOW')!, listenerPath: '/run/l.sock' } })).toBe(false);
    // a call the child's JavaScript may make once the filter is loaded: killed or trapped, or
    // (V8's memory) refused at all; a last step refused with an errno is a clear error instead
    const only = (name: string, action: string): ContainerConfig['seccomp'] => {
      const { program } = compileSeccomp(
        { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: [name], action }] },
        () => undefined,
      );
      return { program: program.toString('base64'), flags: 0 };
    };
    for (const action of ['SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRAP'])
      expect(fits({ seccomp: only('capset', action) })).toBe(false);
    expect(fits({ seccomp: only('capset', 'SCMP_ACT_ERRNO') })).toBe(true);
    expect(fits({ seccomp: only('mmap', 'SCMP_ACT_ERRNO') })).toBe(false);
    expect(fits({ seccomp: only('futex', 'SCMP_ACT_ERRNO') })).toBe(false);
    expect(fits({ seccomp: only('getrusage', 'SCMP_ACT_KILL') })).toBe(false);
    // glibc's set*id signals every thread it knows: tgkill, from the child too
    expect(fits({ seccomp: only('tgkill', 'SCMP_ACT_KILL') })).toBe(false);
    expect(fits({ seccomp: only('fchown', 'SCMP_ACT_TRAP') })).toBe(false);
    // a rule on the arguments the child's calls are made with: prctl(PR_SET_KEEPCAPS), an executable mprotect
    const when = (name: string, action: string, args: SeccompArg[]): ContainerConfig['seccomp'] => {
      const { program } = compileSeccomp(
        { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: [name], action, args }] },
        () => undefined,
      );
      return { program: program.toString('base64'), flags: 0 };
    };
    expect(fits({ seccomp: when('prctl', 'SCMP_ACT_KILL', [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }]) })).toBe(false);
    expect(fits({ seccomp: when('prctl', 'SCMP_ACT_KILL', [{ index: 0, value: 15, op: 'SCMP_CMP_EQ' }]) })).toBe(true); // PR_SET_NAME: not made after the filter
    expect(fits({ seccomp: when('mprotect', 'SCMP_ACT_ERRNO', [{ index: 2, value: 4, op: 'SCMP_CMP_MASKED_EQ', valueTwo: 4 }]) })).toBe(
      false,
    );
    for (const type of ['user', 'time'] as const) expect(fits({}, { ns: [{ type, flag: 0, path: '/proc/1/ns/x' }] })).toBe(false);
  });

  test("the clients' default profiles (Docker's, podman's, containerd's RuntimeDefault) let a child born by vfork through", () => {
    for (const profile of [
      forContainer(DOCKER_DEFAULT, DOCKER_CAPS),
      forContainer(PODMAN_DEFAULT, PODMAN_CAPS),
      containerdRuntimeDefault(),
    ]) {
      const { program } = compileSeccomp(profile, () => undefined);
      expect(fits({ seccomp: { program: program.toString('base64'), flags: 0 } })).toBe(true);
    }
  });

  test("forks where the child would expose the runtime's memory: CAP_SYS_PTRACE anywhere in the container, no capabilities in the config (all kept), suid_dumpable, RLIMIT_AS/DATA, several memory nodes", () => {
    expect(fits({ process: { capabilities: { bounding: 1n << 19n } } } as unknown as Partial<ContainerConfig>)).toBe(false);
    expect(fits({ process: {} } as unknown as Partial<ContainerConfig>)).toBe(false);
    expect(fits({}, { host: { boundingSets: () => [0xa80425fbn, 1n << 19n] } })).toBe(false); // an earlier exec --cap CAP_SYS_PTRACE
    expect(fits({}, { host: { suidDumpable: () => '1\n' } })).toBe(false);
    expect(fits({}, { host: { numa: () => true } })).toBe(false);
    for (const resource of [RLIMITS.RLIMIT_AS, RLIMITS.RLIMIT_DATA])
      expect(fits({}, { proc: { rlimits: [{ resource, soft: 1n << 30n, hard: 1n << 30n }] } as unknown as ProcessConfig })).toBe(false);
    expect(
      fits({}, { proc: { rlimits: [{ resource: RLIMITS.RLIMIT_NOFILE, soft: 1024n, hard: 1024n }] } as unknown as ProcessConfig }),
    ).toBe(true);
  });

  test("the host as read here: this process's bounding set (root's, CAP_SYS_PTRACE in it), this machine's memory nodes and suid_dumpable", () => {
    const host = vforkHost(() => [process.pid, 2 ** 22 + 7]); // (a pid that does not exist is none)
    const sets = host.boundingSets();
    expect(sets).toHaveLength(1);
    expect(sets[0] & (1n << 19n)).toBe(1n << 19n);
    const hasMemory = fs.existsSync('/sys/devices/system/node/has_memory')
      ? fs.readFileSync('/sys/devices/system/node/has_memory', 'latin1')
      : '0';
    expect(host.numa()).toBe(hasMemory.trim() !== '0');
    expect(host.suidDumpable()).toBe(fs.readFileSync('/proc/sys/fs/suid_dumpable', 'latin1'));
  });
});

describe("run's choice of vfork for init (container/create-vfork.ts initFitsVfork)", () => {
  const ns = (types: string[]): NamespaceConfig[] => types.map((type) => ({ type, flag: 0 }) as NamespaceConfig);
  const base = {
    namespaces: ns(['pid', 'mount', 'network', 'ipc', 'uts']),
    hooks: {},
    netDevices: {},
    resources: {},
    process: { rlimits: [], capabilities: { bounding: 0n } },
  } as unknown as ContainerConfig;
  const cli = { vfork: true, startAtReady: true, rootless: false, callerFds: false };
  const quietHost = { numa: () => false, suidDumpable: () => '0\n' };
  const fits = (edit: Partial<ContainerConfig> = {}, req: Partial<typeof cli> = {}, host: Partial<typeof quietHost> = {}) =>
    initFitsVfork({ ...base, ...edit }, { ...cli, ...req }, { ...quietHost, ...host });

  test("the CLI's run of a plain container, with a poststop hook too, and without capabilities (no process of the container exists yet to reach init)", () => {
    expect(fits()).toBe(true);
    expect(fits({ hooks: { poststop: [{ path: '/bin/true' }] } })).toBe(true);
    expect(fits({ process: { rlimits: [] } } as unknown as Partial<ContainerConfig>)).toBe(true);
  });

  test('forks for a caller that lives on, create (no start at ready), rootless, a library caller’s stdio, no process', () => {
    for (const req of [{ vfork: false }, { startAtReady: false }, { rootless: true }, { callerFds: true }])
      expect(fits({}, req)).toBe(false);
    expect(fits({ process: undefined })).toBe(false);
  });

  test('forks for a joined or shared pid namespace, no mount namespace of its own, a user or time namespace, hooks the runtime or a process would run, network devices to move, a cgroup core file in unified', () => {
    expect(fits({ namespaces: ns(['mount', 'network']) })).toBe(false);
    expect(fits({ namespaces: [...ns(['mount']), { type: 'pid', flag: 0, path: '/proc/1/ns/pid' }] })).toBe(false);
    expect(fits({ namespaces: ns(['pid', 'network']) })).toBe(false);
    for (const extra of ['user', 'time']) expect(fits({ namespaces: ns(['pid', 'mount', extra]) })).toBe(false);
    for (const kind of ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart'])
      expect(fits({ hooks: { [kind]: [{ path: '/bin/true' }] } })).toBe(false);
    expect(fits({ netDevices: { eth9: {} } } as unknown as Partial<ContainerConfig>)).toBe(false);
    // the resources are on before the child joins: frozen by them, it would hold the runtime
    expect(fits({ resources: { unified: { 'cgroup.freeze': '1' } } })).toBe(false);
    expect(fits({ resources: { unified: { 'memory.high': '1G' } } })).toBe(true);
  });

  test('what any vfork child needs (process/vfork-fits.ts): suid_dumpable 0, one memory node, no RLIMIT_AS', () => {
    expect(fits({}, {}, { suidDumpable: () => '2\n' })).toBe(false);
    expect(fits({}, {}, { numa: () => true })).toBe(false);
    const rlimits = [{ resource: RLIMITS.RLIMIT_AS, soft: 1n << 30n, hard: 1n << 30n }];
    expect(fits({ process: { rlimits } } as unknown as Partial<ContainerConfig>)).toBe(false);
  });
});
