// EventStream: the waits of a scenario's expectations end on the change that decides them, not on a poll tick.
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import type { IkelabEvent } from '../../src/log/events.js';
import { DaemonGone, EventStream } from '../../src/scenario/event-stream.js';

const ev = (event: string): IkelabEvent => ({ time: new Date().toISOString(), event }) as IkelabEvent;

describe('EventStream.waitFor', () => {
  it('decides on the event that arrives, long before the poll tick', async () => {
    const s = new EventStream(10_000);
    const t0 = performance.now();
    const verdict = s.waitFor(
      t0 + 20_000,
      () => (s.events.some((e) => e.event === 'ike.established') ? 'seen' : undefined),
      () => 'timeout',
    );
    setTimeout(() => s.push(ev('ike.established')), 20);
    expect(await verdict).toBe('seen');
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('gives the timeout verdict at the deadline when nothing decides', async () => {
    const s = new EventStream(10);
    const t0 = performance.now();
    s.push(ev('other'));
    const verdict = await s.waitFor(
      t0 + 80,
      () => undefined,
      () => 'timeout',
    );
    expect(verdict).toBe('timeout');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(75);
  });

  it('ends every wait with DaemonGone when the daemon closes the stream', async () => {
    const s = new EventStream(10_000);
    const waiting = s.waitFor(
      performance.now() + 20_000,
      () => undefined,
      () => 'timeout',
    );
    setTimeout(() => s.ended(new Error('connection reset')), 10);
    await expect(waiting).rejects.toBeInstanceOf(DaemonGone);
    await expect(waiting).rejects.toThrow('the daemon ended the event stream: connection reset');
  });
});
