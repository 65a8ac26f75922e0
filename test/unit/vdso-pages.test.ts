// The vDSO's data pages found without /proc/self/maps (src/process/copy.ts): below the vDSO's text,
// the pages madvise refuses. Anything else than that layout is left to the maps.
import { describe, expect, test } from '@jest/globals';
import { vdsoDataPages } from '../../src/process/copy';
import * as C from '../../src/sys/constants';
import { recordingLibc } from '../fakes/recording-libc';

const PAGE = 4096;
const TEXT = 0x7f0000100000;
const EINVAL = 22;
const EPERM = 1;

/** A process whose pages below the vDSO's text are, from the nearest down: refused, then below. */
function layout(refused: number, below: 'mapped' | 'hole' | number, auxv: Partial<Record<number, number>> = {}) {
  const probed: number[] = [];
  const sys = recordingLibc({
    auxv: (t) => auxv[t] ?? (t === C.AT_SYSINFO_EHDR ? TEXT : t === C.AT_PAGESZ ? PAGE : 0),
    // as the real one: an errno other than ENOMEM (a hole) comes back, nothing is thrown
    markDoforkRanges: (flat) => {
      expect(flat).toHaveLength(2);
      const [addr, len] = flat;
      expect(len).toBe(PAGE);
      probed.push(addr);
      const n = (TEXT - addr) / PAGE; // 1: the page right below the text
      if (n <= refused) return EINVAL;
      if (typeof below === 'number') return below;
      return 0; // a mapping that takes it, or a hole
    },
    // the probe is never the throwing call: a command's first SysError loads Node's os module (~1 ms)
    madviseDofork: () => {
      throw new Error('madviseDofork called');
    },
  });
  return { sys, probed };
}

describe("the vDSO's data pages", () => {
  test('the refused pages right below the text, down to a mapping or a hole', () => {
    const a = layout(6, 'mapped');
    expect(vdsoDataPages(a.sys)).toEqual([TEXT - 6 * PAGE, TEXT]);
    expect(a.probed).toEqual([1, 2, 3, 4, 5, 6, 7].map((n) => TEXT - n * PAGE));
    expect(vdsoDataPages(layout(4, 'hole').sys)).toEqual([TEXT - 4 * PAGE, TEXT]);
  });

  test('any other layout is left to /proc/self/maps', () => {
    expect(vdsoDataPages(layout(0, 'mapped').sys)).toBeUndefined(); // nothing refused below the text
    expect(vdsoDataPages(layout(0, 'hole').sys)).toBeUndefined();
    expect(vdsoDataPages(layout(1000, 'mapped').sys)).toBeUndefined(); // refused further than data pages go
    expect(vdsoDataPages(layout(3, EPERM).sys)).toBeUndefined(); // a refusal of another kind
    expect(vdsoDataPages(layout(4, 'mapped', { [C.AT_SYSINFO_EHDR]: 0 }).sys)).toBeUndefined(); // no vDSO
    expect(vdsoDataPages(layout(4, 'mapped', { [C.AT_PAGESZ]: 0 }).sys)).toBeUndefined();
    expect(vdsoDataPages(layout(4, 'mapped', { [C.AT_SYSINFO_EHDR]: TEXT + 100 }).sys)).toBeUndefined(); // not page-aligned
  });
});
