import fs = require('fs');
import { join } from 'path';
import type { CommandContext } from '../context';
import { str } from '../context';
import { UserError, isErrno } from '../../sys/errors';
import { defaultSpec, toRootless } from '../../ocispec/default-spec';

export function run(ctx: CommandContext): number {
  const file = join(str(ctx.args, 'bundle') ?? '.', 'config.json');
  try {
    const spec = ctx.args.rootless === true ? toRootless(defaultSpec(), process.geteuid!(), process.getegid!()) : defaultSpec();
    fs.writeFileSync(file, JSON.stringify(spec, null, '\t'), { flag: 'wx', mode: 0o666 });
  } catch (e) {
    if (isErrno(e, 'EEXIST')) throw new UserError(`File ${file} exists. Remove it first`);
    throw e;
  }
  return 0;
}
