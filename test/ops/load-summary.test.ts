// Merging load run summaries of several processes (src/ops/load-summary.ts, `ikelab load-merge`): counts and
// reasons summed, percentiles over the union of the runs' setup-time histograms, the rate over the union of their
// time spans, the forms a file may take, and a malformed file refused naming it. Expectations computed by hand.
import { afterEach, describe, expect, test } from 'vitest';
import { setupBucket } from '../../src/ops/load-run.js';
import {
  formatMergedSummary,
  histogramPercentile,
  LoadSummaryError,
  mergeLoadSummaries,
  parseSummaries,
  unionSpans,
} from '../../src/ops/load-summary.js';
import { makePair, type Pair } from '../helpers/peers.js';

const T = 1_700_000_000_000; // a wall-clock origin (ms since the epoch)

/** A finished run's summary as `initiate --count N --json` prints it (the keys merging does not read included). */
function run(o: {
  count: number;
  established: number;
  failures?: Record<string, number>;
  childFailures?: Record<string, number>;
  histogram: [number, number][];
  min?: number;
  max?: number;
  from: number;
  to: number;
  lost?: number;
}) {
  const failed = Object.values(o.failures ?? {}).reduce((a, b) => a + b, 0);
  const values = o.histogram.map(([v]) => v);
  return {
    ok: o.established === o.count,
    id: 1,
    ike: 'load',
    count: o.count,
    rate: 10,
    started: o.count,
    established: o.established,
    failed,
    failures: o.failures ?? {},
    inFlight: 0,
    childFailures: o.childFailures ?? {},
    lost: o.lost ?? 0,
    elapsedMs: o.to - o.from,
    ratePerSec: 0,
    // p50/p99 of a single run are not read by the merge: deliberately wrong here to prove it
    setupMs: o.established ? { min: o.min ?? Math.min(...values), p50: 999_999, p99: 999_999, max: o.max ?? Math.max(...values) } : null,
    setupHistogram: o.histogram,
    startedAt: T + o.from,
    endedAt: T + o.to,
    done: true,
    timedOut: false,
  };
}

// A and B overlap (1 s), C comes after a gap of 6 s
const A = run({
  count: 4,
  established: 3,
  failures: { AUTHENTICATION_FAILED: 1 },
  histogram: [
    [10, 1],
    [20, 1],
    [40, 1],
  ],
  from: 0,
  to: 2000,
});
const B = run({
  count: 3,
  established: 3,
  histogram: [
    [20, 1],
    [30, 2],
  ],
  from: 1000,
  to: 4000,
});
const C = run({
  count: 3,
  established: 2,
  failures: { timeout: 1 },
  childFailures: { TS_UNACCEPTABLE: 1 },
  histogram: [
    [50, 1],
    [1230, 1],
  ],
  max: 1234.5,
  from: 10_000,
  to: 11_000,
  lost: 1,
});
const parse = (name: string, value: unknown) => parseSummaries(name, JSON.stringify(value));

describe('merging load run summaries', () => {
  test('counts and reasons summed, percentiles over the union, rate over the union of the time spans', () => {
    const m = mergeLoadSummaries([...parse('a.json', A), ...parse('b.json', B), ...parse('c.json', C)]);
    expect(m).toMatchObject({
      ok: false,
      runs: 3,
      ike: ['load'],
      count: 10,
      started: 10,
      established: 8,
      failed: 2,
      failures: { AUTHENTICATION_FAILED: 1, timeout: 1 },
      childFailures: { TS_UNACCEPTABLE: 1 },
      lost: 1,
      inFlight: 0,
      done: true,
      timedOut: false,
    });
    // union histogram 10:1 20:2 30:2 40:1 50:1 1230:1 (8 values): p50 is rank 4 -> 30, p99 rank ceil(7.92) = 8 -> 1230
    expect(m.setupHistogram).toEqual([
      [10, 1],
      [20, 2],
      [30, 2],
      [40, 1],
      [50, 1],
      [1230, 1],
    ]);
    expect(m.setupMs).toEqual({ min: 10, p50: 30, p99: 1230, max: 1234.5 });
    // spans [0,2000] + [1000,4000] -> [0,4000]; [10000,11000]: 5 s in which a run was going, 8 established -> 1.6/s
    expect(m.spans).toEqual([
      [T, T + 4000],
      [T + 10_000, T + 11_000],
    ]);
    expect(m).toMatchObject({ elapsedMs: 5000, spanMs: 11_000, startedAt: T, endedAt: T + 11_000, ratePerSec: 1.6 });
    const text = formatMergedSummary(m);
    expect(text).toContain('3 load runs of load: 8 of 10 established, 2 failed in 5.0 s (1.6 established/s)');
    expect(text).toContain('setup time p50 30 ms, p99 1230 ms (min 10, max 1234.5)');
    expect(text).toContain('failed: AUTHENTICATION_FAILED 1, timeout 1');
    expect(text).toContain('CHILD_SA refused: TS_UNACCEPTABLE 1');
    expect(text).toContain('the runs spread over 11.0 s with gaps; the rate is over the 5.0 s in which a run was going');
  });

  test('all established: ok; a merged summary merges again to the same result', () => {
    const ab = mergeLoadSummaries([...parse('a', { ...A, established: 3, count: 3, failed: 0, failures: {} }), ...parse('b', B)]);
    expect(ab).toMatchObject({ ok: true, runs: 2, count: 6, established: 6, elapsedMs: 4000, ratePerSec: 1.5 });
    expect(ab.setupMs).toEqual({ min: 10, p50: 20, p99: 40, max: 40 });
    const direct = mergeLoadSummaries([
      ...parse('a', { ...A, established: 3, count: 3, failed: 0, failures: {} }),
      ...parse('b', B),
      ...parse('c', C),
    ]);
    const again = mergeLoadSummaries([...parse('ab.json', ab), ...parse('c', C)]);
    expect(again).toEqual(direct);
    expect(again.runs).toBe(3);
  });

  test('a percentile from rounded buckets stays within the exact min and max', () => {
    const only = run({ count: 1, established: 1, histogram: [[1230, 1]], min: 1234.5, max: 1234.5, from: 0, to: 1500 });
    expect(mergeLoadSummaries(parse('x', only)).setupMs).toEqual({ min: 1234.5, p50: 1234.5, p99: 1234.5, max: 1234.5 });
  });

  test('nothing established: no percentiles, rate 0', () => {
    const none = run({ count: 2, established: 0, failures: { NO_PROPOSAL_CHOSEN: 2 }, histogram: [], from: 0, to: 300 });
    const m = mergeLoadSummaries(parse('x', none));
    expect(m).toMatchObject({ ok: false, established: 0, failed: 2, setupMs: null, ratePerSec: 0, elapsedMs: 300 });
    expect(formatMergedSummary(m)).toContain('1 load run of load: 0 of 2 established, 2 failed in 0.3 s (0 established/s)');
  });

  test('helpers: buckets of 3 significant digits, nearest-rank percentiles, span union', () => {
    expect([0, 0.01234, 1.006, 12.34, 12.36, 99.96, 999.6, 1234.5, 98_765].map(setupBucket)).toEqual([
      0, 0.0123, 1.01, 12.3, 12.4, 100, 1000, 1230, 98_800,
    ]);
    const h: [number, number][] = [
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 1],
    ];
    expect([50, 99, 100, 1].map((p) => histogramPercentile(h, 4, p))).toEqual([2, 4, 4, 1]);
    expect(
      unionSpans([
        [5, 6],
        [0, 2],
        [2, 3],
        [1, 1.5],
      ]),
    ).toEqual([
      [0, 3],
      [5, 6],
    ]);
  });
});

describe('the forms of a summary file', () => {
  test('one JSON object (pretty or not), JSON lines, or a log with IKELAB_LOAD_SUMMARY lines', () => {
    expect(parseSummaries('a.json', JSON.stringify(A, null, 2))).toHaveLength(1);
    const lines = parseSummaries('all.jsonl', `${JSON.stringify(A)}\n${JSON.stringify(B)}\n\n`);
    expect(lines.map((l) => l.source)).toEqual(['all.jsonl:1', 'all.jsonl:2']);
    // kubectl logs --prefix of two pods: charon lines, progress lines and one marked summary each
    const log = [
      '[pod/ikelab-load-0-abc/ikelab] 10:00:01 00[IKE] <load|1> IKE_SA load[1] established between 10.0.0.5[c1@x]...10.0.0.1[10.0.0.1]',
      '[pod/ikelab-load-0-abc/ikelab] {"level":30,"msg":"a JSON log line is not a summary"}',
      `[pod/ikelab-load-0-abc/ikelab] IKELAB_LOAD_SUMMARY ${JSON.stringify(A)}`,
      '[pod/ikelab-load-1-def/ikelab] load: 3/3 established, 0 failed, 0 in flight, 1.5/s, 2.0 s',
      `[pod/ikelab-load-1-def/ikelab] IKELAB_LOAD_SUMMARY ${JSON.stringify(B)}`,
    ].join('\n');
    const found = parseSummaries('pods.log', log);
    expect(found.map((f) => f.source)).toEqual(['pods.log:3', 'pods.log:5']);
    expect(mergeLoadSummaries(found)).toMatchObject({ runs: 2, count: 7, established: 6 });
  });

  test.each([
    ['empty', '', 'x.json: empty'],
    ['not a summary at all', 'hello\nworld\n', 'x.json: no load run summary: expected the JSON of `ikelab initiate --count N --json`'],
    ['truncated JSON', '{"count": 3, "started"', 'x.json:1: not JSON'],
    ['a JSON line that is no summary', `${JSON.stringify(A)}\n{"level":30}\n`, 'x.json:2: not a load run summary: count: '],
    ['a wrong type', JSON.stringify({ ...A, established: 'three' }), 'x.json: not a load run summary: established: '],
    [
      'written before summaries carried a histogram',
      JSON.stringify({ ...A, setupHistogram: undefined }),
      'x.json: not a load run summary: setupHistogram: ',
    ],
    [
      'a run still going',
      JSON.stringify({ ...A, done: false, endedAt: null }),
      'x.json: inconsistent load run summary: the run had not finished',
    ],
    [
      'the histogram does not hold the established ones',
      JSON.stringify({ ...A, setupHistogram: [[10, 1]] }),
      'x.json: inconsistent load run summary: setupHistogram holds 1 setup times, established is 3',
    ],
    ['reasons that do not add up', JSON.stringify({ ...A, failures: {} }), 'failures add up to 0, failed is 1'],
    ['time running backwards', JSON.stringify({ ...A, endedAt: A.startedAt - 1 }), 'is before startedAt'],
    ['a marked line with bad JSON', `x\nIKELAB_LOAD_SUMMARY {"count":\n`, 'x.json:2: not JSON'],
  ])('refused, naming the file: %s', (_what, text, message) => {
    expect(() => parseSummaries('x.json', text)).toThrow(LoadSummaryError);
    expect(() => parseSummaries('x.json', text)).toThrow(message);
  });

  test('the missing-key message says which ikelab writes the summary', () => {
    expect(() => parse('old.json', { ...A, startedAt: undefined })).toThrow(
      '(written by an older ikelab? `initiate --count N --json` writes it since load-merge exists)',
    );
  });
});

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});

describe('a real run carries what merging needs', () => {
  test('two runs of one daemon: their summaries parse, and the merge matches the runs', () => {
    const p = (pair = makePair());
    const ops = p.a.daemon.ops;
    ops.startLoad({ ike: 'demo', count: 3, rate: 10 });
    p.run(1000, 10);
    const first = ops.loadStatus();
    p.run(2000, 10);
    ops.startLoad({ ike: 'demo', count: 2, rate: 0 });
    p.run(1000, 10);
    const second = ops.loadStatus();
    for (const s of [first, second]) {
      expect(s.done).toBe(true);
      expect(s.endedAt).toBe(s.startedAt + s.elapsedMs);
      expect(s.setupHistogram.reduce((n, [, k]) => n + k, 0)).toBe(s.established);
    }
    // the first run: initiations at 0, 100, 200 ms on the pair's clock
    expect(first).toMatchObject({ established: 3, elapsedMs: 200 });
    expect(second.startedAt).toBeGreaterThan(first.endedAt!);
    const m = mergeLoadSummaries([...parse('1', { ok: true, ...first }), ...parse('2', { ok: true, ...second })]);
    expect(m).toMatchObject({ ok: true, runs: 2, ike: ['demo'], count: 5, established: 5, failed: 0 });
    expect(m.elapsedMs).toBe(first.elapsedMs + second.elapsedMs);
    expect(m.setupMs!.max).toBe(Math.max(first.setupMs!.max, second.setupMs!.max));
  });
});

describe('runs with a failure mix (--mix)', () => {
  const mixed = (o: { planned: Record<string, number>; asPlanned: Record<string, number>; outcomes: Record<string, number> }) => ({
    ...run({ count: 10, established: 9, failures: { AUTHENTICATION_FAILED: 1 }, histogram: [[10, 9]], from: 0, to: 1000 }),
    mix: 'wrong-psk=10%',
    mixSeed: 7,
    mixPlanned: o.planned,
    mixAsPlanned: o.asPlanned,
    mixOutcomes: o.outcomes,
  });
  const asPlanned = mixed({
    planned: { good: 9, 'wrong-psk': 1 },
    asPlanned: { good: 9, 'wrong-psk': 1 },
    outcomes: { 'good: established': 9, 'wrong-psk: failed AUTHENTICATION_FAILED': 1 },
  });

  test('per-class counters sum; ok means every class came to its planned outcome; the merge merges again', () => {
    const m = mergeLoadSummaries([...parse('a', asPlanned), ...parse('b', asPlanned)]);
    expect(m).toMatchObject({
      ok: true,
      established: 18,
      failed: 2,
      mix: 'wrong-psk=10%',
      mixPlanned: { good: 18, 'wrong-psk': 2 },
      mixAsPlanned: { good: 18, 'wrong-psk': 2 },
      mixOutcomes: { 'good: established': 18, 'wrong-psk: failed AUTHENTICATION_FAILED': 2 },
    });
    expect(formatMergedSummary(m)).toContain('mix wrong-psk=10%: good 18/18 as planned, wrong-psk 2/2 as planned');
    expect(mergeLoadSummaries(parse('m.json', m))).toEqual(m);
  });

  test('a wrong-psk SA that got in anyway makes the merge not ok', () => {
    const leaked = mixed({
      planned: { good: 9, 'wrong-psk': 1 },
      asPlanned: { good: 9, 'wrong-psk': 0 },
      outcomes: { 'good: established': 9, 'wrong-psk: established': 1 },
    });
    expect(mergeLoadSummaries([...parse('a', asPlanned), ...parse('b', leaked)]).ok).toBe(false);
  });

  test('runs with different mixes are refused, naming the file', () => {
    expect(() => mergeLoadSummaries([...parse('a', asPlanned), ...parse('b.json', { ...asPlanned, mix: 'no-proposal=10%' })])).toThrow(
      /b\.json: failure mix 'no-proposal=10%' differs/,
    );
  });
});
