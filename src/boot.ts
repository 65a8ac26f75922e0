// What bin/tsrunc runs (as dist/boot.cjs, this file and its code-cache loader in one: see
// scripts/bundle.js): one of the bundled CLIs, loaded through its V8 code cache
// (util/code-cache.ts): the light one for the commands that only read, signal, freeze or take
// away, the full one for the others.
import { join } from 'path';
import { compileModule } from './util/code-cache';
import { mapFile } from './sys/koffi-load';

export const BUNDLE = join(__dirname, 'tsrunc.js');
export const LIGHT_BUNDLE = join(__dirname, 'tsrunc-light.js');

/** LIGHT_COMMANDS of cli/commands/light-index.ts (a unit test keeps them equal: importing them here would cost a module load). */
export const LIGHT = new Set(['state', 'kill', 'list', 'events', 'ps', 'pause', 'resume', 'start', 'delete']);
/**
 * The commands whose cgroup move boot primes (cgroups/prime.ts, where a move waits for a grace
 * period: movesWait), and bin/tsrunc's helper before node starts (a unit test keeps its list
 * equal): boot's move keeps the lock in its writer mode where the helper's wait is over already,
 * and starts that wait where no helper ran (node run on this file directly). exec's moves ~10 ms
 * after boot.
 * create's and run's init moves ~35 ms after boot, when a priming this early alone has often let
 * the lock leave its writer mode again (measured: 'init placed in its cgroups' 12–36 ms against
 * 1.1–1.7): create primes once more at its own start, which finds the lock in that mode still (no
 * wait) and keeps it there. Boot's priming is for the grace period itself: started ~10 ms
 * earlier, it is over before create makes the container's cgroups (a mkdir waits for the lock the
 * priming move holds through it), where create's own often was not.
 */
export const PRIMED_AT_BOOT = new Set(['exec', 'create', 'run']);
/**
 * The light bundle's code caches, one for each group of its commands (scripts/bundle.js makes
 * each by running its group's commands): a V8 code cache holds every function that ran when it
 * was made, and deserializing one costs a command page faults for all of them, so `state` is not
 * made to take start's and delete's code (its cache 123 -> ~86 KB, ~35 page faults fewer).
 */
export const LIGHT_CACHES: Readonly<Record<string, readonly string[]>> = {
  read: ['state', 'kill', 'list'],
  observe: ['ps', 'events'],
  change: ['start', 'pause', 'resume'],
  remove: ['delete'],
};

/**
 * The commands bin/tsrunc runs with V8's `--no-rehash-snapshot` (a unit test keeps its list
 * equal): V8 keeps its snapshot's string hash seed rather than drawing one and searching three
 * 64-bit primes for its hash secret (~4 ms of every start). Anyone with the same node binary
 * knows that seed, so chosen keys can collide in V8's hash tables: these commands hash only their
 * arguments and the container's state (written by create; its annotations are the config's).
 * The others keep a seed of their own: create, run and exec parse a config and a process written
 * by whoever asked for the container (its environment's short entries become hashed strings),
 * delete, ps and events walk cgroups the container may have made and named. A light bundle
 * cache's group is all of one kind or of the other (its cache is made under its commands' flags).
 */
export const KNOWN_SEED = new Set(['state', 'kill', 'list', 'start', 'pause', 'resume']);

/** The cache boot compiles a light command's bundle with: its group's. */
export function lightCacheOf(command: string): string {
  const group = Object.keys(LIGHT_CACHES).find((g) => LIGHT_CACHES[g].includes(command)) ?? 'change';
  return `${LIGHT_BUNDLE}.${group}.cache`;
}

/**
 * The commands that load koffi (libc) whatever container they are given (not for --help or a
 * usage error, which then pay its load for nothing): boot loads it first and maps their
 * bundle and its code cache instead of reading them (sys/koffi-load.ts mapFile). The others
 * (state, kill, list, ps, events) never load it, and it costs more to load than mapping saves.
 */
export const MAPPED_AT_BOOT = new Set(['exec', 'create', 'run', 'start', 'delete', 'pause', 'resume']);
/** The global options that take a value (cli/table.ts; a unit test keeps them equal). */
export const GLOBAL_VALUE_OPTIONS = new Set(['--root', '--log', '--log-format', '--rootless', '--criu']);

/**
 * The command's name as the parser will read it, for the common forms; a form read otherwise
 * only costs a detour (the light bundle hands what it lacks to the full one).
 */
export function commandOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return undefined;
    if (!a.startsWith('-') || a === '-') return a;
    if (GLOBAL_VALUE_OPTIONS.has(a)) i++;
  }
  return undefined;
}

if (require.main === module) {
  const command = commandOf(process.argv.slice(2));
  // create, run and exec start the kernel lock's wait now, where a move waits (cgroups/prime.ts,
  // bundled into boot.cjs)
  if (command !== undefined && PRIMED_AT_BOOT.has(command) && process.geteuid?.() === 0) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('./cgroups/prime') as typeof import('./cgroups/prime')).primeCgroupMoveEarly();
  }
  const light = command !== undefined && LIGHT.has(command) ? command : undefined;
  const file = light !== undefined ? LIGHT_BUNDLE : BUNDLE;
  // These load koffi anyway: with it, their bundle and its code cache are mapped instead of read
  // (create, run and exec: the full bundle, ~250 KB, and its cache, ~600 KB, ~210 page faults
  // fewer; start, delete, pause and resume: the light one's, ~50).
  const mapBytes = command !== undefined && MAPPED_AT_BOOT.has(command) ? mapFile : undefined;
  // The bundles resolve their externals (koffi, yargs, validators) from dist/, as this file does.
  const cacheFile = light !== undefined ? lightCacheOf(light) : undefined;
  compileModule(file, true, mapBytes, cacheFile).fn.call(module.exports, module.exports, require, module, file, __dirname);
}
