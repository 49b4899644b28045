// Log lines on flood paths (malformed datagrams, unknown SPIs, COOKIEs, refused IKE_SA setups) must not cost a
// line each: an attacker would pick our log volume. Per kind of event, the first `burst` events of a window are
// logged as usual; the rest are only counted, and when the window ends one summary line says how many there were,
// e.g. `dropped 1,234 malformed datagrams in the last 10 s (1,229 not logged)`. Time is the daemon's injected
// clock (the timer queue), so tests step through windows with a manual clock. The daemon's counters still count
// every event; this only decides about log lines.
import type { TimerHandle, TimerQueue } from '../util/timer-queue.js';
import type { LogGroup } from './groups.js';
import type { Logger } from './logger.js';

export const LOG_WINDOW_MS = 10_000;
export const LOG_BURST = 5;

export interface LimitedKind {
  /** Group and level of the individual lines (the caller logs those itself when allow() says so). */
  group: LogGroup;
  level: number;
  /**
   * The end-of-window line (logged at level 1 of `group`) for `count` events (formatted, e.g. `1,234`) in a window
   * of `windowS` seconds; the limiter appends `(N not logged)` when some of them were logged one by one.
   */
  summary(count: string, windowS: number): string;
}

interface Window {
  start: number;
  total: number;
  logged: number;
  timer?: TimerHandle;
}

/** Thousands separators as in `1,234`. */
export const fmtCount = (n: number): string => n.toLocaleString('en-US');

export class LogLimiter {
  private readonly windows = new Map<LimitedKind, Window>();

  constructor(
    private readonly log: Logger,
    private readonly timers: TimerQueue,
    readonly windowMs = LOG_WINDOW_MS,
    readonly burst = LOG_BURST,
  ) {}

  /**
   * One event of this kind happened: true when its lines should be logged now (within the window's burst and
   * the level enabled). Otherwise it is counted for the window's summary line.
   */
  allow(kind: LimitedKind): boolean {
    const now = this.timers.now();
    let w = this.windows.get(kind);
    if (w && now >= w.start + this.windowMs) {
      this.flush(kind, w);
      w = undefined;
    }
    if (!w) {
      w = { start: now, total: 0, logged: 0 };
      this.windows.set(kind, w);
    }
    w.total++;
    if (w.logged < this.burst && this.log.enabled(kind.group, kind.level)) {
      w.logged++;
      return true;
    }
    if (!w.timer && this.log.enabled(kind.group, 1)) {
      const win = w;
      win.timer = this.timers.after(win.start + this.windowMs - now, `log summary ${kind.group}`, () => {
        win.timer = undefined;
        this.flush(kind, win);
      });
    }
    return false;
  }

  /** End every open window now, logging their summaries (daemon shutdown, tests). */
  flushAll(): void {
    for (const [kind, w] of [...this.windows]) this.flush(kind, w);
  }

  private flush(kind: LimitedKind, w: Window): void {
    if (this.windows.get(kind) === w) this.windows.delete(kind);
    if (w.timer) this.timers.cancel(w.timer);
    w.timer = undefined;
    const unlogged = w.total - w.logged;
    if (unlogged === 0) return;
    const text = kind.summary(fmtCount(w.total), Math.round(this.windowMs / 1000));
    this.log.log(kind.group, 1, w.logged > 0 ? `${text} (${fmtCount(unlogged)} not logged)` : text);
  }
}
