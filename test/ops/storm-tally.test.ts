// What a rekey or DPD storm counts (src/ops/storm-tally.ts) on its own: the counters by target and by failure
// reason, what is in flight, the achieved rate and the latency percentiles. Storms themselves: storm.test.ts.
import { describe, expect, test } from 'vitest';
import { StormTally } from '../../src/ops/storm-tally.js';

describe('storm tally', () => {
  test('nothing yet: zero counters, no latencies, no rate', () => {
    expect(new StormTally().counts(0, false)).toEqual({
      attempted: 0,
      succeeded: 0,
      failed: 0,
      failures: {},
      attemptedBy: {},
      succeededBy: {},
      inFlight: 0,
      elapsedMs: 0,
      ratePerSec: 0,
      latencyMs: null,
    });
  });

  test('counters by target and reason; in flight until done; rate over the elapsed time', () => {
    const t = new StormTally();
    for (const target of ['CHILD_SA', 'IKE_SA', 'CHILD_SA', 'IKE_SA', 'DPD']) t.attempt(target);
    t.succeed('CHILD_SA', 10);
    t.succeed('IKE_SA', 20);
    t.fail('NO_PROPOSAL_CHOSEN');
    expect(t.settled).toBe(3);
    const c = t.counts(1500, false);
    expect(c).toMatchObject({
      attempted: 5,
      succeeded: 2,
      failed: 1,
      failures: { NO_PROPOSAL_CHOSEN: 1 },
      attemptedBy: { CHILD_SA: 2, IKE_SA: 2, DPD: 1 },
      succeededBy: { CHILD_SA: 1, IKE_SA: 1 },
      inFlight: 2,
      elapsedMs: 1500,
      // 2 in 1.5 s, to 0.1/s
      ratePerSec: 1.3,
    });
    // once the storm is over nothing is in flight, whatever has no outcome
    expect(t.counts(1500, true).inFlight).toBe(0);
    // the summary is a copy: changing it changes nothing counted
    c.failures.NO_PROPOSAL_CHOSEN = 99;
    expect(t.counts(1500, false).failures).toEqual({ NO_PROPOSAL_CHOSEN: 1 });
  });

  test('latencies: nearest-rank percentiles of the successes in any order, to 0.1 ms', () => {
    const t = new StormTally();
    for (let i = 100; i >= 1; i--) t.succeed('DPD', i + 0.04);
    expect(t.counts(1000, true).latencyMs).toEqual({ min: 1, p50: 50, p99: 99, max: 100 });
  });
});
