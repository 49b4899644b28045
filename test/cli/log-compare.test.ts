// `ikelab log-compare REFERENCE OURS [--show] [--payloads] [--json]` as a user runs it (node dist/cli.js):
// output, exit status 0 (every reference line found) / 1 (some missing) / 2 (usage error, unreadable file).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REFERENCE_LOGS_DIR } from '../helpers/fixtures.js';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const REF = join(REFERENCE_LOGS_DIR, 'establish-psk', 'initiator.log');

function ikelab(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('ikelab log-compare', () => {
  let dir: string;
  let altered: string;
  let droppedLine: number;

  beforeAll(() => {
    expect(existsSync(cli), 'run npm run build first').toBe(true);
    dir = mkdtempSync(join(tmpdir(), 'ikelab-log-compare-'));
    const lines = readFileSync(REF, 'utf8').split('\n');
    droppedLine = lines.findIndex((l) => l.includes('[IKE] CHILD_SA net{1} established'));
    expect(droppedLine).toBeGreaterThan(0);
    altered = join(dir, 'altered.log');
    writeFileSync(altered, lines.filter((_, k) => k !== droppedLine).join('\n'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('a log against itself: every line matched, exit 0', () => {
    const r = ikelab('log-compare', REF, REF, '--payloads');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^(\d+)\/\1 reference lines matched in order \(100%\)\n$/);
  });

  test('a line missing: --show names it, exit 1', () => {
    const r = ikelab('log-compare', '--show', REF, altered);
    expect(r.code).toBe(1);
    const lines = r.out.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('missing: [IKE] CHILD_SA NAME{N} established with SPIs SPI SPI and TS ADDR === ADDR');
    expect(lines[1]).toMatch(/^(\d+)\/(\d+) reference lines matched in order \(9\d%\)$/);
    // without --show only the summary
    expect(ikelab('log-compare', REF, altered).out.split('\n').filter(Boolean)).toHaveLength(1);
  });

  test('--json: counts, and each missing line with its line number and text', () => {
    const r = ikelab('log-compare', REF, altered, '--json', '--payloads');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ reference: REF, ours: altered, payloads: true, complete: false });
    expect(j.matched).toBe(j.total - 1);
    expect(j.score).toBeCloseTo(j.matched / j.total);
    expect(j.percent).toBe(Math.round((100 * j.matched) / j.total));
    expect(j.missing).toEqual([
      {
        line: droppedLine + 1,
        shape: expect.stringContaining('CHILD_SA NAME{N} established'),
        original: readFileSync(REF, 'utf8').split('\n')[droppedLine],
      },
    ]);
  });

  test('usage errors and unreadable files: exit 2', () => {
    for (const args of [[REF], [REF, REF, REF], [REF, REF, '--nope'], []]) {
      const r = ikelab('log-compare', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(/usage: ikelab log-compare REFERENCE OURS/);
      expect(r.out).toBe('');
    }
    const r = ikelab('log-compare', REF, join(dir, 'no-such.log'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('cannot read');
  });

  test('a reference without charon lines is not a success', () => {
    const empty = join(dir, 'empty.log');
    writeFileSync(empty, 'nothing to see\n');
    const r = ikelab('log-compare', empty, REF);
    expect(r.code).toBe(1);
    expect(r.out).toBe('0/0 reference lines matched in order (0%)\n');
    expect(r.err).toContain('no charon line');
  });

  test('the verb is in the help', () => {
    expect(ikelab('help').out).toContain('log-compare REFERENCE OURS [--show] [--payloads] [--json]');
  });
});
