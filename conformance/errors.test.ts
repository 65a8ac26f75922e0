/*
 * Conformance: runtime.md "Errors" together with Create's and Lifecycle step 2's error cases,
 * and config MUSTs whose violation the runtime has to report.
 * Runs against tsrunc, or against RUNTIME (e.g. RUNTIME=/usr/sbin/runc npx jest conformance).
 */
import * as fs from 'fs';
import { dirname, join } from 'path';
import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import { Harness, leftovers, type Bundle } from './helpers';

const h = new Harness();
const rt = h.rt;
afterEach(() => h.cleanup());
afterAll(() => h.done());

/**
 * Errors: unless stated otherwise, an operation that generates an error MUST leave the
 * environment as if it had never been attempted. For a failed create that means: no container by
 * that id (state fails, list does not show it), nothing in the state root, and no mounts,
 * cgroups or processes left for it.
 */
function expectNoTrace(id: string, b: Bundle): void {
  h.expectFails(['state', id]);
  expect(h.listIds()).toEqual([]);
  expect(fs.readdirSync(rt.root)).toEqual([]);
  expect(leftovers(id, b.dir)).toEqual([]);
}

/** create must fail, and leave no trace. */
function expectCreateFails(id: string, b: Bundle): void {
  const r = rt.create(id, b.dir);
  if (r.status === 0) throw new Error(`expected create of ${id} from ${b.dir} to fail, but it exited 0`);
  expect(r.status).not.toBe(0);
  expect(r.signal).toBeNull(); // an error is reported, not a crash of the runtime
  expectNoTrace(id, b);
}

describe('create: invalid bundles generate an error and create nothing', () => {
  test('config.json that is not JSON', () => {
    // Lifecycle step 2: if the runtime cannot create the environment config.json describes it
    // MUST generate an error; Create: then no new container MUST be created.
    const b = h.bundle(['true']);
    fs.writeFileSync(join(b.dir, 'config.json'), '{"ociVersion": "1.0.2", "process": {');
    expectCreateFails(h.id(), b);
  });

  test('a bundle without config.json', () => {
    // Lifecycle step 2: the environment is created from config.json; without one it cannot be.
    const b = h.bundle(['true']);
    fs.rmSync(join(b.dir, 'config.json'));
    expectCreateFails(h.id(), b);
  });

  test('a bundle directory that does not exist', () => {
    // Create: it MUST error if it is not provided (a usable) path to the bundle.
    const b = h.bundle(['true']);
    const id = h.id();
    const missing = join(b.dir, 'no-such-bundle');
    h.expectFails(['create', '--bundle', missing, id]);
    expect(fs.existsSync(missing)).toBe(false);
    expectNoTrace(id, b);
  });

  test('root.path naming a directory that does not exist', () => {
    // config.md Root: a directory MUST exist at root.path. Lifecycle step 2: the environment
    // cannot be created, so create MUST error and create no container.
    const b = h.bundle(['true'], (c) => {
      c.root.path = 'no-such-rootfs';
    });
    expectCreateFails(h.id(), b);
    expect(fs.existsSync(join(b.dir, 'no-such-rootfs'))).toBe(false);
  });

  test('root missing from config.json', () => {
    // config.md Root: on Linux `root` is REQUIRED. Without it the environment cannot be created.
    const b = h.bundle(['true'], (c) => {
      delete c.root;
    });
    expectCreateFails(h.id(), b);
  });

  test('process.args empty', () => {
    // config.md Process: at least one entry of args is REQUIRED on Linux. Create: a property the
    // runtime cannot apply MUST generate an error and no new container MUST be created.
    const b = h.bundle([]);
    expectCreateFails(h.id(), b);
  });

  test('a relative process.cwd', () => {
    // config.md Process: cwd MUST be an absolute path; a relative one cannot be applied.
    const b = h.bundle(['true'], (c) => {
      c.process.cwd = 'tmp';
    });
    expectCreateFails(h.id(), b);
  });

  test('a mount of a filesystem type the kernel does not know', () => {
    // Create: if a property cannot be applied as specified, an error MUST be generated and no
    // new container MUST be created; Errors: the mounts, cgroups and processes already made for
    // it are undone.
    const b = h.bundle(['true'], (c) => {
      c.mounts.push({ destination: '/mnt/bogus', type: 'tsr-no-such-fs', source: 'none' });
    });
    expectCreateFails(h.id(), b);
  });

  test('the same namespace type twice', () => {
    // config-linux.md Namespaces: duplicated namespace types MUST generate an error.
    const b = h.bundle(['true'], (c) => {
      c.linux.namespaces.push({ type: 'uts' });
    });
    expectCreateFails(h.id(), b);
  });

  test('the same rlimit type twice', () => {
    // config.md POSIX process: duplicated rlimits of one type MUST generate an error.
    const b = h.bundle(['true'], (c) => {
      c.process.rlimits = [
        { type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 },
        { type: 'RLIMIT_NOFILE', hard: 512, soft: 512 },
      ];
    });
    const id = h.id();
    if (rt.isRunc) {
      // runc 1.1.5 diverges: it accepts duplicated rlimits (the later entry wins) and creates the
      // container.
      expect(rt.create(id, b.dir).status).toBe(0);
      expect(rt.state(id).status).toBe('created');
      return;
    }
    expectCreateFails(id, b);
  });
});

describe('create: invalid ids generate an error and create nothing', () => {
  test.each([['../tsr-escape'], ['a/b'], ['..']])('id %p', (bad) => {
    // Create: an ID that is not valid in any other way MUST generate an error and no container
    // MUST be created (an id holding path separators must not create anything beside the root).
    const b = h.bundle(['true']);
    h.expectFails(['create', '--bundle', b.dir, bad]);
    h.expectFails(['state', bad]);
    expect(h.listIds()).toEqual([]);
    expect(fs.readdirSync(rt.root)).toEqual([]);
    expect(fs.existsSync(join(dirname(rt.root), 'tsr-escape'))).toBe(false);
  });
});

describe('errors at start', () => {
  test('a program that does not exist never runs, and the failure is reported', async () => {
    // Start: the runtime MUST run the program given by process. The spec does not say which
    // operation reports a program that cannot run: runc 1.1.5 looks it up before waiting for start
    // (its create fails); tsrunc looks it up when start releases the process, as runtime-tools'
    // misc_props expects (create and start exit 0), and the process reports it on its stderr.
    const b = h.bundle(['/no/such/program']);
    const id = h.id();
    const c = rt.create(id, b.dir);
    if (c.status !== 0) {
      expect(c.stderr).toMatch(/no\/such\/program/);
      expectNoTrace(id, b);
      return;
    }
    const s = rt.run(['start', id]);
    if (s.status === 0) {
      await rt.waitStatus(id, 'stopped');
      expect(rt.output(id, b.dir)).toMatch(/no\/such\/program/);
    }
    expect(rt.state(id).status).not.toBe('running');
  });

  test('a config without process: create or start fails', () => {
    // config.md Process: process is REQUIRED when start is called; Start: the operation MUST
    // generate an error if process was not set. (Create may refuse it already: runc 1.1.5 does.)
    const b = h.bundle(['true'], (c) => {
      delete c.process;
    });
    const id = h.id();
    const c = rt.create(id, b.dir);
    if (c.status !== 0) {
      expectNoTrace(id, b);
      return;
    }
    h.expectFails(['start', id]);
    expect(rt.state(id).status).not.toBe('running');
  });
});
