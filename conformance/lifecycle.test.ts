/*
 * Conformance: runtime.md "Lifecycle" and "Operations" (create, start, kill, delete).
 * Runs against tsrunc, or against RUNTIME (e.g. RUNTIME=/usr/sbin/runc npx jest conformance).
 */
import * as fs from 'fs';
import { join } from 'path';
import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import { Harness, expectUnchanged, leftovers, pidAlive, sleep, waitFor } from './helpers';

const h = new Harness();
const rt = h.rt;
afterEach(() => h.cleanup());
afterAll(() => h.done());

describe('lifecycle: create then start', () => {
  test('the user program does not run before start, and runs after it', async () => {
    // Lifecycle step 2: the resources in config.json are created, but the program given in
    // `process` is not run at that time. Create: process.args is only applied once `start`
    // triggers it. Lifecycle step 8 / Start: the runtime runs the user-specified program.
    const { b, out } = h.bundleWithOut(['sh', '-c', 'echo hello-from-container; touch /out/ran']);
    const id = h.id();
    h.create(id, b);
    await sleep(500); // give a premature program time to show itself
    expect(fs.existsSync(join(out, 'ran'))).toBe(false);
    expect(rt.output(id, b.dir)).not.toContain('hello-from-container');
    expect(rt.state(id).status).toBe('created');

    rt.ok(['start', id]);
    await waitFor(
      () => fs.existsSync(join(out, 'ran')),
      () => `${out}/ran after start`,
    );
    await rt.waitStatus(id, 'stopped');
    expect(rt.output(id, b.dir)).toContain('hello-from-container');
  });

  test('start moves a created container to running, with the same container process', async () => {
    // State: `running` means the container process has executed the user-specified program and
    // has not exited; the pid reported is that of the container process (the process that was
    // waiting in `created` is the one that executes the program).
    const b = h.bundle(['sleep', '1000']);
    const id = h.id();
    h.create(id, b);
    const created = rt.state(id);
    expect(created.status).toBe('created');
    rt.ok(['start', id]);
    await rt.waitStatus(id, 'running');
    const running = rt.state(id);
    expect(running.status).toBe('running');
    expect(running.pid).toBe(created.pid);
    expect(pidAlive(running.pid)).toBe(true);
    // The container process now is the user program.
    await waitFor(
      () => fs.readFileSync(`/proc/${running.pid}/cmdline`, 'utf8').split('\0')[0] === 'sleep',
      () => `pid ${running.pid} to be 'sleep'`,
    );
  });

  test('when the container process exits the container is stopped', async () => {
    // Lifecycle step 10 / State: `stopped` is the status once the container process has exited.
    const b = h.bundle(['true']);
    const id = h.id();
    h.create(id, b);
    const pid = rt.state(id).pid;
    rt.ok(['start', id]);
    await rt.waitStatus(id, 'stopped');
    expect(rt.state(id).status).toBe('stopped');
    expect(pidAlive(pid)).toBe(false);
  });

  test('config.json edited after create does not affect the container', async () => {
    // Lifecycle step 2 / Create: once create has happened, later changes to config.json MUST
    // NOT affect the container.
    const b = h.bundle(['echo', 'original-args']);
    const id = h.id();
    h.create(id, b);
    b.config.process.args = ['echo', 'edited-args'];
    b.write();
    rt.ok(['start', id]);
    await rt.waitStatus(id, 'stopped');
    const out = rt.output(id, b.dir);
    expect(out).toContain('original-args');
    expect(out).not.toContain('edited-args');
  });
});

describe('create', () => {
  test('create with an id already in use fails and leaves the first container intact', async () => {
    // Create: if the ID is not unique across the runtime's containers, an error MUST be generated
    // and no new container MUST be created. Errors: a failed operation leaves the environment as
    // if it had never been attempted, so the first container is untouched.
    const { b: b1, out } = h.bundleWithOut(['sh', '-c', 'touch /out/first; sleep 1000']);
    const b2 = h.bundle(['sh', '-c', 'echo second']);
    const id = h.id();
    h.create(id, b1);
    const before = rt.state(id);

    const r = rt.create(id, b2.dir);
    if (r.status === 0) throw new Error(`a second create of ${id} exited 0`);
    expect(r.status).not.toBe(0);

    const after = rt.state(id);
    expect(after.status).toBe('created');
    expect(after.pid).toBe(before.pid);
    expect(after.bundle).toBe(b1.dir);
    expect(pidAlive(after.pid)).toBe(true);
    expect(h.listIds().filter((x) => x === id)).toHaveLength(1);
    // ... and it still works: start runs the first bundle's program.
    rt.ok(['start', id]);
    await waitFor(
      () => fs.existsSync(join(out, 'first')),
      () => 'the first container to run',
    );
    expect(rt.state(id).status).toBe('running');
  });

  test('create without a container id fails and creates nothing', () => {
    // Create: it MUST generate an error if not given the bundle path and the container ID.
    const b = h.bundle(['true']);
    h.expectFails(['create', '--bundle', b.dir]);
    expect(h.listIds()).toEqual([]);
  });
});

describe('start', () => {
  test('start of a container that does not exist fails', () => {
    // Start: starting a container that is not `created` MUST generate an error (one that does
    // not exist is certainly not created).
    h.expectFails(['start', h.id()]);
  });

  test('start without a container id fails', () => {
    // Start: it MUST generate an error if not given the container ID.
    h.expectFails(['start']);
  });

  test('start of a running container fails and has no effect on it', async () => {
    // Start: starting a container that is not `created` MUST have no effect on the container and
    // MUST generate an error.
    const { b, out } = h.bundleWithOut(['sh', '-c', 'echo x >> /out/runs; sleep 1000']);
    const id = h.id();
    h.create(id, b);
    rt.ok(['start', id]);
    await rt.waitStatus(id, 'running');
    await waitFor(
      () => fs.existsSync(join(out, 'runs')),
      () => 'the program to run',
    );
    const pid = rt.state(id).pid;

    h.expectFails(['start', id]);
    await sleep(300);
    expectUnchanged(rt, id, 'running', pid);
    // The program was not run a second time.
    expect(fs.readFileSync(join(out, 'runs'), 'utf8')).toBe('x\n');
  });

  test('start of a stopped container fails and it stays stopped', async () => {
    // Start: starting a container that is not `created` MUST have no effect and MUST error.
    const { b, out } = h.bundleWithOut(['sh', '-c', 'echo x >> /out/runs']);
    const id = h.id();
    await h.runToCompletion(id, b);
    h.expectFails(['start', id]);
    await sleep(300);
    expect(rt.state(id).status).toBe('stopped');
    expect(fs.readFileSync(join(out, 'runs'), 'utf8')).toBe('x\n');
  });
});

describe('kill', () => {
  // Kill: the runtime MUST send the specified signal to the container process. runc's CLI takes
  // the signal by name with or without the SIG prefix, or by number.
  test.each([['KILL'], ['SIGKILL'], ['9']])('kill %s stops a running container', async (sig) => {
    const b = h.bundle(['sleep', '1000']);
    const id = h.id();
    const pid = await h.startRunning(id, b);
    rt.ok(['kill', id, sig]);
    await rt.waitStatus(id, 'stopped');
    await waitFor(
      () => !pidAlive(pid),
      () => `pid ${pid} to die`,
    );
  });

  test('kill delivers the named signal to the container process', async () => {
    // Kill: the signal sent MUST be the one specified (here one the program handles).
    const { b, out } = h.bundleWithOut([
      'sh',
      '-c',
      "trap 'echo got-usr1 > /out/sig; exit 3' USR1; touch /out/ready; while :; do sleep 0.05; done",
    ]);
    const id = h.id();
    h.create(id, b);
    rt.ok(['start', id]);
    await waitFor(
      () => fs.existsSync(join(out, 'ready')),
      () => 'the trap to be set',
    );
    rt.ok(['kill', id, 'USR1']);
    await waitFor(
      () => fs.existsSync(join(out, 'sig')),
      () => 'the program to see SIGUSR1',
    );
    expect(fs.readFileSync(join(out, 'sig'), 'utf8')).toBe('got-usr1\n');
    await rt.waitStatus(id, 'stopped');
  });

  test('kill SIGTERM of a created container is accepted (the signal is sent)', async () => {
    // Kill: a `created` container may be signalled: the runtime MUST send the signal to the
    // container process and must not refuse. What the waiting container process then does is not
    // specified. Recorded: runc 1.1.5's init dies of SIGTERM (status becomes stopped); tsrunc's
    // waiting init ignores it (it is pid 1 of its pid namespace) and stays created. Either way the
    // user program has not run and SIGKILL then stops the container.
    const { b, out } = h.bundleWithOut(['touch', '/out/ran']);
    const id = h.id();
    h.create(id, b);
    const pid = rt.state(id).pid;
    const r = rt.run(['kill', id, 'SIGTERM']);
    expect(r.status).toBe(0);
    await sleep(300);
    const st = rt.state(id).status;
    expect(['created', 'stopped']).toContain(st);
    if (rt.isRunc) expect(st).toBe('stopped'); // recorded behaviour of runc 1.1.5 (not a divergence)
    if (st === 'created') {
      rt.ok(['kill', id, 'SIGKILL']);
      await rt.waitStatus(id, 'stopped');
    }
    await waitFor(
      () => !pidAlive(pid),
      () => `pid ${pid} to die`,
    );
    expect(fs.existsSync(join(out, 'ran'))).toBe(false);
  });

  test('kill SIGKILL of a created container stops it; it can then no longer be started', async () => {
    // Kill applies to `created` containers too; Start: a container that is not `created` MUST
    // NOT be started (error, no effect): the user program never runs.
    const { b, out } = h.bundleWithOut(['touch', '/out/ran']);
    const id = h.id();
    h.create(id, b);
    rt.ok(['kill', id, 'KILL']);
    await rt.waitStatus(id, 'stopped');
    h.expectFails(['start', id]);
    await sleep(300);
    expect(fs.existsSync(join(out, 'ran'))).toBe(false);
    expect(rt.state(id).status).toBe('stopped');
  });

  test('kill of a stopped container fails and has no effect', async () => {
    // Kill: signalling a container that is neither `created` nor `running` MUST have no effect on
    // it and MUST generate an error.
    const b = h.bundle(['true']);
    const id = h.id();
    await h.runToCompletion(id, b);
    h.expectFails(['kill', id, 'KILL']);
    const s = rt.state(id);
    expect(s.status).toBe('stopped');
    expect(s.bundle).toBe(b.dir);
  });

  test('kill of a container that does not exist fails', () => {
    // Kill: a container that does not exist is neither created nor running: error.
    h.expectFails(['kill', h.id(), 'KILL']);
  });

  test('kill without a container id fails', () => {
    // Kill: it MUST generate an error if not given the container ID.
    h.expectFails(['kill']);
  });
});

describe('delete', () => {
  test('delete of a stopped container removes it and what create made; the id can be reused', async () => {
    // Delete: deleting MUST remove the resources created by `create` (lifecycle step 12: the
    // create step is undone); afterwards state of the id MUST fail (Query State: a container
    // that does not exist is an error). Once deleted, the id MAY be used again (both runc and
    // tsrunc allow it).
    const b = h.bundle(['true']);
    const id = h.id();
    await h.runToCompletion(id, b);
    rt.ok(['delete', id]);
    h.expectFails(['state', id]);
    expect(h.listIds()).not.toContain(id);
    expect(leftovers(id, b.dir)).toEqual([]);

    h.create(id, b);
    expect(rt.state(id).status).toBe('created');
  });

  test('delete of a running container (without --force) fails and it keeps running', async () => {
    // Delete: deleting a container that is not `stopped` MUST have no effect on it and MUST
    // generate an error.
    const b = h.bundle(['sleep', '1000']);
    const id = h.id();
    const pid = await h.startRunning(id, b);

    h.expectFails(['delete', id]);
    await sleep(300);
    expectUnchanged(rt, id, 'running', pid);
  });

  test('delete of a created container (without --force)', async () => {
    // Delete: a `created` container is not `stopped`, so deleting it MUST generate an error and
    // leave the container as it was.
    const { b, out } = h.bundleWithOut(['touch', '/out/ran']);
    const id = h.id();
    h.create(id, b);
    const pid = rt.state(id).pid;
    if (rt.isRunc) {
      // runc 1.1.5 diverges: `runc delete` of a created container succeeds, killing and removing
      // it (delete.go: a Created container is destroyed without --force).
      rt.ok(['delete', id]);
      h.expectFails(['state', id]);
      await waitFor(
        () => !pidAlive(pid),
        () => `pid ${pid} to die`,
      );
      return;
    }
    h.expectFails(['delete', id]);
    expectUnchanged(rt, id, 'created', pid);
    // It is still usable.
    rt.ok(['start', id]);
    await waitFor(
      () => fs.existsSync(join(out, 'ran')),
      () => 'the program to run',
    );
  });

  test('delete of a container that does not exist fails', () => {
    // Delete: a container that does not exist is not stopped: error.
    h.expectFails(['delete', h.id()]);
  });

  test('delete without a container id fails', () => {
    // Delete: it MUST generate an error if not given the container ID.
    h.expectFails(['delete']);
  });
});
