// statx through koffi (src/sys/koffi-libc.ts: fdIdentity), on real fds: no root needed.
import { describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import * as os from 'os';
import { join } from 'path';
import { makeKoffiLibc } from '../../src/sys/koffi-libc';

describe("fdIdentity: what an fd refers to, as a fork's fd bookkeeping reads it", () => {
  const sys = makeKoffiLibc();

  test("a file: its inode in the id, its type a regular file's; the same file through another fd, the same id", () => {
    const dir = fs.mkdtempSync(join(os.tmpdir(), 'tsr-fdid-'));
    const file = join(dir, 'f');
    fs.writeFileSync(file, 'x');
    const a = fs.openSync(file, 'r');
    const b = fs.openSync(file, 'r');
    try {
      const ia = sys.fdIdentity(a)!;
      expect(ia.type).toBe(fs.constants.S_IFREG);
      expect(ia.id.endsWith(`:${fs.statSync(file).ino}`)).toBe(true);
      expect(sys.fdIdentity(b)).toEqual(ia);
    } finally {
      fs.closeSync(a);
      fs.closeSync(b);
      fs.rmSync(dir, { recursive: true });
    }
  });

  test('both ends of a pipe: one id, a fifo; a directory is a directory; a closed fd is none', () => {
    const [r, w] = sys.pipe();
    const dir = fs.openSync(os.tmpdir(), 'r');
    try {
      expect(sys.fdIdentity(r)).toEqual(sys.fdIdentity(w));
      expect(sys.fdIdentity(r)!.type).toBe(fs.constants.S_IFIFO);
      expect(sys.fdIdentity(dir)!.type).toBe(fs.constants.S_IFDIR);
    } finally {
      fs.closeSync(r);
      fs.closeSync(w);
      fs.closeSync(dir);
    }
    expect(sys.fdIdentity(r)).toBeUndefined();
  });
});
