#!/usr/bin/env node
// Bundles the CLI into one file, dist/tsrunc.js (what bin/tsrunc runs): one read and one compile
// instead of some sixty module loads for each command. koffi (native), yargs (help and errors
// only) and the precompiled validators stay separate files, loaded when needed.
// Run by `npm run build` after tsc.
'use strict';
const path = require('path');
const esbuild = require('esbuild');

const dist = path.resolve(__dirname, '..', 'dist');
// `tsrunc --version` says which commit it was built from, as runc does.
{
  const r = require('child_process').spawnSync('git', ['describe', '--always', '--dirty', '--abbrev=12'], {
    cwd: path.resolve(__dirname, '..'),
    encoding: 'utf8',
  });
  const commit = r.status === 0 ? r.stdout.trim() : 'unknown';
  require('fs').writeFileSync(path.join(dist, 'build-info.json'), JSON.stringify({ commit }) + '\n');
}
esbuild.buildSync({
  entryPoints: [path.join(dist, 'main.js')],
  outfile: path.join(dist, 'tsrunc.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['koffi', 'yargs', 'yargs/*'],
  logLevel: 'warning',
});

// V8's code caches (src/util/code-cache.ts), made with the flags bin/tsrunc runs node with (V8
// rejects a cache made under other flags). A cache holds the functions that ran before it was
// made: each maker runs its file through work that touches nothing.
const { spawnSync } = require('child_process');
const fs = require('fs');
const cacheLib = JSON.stringify(path.join(dist, 'util', 'code-cache.js'));

function makeCache(file, code) {
  const r = spawnSync(process.execPath, ['--single-threaded', '--expose-gc', '-e', code], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (r.status !== 0 || !fs.existsSync(`${file}.cache`)) {
    process.stderr.write(`bundle: making the code cache of ${file} failed: ${r.stderr}\n`);
    process.exit(1);
  }
}

// The schema validators, after validating the default config (and a broken one) and a state.
const validators = path.join(dist, 'validators.js');
makeCache(
  validators,
  `
const fs = require('fs');
const { compileModule } = require(${cacheLib});
const file = ${JSON.stringify(validators)};
const { fn, script } = compileModule(file, false);
const m = { exports: {} };
fn.call(m.exports, m.exports, require, m, file, ${JSON.stringify(dist)});
const spec = require(${JSON.stringify(path.join(dist, 'ocispec', 'default-spec.js'))}).defaultSpec();
m.exports.validateConfig(spec);
m.exports.validateConfig({ ociVersion: 1, root: {}, process: { args: 'x' } });
m.exports.validateState({ ociVersion: '1.0.2', id: 'x', status: 'created', pid: 1, bundle: '/b', annotations: {} });
fs.writeFileSync(file + '.cache', script.createCachedData());
`,
);

// The bundle, after commands that touch nothing (an empty, made-up state root): the parser and
// the light commands' code are in its cache, not only the top level.
const bundle = path.join(dist, 'tsrunc.js');
makeCache(
  bundle,
  `
const fs = require('fs');
const { compileModule } = require(${cacheLib});
const file = ${JSON.stringify(bundle)};
const { fn, script } = compileModule(file, false);
const root = '/nonexistent/tsrunc-code-cache';
const runs = [['state', 'none'], ['list'], ['list', '--format', 'json'], ['kill', 'none', 'KILL'], ['delete', '--force', 'none'],
  ['delete', 'none'], ['start', 'none'], ['pause', 'none'], ['ps', 'none'], ['events', '--stats', 'none']];
const exit = process.exit;
const writeSync = fs.writeSync;
fs.writeSync = (fd, ...rest) => (fd === 1 || fd === 2 ? 0 : writeSync(fd, ...rest)); // quiet
(async () => {
  for (const args of runs) {
    await new Promise((resolve) => {
      process.exit = resolve;
      process.argv = [process.argv[0], 'tsrunc', '--root', root, ...args];
      const m = { exports: {} };
      fn.call(m.exports, m.exports, require, m, file, ${JSON.stringify(dist)});
    });
  }
  fs.writeFileSync(file + '.cache', script.createCachedData());
  exit(0);
})();
`,
);
