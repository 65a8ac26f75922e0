/*
 * Conformance: runtime.md "State" and "Query State".
 * Runs against tsrunc, or against RUNTIME (e.g. RUNTIME=/usr/sbin/runc npx jest conformance).
 */
import * as fs from 'fs';
import { basename, dirname, join } from 'path';
import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import { Harness, pidAlive, stateProblems } from './helpers';

const h = new Harness();
const rt = h.rt;
afterEach(() => h.cleanup());
afterAll(() => h.done());

describe('state', () => {
  test('a created container: ociVersion, id, status "created", a live pid and the absolute bundle path', () => {
    // State: ociVersion, id, status and bundle are REQUIRED; on Linux pid is REQUIRED when the
    // status is created or running and is the container process's id as the runtime sees it;
    // bundle is the absolute path of the bundle directory.
    const b = h.bundle(['sleep', '1000']);
    const id = h.id();
    h.create(id, b);
    const r = rt.run(['state', id]);
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(stateProblems(s, { id, status: 'created', bundle: b.dir })).toEqual([]);
    expect(typeof s.ociVersion).toBe('string');
    expect(s.pid as number).toBeGreaterThan(0);
    expect(fs.existsSync(`/proc/${s.pid as number}`)).toBe(true);
    expect(pidAlive(s.pid as number)).toBe(true);
  });

  test('the bundle in state is absolute even when create was given a relative path', () => {
    // State: bundle is the *absolute* path to the container's bundle directory (so consumers can
    // find config and rootfs on the host), whatever form the caller gave it in.
    const b = h.bundle(['sleep', '1000']);
    const id = h.id();
    const r = h.createIn(dirname(b.dir), basename(b.dir), id, join(b.dir, `${id}.out`));
    expect(r.status).toBe(0);
    const s = rt.state(id);
    expect(s.bundle).toBe(b.dir);
    expect(stateProblems(s, { id, status: 'created', bundle: b.dir })).toEqual([]);
  });

  test('a running container: status "running" and the pid of the running program', async () => {
    // State: `running` once the container process has executed the user program and not exited;
    // pid is REQUIRED while running.
    const b = h.bundle(['sleep', '1000']);
    const id = h.id();
    h.create(id, b);
    rt.ok(['start', id]);
    await rt.waitStatus(id, 'running');
    const s = rt.state(id);
    expect(stateProblems(s, { id, status: 'running', bundle: b.dir })).toEqual([]);
    expect(pidAlive(s.pid)).toBe(true);
  });

  test('a stopped container: status "stopped", still queryable with its id and bundle', async () => {
    // State: `stopped` once the container process has exited; the container exists (and can be
    // queried) until it is deleted. pid is not required then.
    const b = h.bundle(['true']);
    const id = h.id();
    await h.runToCompletion(id, b);
    const s = rt.state(id);
    expect(stateProblems(s, { id, status: 'stopped', bundle: b.dir })).toEqual([]);
    if (typeof s.pid === 'number' && s.pid > 0) expect(pidAlive(s.pid)).toBe(false);
  });

  test('annotations from config.json appear in the state', () => {
    // State: annotations (OPTIONAL) holds the annotations associated with the container, i.e.
    // those config.json gives; runc and tsrunc both report them.
    const b = h.bundle(['sleep', '1000'], (c) => {
      c.annotations = { 'org.opencontainers.conformance.key': 'value-1', 'org.example/other': '' };
    });
    const id = h.id();
    h.create(id, b);
    const s = rt.state(id);
    expect(stateProblems(s, { id, status: 'created' })).toEqual([]);
    expect(s.annotations).toEqual({ 'org.opencontainers.conformance.key': 'value-1', 'org.example/other': '' });
  });

  test('state does not change the container', () => {
    // Query State only returns the state: querying a created container repeatedly must not run
    // the user program nor change the status (Lifecycle step 2: the program is not run before
    // start).
    const { b, out } = h.bundleWithOut(['touch', '/out/ran']);
    const id = h.id();
    h.create(id, b);
    const first = rt.state(id);
    for (let i = 0; i < 3; i++) expect(rt.state(id)).toEqual(first);
    expect(fs.existsSync(join(out, 'ran'))).toBe(false);
  });

  test('state of a container that does not exist fails', () => {
    // Query State: querying a container that does not exist MUST generate an error.
    const r = h.expectFails(['state', h.id()]);
    expect(r.stdout.trim()).toBe('');
  });

  test('state without a container id fails', () => {
    // Query State: it MUST generate an error if it is not given a container ID.
    h.expectFails(['state']);
  });

  test('state of a deleted container fails', async () => {
    // Query State / Delete: after delete the container does not exist, so state MUST fail.
    const b = h.bundle(['true']);
    const id = h.id();
    await h.runToCompletion(id, b);
    rt.ok(['delete', id]);
    h.expectFails(['state', id]);
  });
});
