// The options real clients put in config.json (test/data/configs) are all understood: every mount
// option is a flag, a propagation, runc's tmpcopyup, or filesystem data for a filesystem that takes
// it (never for a bind mount, where the kernel would refuse it); and the whole config is valid.
import { describe, expect, test } from '@jest/globals';
import * as fs from 'fs';
import { join } from 'path';
import { parseMountOptions } from '../../src/rootfs/mount-options';
import { schemaProblems } from '../../src/ocispec/validate';

const DIR = join(__dirname, '..', 'data', 'configs');
const samples = fs.readdirSync(DIR).filter((f) => f.endsWith('.json'));

describe.each(samples)('%s', (file) => {
  const cfg = JSON.parse(fs.readFileSync(join(DIR, file), 'utf8')) as {
    mounts: { destination: string; type?: string; options?: string[] }[];
  };

  test('passes the schema', () => {
    // `ctr oci spec` is the spec before the image's command is filled in
    const full = { ...cfg, process: { args: ['true'], ...(cfg as { process?: object }).process } };
    expect(schemaProblems('config', full)).toEqual([]);
  });

  test('every mount option is understood', () => {
    expect(cfg.mounts.length).toBeGreaterThan(3);
    for (const [i, m] of cfg.mounts.entries()) {
      const p = parseMountOptions(m.options ?? [], `mounts[${i}].options`);
      if (p.bind || m.type === 'bind') expect([m.destination, p.data]).toEqual([m.destination, '']);
      // what is left as data are key=value options or tmpfs/devpts/mqueue words the kernel takes
      for (const d of p.data.split(',').filter(Boolean))
        expect([m.destination, d]).toEqual([m.destination, expect.stringMatching(/^[a-z]+=[\w]+$|^newinstance$/)]);
    }
  });
});
