// What bin/tsrunc runs: the bundled CLI (dist/tsrunc.js) compiled with V8's code cache made at
// build time (dist/tsrunc.js.cache), so a command does not pay for compiling ~330 KB of code.
// A cache V8 rejects (another node, other flags) only costs the plain compile.
import { readFileSync } from 'fs';
import { join } from 'path';
import { Script } from 'vm';

export const BUNDLE = join(__dirname, 'tsrunc.js');
export const CODE_CACHE = `${BUNDLE}.cache`;

/** The bundle as a CommonJS module function, compiled with the code cache when there is one. */
export function compileBundle(cachedData?: Buffer): Script {
  const source = readFileSync(BUNDLE, 'utf8');
  return new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: BUNDLE, cachedData });
}

function main(): void {
  let cache: Buffer | undefined;
  try {
    cache = readFileSync(CODE_CACHE);
  } catch {
    // no cache: compile as usual
  }
  const fn = compileBundle(cache).runInThisContext() as (e: unknown, r: NodeRequire, m: NodeModule, f: string, d: string) => void;
  // The bundle resolves its externals (koffi, yargs, validators) from dist/, as this file does.
  fn.call(module.exports, module.exports, require, module, BUNDLE, __dirname);
}

if (require.main === module) main();
