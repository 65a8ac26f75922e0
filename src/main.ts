// tsrunc's entry point (dist/tsrunc.js, every command). Keep the top of this file cheap: every
// command it runs pays for what loads here.
import { runCli } from './cli/run-cli';
import { COMMAND_MODULES } from './cli/commands/index';

runCli(COMMAND_MODULES, { exitByLibc: true });
