// What a scenario run has seen so far: the daemon's events (in arrival order, never dropped, so every expectation
// can look back to its own cursor) and the wake-ups of whoever waits for the next one. Expectations poll their
// condition on each change (an event, a peer log line, a finished list-sas) instead of on a fixed tick, so a verdict
// comes as soon as its evidence does.
import { performance } from 'node:perf_hooks';
import type { IkelabEvent } from '../log/events.js';

/** The daemon went away in the middle of a run (exit 3). */
export class DaemonGone extends Error {}

export class EventStream {
  readonly events: IkelabEvent[] = [];
  /** Set when the daemon ended the watch: every wait ends with it. */
  gone: DaemonGone | undefined;
  private waiters: (() => void)[] = [];

  constructor(private readonly pollMs: number) {}

  push(e: IkelabEvent): void {
    this.events.push(e);
    this.wake();
  }

  ended(why: Error): void {
    this.gone = new DaemonGone(`the daemon ended the event stream: ${why.message}`);
    this.wake();
  }

  /** Something changed (an event, a log line, a poll's answer): every waiter re-checks its condition. */
  readonly wake = (): void => {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  };

  /** Resolves on the next change, or after ms. */
  private change(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  /** Calls check() on every change until it gives a verdict or the deadline passes (then onTimeout()). */
  async waitFor<T>(deadline: number, check: () => T | undefined, onTimeout: () => T, tickMs = this.pollMs): Promise<T> {
    for (;;) {
      const v = check();
      if (v !== undefined) return v;
      if (this.gone) throw this.gone;
      const left = deadline - performance.now();
      if (left <= 0) return onTimeout();
      await this.change(Math.min(left, tickMs));
    }
  }
}
