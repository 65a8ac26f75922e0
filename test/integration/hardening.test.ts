// Short runs of the hardening campaigns (scripts/hardening/: npm run fuzz, crash-anywhere, load),
// so that CI holds them to zero; the full campaigns' figures are in the README.
import { describe, expect, test } from '@jest/globals';
import { join } from 'path';
import { REPO } from '../helpers/bundle';

interface FuzzCase {
  n: number;
  outcome: string;
  what: string[];
  out: string[];
  left: string[];
}
interface Campaigns {
  fuzz(o: { count: number; seed: number }): Promise<{ totals: Record<string, number>; cases: FuzzCase[] }>;
  campaign(o: {
    kills: number;
    seed: number;
  }): Promise<{ results: { scenario: string; kills: number; leaked: number; deleteFailed: number; leaks: string[] }[] }>;
  load(o: { n: number }): Promise<{ name: string; failures: string[] }[]>;
}
const script = (name: string) => require(join(REPO, 'scripts', 'hardening', name)) as Campaigns; // eslint-disable-line @typescript-eslint/no-require-imports

describe('hardening campaigns, short', () => {
  test('40 fuzzed configs: each refused naming the field, or created; none crashed, hung or leaked', async () => {
    const rep = await script('fuzz.js').fuzz({ count: 40, seed: 13 });
    const bad = rep.cases
      .filter((c) => !['refused', 'created'].includes(c.outcome))
      .map((c) => `#${c.n} ${c.outcome}: ${c.what.join(' | ')}\n${[...c.out, ...c.left].join('\n')}`);
    expect(bad).toEqual([]);
    // the mutations reach both sides
    expect(rep.totals.refused).toBeGreaterThan(0);
    expect(rep.totals.created).toBeGreaterThan(0);
  }, 300_000);

  test('25 SIGKILLs spread over create (plain, userns, no mount ns), run and exec: delete --force leaves nothing', async () => {
    const rep = await script('crash.js').campaign({ kills: 25, seed: 5 });
    expect(rep.results.map((s) => s.scenario)).toHaveLength(5);
    expect(rep.results.flatMap((s) => s.leaks)).toEqual([]);
    expect(rep.results.reduce((a, s) => a + s.kills, 0)).toBeGreaterThanOrEqual(25);
  }, 300_000);

  test('10 concurrent runs, chains, creates of one id and deletes of it: no failure, nothing left', async () => {
    const rep = await script('load.js').load({ n: 10 });
    expect(rep.map((p) => [p.name, p.failures])).toEqual(rep.map((p) => [p.name, []]));
  }, 300_000);
});
