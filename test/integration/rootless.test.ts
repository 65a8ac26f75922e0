// Rootless: tsrunc run by an ordinary user (created here), with `spec --rootless`.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { TSRUNC, makeBundle, type Bundle } from '../helpers/bundle';

const USER = 'tsrtest';
let uid: number;
let gid: number;
let home: string;
const bundles: Bundle[] = [];

/** Runs tsrunc as the unprivileged user, with its own XDG_RUNTIME_DIR. */
function asUser(args: string[], cwd?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(TSRUNC, args, {
    uid,
    gid,
    cwd,
    encoding: 'utf8',
    timeout: 30000,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, XDG_RUNTIME_DIR: join(home, 'run'), HOME: home },
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function userBundle(args: string[]): Bundle {
  const b = makeBundle(args);
  bundles.push(b);
  fs.rmSync(join(b.dir, 'config.json'));
  execFileSync('chown', ['-R', `${uid}:${gid}`, b.dir]);
  expect(asUser(['spec', '--rootless'], b.dir).status).toBe(0);
  const cfg = JSON.parse(fs.readFileSync(join(b.dir, 'config.json'), 'utf8'));
  cfg.process.args = args;
  cfg.process.terminal = false;
  fs.writeFileSync(join(b.dir, 'config.json'), JSON.stringify(cfg));
  return b;
}

beforeAll(() => {
  if (spawnSync('id', [USER]).status !== 0) execFileSync('useradd', ['-M', '-s', '/bin/sh', USER]);
  uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }));
  gid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }));
  home = fs.mkdtempSync(join(os.tmpdir(), 'tsr-test-rootless-'));
  fs.chmodSync(home, 0o755);
  fs.mkdirSync(join(home, 'run'));
  execFileSync('chown', ['-R', `${uid}:${gid}`, home]);
});
afterAll(() => {
  const root = join(home, 'run', 'tsrunc');
  if (fs.existsSync(root)) for (const id of fs.readdirSync(root)) asUser(['delete', '--force', id]);
  fs.rmSync(home, { recursive: true, force: true });
  for (const b of bundles) b.remove();
});

describe('rootless', () => {
  test('spec --rootless maps the caller to root in a user namespace, without cgroups', () => {
    const b = userBundle(['true']);
    const cfg = JSON.parse(fs.readFileSync(join(b.dir, 'config.json'), 'utf8'));
    expect(cfg.linux.uidMappings).toEqual([{ containerID: 0, hostID: uid, size: 1 }]);
    expect(cfg.linux.namespaces).toContainEqual({ type: 'user' });
    expect(cfg.linux.resources).toBeUndefined();
    expect(cfg.mounts.some((m: { type: string }) => m.type === 'sysfs')).toBe(false);
  });

  test("run: root inside, the caller's uid outside, state under $XDG_RUNTIME_DIR", () => {
    const b = userBundle(['sh', '-c', 'id -u; cat /proc/self/uid_map; echo $$; touch /tmp/x 2>/dev/null || echo ro']);
    const r = asUser(['run', 'rl1'], b.dir);
    expect(r.stderr).toBe('');
    expect(
      r.stdout
        .split('\n')
        .slice(0, 3)
        .map((l) => l.trim().split(/\s+/).join(' ')),
    ).toEqual(['0', `0 ${uid} 1`, '1']);
    expect(fs.existsSync(join(home, 'run', 'tsrunc'))).toBe(true);
  });

  test('the lifecycle and exec work for the unprivileged user', () => {
    const b = userBundle(['sleep', '30']);
    const out = fs.openSync(join(b.dir, 'out'), 'w');
    const c = spawnSync(TSRUNC, ['create', 'rl2'], {
      uid,
      gid,
      cwd: b.dir,
      stdio: ['ignore', out, out],
      env: { PATH: process.env.PATH, XDG_RUNTIME_DIR: join(home, 'run') },
    });
    fs.closeSync(out);
    expect(c.status).toBe(0);
    expect(JSON.parse(asUser(['state', 'rl2']).stdout).status).toBe('created');
    expect(asUser(['start', 'rl2']).status).toBe(0);
    expect(asUser(['exec', 'rl2', 'sh', '-c', 'id -u']).stdout).toBe('0\n');
    expect(asUser(['kill', 'rl2', 'KILL']).status).toBe(0);
    expect(asUser(['delete', '--force', 'rl2']).status).toBe(0);
    expect(asUser(['list', '-q']).stdout).toBe('');
  });

  test('what an unprivileged user cannot do is a clear error', () => {
    const b = userBundle(['true']);
    const cfg = JSON.parse(fs.readFileSync(join(b.dir, 'config.json'), 'utf8'));
    cfg.linux.resources = { memory: { limit: 1 << 26 } };
    fs.writeFileSync(join(b.dir, 'config.json'), JSON.stringify(cfg));
    expect(asUser(['run', 'rl3'], b.dir).stderr).toMatch(/linux.resources.memory: a non-root caller has no cgroups/);
    cfg.linux.resources = undefined;
    cfg.linux.namespaces = cfg.linux.namespaces.filter((n: { type: string }) => n.type !== 'user');
    delete cfg.linux.uidMappings;
    delete cfg.linux.gidMappings;
    fs.writeFileSync(join(b.dir, 'config.json'), JSON.stringify(cfg));
    expect(asUser(['run', 'rl4'], b.dir).stderr).toMatch(/a non-root caller needs a user namespace/);
    expect(asUser(['list', '-q']).stdout).toBe('');
  });
});
