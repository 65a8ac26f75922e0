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
