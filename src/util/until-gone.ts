// Waiting for a known set of things to go away without polling them: with 10,000 IKE_SAs at shutdown, asking each
// one for its state every few milliseconds is O(n) per look. The owner reports every thing that goes; the wait
// counts its own down and ends at zero or at its deadline, whichever comes first.
import type { TimerQueue } from './timer-queue.js';

/**
 * Resolves with how many of `items` are still there once all of them are gone or `waitMs` has passed on `timers`'
 * clock. `subscribe` registers a callback for everything that goes (things not in `items` are ignored) and returns
 * its removal. It subscribes at once, so an item that goes before the caller awaits (synchronously, while the
 * caller is still sending its DELETEs) counts; when the promise settles neither subscription nor timer is left.
 */
export function untilGone<T>(
  items: Iterable<T>,
  subscribe: (gone: (item: T) => void) => () => void,
  timers: TimerQueue,
  waitMs: number,
): Promise<number> {
  const left = new Set(items);
  if (left.size === 0) return Promise.resolve(0);
  return new Promise((resolve) => {
    const finish = (): void => {
      unsubscribe();
      timers.cancel(deadline);
      resolve(left.size);
    };
    const unsubscribe = subscribe((item) => {
      if (left.delete(item) && left.size === 0) finish();
    });
    const deadline = timers.after(waitMs, 'until-gone', finish);
  });
}
