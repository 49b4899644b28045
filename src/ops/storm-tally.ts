// What a rekey or DPD storm (storm.ts) counts: requests made, outcomes (failures by reason) and the latencies of
// the successes, and the counters of its StormStatus made from them. Kept apart from the storm, which decides what
// an outcome is, so the arithmetic of the summary (rate over the elapsed time, nearest-rank percentiles as load runs
// compute them, nothing in flight once the storm is over) can be read and tested on its own.
//
// The per-target counts are plain counters rather than shares, so summaries of several processes add up.
import { percentile } from './load-status.js';

/** The counters of a storm's StormStatus. */
export interface StormCounts {
  /** Requests made so far (a target gone before its turn counts as attempted and failed). */
  attempted: number;
  /** Rekeyed (rekey) / answered (dpd). */
  succeeded: number;
  failed: number;
  /** Failures by the peer's notify, or the reason in words ('peer not responding', 'IKE_SA gone', 'timeout', ...). */
  failures: Record<string, number>;
  /** Per target (IKE_SA, CHILD_SA, DPD): plain counters, so summaries of several processes add up. */
  attemptedBy: Record<string, number>;
  succeededBy: Record<string, number>;
  inFlight: number;
  elapsedMs: number;
  /** Succeeded per second over elapsedMs. */
  ratePerSec: number;
  /** Rekey: request to completion; DPD: round trip. Of the succeeded ones, ms. */
  latencyMs: { min: number; p50: number; p99: number; max: number } | null;
}

export class StormTally {
  private attempted = 0;
  private succeeded = 0;
  private failed = 0;
  private readonly failures: Record<string, number> = {};
  private readonly attemptedBy: Record<string, number> = {};
  private readonly succeededBy: Record<string, number> = {};
  private readonly latencies: number[] = [];

  /** A request made on target (IKE_SA, CHILD_SA, DPD), or one whose turn the storm's end took away. */
  attempt(target: string): void {
    this.attempted++;
    this.attemptedBy[target] = (this.attemptedBy[target] ?? 0) + 1;
  }

  succeed(target: string, latencyMs: number): void {
    this.succeeded++;
    this.succeededBy[target] = (this.succeededBy[target] ?? 0) + 1;
    this.latencies.push(latencyMs);
  }

  fail(reason: string): void {
    this.failed++;
    this.failures[reason] = (this.failures[reason] ?? 0) + 1;
  }

  /** Requests with an outcome, succeeded or failed. */
  get settled(): number {
    return this.succeeded + this.failed;
  }

  /** The counters over elapsedMs; done: the storm is over, so nothing is in flight however the counts stand. */
  counts(elapsedMs: number, done: boolean): StormCounts {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const round = (ms: number) => Math.round(ms * 10) / 10;
    return {
      attempted: this.attempted,
      succeeded: this.succeeded,
      failed: this.failed,
      failures: { ...this.failures },
      attemptedBy: { ...this.attemptedBy },
      succeededBy: { ...this.succeededBy },
      inFlight: done ? 0 : this.attempted - this.succeeded - this.failed,
      elapsedMs,
      ratePerSec: elapsedMs > 0 ? Math.round((this.succeeded * 1000 * 10) / elapsedMs) / 10 : 0,
      latencyMs: sorted.length
        ? { min: round(sorted[0]!), p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)), max: round(sorted.at(-1)!) }
        : null,
    };
  }
}
