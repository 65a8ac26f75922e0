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

/** A file's bytes had otherwise than by reading them (boot maps the bundles and their caches: sys/koffi-load.ts mapFile). */
export interface CacheBytes {
  bytes: Buffer;
  /** once they are used (V8 copies what it keeps of a cache, and a string is a copy) */
  release(): void;
}

/** Where a file's bytes can come from without read(2); undefined where they cannot (they are read then). */
export type MapBytes = (path: string) => CacheBytes | undefined;

/**
 * The file as a CommonJS module function; `cache: false` compiles without one (to make it).
 * mapBytes: where the file's and its cache's bytes come from; undefined from it, they are read.
 * cacheFile: the cache's path (FILE.cache unless the file has several: the light bundle's).
 */
export function compileModule(
  file: string,
  cache = true,
  mapBytes?: MapBytes,
  cacheFile = `${file}.cache`,
): { fn: ModuleFunction; script: Script } {
  const source = readSource(file, mapBytes);
  let had: CacheBytes | undefined;
  let script: Script;
  try {
    let cachedData: Buffer | undefined;
    if (cache) {
      had = tryMap(mapBytes, cacheFile);
      try {
        cachedData = had?.bytes ?? readFileSync(cacheFile);
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

/**
 * The file's text, decoded as UTF-8. Mapped where it can be, which takes the page cache's pages,
 * many to a fault: node's own UTF-8 read of a file writes fresh memory twice and more (the full
 * bundle, 252 KiB: 213 page faults, against 65 for its string alone; create, run and exec take
 * ~64 fewer until their command starts, ~10 µs each on this VM). Read as UTF-8 otherwise: node
 * reads that into a string in C++, where a read into a Buffer (~30 faults fewer) would leave it for
 * a collection that a command does not run, in the memory of every copy the process forks later.
 */
function readSource(file: string, mapBytes: MapBytes | undefined): string {
  const mapped = tryMap(mapBytes, file);
  if (!mapped) return readFileSync(file, 'utf8');
  try {
    return mapped.bytes.toString('utf8');
  } finally {
    mapped.release();
  }
}

function tryMap(mapBytes: MapBytes | undefined, path: string): CacheBytes | undefined {
  try {
    return mapBytes?.(path);
  } catch {
    return undefined; // read instead
  }
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
export function requireCached<T>(file: string, req: NodeRequire, dirname: string, mapBytes?: MapBytes): T {
  const m = { exports: {} as T };
  compileModule(file, true, mapBytes).fn.call(m.exports, m.exports, req, m, file, dirname);
  return m.exports;
}
