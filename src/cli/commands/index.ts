import type { CommandRun } from '../context';

// Each command's module, loaded only when that command runs (a bundler sees them all).
/* eslint-disable @typescript-eslint/no-require-imports */
export type Command = { run: CommandRun };
export type CommandModules = Record<string, () => Command>;
export const COMMAND_MODULES: CommandModules = {
  create: () => require('./create') as Command,
  delete: () => require('./delete') as Command,
  events: () => require('./events') as Command,
  exec: () => require('./exec') as Command,
  features: () => require('./features') as Command,
  kill: () => require('./kill') as Command,
  list: () => require('./list') as Command,
  pause: () => require('./pause') as Command,
  ps: () => require('./ps') as Command,
  resume: () => require('./resume') as Command,
  run: () => require('./run') as Command,
  spec: () => require('./spec') as Command,
  start: () => require('./start') as Command,
  state: () => require('./state') as Command,
  update: () => require('./update') as Command,
};
