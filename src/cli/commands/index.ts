import type { CommandRun } from '../context';

// Each command's module, loaded only when that command runs (a bundler sees them all).
/* eslint-disable @typescript-eslint/no-require-imports */
export const COMMAND_MODULES: Record<string, () => { run: CommandRun }> = {
  create: () => require('./create'),
  delete: () => require('./delete'),
  events: () => require('./events'),
  exec: () => require('./exec'),
  features: () => require('./features'),
  kill: () => require('./kill'),
  list: () => require('./list'),
  pause: () => require('./pause'),
  ps: () => require('./ps'),
  resume: () => require('./resume'),
  run: () => require('./run'),
  spec: () => require('./spec'),
  start: () => require('./start'),
  state: () => require('./state'),
  update: () => require('./update'),
};
