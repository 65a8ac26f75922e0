// koffi's native module, one instance per process: boot (dist/boot.cjs) loads it before their
// bundle for the commands that load it anyway (boot.ts: MAPPED_AT_BOOT), to map the bundle and its
// code cache (mapFile); the bundle's libc binding (koffi-libc.ts) takes the same instance, on
// `process`, as boot and the bundle share nothing else.
import type koffiModule from 'koffi';
import { closeSync, existsSync, fstatSync, openSync, readFileSync } from 'fs';
import { dirname, join } from 'path';

export type Koffi = typeof koffiModule;

const LOADED = Symbol.for('tsrunc.koffi');
const shared = process as unknown as Record<symbol, Koffi | undefined>;

/**
 * Loaded directly where the platform package keeps it for glibc: koffi's own entry costs every
 * command ~6 ms (util and module loads, an ELF read of the node binary to tell glibc from musl, a
 * search for the file). Anything unexpected falls back to that entry.
 */
export function loadKoffi(): Koffi {
  return (shared[LOADED] ??= loadNative());
}

/** Whether this process has loaded koffi already (loading it costs a command ~2 ms). */
export function koffiLoaded(): boolean {
  return shared[LOADED] !== undefined;
}

function loadNative(): Koffi {
  try {
    const pkg = platformPackage();
    const { version } = JSON.parse(readFileSync(pkg, 'utf8')) as { version: string };
    const m = { exports: {} as Koffi & { version?: string } };
    process.dlopen(m, join(dirname(pkg), `${process.platform}_${process.arch}`, 'koffi.node'));
    if (m.exports.version === version) return m.exports;
  } catch {
    // another layout (musl, a bundled koffi): its own loader knows
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('koffi') as Koffi;
}

/**
 * The platform package's package.json, looked for in the node_modules of this module's directory
 * and the two above it (a bundle in dist/, tsc's dist/sys/, src/sys/ under ts-jest: the order Node
 * searches them in), as require.resolve would find it there; require.resolve itself (~0.3 ms of
 * its general machinery, every command that loads koffi) only where it is elsewhere.
 */
function platformPackage(): string {
  const name = `@koromix/koffi-${process.platform}-${process.arch}`;
  for (let d = __dirname, i = 0; i < 3; i++, d = dirname(d)) {
    const candidate = join(d, 'node_modules', name, 'package.json');
    if (existsSync(candidate)) return candidate;
  }
  return require.resolve(`${name}/package.json`);
}

const PROT_READ = 1;
const MAP_PRIVATE = 2;
const MAP_FAILED = 0xffffffffffffffffn;

type Mmap = (addr: null, len: number, prot: number, flags: number, fd: number, off: number) => unknown;
type Munmap = (addr: unknown, len: number) => number;
let calls: { mmap: Mmap; munmap: Munmap } | undefined;

/** A file's bytes in a mapping of it; release() takes the mapping away (bytes must not be read after). */
export interface MappedFile {
  bytes: Buffer;
  release(): void;
}

/**
 * A file's bytes as a Buffer over a private read-only mapping of it, or undefined where it cannot
 * be mapped (the caller reads it instead). For a big file read once: read(2) into a Buffer writes
 * each page of fresh memory (a fault each, ~10 µs on this VM, and a copy), where the mapping takes
 * the page cache's pages, many to a fault. Unmapped as soon as it is used: a forked copy (a
 * container's init) must not hold a mapping of the runtime's files. A file truncated in place
 * while mapped would fault (SIGBUS) where a read only saw it short: the build replaces the bundles
 * and their caches with new files rather than rewriting them (scripts/bundle.js), and the mapping
 * lives only for one compile.
 */
export function mapFile(path: string): MappedFile | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return undefined;
    const koffi = loadKoffi();
    if (!calls) {
      const libc = koffi.load('libc.so.6');
      calls = {
        mmap: libc.func('void *mmap(void *, size_t, int, int, int, long)') as Mmap,
        munmap: libc.func('int munmap(void *, size_t)') as Munmap,
      };
    }
    const { mmap, munmap } = calls;
    const p = mmap(null, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p === null || koffi.address(p) === MAP_FAILED) return undefined;
    try {
      return { bytes: Buffer.from(koffi.view(p, size)), release: () => void munmap(p, size) };
    } catch {
      munmap(p, size); // no view of it: not left mapped for a copy to inherit
      return undefined;
    }
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
