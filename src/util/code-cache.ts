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

/** A cache's bytes had otherwise than by reading them (boot maps the full bundle's: sys/koffi-load.ts mapFile). */
export interface CacheBytes {
  bytes: Buffer;
  /** once V8 has taken them (it copies what it keeps) */
  release(): void;
}

/**
 * The file as a CommonJS module function; `cache: false` compiles without one (to make it).
 * readCache: where the cache's bytes come from; undefined from it, they are read.
 */
export function compileModule(
  file: string,
  cache = true,
  readCache?: (path: string) => CacheBytes | undefined,
): { fn: ModuleFunction; script: Script } {
  // As UTF-8: node reads that into a string in C++, with no Buffer in between. A latin1 read went
  // through a Buffer (slower: ~1.4 against ~0.9 ms for the bundle), left for a collection that a
  // command does not run, so it stayed in each waiting init's memory (with its cache's).
  const source = readFileSync(file, 'utf8');
  let had: CacheBytes | undefined;
  let script: Script;
  try {
    let cachedData: Buffer | undefined;
    if (cache) {
      try {
        had = readCache?.(`${file}.cache`);
      } catch {
        // read instead
      }
      try {
        cachedData = had?.bytes ?? readFileSync(`${file}.cache`);
      } catch {
        // no cache: compile as usual
      }
    }
    script = new Script(wrapped(source), { filename: file, cachedData });
  } finally {
    had?.release();
  }
  return { fn: script.runInThisContext() as ModuleFunction, script };
}

/** What the bundles begin with (scripts/bundle.js): they are written as a module function already. */
export const MODULE_HEAD = '(function (exports, require, module, __filename, __dirname) {';
export const MODULE_TAIL = '\n})';

/**
 * The source as a module function. The bundles are one already: wrapping them here made a
 * string that V8 copies whole before compiling (~64 pages for the full bundle, each a page fault,
 * ~10 µs on this VM).
 */
function wrapped(source: string): string {
  return source.startsWith(MODULE_HEAD) ? source : `${MODULE_HEAD}${source}${MODULE_TAIL}`;
}

/** Loads a CommonJS file through its code cache; its requires resolve as the caller's do. */
export function requireCached<T>(file: string, req: NodeRequire, dirname: string): T {
  const m = { exports: {} as T };
  compileModule(file).fn.call(m.exports, m.exports, req, m, file, dirname);
  return m.exports;
}
