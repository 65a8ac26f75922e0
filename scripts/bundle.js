#!/usr/bin/env node
// Bundles the CLI into one file, dist/tsrunc.js, and its light commands into a smaller one,
// dist/tsrunc-light.js: one read and one compile instead of some sixty module loads for each
// command; bin/tsrunc runs dist/boot.cjs, src/boot.ts with its code-cache loader in one file.
// koffi (native), yargs (help and errors only) and the precompiled validators stay separate
// files, loaded when needed.
// Run by `npm run build` after tsc.
'use strict';
const path = require('path');
const esbuild = require('esbuild');

const dist = path.resolve(__dirname, '..', 'dist');
const src = path.resolve(__dirname, '..', 'src');
// `tsrunc --version` says which commit it was built from, as runc does.
{
  const r = require('child_process').spawnSync('git', ['describe', '--always', '--dirty', '--abbrev=12'], {
    cwd: path.resolve(__dirname, '..'),
    encoding: 'utf8',
  });
  const commit = r.status === 0 ? r.stdout.trim() : 'unknown';
  require('fs').writeFileSync(path.join(dist, 'build-info.json'), JSON.stringify({ commit }) + '\n');
}
// The light bundle: the commands that only read, signal, freeze or take away (LIGHT_COMMANDS,
// src/cli/commands/light-index.ts), which dist/boot.cjs picks by the command's name. What only
// create, run and exec use stays out: should a light command reach it after all, it is
// required from dist/ as tsc wrote it.
const FULL_ONLY = ['container/create', 'container/run', 'container/exec', 'loader/load', 'loader/exec-process', 'ocispec/default-spec'];
const fullOnlyOutside = {
  name: 'full-only-outside',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\// }, (a) => {
      const rel = path.relative(src, path.resolve(a.resolveDir, a.path)).replace(/\.(js|ts)$/, '');
      return FULL_ONLY.includes(rel) ? { path: `./${rel}.js`, external: true } : undefined;
    });
  },
};

// fs's callback functions (src/process/copy.ts: the copy forbids them), as this node has them:
// each fork is spared finding them where the same node runs the bundle.
const fsCallbacks = `${process.version} ${require(path.join(dist, 'process', 'copy.js'))
  .findCallbackNames(require('fs'))
  .join(',')}`;

const common = {
  bundle: true,
  define: { TSRUNC_BUILD_FS_CALLBACKS: JSON.stringify(fsCallbacks) },
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['koffi', 'yargs', 'yargs/*'],
  // From the TypeScript sources, not tsc's CommonJS: modules that are only imported are hoisted
  // into one scope (no module object, no exports assignments, no property reads through them),
  // which leaves less code to read and less to run before each command (run: ~4 ms).
  tsconfig: path.resolve(__dirname, '..', 'tsconfig.json'),
  // Every command reads and decodes its whole bundle: without comments and indentation it is a
  // third smaller. Names stay (stack traces); the map leads back to src/'s files.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'external',
  charset: 'ascii',
  logLevel: 'warning',
};
// V8's code caches (src/util/code-cache.ts), made with the flags bin/tsrunc runs node with (V8
// rejects a cache made under other flags): read from its exec line, so the two cannot drift, and
// its $seed flag, which some light commands get (src/boot.ts KNOWN_SEED): their groups' caches
// are made under it too.
const { spawnSync } = require('child_process');
const fs = require('fs');
const cacheLib = JSON.stringify(path.join(dist, 'util', 'code-cache.js'));
const launcher = fs.readFileSync(path.resolve(__dirname, '..', 'bin', 'tsrunc'), 'utf8');
const flagsLine = /^exec "\$exe" ((?:--[a-z-]+(?:=[^ "]+)? )+)\$seed "\$\{self%\/\*\}\/\.\.\/dist\/boot\.cjs"/m.exec(launcher);
const seedLine = /^ {2}[a-z |]+\) seed=(--[a-z-]+) ;;$/m.exec(launcher);
if (!flagsLine || !seedLine) {
  process.stderr.write("bundle: bin/tsrunc's exec line (node's flags) or its seed flag not found\n");
  process.exit(1);
}
const NODE_FLAGS = flagsLine[1].trim().split(' ');
const SEED_FLAG = seedLine[1];

function makeCache(file, code, cacheFile = `${file}.cache`, flags = NODE_FLAGS) {
  // a cache left by an earlier build must not pass for this one's
  fs.rmSync(cacheFile, { force: true });
  const r = spawnSync(process.execPath, [...flags, '-e', code], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    timeout: 120_000, // a run that hangs fails the build
  });
  if (r.status !== 0 || !fs.existsSync(cacheFile)) {
    process.stderr.write(`bundle: making the code cache of ${file} failed: ${r.stderr}\n`);
    process.exit(1);
  }
}

/**
 * A cache of every function of file, the nested ones too: compiled eagerly (V8's --no-lazy, for
 * this one compile only; the flags are as they were again when the cache is written, so it is
 * accepted under them). For the full bundle, whose create, run and exec cannot be run here to
 * warm a cache (they make containers): without it each of them compiled ~10 ms of functions on
 * first call, and the forked copy compiled init's anew in every container.
 */
function makeEagerCache(file) {
  makeCache(
    file,
    `
const fs = require('fs');
const v8 = require('v8');
const { compileModule } = require(${cacheLib});
const file = ${JSON.stringify(file)};
v8.setFlagsFromString('--no-lazy');
const { script } = compileModule(file, false);
v8.setFlagsFromString('--lazy');
fs.writeFileSync(file + '.cache', script.createCachedData());
`,
  );
}

// The schema validators, after validating the default config (and a broken one) and a state.
function makeValidatorsCache(validators) {
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
}

// The light bundle's caches, one for each group of its commands (src/boot.ts: LIGHT_CACHES), each
// after its group's commands ran: on nothing (an empty, made-up state root), and on a made-up
// container in a temporary root whose init is a `sleep` this process started, so that start,
// state, kill and delete take their real paths (the lock and libc through koffi, the exec fifo,
// the kill and its wait, the state's removal), which a root without containers never reaches:
// start and delete compiled ~1-2 ms of functions each otherwise. Those commands' code is in their
// group's cache, and no more: a cache holds every function that ran when it was made, and a
// command deserializes all of it (state's ~86 KB against 123 KB for one cache of all nine). Any
// failure fails the build: a cache made without them would pass unnoticed.
const LIGHT_RUNS = {
  state: ['W state warm', 'N state none'],
  kill: ['W kill warm 0', 'N kill none KILL'],
  list: ['W list', 'N list', 'N list --format json'],
  ps: ['N ps none'],
  events: ['N events --stats none'],
  start: ['W start warm', 'N start none'],
  delete: ['W delete --force warm', 'gone', 'W delete gone', 'N delete --force none', 'N delete none'],
  pause: ['N pause none'],
  resume: ['N resume none'],
};

function makeLightCache(bundle, group, commands, knownSeed) {
  const seeded = commands.filter((c) => knownSeed.has(c));
  if (seeded.length !== 0 && seeded.length !== commands.length) {
    throw new Error(`bundle: the light cache group ${group} mixes commands run with ${SEED_FLAG} and without`);
  }
  const runs = commands.flatMap((c) => {
    if (!LIGHT_RUNS[c]) throw new Error(`bundle: no runs to make the light cache with for ${c}`);
    return LIGHT_RUNS[c];
  });
  makeCache(
    bundle,
    `
const fs = require('fs');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const { compileModule } = require(${cacheLib});
const { StateStore } = require(${JSON.stringify(path.join(dist, 'state', 'store.js'))});
const { procStat } = require(${JSON.stringify(path.join(dist, 'state', 'proc.js'))});
const { OCI_VERSION } = require(${JSON.stringify(path.join(dist, 'ocispec', 'oci.js'))});
const file = ${JSON.stringify(bundle)};
const cacheFile = ${JSON.stringify(`${bundle}.${group}.cache`)};
const { fn, script } = compileModule(file, false);
const root = fs.mkdtempSync(path.join(require('os').tmpdir(), 'tsrunc-code-cache-'));
const store = new StateStore(root);
const init = spawn('sleep', ['600'], { stdio: 'ignore' });
const runs = ${JSON.stringify(runs)};
const deletes = ${JSON.stringify(commands.includes('delete'))};
const exit = process.exit;
const writeSync = fs.writeSync;
const fakeState = (id, pid) => {
  fs.mkdirSync(store.dir(id), { mode: 0o700 });
  store.save({
    ociVersion: OCI_VERSION, id, bundle: root, rootfs: root, annotations: {}, created: new Date().toISOString(), owner: 'root',
    creatorPid: process.pid, creatorStartTime: procStat(process.pid).startTime, pid, pidStartTime: procStat(pid)?.startTime,
    ready: true, started: false, newPidNamespace: true, startContainerHooks: false, hasProcess: true, namespaceTypes: [],
  });
};
const ROOTS = { W: ['--root', root], N: ['--root', '/nonexistent/tsrunc-code-cache'] };
let failed = '';
(async () => {
  fakeState('warm', init.pid);
  const mk = spawnSync('mkfifo', ['-m', '0600', store.fifoPath('warm')]);
  if (mk.status !== 0) throw new Error('mkfifo: ' + mk.stderr);
  // init's end of the exec fifo: start's writer needs a reader
  const initEnd = fs.openSync(store.fifoPath('warm'), fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  fs.writeSync = (fd, ...rest) => {
    if (fd === 2) failed += String(rest[0]);
    return fd === 1 || fd === 2 ? 0 : writeSync(fd, ...rest); // quiet
  };
  for (const run of runs) {
    // a stopped container: its init (the killed sleep) is gone
    if (run === 'gone') {
      fakeState('gone', init.pid);
      continue;
    }
    const [where, ...args] = run.split(' ');
    const code = await new Promise((resolve) => {
      process.exit = resolve;
      process.argv = [process.argv[0], 'tsrunc', ...ROOTS[where], ...args];
      const m = { exports: {} };
      fn.call(m.exports, m.exports, require, m, file, ${JSON.stringify(dist)});
    });
    // on the made-up container every command succeeds; on none, each fails for the container or
    // root it cannot find (or, as delete --force, succeeds): any other failure is the build's
    if (where === 'W' ? code !== 0 : code !== 0 && !/does not exist|no such file or directory/.test(failed)) {
      throw new Error(args.join(' ') + ': exit ' + code + ': ' + failed);
    }
    failed = '';
  }
  // a group without delete leaves the made-up container: taken away here; with it, none is left
  if (!deletes) {
    init.kill('SIGKILL');
    fs.rmSync(store.dir('warm'), { recursive: true, force: true });
  }
  if (fs.readdirSync(root).length !== 0) throw new Error('the made-up containers were not deleted');
  fs.closeSync(initEnd);
  fs.rmdirSync(root);
  fs.writeFileSync(cacheFile, script.createCachedData());
  exit(0);
})().catch((e) => {
  init.kill('SIGKILL');
  fs.rmSync(root, { recursive: true, force: true });
  writeSync(2, String(e.stack || e) + '\\n');
  exit(1);
});
`,
    `${bundle}.${group}.cache`,
    seeded.length !== 0 ? [...NODE_FLAGS, SEED_FLAG] : NODE_FLAGS,
  );
}

/**
 * esbuild, with its output file removed first: boot maps the bundles (sys/koffi-load.ts mapFile),
 * and a file rewritten in place while a command has it mapped faults there (SIGBUS); a new file
 * leaves the old one to the mapping.
 */
function build(options) {
  fs.rmSync(options.outfile, { force: true });
  return esbuild.build(options);
}

async function main() {
  // What node runs first, for every command: one file (no second module to resolve, read and wrap:
  // util/code-cache.ts is in it), named .cjs (node looks for no package.json to learn its module
  // type). ~1.5 ms a command (interleaved, 200 runs of `state`: median 43.1 -> 41.9 ms, p25 38.0
  // -> 36.0). cgroups/prime too, which create, run and exec require at boot: as a module of its
  // own, resolving, reading and wrapping it (and the package scope looked up for its type) cost
  // them ~1.2 ms (boot's steps timed in the process, medians of 12, twice).
  await build({
    ...common,
    entryPoints: [path.join(src, 'boot.ts')],
    outfile: path.join(dist, 'boot.cjs'),
    sourcemap: false,
  });
  // The two CLI bundles are written as the module function compileModule runs (code-cache.ts:
  // MODULE_HEAD), so that it compiles the file's string as read, without a copy.
  const { MODULE_HEAD, MODULE_TAIL } = require(path.join(dist, 'util', 'code-cache.js'));
  const asModule = { banner: { js: MODULE_HEAD }, footer: { js: MODULE_TAIL.trimStart() } };
  await build({ ...common, ...asModule, entryPoints: [path.join(src, 'main.ts')], outfile: path.join(dist, 'tsrunc.js') });
  await build({
    ...common,
    ...asModule,
    entryPoints: [path.join(src, 'main-light.ts')],
    outfile: path.join(dist, 'tsrunc-light.js'),
    plugins: [fullOnlyOutside],
  });
  makeValidatorsCache(path.join(dist, 'validators.js'));
  makeEagerCache(path.join(dist, 'tsrunc.js'));
  // the groups as boot picks them (dist/boot.js, tsc's, runs nothing when required)
  const { LIGHT, LIGHT_CACHES, KNOWN_SEED } = require(path.join(dist, 'boot.js'));
  const grouped = Object.values(LIGHT_CACHES).flat();
  if (new Set(grouped).size !== grouped.length || grouped.length !== LIGHT.size || !grouped.every((c) => LIGHT.has(c))) {
    throw new Error(`bundle: the light caches' groups (${grouped}) are not the light commands, each once (${[...LIGHT]})`);
  }
  // every light cache of an earlier build (another group's, the single one of older builds): none
  // may pass for this bundle's (V8 checks only the source's length)
  for (const f of fs.readdirSync(dist)) if (/^tsrunc-light\.js\.(.+\.)?cache$/.test(f)) fs.rmSync(path.join(dist, f));
  for (const [group, commands] of Object.entries(LIGHT_CACHES))
    makeLightCache(path.join(dist, 'tsrunc-light.js'), group, commands, KNOWN_SEED);
}

main().catch((e) => {
  process.stderr.write(`bundle: ${e.stack || e}\n`);
  process.exit(1);
});
