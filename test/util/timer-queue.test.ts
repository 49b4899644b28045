// TimerQueue: one binary min-heap of deadlines for the whole daemon and a single armed host timer (the Clock),
// driven here by ManualClock so time moves only when the test says so.
import { describe, expect, test } from 'vitest';
import { ManualClock, TimerQueue, type Clock } from '../../src/util/timer-queue.js';
import { PairClock } from '../helpers/peers.js';

/** A ManualClock that counts how often the host timer is armed and disarmed. */
class CountingClock extends ManualClock {
  arms = 0;
  disarms = 0;
  armedAt: number | undefined;
  override arm(at: number, fire: () => void): void {
    this.arms++;
    this.armedAt = at;
    // a host timer is one-shot: once it fires it is no longer armed
    super.arm(at, () => {
      this.armedAt = undefined;
      fire();
    });
  }
  override disarm(): void {
    this.disarms++;
    this.armedAt = undefined;
    super.disarm();
  }
}

/** Deterministic pseudo-random integers (LCG), so the heap sees the same shuffled input every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

describe('TimerQueue', () => {
  test('fires in deadline order regardless of insertion order, each at its own time', () => {
    const clock = new ManualClock();
    const q = new TimerQueue(clock);
    const fired: [string, number][] = [];
    for (const [name, ms] of [
      ['c', 300],
      ['a', 100],
      ['e', 500],
      ['b', 200],
      ['d', 400],
    ] as const)
      q.after(ms, name, () => fired.push([name, clock.now()]));
    expect(q.size).toBe(5);
    clock.advance(250);
    expect(fired).toEqual([
      ['a', 100],
      ['b', 200],
    ]);
    expect(q.size).toBe(3);
    clock.advance(1000);
    expect(fired.map((f) => f[0])).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(fired.map((f) => f[1])).toEqual([100, 200, 300, 400, 500]);
    expect(q.size).toBe(0);
    expect(clock.now()).toBe(1250);
  });

  test('heap order holds for 2,000 shuffled deadlines, with ties', () => {
    const clock = new ManualClock();
    const q = new TimerQueue(clock);
    const rnd = lcg(42);
    const got: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const at = rnd() % 500; // many equal deadlines
      q.after(at, `t${i}`, () => got.push(at));
    }
    clock.advance(1000);
    expect(got).toHaveLength(2000);
    for (let i = 1; i < got.length; i++) expect(got[i]).toBeGreaterThanOrEqual(got[i - 1]!);
  });

  test('negative delays run at once (now), a deadline exactly reached fires', () => {
    const clock = new ManualClock();
    const q = new TimerQueue(clock);
    clock.advance(50);
    const fired: number[] = [];
    q.after(-10, 'past', () => fired.push(clock.now()));
    q.after(10, 'exact', () => fired.push(clock.now()));
    clock.advance(0);
    expect(fired).toEqual([50]);
    clock.advance(10);
    expect(fired).toEqual([50, 60]);
  });

  test('cancel: the head, one in the middle, the last; cancelling twice or after firing is a no-op', () => {
    const clock = new CountingClock();
    const q = new TimerQueue(clock);
    const fired: string[] = [];
    const hs = Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f'].map((n, i) => [n, q.after((i + 1) * 100, n, () => fired.push(n))]));
    q.cancel(hs.a); // head: host timer re-armed to b
    expect(clock.armedAt).toBe(200);
    q.cancel(hs.d); // middle
    q.cancel(hs.f); // last element of the heap array
    q.cancel(hs.d);
    q.cancel(undefined);
    expect(hs.a!.index).toBe(-1);
    expect(q.size).toBe(3);
    clock.advance(1000);
    expect(fired).toEqual(['b', 'c', 'e']);
    q.cancel(hs.b); // already fired
    expect(q.size).toBe(0);
    expect(clock.armedAt).toBeUndefined();
  });

  test('cancelling every timer disarms the host timer', () => {
    const clock = new CountingClock();
    const q = new TimerQueue(clock);
    const hs = [q.after(10, 'x', () => {}), q.after(20, 'y', () => {})];
    hs.forEach((h) => q.cancel(h));
    expect(q.size).toBe(0);
    expect(clock.disarms).toBe(1);
    expect(clock.armedAt).toBeUndefined();
    clock.advance(100); // nothing fires
  });

  test('10,000 SAs worth of timers: one host timer, armed once when later deadlines are added', () => {
    const clock = new CountingClock();
    const q = new TimerQueue(clock);
    let fired = 0;
    const handles = [];
    for (let i = 0; i < 10_000; i++) {
      // per SA: a DPD timer and a rekey timer, later than the first deadline
      handles.push(q.after(30_000 + i, `sa${i}:dpd`, () => fired++));
      handles.push(q.after(14_400_000 + i, `sa${i}:ike-rekey`, () => fired++));
    }
    expect(q.size).toBe(20_000);
    expect(clock.arms).toBe(1); // the earliest deadline never changed after the first timer
    expect(clock.armedAt).toBe(30_000);
    // cancelling 5,000 DPD timers that are not at the head does not touch the host timer
    for (let i = 1; i < 10_000; i += 2) q.cancel(handles[2 * i]);
    expect(clock.arms).toBe(1);
    expect(q.size).toBe(15_000);
    const t0 = performance.now();
    clock.advance(40_000);
    expect(fired).toBe(5_000);
    clock.advance(14_400_000);
    expect(fired).toBe(15_000);
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(q.size).toBe(0);
  });

  test('an earlier timer re-arms the host timer; a timer callback may add timers (re-arming from inside fire)', () => {
    const clock = new CountingClock();
    const q = new TimerQueue(clock);
    const log: string[] = [];
    q.after(1000, 'late', () => log.push(`late@${clock.now()}`));
    expect(clock.armedAt).toBe(1000);
    q.after(100, 'early', () => {
      log.push(`early@${clock.now()}`);
      // a periodic job, like a DPD check rescheduling itself
      q.after(300, 'again', () => log.push(`again@${clock.now()}`));
      q.after(0, 'now', () => log.push(`now@${clock.now()}`));
    });
    expect(clock.armedAt).toBe(100);
    clock.advance(2000);
    expect(log).toEqual(['early@100', 'now@100', 'again@400', 'late@1000']);
    expect(clock.armedAt).toBeUndefined();
  });

  test('a timer cancelled by an earlier callback within the same advance() does not fire', () => {
    const clock = new ManualClock();
    const q = new TimerQueue(clock);
    const log: string[] = [];
    const victim = q.after(150, 'victim', () => log.push('victim'));
    q.after(100, 'killer', () => {
      log.push('killer');
      q.cancel(victim);
    });
    q.after(150, 'bystander', () => log.push('bystander'));
    clock.advance(200);
    expect(log).toEqual(['killer', 'bystander']);
    expect(q.size).toBe(0);
  });

  test("now() is the clock's time; a custom Clock receives exactly one armed deadline at a time", () => {
    const armed: number[] = [];
    let t = 5;
    let pending: (() => void) | undefined;
    const clock: Clock = { now: () => t, arm: (at, fire) => (armed.push(at), (pending = fire)), disarm: () => (pending = undefined) };
    const q = new TimerQueue(clock);
    expect(q.now()).toBe(5);
    const fired: string[] = [];
    q.after(20, 'b', () => fired.push('b'));
    q.after(10, 'a', () => fired.push('a'));
    expect(armed).toEqual([25, 15]);
    const fireNow = () => {
      const f = pending!;
      pending = undefined; // one-shot, like setTimeout
      f();
    };
    t = 15;
    fireNow();
    expect(fired).toEqual(['a']);
    expect(armed).toEqual([25, 15, 25]);
    t = 30;
    fireNow();
    expect(fired).toEqual(['a', 'b']);
    expect(pending).toBeUndefined();
  });
});

describe('one clock, two daemons', () => {
  test("a ManualClock has one host-timer slot: a second TimerQueue on it replaces the first one's deadline", () => {
    // This is why test/helpers/peers.ts gives each daemon its own slot (PairClock) instead of sharing a ManualClock.
    const clock = new ManualClock();
    const a = new TimerQueue(clock);
    const b = new TimerQueue(clock);
    const fired: string[] = [];
    a.after(100, 'a:retransmit', () => fired.push('a'));
    b.after(500, 'b:keepalive', () => fired.push('b'));
    clock.advance(1000);
    expect(fired).toEqual(['b']); // a's timer was never fired
    expect(a.size).toBe(1);
  });

  test('PairClock: each TimerQueue keeps its own slot, deadlines of both fire in time order', () => {
    const clock = new PairClock();
    const a = new TimerQueue(clock.view());
    const b = new TimerQueue(clock.view());
    const fired: string[] = [];
    a.after(100, 'a1', () => {
      fired.push(`a1@${clock.now()}`);
      b.after(50, 'b-from-a', () => fired.push(`b2@${clock.now()}`));
    });
    b.after(500, 'b1', () => fired.push(`b1@${clock.now()}`));
    a.after(300, 'a2', () => fired.push(`a2@${clock.now()}`));
    expect(clock.armed).toBe(2);
    clock.advance(1000);
    expect(fired).toEqual(['a1@100', 'b2@150', 'a2@300', 'b1@500']);
    expect(clock.armed).toBe(0);
    expect(clock.now()).toBe(1000);
  });

  test('PairClock turns a timer that re-arms itself at the same instant into an error instead of a hang', () => {
    // as in a daemon, other timers are pending too (here a rekey), like the DPD loop of KNOWN_BUGS.md #1
    const clock = new PairClock(1000);
    const q = new TimerQueue(clock.view());
    q.after(3_600_000, 'rekey', () => {});
    const spin = (): void => void q.after(0, 'spin', spin);
    q.after(10, 'spin', spin);
    expect(() => clock.advance(20)).toThrow('timer loop: 1000 timers armed at t=10 ms without time moving');
  });
});
