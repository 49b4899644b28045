// The documentation in the module's header comments is executable: the CLI examples of src/faults/index.ts parse,
// and every row of the libreswan alias table in src/faults/aliases.ts is what parseImpair builds.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseImpair } from '../../src/faults/aliases.js';
import { formatRule } from '../../src/faults/format.js';
import { parseRuleTexts } from '../../src/faults/parse.js';

const src = (f: string): string => readFileSync(resolve(import.meta.dirname, '../../src/faults', f), 'utf8');

describe('src/faults/index.ts examples', () => {
  // the `e.g.` line and its continuation lines, indented under it
  const lines = src('index.ts')
    .split('\n')
    .filter((l) => /^\/\/ {3}e\.g\. --|^\/\/ {8}--/.test(l));
  test('there are examples', () => expect(lines.length).toBeGreaterThanOrEqual(3));
  test.each(lines)('%s', (line) => {
    const argv = line
      .replace(/^\/\/\s+(e\.g\.)?\s*/, '')
      .trim()
      .split(/\s+/);
    const opts: Record<string, string> = {};
    for (let i = 0; i < argv.length; i += 2) opts[argv[i]!.replace(/^--/, '')] = argv[i + 1]!;
    expect(Object.keys(opts).every((k) => ['name', 'match', 'action', 'count'].includes(k))).toBe(true);
    expect(() => parseRuleTexts(opts as never)).not.toThrow();
  });
});

describe('src/faults/aliases.ts table', () => {
  const rows = src('aliases.ts')
    .split('\n')
    .map((l) => /^\/\/ \| ([^|]*)\|[^|]*\| ([^|]*)\|$/.exec(l))
    .filter(
      (m): m is RegExpExecArray =>
        m !== null && m[1]!.trim() !== '' && m[2]!.includes(' / ') && !m[1]!.includes('---') && !m[1]!.includes('libreswan impair'),
    )
    .map((m) => [m[1]!.trim().replace(/ \(.*\)$/, ''), m[2]!.trim()] as const);

  test('every alias has a row', () => expect(rows.length).toBe(14));

  test.each(rows)('%s -> %s', (alias, rule) => {
    const sub = (s: string): string => s.replace(/\bN\b/g, '3').replace(/\bX\b/g, 'IKE_AUTH');
    const [match, action] = sub(rule).split(' / ');
    const built = parseImpair([sub(alias)]);
    expect(built.map(formatRule)).toEqual([`--match ${match} --action ${action}`]);
  });
});
