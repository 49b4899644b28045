// The setup times of a load run's status (src/ops/load-status.ts): exact nearest-rank percentiles to 0.1 ms for
// the run itself, and the 3-significant-digit histogram that load-merge adds up over runs (load-summary.test.ts).
import { describe, expect, test } from 'vitest';
import { SetupTimes } from '../../src/ops/load-status.js';

describe('setup times', () => {
  test('none established: no percentiles, an empty histogram', () => {
    const t = new SetupTimes();
    expect(t.percentiles()).toBeNull();
    expect(t.buckets()).toEqual([]);
  });

  test('percentiles over the times in any order, rounded to 0.1 ms', () => {
    const t = new SetupTimes();
    // 100 times, added in descending order: 100.04 .. 1.04 ms
    for (let i = 100; i >= 1; i--) t.add(i + 0.04);
    expect(t.percentiles()).toEqual({ min: 1, p50: 50, p99: 99, max: 100 });
    // reading does not disturb what comes next
    t.add(0.26);
    expect(t.percentiles()).toEqual({ min: 0.3, p50: 50, p99: 99, max: 100 });
  });

  test('the histogram: times of one 3-digit bucket counted together, buckets ascending', () => {
    const t = new SetupTimes();
    for (const ms of [1234.5, 12.34, 12.31, 0, 1226, 12.36]) t.add(ms);
    expect(t.buckets()).toEqual([
      [0, 1],
      [12.3, 2],
      [12.4, 1],
      [1230, 2],
    ]);
  });
});
