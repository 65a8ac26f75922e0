import { describe, expect, test } from '@jest/globals';
import { fastParse } from '../../src/cli/fast-parse';
import { yargsParse } from '../../src/cli/yargs-parse';

const cases: string[][] = [
  ['state', 'abc'],
  ['--root', '/tmp/r', 'state', 'abc'],
  ['--root=/tmp/r', '--log', '/tmp/l.json', '--log-format', 'json', 'create', '--bundle', '/b', '--pid-file', '/p', 'id1'],
  ['create', '-b', '/b', 'id1'],
  ['create', '--no-pivot', '--preserve-fds', '2', 'id1'],
  ['kill', 'id1'],
  ['kill', 'id1', 'KILL'],
  ['kill', '--all', 'id1', '15'],
  ['kill', '-a', 'id1', 'SIGTERM'],
  ['delete', '--force', 'id1'],
  ['delete', '-f', 'id1'],
  ['run', '-d', '--bundle', '/b', 'x'],
  ['list', '--format', 'json'],
  ['list', '-q'],
  ['spec', '--bundle', '/b'],
  ['start', 'abc', '--root', '/r'],
  ['exec', 'id1', 'sh', '-c', 'echo hi'],
  ['exec', '--env', 'A=1', '-e', 'B=2', '--detach', 'id1', 'ls', '-l', '--env', 'C'],
  ['exec', '--cap', 'CAP_KILL', '-t', 'id1', 'true'],
  ['--root', '/r', '--log', '/l', '--log-format', 'json', 'exec', '--process', '/p.json', '--detach', '--pid-file', '/x', 'id1'],
];

describe('command line', () => {
  test.each(cases)('fast parser and yargs agree on %s', async (...argv) => {
    const fast = fastParse(argv);
    expect(fast).toBeDefined();
    const slow = await yargsParse(argv, 'test');
    expect(slow.kind).toBe('command');
    if (slow.kind !== 'command') return;
    expect(fast!.command.name).toBe(slow.command.name);
    for (const [k, v] of Object.entries(fast!.args)) expect([k, slow.args[k]]).toEqual([k, v]);
  });

  test.each([
    [['--help']],
    [['create']],
    [['create', 'a', 'b']],
    [['kill', '--bogus', 'x']],
    [['frobnicate']],
    [['list', '--format', 'yaml']],
    [['create', '--preserve-fds', 'x', 'id']],
    [['-x', 'state', 'a']],
    [[]],
  ])('fast parser leaves %j to yargs', (argv) => {
    expect(fastParse(argv)).toBeUndefined();
  });

  test('yargs reports unknown options and missing arguments as errors', async () => {
    const r1 = await yargsParse(['kill', 'x', '--bogus'], 'v');
    expect(r1).toMatchObject({ kind: 'exit', code: 1 });
    expect(r1.kind === 'exit' && r1.error).toMatch(/bogus/);
    const r2 = await yargsParse(['create'], 'v');
    expect(r2).toMatchObject({ kind: 'exit', code: 1 });
  });

  test('defaults come from the command table', () => {
    const r = fastParse(['create', 'x'])!;
    expect(r.args).toMatchObject({ root: '/run/tsrunc', bundle: '.', 'no-pivot': false, 'preserve-fds': 0, 'log-format': 'text' });
  });
});
