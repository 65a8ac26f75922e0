// The CLI's whole run, for either bundle (scripts/bundle.js): the full one (src/main.ts) and the
// light one of the commands that only read and signal (src/main-light.ts). Keep the top of this
// file cheap: every command pays for what loads here.
import { existsSync, readFileSync, writeSync } from 'fs';
import { join } from 'path';
import { fastParse } from './fast-parse';
import type { CommandContext } from './context';
import type { CommandModules } from './commands/index';
import type { CommandSpec, ParsedArgs } from './table';
import { Logger, loggerFromArgv, type LogFormat } from '../util/log';
import { OCI_VERSION } from '../ocispec/oci';
import { loadedLibc } from '../sys';

const VERSION = '0.1.0';

/**
 * runc's shape, which scripts parse: "<name> version X", "commit: …", "spec: …", then the
 * runtime's own line (runc says go:, we say node:). The commit is recorded at build time.
 */
function versionText(): string {
  let commit = 'unknown';
  try {
    // beside the bundles (dist/), or above this file (dist/cli/) where it runs unbundled
    const file = [join(__dirname, 'build-info.json'), join(__dirname, '..', 'build-info.json')].find((f) => existsSync(f));
    commit = (JSON.parse(readFileSync(file ?? 'build-info.json', 'utf8')) as { commit: string }).commit;
  } catch {
    // built without git
  }
  return `tsrunc version ${VERSION}\ncommit: ${commit}\nspec: ${OCI_VERSION}\nnode: ${process.version}\n`;
}

async function parse(argv: string[]): Promise<{ command: CommandSpec; args: ParsedArgs } | number> {
  if (argv.length === 1 && (argv[0] === '-v' || argv[0] === '--version')) {
    writeSync(1, versionText());
    return 0;
  }
  const fast = fastParse(argv);
  if (fast) return fast;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { yargsParse } = require('./yargs-parse') as typeof import('./yargs-parse');
  const r = await yargsParse(argv, versionText().trimEnd());
  if (r.kind === 'command') return r;
  if (r.output) writeSync(1, r.output.endsWith('\n') ? r.output : r.output + '\n');
  if (r.error) loggerFromArgv(argv).error(r.error);
  return r.code;
}

/** A non-root caller's default state lives under $XDG_RUNTIME_DIR, as runc's rootless mode. */
function stateRoot(args: ParsedArgs): string {
  const root = String(args.root);
  if (root !== '/run/tsrunc' || process.geteuid?.() === 0) return root;
  const runtimeDir = process.env.XDG_RUNTIME_DIR || `/tmp/tsrunc-${process.geteuid?.()}`;
  return `${runtimeDir}/tsrunc`;
}

async function main(modules: CommandModules, other: () => void): Promise<number | 'other'> {
  const parsed = await parse(process.argv.slice(2));
  if (typeof parsed === 'number') return parsed;
  const { command, args } = parsed;
  const load = modules[command.module];
  if (!load) {
    other();
    return 'other';
  }
  const log = new Logger(args.log as string | undefined, (args['log-format'] as LogFormat) ?? 'text', args.debug === true);
  try {
    // The driver's place is cgroups/systemd/: it refuses, before anything is touched.
    if (args['systemd-cgroup'] === true) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      (require('../cgroups/systemd/manager') as typeof import('../cgroups/systemd/manager')).systemdManager();
    }
    const mod = load();
    const ctx: CommandContext = { args, root: stateRoot(args), rootGiven: String(args.root) !== '/run/tsrunc', log };
    return await mod.run(ctx);
  } catch (e) {
    log.error(e instanceof Error ? e.message : String(e));
    if (args.debug === true && e instanceof Error && e.stack) writeSync(2, e.stack + '\n');
    // As runc: exec's own failures are 255, apart from any status the program could exit with.
    return command.name === 'exec' ? 255 : 1;
  }
}

/**
 * Parses argv and runs its command from modules, then exits. A command modules lacks goes to
 * other (the light bundle hands it to the full one, which parses again and exits itself).
 */
export function runCli(modules: CommandModules, opts: { other?: () => void; exitByLibc?: boolean } = {}): void {
  const exit = (code: number): never => {
    // The commands that loaded libc (create, run, exec; start, delete) end by _exit: Node's
    // teardown (its thread pools joined, the heap freed piece by piece) is work the kernel does
    // at once (~1.5 ms). Everything the CLI writes (stdout, stderr, the log, state) is written
    // synchronously and no exit handler is registered: nothing is left to flush.
    if (opts.exitByLibc) loadedLibc()?.exit(code);
    return process.exit(code);
  };
  main(modules, opts.other ?? (() => undefined)).then(
    (code) => {
      if (code !== 'other') exit(code);
    },
    (e: unknown) => {
      writeSync(2, `tsrunc: ${String(e)}\n`);
      exit(1);
    },
  );
}
