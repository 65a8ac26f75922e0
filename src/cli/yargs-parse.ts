import yargs from 'yargs/yargs';
import { COMMANDS, GLOBAL_OPTIONS, type CommandSpec, type OptionSpec, type ParsedArgs } from './table';

export type YargsOutcome =
  { kind: 'command'; command: CommandSpec; args: ParsedArgs } | { kind: 'exit'; code: number; output: string; error?: string };

function toYargs(o: OptionSpec): Record<string, unknown> {
  const out: Record<string, unknown> = { type: o.type === 'strings' ? 'string' : o.type, describe: o.describe };
  if (o.alias) out.alias = o.alias;
  if (o.default !== undefined) out.default = o.default;
  if (o.choices) out.choices = o.choices;
  return out;
}

function takesValue(name: string, short: boolean, tables: Record<string, OptionSpec>[]): boolean {
  for (const t of tables) {
    for (const [k, o] of Object.entries(t)) {
      if (short ? o.alias === name : k === name) return o.type !== 'boolean';
    }
  }
  return false;
}

/**
 * For commands whose options end at the first positional (exec ID CMD ARGS…): splits argv into
 * what yargs parses (up to the container id) and the command to run, untouched.
 */
function splitAtPositional(argv: readonly string[]): { head: string[]; rest?: string[] } {
  let command: CommandSpec | undefined;
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i];
    const tables = command ? [command.options, GLOBAL_OPTIONS] : [GLOBAL_OPTIONS];
    if (tok === '--') return { head: [...argv] };
    if (tok.startsWith('-') && tok !== '-') {
      if (tok.includes('=')) continue;
      const long = tok.startsWith('--');
      if (takesValue(tok.slice(long ? 2 : 1), !long, tables)) i++;
      continue;
    }
    if (!command) {
      command = COMMANDS.find((c) => c.name === tok);
      if (!command?.haltAtPositional) return { head: [...argv] };
      continue;
    }
    return { head: argv.slice(0, i + 1), rest: argv.slice(i + 1) };
  }
  return { head: [...argv] };
}

/** Full parsing with yargs: help, version, and every error message for malformed command lines. */
export function yargsParse(fullArgv: readonly string[], version: string): Promise<YargsOutcome> {
  const { head: argv, rest } = splitAtPositional(fullArgv);
  let chosen: CommandSpec | undefined;
  let y = yargs([...argv])
    .scriptName('tsrunc')
    .usage('tsrunc [global options] <command> [command options] <arguments>')
    .strict()
    .exitProcess(false)
    .version(version)
    .help()
    .demandCommand(1, 'a command is required')
    .parserConfiguration({ 'camel-case-expansion': false });
  for (const [k, o] of Object.entries(GLOBAL_OPTIONS)) y = y.option(k, toYargs(o));
  for (const c of COMMANDS) {
    const pos = c.positionals.map((p) => (p.endsWith('?') ? `[${p.slice(0, -1)}]` : `<${p}>`)).join(' ');
    y = y.command(
      `${c.name}${pos ? ' ' + pos : ''}`,
      c.describe,
      (b) => {
        let bb = b.parserConfiguration({ 'camel-case-expansion': false, 'boolean-negation': false });
        for (const [k, o] of Object.entries(c.options)) bb = bb.option(k, toYargs(o));
        for (const p of c.positionals) bb = bb.positional(p.replace(/(\.\.)?\?$/, ''), { type: 'string' });
        return bb;
      },
      () => {
        chosen = c;
      },
    );
  }
  return new Promise((resolve) => {
    void y.parse([...argv], {}, (err, parsed, output) => {
      if (err) {
        resolve({ kind: 'exit', code: 1, output: '', error: `${err.message} (see tsrunc --help)` });
      } else if (!chosen) {
        resolve({ kind: 'exit', code: 0, output: output ?? '' });
      } else {
        const args: ParsedArgs = {};
        for (const [k, v] of Object.entries(parsed)) {
          if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') args[k] = v;
          else if (Array.isArray(v)) args[k] = v.map(String);
        }
        if (rest) args.command = rest;
        resolve({ kind: 'command', command: chosen, args });
      }
    });
  });
}
