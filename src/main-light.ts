// The light bundle's entry point (dist/tsrunc-light.js): the commands of LIGHT_COMMANDS only.
// dist/boot.cjs picks it by the command's name; anything else it is handed (an argv boot read
// otherwise than the parser) goes to the full bundle, which parses again.
import { join } from 'path';
import { runCli } from './cli/run-cli';
import { LIGHT_COMMAND_MODULES } from './cli/commands/light-index';
import { requireCached } from './util/code-cache';
import { mapFile } from './sys/koffi-load';

// A command that loaded libc (start, delete) ends by _exit as the full bundle's do, where this is the
// process's main module (dist/boot.cjs runs it as such): the light cache is made by running its
// commands in one process that must live on (scripts/bundle.js).
runCli(LIGHT_COMMAND_MODULES, {
  // mapped, as boot maps it for the full bundle's commands that fork (a read's Buffer would be left in their copies)
  other: () => requireCached(join(__dirname, 'tsrunc.js'), require, __dirname, mapFile),
  exitByLibc: require.main === module,
});
