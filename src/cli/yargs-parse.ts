import yargs from 'yargs/yargs';
import { COMMANDS, GLOBAL_OPTIONS, type CommandSpec, type OptionSpec, type ParsedArgs } from './table';

export type YargsOutcome =
  | { kind: 'command'; command: CommandSpec; args: ParsedArgs }
  | { kind: 'exit'; code: number; output: string; error?: string };

function toYargs(o: OptionSpec): Record<string, unknown> {
  const out: Record<string, unknown> = { type: o.type, describe: o.describe };
  if (o.alias) out.alias = o.alias;
  if (o.default !== undefined) out.default = o.default;
  if (o.choices) out.choices = o.choices;
  return out;
}

/** Full parsing with yargs: help, version, and every error message for malformed command lines. */
export function yargsParse(argv: readonly string[], version: string): Promise<YargsOutcome> {
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
    y = y.command(`${c.name}${pos ? ' ' + pos : ''}`, c.describe, (b) => {
      let bb = b.parserConfiguration({ 'camel-case-expansion': false, 'boolean-negation': false });
      for (const [k, o] of Object.entries(c.options)) bb = bb.option(k, toYargs(o));
      for (const p of c.positionals) bb = bb.positional(p.replace(/(\.\.)?\?$/, ''), { type: 'string' });
      return bb;
    }, () => {
      chosen = c;
    });
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
        resolve({ kind: 'command', command: chosen, args });
      }
    });
  });
}
