// `ikelab load-merge FILE... [--json]` (dist/cli.js): text and JSON, stdin, exit 0 when every run established
// everything, 1 when not, 2 for a malformed or unreadable file (named) and for no file at all.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test, vi } from 'vitest';

vi.setConfig({ testTimeout: 60_000 });

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const ikelab = (args: string[], input?: string) => {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 20_000, input });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const dir = mkdtempSync(join(tmpdir(), 'ikelab-load-merge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T = 1_700_000_000_000;
const summary = (established: number, histogram: [number, number][], from: number, to: number) => ({
  ok: established === 2,
  ike: 'load',
  count: 2,
  started: 2,
  established,
  failed: 2 - established,
  failures: established === 2 ? {} : { AUTHENTICATION_FAILED: 2 - established },
  childFailures: {},
  lost: 0,
  setupMs: { min: histogram[0]![0], p50: 0, p99: 0, max: histogram.at(-1)![0] },
  setupHistogram: histogram,
  startedAt: T + from,
  endedAt: T + to,
  done: true,
  timedOut: false,
});
const file = (name: string, content: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
};

describe('ikelab load-merge', () => {
  const a = file(
    'a.json',
    summary(
      2,
      [
        [10, 1],
        [30, 1],
      ],
      0,
      1000,
    ),
  );
  const b = file(
    'b.json',
    summary(
      2,
      [
        [20, 1],
        [40, 1],
      ],
      500,
      2000,
    ),
  );

  test('text: the merged counts, percentiles over both runs, rate over the union of their spans; exit 0', () => {
    const r = ikelab(['load-merge', a, b]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // 4 established over [0, 2000]: 2.0/s; values 10 20 30 40: p50 rank 2 -> 20, p99 rank 4 -> 40
    expect(r.stdout).toContain('2 load runs of load: 4 of 4 established, 0 failed in 2.0 s (2 established/s)');
    expect(r.stdout).toContain('setup time p50 20 ms, p99 40 ms (min 10, max 40)');
  });

  test('--json, and - reads stdin; a failure in one run makes exit 1', () => {
    const bad = summary(1, [[25, 1]], 0, 500);
    const r = ikelab(['load-merge', '--json', a, '-'], JSON.stringify(bad));
    expect(r.code).toBe(1);
    const m = JSON.parse(r.stdout);
    expect(m).toMatchObject({ ok: false, runs: 2, count: 4, established: 3, failed: 1, failures: { AUTHENTICATION_FAILED: 1 } });
    expect(m.setupMs).toEqual({ min: 10, p50: 25, p99: 30, max: 30 });
  });

  test('a malformed file: exit 2 naming it; a missing one too; no file is a usage error', () => {
    const broken = file('broken.json', { ...summary(2, [[10, 2]], 0, 10), setupHistogram: 'none' });
    const r = ikelab(['load-merge', a, broken]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`ikelab: ${broken}: not a load run summary: setupHistogram: `);
    const missing = ikelab(['load-merge', join(dir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`ikelab: ${join(dir, 'nope.json')}: cannot read: ENOENT`);
    const none = ikelab(['load-merge']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('load-merge needs at least one FILE');
    expect(none.stderr).toContain('usage: ikelab load-merge FILE... [--json]');
  });
});
