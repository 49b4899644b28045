// Flood-path log lines: the first few per window, then one summary line at the end of the window (on the
// injected clock).
import { describe, expect, test } from 'vitest';
import { Logger, MemorySink } from '../../src/log/logger.js';
import { LogLimiter, fmtCount, type LimitedKind } from '../../src/log/rate-limit.js';
import { ManualClock, TimerQueue } from '../../src/util/timer-queue.js';

const JUNK: LimitedKind = { group: 'ENC', level: 1, summary: (n, w) => `dropped ${n} malformed datagrams in the last ${w} s` };
const QUIET: LimitedKind = { group: 'NET', level: 2, summary: (n, w) => `sent ${n} COOKIE notifies in the last ${w} s` };

function setup(levels: Record<string, number> = { default: 1 }) {
  const clock = new ManualClock();
  const timers = new TimerQueue(clock);
  const sink = new MemorySink();
  const log = new Logger(levels, [sink]);
  const limiter = new LogLimiter(log, timers, 10_000, 5);
  const events = (kind: LimitedKind, n: number) => {
    let shown = 0;
    for (let i = 0; i < n; i++) if (limiter.allow(kind)) shown++;
    return shown;
  };
  return { clock, timers, sink, limiter, events };
}

describe('LogLimiter', () => {
  test('first 5 of a window logged, the rest summarised once when the window ends', () => {
    const s = setup();
    expect(s.events(JUNK, 1234)).toBe(5);
    expect(s.sink.records).toHaveLength(0);
    expect(s.timers.size).toBe(1); // one summary timer, not one per event
    s.clock.advance(9_999);
    expect(s.sink.records).toHaveLength(0);
    s.clock.advance(1);
    expect(s.sink.lines()).toEqual(['00[ENC] dropped 1,234 malformed datagrams in the last 10 s (1,229 not logged)']);
    expect(s.timers.size).toBe(0);
    // a new window logs again
    expect(s.events(JUNK, 3)).toBe(3);
    s.clock.advance(20_000);
    expect(s.sink.records).toHaveLength(1); // nothing suppressed: no summary
  });

  test('a window ends at its deadline even when the next event comes first', () => {
    const s = setup();
    s.events(JUNK, 7);
    s.clock.advance(5_000);
    s.events(JUNK, 1);
    expect(s.sink.records).toHaveLength(0);
    s.clock.advance(5_000);
    expect(s.sink.lines()).toEqual(['00[ENC] dropped 8 malformed datagrams in the last 10 s (3 not logged)']);
  });

  test('lines of a disabled level are not logged one by one; the level-1 summary counts them all', () => {
    const s = setup();
    expect(s.events(QUIET, 40)).toBe(0);
    s.clock.advance(10_000);
    expect(s.sink.lines()).toEqual(['00[NET] sent 40 COOKIE notifies in the last 10 s']);
  });

  test('kinds are limited independently; nothing at all when the group is off', () => {
    const s = setup({ default: 1, enc: 0, net: 2 });
    expect(s.events(JUNK, 10)).toBe(0);
    expect(s.events(QUIET, 10)).toBe(5);
    expect(s.timers.size).toBe(1);
    s.clock.advance(10_000);
    expect(s.sink.lines()).toEqual(['00[NET] sent 10 COOKIE notifies in the last 10 s (5 not logged)']);
  });

  test('fmtCount', () => {
    expect(fmtCount(1234567)).toBe('1,234,567');
    expect(fmtCount(7)).toBe('7');
  });
});
