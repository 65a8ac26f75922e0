import { describe, expect, test } from '@jest/globals';
import { parseMountOptions } from '../../src/rootfs/mount-options';
import { mountFlagsOf } from '../../src/rootfs/mountinfo';
import * as C from '../../src/sys/constants';

describe('mount options', () => {
  test('flags, data and propagation are separated', () => {
    const r = parseMountOptions(['nosuid', 'noexec', 'mode=755', 'size=65536k', 'rslave', 'ro'], 'm');
    expect(r.flags).toBe(C.MS_NOSUID | C.MS_NOEXEC | C.MS_RDONLY);
    expect(r.data).toBe('mode=755,size=65536k');
    expect(r.propagation).toEqual([C.MS_SLAVE | C.MS_REC]);
    expect(r.bind).toBe(false);
  });
  test('later options override earlier ones', () => {
    expect(parseMountOptions(['ro', 'rw'], 'm').flags & C.MS_RDONLY).toBe(0);
    expect(parseMountOptions(['nosuid', 'suid'], 'm').flags & C.MS_NOSUID).toBe(0);
  });
  test('rbind is a recursive bind', () => {
    const r = parseMountOptions(['rbind'], 'm');
    expect(r).toMatchObject({ bind: true, recursive: true });
    expect(r.flags & (C.MS_BIND | C.MS_REC)).toBe(C.MS_BIND | C.MS_REC);
  });
  test('recursive options become mount_setattr attributes; the last one for an attribute wins', () => {
    expect(parseMountOptions(['rbind', 'rro', 'rnosuid'], 'm').recursiveAttrs).toEqual({ set: 0x1 | 0x2, clear: 0 });
    expect(parseMountOptions(['rro', 'rrw'], 'm').recursiveAttrs).toEqual({ set: 0, clear: 0x1 });
    // atime: the whole field is cleared and one mode set
    expect(parseMountOptions(['rnoatime'], 'm').recursiveAttrs).toEqual({ set: 0x10, clear: 0x70 });
    expect(parseMountOptions(['rnoatime', 'rstrictatime'], 'm').recursiveAttrs).toEqual({ set: 0x20, clear: 0x70 });
    expect(parseMountOptions(['ro'], 'm').recursiveAttrs).toBeUndefined();
  });
});

describe('mountFlagsOf (statfs, no /proc needed)', () => {
  test('ST_* flags become the MS_* flags a remount must keep', () => {
    const sys = { statfsFlags: () => 1 | 2 | 4 | 8 | 1024 | 4096 | 8192 };
    expect(mountFlagsOf(sys, '/x')).toBe(
      C.MS_RDONLY | C.MS_NOSUID | C.MS_NODEV | C.MS_NOEXEC | C.MS_NOATIME | C.MS_RELATIME | C.MS_NOSYMFOLLOW,
    );
    expect(mountFlagsOf({ statfsFlags: () => 16 | 64 }, '/x')).toBe(0); // synchronous, mandlock: not per-mount
  });
});
