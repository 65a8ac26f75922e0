// util/code-cache.ts: the bundles are written as the module function it compiles (so that their
// string is compiled as read, not copied into a wrapped one); other files are wrapped.
import { afterAll, describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import * as os from 'os';
import { join, resolve } from 'path';
import { MODULE_HEAD, MODULE_TAIL, compileModule } from '../../src/util/code-cache';

const tmp = fs.mkdtempSync(join(os.tmpdir(), 'tsrunc-code-cache-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(file: string): unknown {
  const m = { exports: {} as unknown };
  compileModule(file, false).fn.call(m.exports, m.exports, require, m, file, tmp);
  return m.exports;
}

describe('compileModule', () => {
  test('a plain CommonJS file is wrapped; one written as the module function is compiled as it is', () => {
    const plain = join(tmp, 'plain.js');
    fs.writeFileSync(plain, 'module.exports = { dir: __dirname, n: 41 + 1 };');
    expect(run(plain)).toEqual({ dir: tmp, n: 42 });
    const pre = join(tmp, 'pre.js');
    fs.writeFileSync(pre, `${MODULE_HEAD}\nmodule.exports = { file: __filename };${MODULE_TAIL}\n`);
    expect(run(pre)).toEqual({ file: pre });
  });

  test("mapBytes: the file's text and its cache come from it, each released once used; where it has none or throws, they are read", () => {
    const file = join(tmp, 'mapped.js');
    fs.writeFileSync(file, 'module.exports = { n: 1 };');
    fs.writeFileSync(`${file}.cache`, 'not a cache'); // V8 rejects it: only the plain compile
    const asked: string[] = [];
    let released = 0;
    const mapBytes = (path: string) => {
      asked.push(path);
      // what is mapped wins over what a read would give (UTF-8, not latin1: the text is decoded)
      return path === file ? { bytes: Buffer.from("module.exports = { n: 2, s: 'µs' };"), release: () => void released++ } : undefined;
    };
    const m = { exports: {} as unknown };
    compileModule(file, true, mapBytes).fn.call(m.exports, m.exports, require, m, file, tmp);
    expect(m.exports).toEqual({ n: 2, s: 'µs' });
    expect(asked).toEqual([file, `${file}.cache`]);
    expect(released).toBe(1);
    const throwing = () => {
      throw new Error('no mapping');
    };
    const r = { exports: {} as unknown };
    compileModule(file, true, throwing).fn.call(r.exports, r.exports, require, r, file, tmp);
    expect(r.exports).toEqual({ n: 1 });
  });

  test('the two CLI bundles are written as the module function (scripts/bundle.js)', () => {
    const dist = resolve(__dirname, '..', '..', 'dist');
    for (const f of ['tsrunc.js', 'tsrunc-light.js']) {
      const text = fs.readFileSync(join(dist, f), 'utf8');
      expect(text.startsWith(MODULE_HEAD)).toBe(true);
      expect(text.trimEnd().endsWith(MODULE_TAIL.trim())).toBe(true);
    }
  });
});
