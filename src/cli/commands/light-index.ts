import type { Command, CommandModules } from './index';

/**
 * The commands of the light bundle (src/main-light.ts): those that read state, signal, freeze or
 * take away, and need neither the config loader, the validators nor process birth. Their bundle
 * is a fraction of the full one, and so is what each of them reads and compiles at start.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
export const LIGHT_COMMAND_MODULES: CommandModules = {
  delete: () => require('./delete') as Command,
  events: () => require('./events') as Command,
  kill: () => require('./kill') as Command,
  list: () => require('./list') as Command,
  pause: () => require('./pause') as Command,
  ps: () => require('./ps') as Command,
  resume: () => require('./resume') as Command,
  start: () => require('./start') as Command,
  state: () => require('./state') as Command,
};
/* eslint-enable @typescript-eslint/no-require-imports */

export const LIGHT_COMMANDS: readonly string[] = Object.keys(LIGHT_COMMAND_MODULES);
