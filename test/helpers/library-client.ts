import { spawnSync } from 'child_process';
import * as fs from 'fs';
import { join } from 'path';

/**
 * Runs a program that uses tsrunc's library in-process, as a caller would: node started as
 * bin/tsrunc starts it (--single-threaded --expose-gc, and any flags given). The containers'
 * processes are copies of it, so its stdio goes to a file, not to pipes that would stay open as
 * long as they live. The script gets args, then the path it writes its JSON result to.
 */
export function runLibraryClient(
  dir: string,
  script: string,
  args: string[],
  flags: string[] = [],
): { status: number | null; log: string; result: unknown } {
  const client = join(dir, 'client.js');
  const logFile = join(dir, 'client.log');
  const result = join(dir, 'result.json');
  fs.writeFileSync(client, script);
  const log = fs.openSync(logFile, 'w');
  const r = spawnSync(process.execPath, ['--single-threaded', '--expose-gc', ...flags, client, ...args, result], {
    stdio: ['ignore', log, log],
    timeout: 60000,
  });
  fs.closeSync(log);
  return {
    status: r.status,
    log: fs.readFileSync(logFile, 'utf8'),
    result: fs.existsSync(result) ? JSON.parse(fs.readFileSync(result, 'utf8')) : undefined,
  };
}
