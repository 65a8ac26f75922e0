// Compiling a big generated file (the bundle, the schema validators) costs every command a few
// ms; V8's code cache, made at build time beside the file (FILE.cache), spares most of it. A cache
// V8 rejects (another node, other flags) only costs the plain compile.
import { readFileSync } from 'fs';
import { Script } from 'vm';

export type ModuleFunction = (
  exports: unknown,
  require: NodeRequire,
  module: { exports: unknown },
  filename: string,
  dirname: string,
) => void;

/** The file as a CommonJS module function; `cache: false` compiles without one (to make it). */
export function compileModule(file: string, cache = true): { fn: ModuleFunction; script: Script } {
  let cachedData: Buffer | undefined;
  if (cache) {
    try {
      cachedData = readFileSync(`${file}.cache`);
    } catch {
      // no cache: compile as usual
    }
  }
  // As UTF-8: node reads that into a string in C++, with no Buffer in between. A latin1 read went
  // through a Buffer (slower: ~1.4 against ~0.9 ms for the bundle), left for a collection that a
  // command does not run, so it stayed in each waiting init's memory (with its cache's).
  const source = readFileSync(file, 'utf8');
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, cachedData });
  return { fn: script.runInThisContext() as ModuleFunction, script };
}

/** Loads a CommonJS file through its code cache; its requires resolve as the caller's do. */
export function requireCached<T>(file: string, req: NodeRequire, dirname: string): T {
  const m = { exports: {} as T };
  compileModule(file).fn.call(m.exports, m.exports, req, m, file, dirname);
  return m.exports;
}
