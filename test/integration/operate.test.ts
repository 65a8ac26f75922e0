// Operating running containers: pause/resume, ps, features.
import { afterAll, describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import { join } from 'path';
import { makeBundle, uniqueId, type Bundle } from '../helpers/bundle';
import { Runtime, leftovers } from '../helpers/runtime';

const rt = new Runtime();
const bundles: Bundle[] = [];
afterAll(() => { rt.cleanup(); for (const b of bundles) b.remove(); });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('pause and resume', () => {
  test('pause freezes a counter, state says paused, resume thaws it; delete --force of a paused container works', async () => {
    const b = makeBundle(['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /shared/count; sleep 0.02; done'], (c) => {
      c.mounts.push({ destination: '/shared', type: 'bind', source: 'shared', options: ['bind'] });
    });
    bundles.push(b);
    fs.mkdirSync(join(b.dir, 'shared'));
    const count = () => Number(fs.readFileSync(join(b.dir, 'shared', 'count'), 'utf8'));
    const id = uniqueId();
    expect(rt.create(id, b.dir).status).toBe(0);
    rt.ok(['start', id]);
    await sleep(300);
    rt.ok(['pause', id]);
    expect(rt.state(id).status).toBe('paused');
    const frozenAt = count();
    await sleep(300);
    expect(count()).toBe(frozenAt);
    expect(rt.run(['pause', id]).stderr).toMatch(/it is paused, not running/);
    rt.ok(['resume', id]);
    expect(rt.state(id).status).toBe('running');
    await sleep(300);
    expect(count()).toBeGreaterThan(frozenAt);
    rt.ok(['pause', id]);
    rt.ok(['delete', '--force', id]);
    expect(leftovers(id, b.dir)).toEqual([]);
  });
});

describe('ps', () => {
  test('lists the container\'s processes as pids (json) and as ps(1) lines (table)', async () => {
    const b = makeBundle(['sh', '-c', 'sleep 30 & sleep 31 & wait']);
    bundles.push(b);
    const id = uniqueId();
    expect(rt.create(id, b.dir).status).toBe(0);
    rt.ok(['start', id]);
    await sleep(300);
    const pids = JSON.parse(rt.ok(['ps', '--format', 'json', id])) as number[];
    expect(pids).toHaveLength(3);
    expect(pids).toContain(rt.state(id).pid);
    const table = rt.ok(['ps', id]).trim().split('\n');
    expect(table[0]).toMatch(/PID/);
    expect(table.slice(1).join('\n')).toMatch(/sleep 30[\s\S]*sleep 31|sleep 31[\s\S]*sleep 30/);
    expect(rt.ok(['ps', id, '--', '-o', 'pid,comm']).trim().split('\n')).toHaveLength(4);
  });
});

test('features describes what tsrunc supports', () => {
  const f = JSON.parse(rt.ok(['features']));
  expect(f.ociVersionMax).toBe('1.2.0');
  expect(f.linux.namespaces).toContain('user');
  expect(f.linux.seccomp.enabled).toBe(true);
  expect(f.linux.apparmor.enabled).toBe(false);
});
