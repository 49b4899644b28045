// What a load run (load-run.ts) reports: the LoadStatus of `load-status`, the TypeScript API's peer.load and the
// `--json` summary, and the setup-time statistics in it.
//
// Setup times are kept twice: exact, for the run's own percentiles, and as a histogram of buckets of 3 significant
// digits, which `ikelab load-merge` (load-summary.ts) adds up over the runs of several processes, since percentiles
// cannot be merged from percentiles.
import type { MixStatus } from './load-mix-tracker.js';

/** Setup times of the established IKE_SAs (initiation to IKE_AUTH done), ms. */
export interface SetupPercentiles {
  min: number;
  p50: number;
  p99: number;
  max: number;
}

/** A mixed run's status carries the per-class counts too (MixStatus, absent without --mix). */
export interface LoadStatus extends Partial<MixStatus> {
  id: number;
  ike: string;
  count: number;
  rate: number;
  /** Initiations made so far. */
  started: number;
  established: number;
  failed: number;
  /** Failures by the peer's notify, or the reason in words ('peer not responding', 'timeout', ...). */
  failures: Record<string, number>;
  /** Started, neither established nor failed yet. */
  inFlight: number;
  /** Due by the rate but waiting for their source's half-open window (maxHalfOpen, half-open-window.ts). */
  waiting: number;
  /** The half-open window per source address in force (0: none). */
  maxHalfOpen: number;
  /** Established IKE_SAs whose first CHILD_SA was refused (the IKE_SA counts as established). */
  childFailures: Record<string, number>;
  /** Established during the run, then gone before it ended (a peer that deleted them: INITIAL_CONTACT, unique). */
  lost: number;
  /** Since the first initiation, on the daemon's clock. */
  elapsedMs: number;
  /** Established per second over elapsedMs. */
  ratePerSec: number;
  /** Setup time of the established ones (initiation to IKE_AUTH done), ms. */
  setupMs: SetupPercentiles | null;
  /**
   * What merging runs of several processes needs (`ikelab load-merge`, load-summary.ts), since percentiles cannot be
   * merged from percentiles: the setup times as [ms rounded to 3 significant digits, how many], ascending.
   */
  setupHistogram: [number, number][];
  /** Wall clock (ms since the epoch) of the first initiation, and of the end (startedAt + elapsedMs; null while running). */
  startedAt: number;
  endedAt: number | null;
  done: boolean;
  timedOut: boolean;
}

/** The setup times of one run, for LoadStatus.setupMs and setupHistogram. */
export class SetupTimes {
  private readonly all: number[] = [];
  /** setupBucket(ms) -> how many: bounded (at most 900 keys per decade of ms) however many SAs a run has. */
  private readonly histogram = new Map<number, number>();

  add(ms: number): void {
    this.all.push(ms);
    const bucket = setupBucket(ms);
    this.histogram.set(bucket, (this.histogram.get(bucket) ?? 0) + 1);
  }

  /** Min, nearest-rank p50 and p99, max, to 0.1 ms; null before any SA is established. */
  percentiles(): SetupPercentiles | null {
    const sorted = [...this.all].sort((a, b) => a - b);
    if (!sorted.length) return null;
    return { min: round(sorted[0]!), p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)), max: round(sorted.at(-1)!) };
  }

  /** [bucket ms, how many], ascending by bucket. */
  buckets(): [number, number][] {
    return [...this.histogram].sort((a, b) => a[0] - b[0]);
  }
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

/**
 * A setup time's histogram bucket: the time rounded to 3 significant digits (12.34 -> 12.3, 1234.5 -> 1230), so a
 * percentile over the buckets of many runs is within 0.5 % of the exact one.
 */
export function setupBucket(ms: number): number {
  if (!(ms > 0)) return 0;
  const step = 10 ** (Math.floor(Math.log10(ms)) - 2);
  // toPrecision drops the binary noise of the multiplication (123 * 0.1 = 12.300000000000001)
  return Number((Math.round(ms / step) * step).toPrecision(3));
}

/** Nearest-rank percentile of an ascending list (p50 of [1,2,3,4] is 2, p99 of 100 values the 99th). */
export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;
}
