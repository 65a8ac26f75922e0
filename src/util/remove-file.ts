import fs = require('fs');
import { isErrno } from '../sys/errors';

/** Removes a file; one already gone is no error (fs.rmSync's force, without the module Node 20 loads for rmSync, ~1 ms). */
export function removeFile(path: string): void {
  try {
    fs.unlinkSync(path);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
}
