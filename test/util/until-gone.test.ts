// untilGone: a wait for a known set of things to go, counted down as the owner reports them, bounded by a deadline
// on the injected clock (ManualClock here, so the bound is exact and no host time passes).
import { describe, expect, test } from 'vitest';
import { untilGone } from '../../src/util/until-gone.js';
import { ManualClock, TimerQueue } from '../../src/util/timer-queue.js';
import { settled } from '../helpers/settled.js';

/** What an owner offers: subscribers told of every item that goes. */
function owner<T>() {
  const listeners = new Set<(item: T) => void>();
  return {
    subscribe: (l: (item: T) => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    gone: (item: T) => {
      for (const l of listeners) l(item);
    },
    get subscribers() {
      return listeners.size;
    },
  };
}

describe('untilGone', () => {
  test('ends when the last item goes, before the deadline, leaving no timer and no subscription', async () => {
    const clock = new ManualClock();
    const timers = new TimerQueue(clock);
    const o = owner<string>();
    const wait = untilGone(['a', 'b', 'c'], o.subscribe, timers, 1000);
    o.gone('b');
    o.gone('x'); // not one of ours: it must not count
    o.gone('b'); // twice the same: counted once
    o.gone('a');
    expect(await settled(wait)).toBe(false);
    o.gone('c');
    expect(await wait).toBe(0);
    expect(clock.now()).toBe(0);
    expect(timers.size).toBe(0);
    expect(o.subscribers).toBe(0);
  });

  test('ends at the deadline with the number still there, and unsubscribes', async () => {
    const clock = new ManualClock();
    const timers = new TimerQueue(clock);
    const o = owner<number>();
    const wait = untilGone([1, 2, 3], o.subscribe, timers, 1000);
    o.gone(2);
    clock.advance(999);
    expect(await settled(wait)).toBe(false);
    clock.advance(1);
    expect(await wait).toBe(2);
    expect(timers.size).toBe(0);
    expect(o.subscribers).toBe(0);
  });

  test('nothing to wait for: 0 at once, without a timer or a subscription', async () => {
    const timers = new TimerQueue(new ManualClock());
    const o = owner<number>();
    expect(await untilGone([], o.subscribe, timers, 1000)).toBe(0);
    expect(timers.size).toBe(0);
    expect(o.subscribers).toBe(0);
  });
});
