import { COMMANDS, GLOBAL_OPTIONS, type CommandSpec, type OptionSpec, type ParsedArgs } from './table';

/**
 * Parses the common, well-formed invocations from the command table. Returns undefined for
 * anything else (help, unknown or malformed options, missing arguments): yargs then parses and
 * reports, so both paths accept exactly the same language and yargs owns every error message.
 */
export function fastParse(argv: readonly string[]): { command: CommandSpec; args: ParsedArgs } | undefined {
  const args: ParsedArgs = {};
  const positionals: string[] = [];
  let command: CommandSpec | undefined;
  const lookup = (name: string, short: boolean): [string, OptionSpec] | undefined => {
    const tables = command ? [command.options, GLOBAL_OPTIONS] : [GLOBAL_OPTIONS];
    for (const t of tables) {
      for (const [k, spec] of Object.entries(t)) {
        if (short ? spec.alias === name : k === name) return [k, spec];
      }
    }
    return undefined;
  };
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i];
    if (tok === '--') {
      if (command?.haltAtPositional) return undefined; // yargs' reading of it
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (tok.startsWith('-') && tok !== '-') {
      const long = tok.startsWith('--');
      const body = tok.slice(long ? 2 : 1);
      const eq = body.indexOf('=');
      const name = eq >= 0 ? body.slice(0, eq) : body;
      if (!long && name.length !== 1) return undefined;
      const found = lookup(name, !long);
      if (!found) return undefined;
      const [key, spec] = found;
      let value: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
      if (spec.type === 'boolean') {
        if (value === undefined) args[key] = true;
        else if (value === 'true' || value === 'false') args[key] = value === 'true';
        else return undefined;
        continue;
      }
      if (value === undefined) {
        if (i + 1 >= argv.length) return undefined;
        value = argv[++i];
      }
      if (spec.type === 'strings') {
        // as yargs gives it: a string once, an array when repeated
        const prev = args[key];
        args[key] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [String(prev)]), value];
        continue;
      }
      if (spec.type === 'number') {
        if (!/^\d+$/.test(value)) return undefined;
        args[key] = Number(value);
      } else {
        if (spec.choices && !spec.choices.includes(value)) return undefined;
        args[key] = value;
      }
      continue;
    }
    if (!command) {
      command = COMMANDS.find((c) => c.name === tok);
      if (!command) return undefined;
      continue;
    }
    positionals.push(tok);
    // exec ID CMD ARGS…: what follows the container id is the command's, options included.
    if (command.haltAtPositional && positionals.length === 1 && i + 1 < argv.length) {
      args.command = argv.slice(i + 1);
      break;
    }
  }
  if (!command) return undefined;
  // Variadic positionals ("name..?") are left to yargs, but exec's command (taken above).
  const names = command.positionals.filter((n) => !n.includes('..'));
  if (names.length !== command.positionals.length && positionals.length > names.length) return undefined;
  const required = names.filter((n) => !n.endsWith('?')).length;
  if (positionals.length < required || positionals.length > names.length) return undefined;
  names.forEach((n, i) => {
    args[n.replace(/\?$/, '')] = positionals[i];
  });
  for (const t of [GLOBAL_OPTIONS, command.options]) {
    for (const [k, spec] of Object.entries(t)) if (args[k] === undefined && spec.default !== undefined) args[k] = spec.default;
  }
  return { command, args };
}
