// The package as users get it: `npm pack`, then `npm install -g` of the tarball gives a working
// tsrunc (and the library), with nothing of the checkout behind it.
import { afterAll, describe, expect, test } from '@jest/globals';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { REPO } from '../helpers/bundle';

const work = fs.mkdtempSync(join(os.tmpdir(), 'tsr-pack-'));
afterAll(() => {
  spawnSync(join(work, 'prefix', 'bin', 'tsrunc'), ['--root', join(work, 'root'), 'delete', '--force', 'packed']);
  fs.rmSync(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  test('the tarball installs globally as a tsrunc that runs a container', () => {
    const pkg = JSON.parse(fs.readFileSync(join(REPO, 'package.json'), 'utf8')) as {
      private?: boolean;
      scripts: Record<string, string>;
      files: string[];
    };
    expect(pkg.private).toBeUndefined();
    expect(pkg.scripts.prepack).toBe('npm run build'); // a tarball packed from a fresh clone has its dist/
    // dist/ is built already (setup.sh): pack it as it is rather than build again under the tests
    const name = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], { cwd: REPO, encoding: 'utf8' })
      .trim()
      .split('\n')
      .pop()!;
    const files = execFileSync('tar', ['tzf', join(work, name)], { encoding: 'utf8' }).split('\n');
    expect(files).toEqual(
      expect.arrayContaining([
        'package/bin/tsrunc',
        'package/dist/boot.cjs',
        'package/dist/tsrunc.js',
        'package/dist/index.js',
        'package/dist/index.d.ts',
        'package/dist/validators.js',
      ]),
    );
    expect(files.filter((f) => /^package\/(src|test|node_modules|build)\//.test(f))).toEqual([]);
    const prefix = join(work, 'prefix');
    execFileSync(
      'npm',
      ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--silent', join(work, name)],
      { encoding: 'utf8' },
    );
    const tsrunc = join(prefix, 'bin', 'tsrunc');
    expect(execFileSync(tsrunc, ['--version'], { encoding: 'utf8' })).toMatch(/^tsrunc version \d+\.\d+\.\d+\ncommit: /);
    const box = join(work, 'box');
    execFileSync(
      join(prefix, 'lib', 'node_modules', 'tsrunc', 'scripts', 'make-bundle.sh'),
      [box, 'sh', '-c', 'echo hello from $(hostname)'],
      { stdio: 'ignore' },
    );
    const r = spawnSync(tsrunc, ['--root', join(work, 'root'), 'run', '--bundle', box, 'packed'], { encoding: 'utf8', timeout: 30000 });
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: 'hello from runc\n', stderr: '' });
  }, 180_000);
});
