import * as fs from 'fs';
import { join } from 'path';
import type { CommandContext } from '../context';
import { str } from '../context';
import { UserError, isErrno } from '../../sys/errors';
import { defaultSpec } from '../../spec/default-spec';

export function run(ctx: CommandContext): number {
  if (ctx.args.rootless === true) throw new UserError('--rootless: rootless containers are not supported by tsrunc yet');
  const file = join(str(ctx.args, 'bundle') ?? '.', 'config.json');
  try {
    fs.writeFileSync(file, JSON.stringify(defaultSpec(), null, '\t') + '\n', { flag: 'wx', mode: 0o666 });
  } catch (e) {
    if (isErrno(e, 'EEXIST')) throw new UserError(`File ${file} exists. Remove it first`);
    throw e;
  }
  return 0;
}
