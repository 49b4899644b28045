// Removable listeners for the log lines themselves, each with its own levels: what `ikelab initiate` streams while
// it waits (swanctl --initiate prints charon's lines of that IKE_SA the same way). Like a logger charon's bus gets
// from a vici client, a listener's levels are its own: `--loglevel 2` sees level-2 lines although the daemon's
// sinks log at 1, and while it listens the logger formats lines up to the highest level anyone asked for.
//
// The logger knows no protocol: a listener gets every record that passes its levels and picks its own (an
// IKE_SA's lines by LogRecord.ctx.ikeId).
import { LOG_GROUPS, type LevelTable, type LogGroup, levelTable } from './groups.js';
import type { LogRecord } from './logger.js';

export type LineListener = (r: LogRecord) => void;

export class LineListeners {
  private readonly listeners = new Map<LineListener, LevelTable>();
  /** Per group, the highest level any listener wants; -Infinity when none listens. */
  private max = LineListeners.silent();

  /** changed: run after a listener came or went (the logger keeps its own per-group thresholds in step). */
  constructor(private readonly changed: () => void = () => {}) {}

  private static silent(): LevelTable {
    return Object.fromEntries(LOG_GROUPS.map((g) => [g, Number.NEGATIVE_INFINITY])) as LevelTable;
  }

  get size(): number {
    return this.listeners.size;
  }

  /** Adds a listener with levels like daemon.log.levels ({ default: 1, enc: 2 }); returns its removal. */
  add(l: LineListener, levels: Record<string, number>): () => void {
    // a wrapper per subscription: the same function added twice is two subscriptions, each removed on its own
    const own: LineListener = (r) => l(r);
    this.listeners.set(own, levelTable(levels));
    this.recompute();
    return () => {
      if (this.listeners.delete(own)) this.recompute();
    };
  }

  wants(group: LogGroup, level: number): boolean {
    return level <= this.max[group];
  }

  /** The highest level any listener wants of this group; -Infinity when none listens. */
  maxLevel(group: LogGroup): number {
    return this.max[group];
  }

  deliver(r: LogRecord): void {
    for (const [l, levels] of [...this.listeners]) {
      if (r.level > levels[r.group]) continue;
      try {
        l(r);
      } catch {
        // a listener (a control client) must never break the protocol path that logged the line
      }
    }
  }

  private recompute(): void {
    const max = LineListeners.silent();
    for (const levels of this.listeners.values()) for (const g of LOG_GROUPS) max[g] = Math.max(max[g], levels[g]);
    this.max = max;
    this.changed();
  }
}
