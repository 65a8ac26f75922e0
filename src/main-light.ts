// The light bundle's entry point (dist/tsrunc-light.js): the commands of LIGHT_COMMANDS only.
// dist/boot.cjs picks it by the command's name; anything else it is handed (an argv boot read
// otherwise than the parser) goes to the full bundle, which parses again.
import { join } from 'path';
import { runCli } from './cli/run-cli';
import { LIGHT_COMMAND_MODULES } from './cli/commands/light-index';
import { requireCached } from './util/code-cache';

runCli(LIGHT_COMMAND_MODULES, { other: () => requireCached(join(__dirname, 'tsrunc.js'), require, __dirname) });
