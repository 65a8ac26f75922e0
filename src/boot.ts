// What bin/tsrunc runs: the bundled CLI (dist/tsrunc.js, made by scripts/bundle.js) loaded
// through its V8 code cache (util/code-cache.ts).
import { join } from 'path';
import { compileModule } from './util/code-cache';

export const BUNDLE = join(__dirname, 'tsrunc.js');

if (require.main === module) {
  // The bundle resolves its externals (koffi, yargs, validators) from dist/, as this file does.
  compileModule(BUNDLE).fn.call(module.exports, module.exports, require, module, BUNDLE, __dirname);
}
