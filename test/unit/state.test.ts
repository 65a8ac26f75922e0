import { afterAll, describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { StateStore, deriveStatus, ociState, validateId, type StoredState } from '../../src/state/store';
import { procStat } from '../../src/state/proc';

const root = fs.mkdtempSync(join(os.tmpdir(), 'tsr-unit-state-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function state(over: Partial<StoredState> = {}): StoredState {
  return {
    ociVersion: '1.2.0',
    id: 'c1',
    bundle: '/b',
    rootfs: '/b/rootfs',
    annotations: {},
    created: 'now',
    owner: '',
    creatorPid: process.pid,
    creatorStartTime: procStat(process.pid)!.startTime,
    ready: false,
    started: false,
    newPidNamespace: true,
    namespaceTypes: [],
    ...over,
  };
}

describe('container ids', () => {
  test.each(['abc', 'a-b_c.d+e', 'x'.repeat(100)])('%s is accepted', (id) => expect(() => validateId(id)).not.toThrow());
  test.each(['', '.', '..', 'a/b', '../x', 'a b', 'é'])('%j is refused', (id) => expect(() => validateId(id)).toThrow());
});

describe('store', () => {
  const store = new StateStore(root);
  test('create, save, load, duplicate, remove', () => {
    store.createDir('c1');
    expect(() => store.createDir('c1')).toThrow(/already exists/);
    store.save(state());
    expect(store.load('c1').id).toBe('c1');
    expect(store.list()).toEqual(['c1']);
    store.remove('c1');
    expect(() => store.load('c1')).toThrow(/does not exist/);
  });
});

describe('status is derived from the real processes', () => {
  const me = procStat(process.pid)!.startTime;
  test('creating while the creator lives; stopped when it died unfinished', () => {
    expect(deriveStatus(state())).toBe('creating');
    expect(deriveStatus(state({ creatorPid: 999999999 }))).toBe('stopped');
  });
  test('created, then running after start, using the init pid', () => {
    expect(deriveStatus(state({ ready: true, pid: process.pid, pidStartTime: me }))).toBe('created');
    expect(deriveStatus(state({ ready: true, started: true, pid: process.pid, pidStartTime: me }))).toBe('running');
  });
  test('a reused pid (other start time) means stopped', () => {
    expect(deriveStatus(state({ ready: true, started: true, pid: process.pid, pidStartTime: '1' }))).toBe('stopped');
  });
  test('the OCI state document: pid only while alive', () => {
    const s = ociState(state({ ready: true, pid: process.pid, pidStartTime: me, annotations: { a: 'b' } }));
    expect(s).toMatchObject({ ociVersion: '1.2.0', id: 'c1', status: 'created', pid: process.pid, bundle: '/b', annotations: { a: 'b' } });
    expect(ociState(state({ ready: true, pid: 999999999 })).pid).toBe(0);
  });
});
