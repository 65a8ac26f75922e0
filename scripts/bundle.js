#!/usr/bin/env node
// Bundles the CLI into one file, dist/tsrunc.js (what bin/tsrunc runs): one read and one compile
// instead of some sixty module loads for each command. koffi (native), yargs (help and errors
// only) and the precompiled validators stay separate files, loaded when needed.
// Run by `npm run build` after tsc.
'use strict';
const path = require('path');
const esbuild = require('esbuild');

const dist = path.resolve(__dirname, '..', 'dist');
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

// V8's code cache for the bundle, made with the flags bin/tsrunc runs node with (V8 rejects a
// cache made under other flags). After a run of the parser and a `state` of nothing, so the
// functions every command needs are in it, not only the top level.
const { spawnSync } = require('child_process');
const make = `
const fs = require('fs');
const { compileBundle, CODE_CACHE } = require(${JSON.stringify(path.join(dist, 'boot.js'))});
const script = compileBundle();
const fn = script.runInThisContext();
const m = { exports: {} };
process.argv = [process.argv[0], 'tsrunc', '--root', '/nonexistent/tsrunc-code-cache', 'state', 'none'];
const exit = process.exit;
process.exit = () => { fs.writeFileSync(CODE_CACHE, script.createCachedData()); exit(0); };
fn.call(m.exports, m.exports, require, m, ${JSON.stringify(path.join(dist, 'tsrunc.js'))}, ${JSON.stringify(dist)});
`;
const r = spawnSync(process.execPath, ['--single-threaded', '--expose-gc', '-e', make], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
if (r.status !== 0 || !require('fs').existsSync(path.join(dist, 'tsrunc.js.cache'))) {
  process.stderr.write(`bundle: making the code cache failed: ${r.stderr}\n`);
  process.exit(1);
}
