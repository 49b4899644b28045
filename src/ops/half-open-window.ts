// The half-open window of a load run (load-run.ts): at most `max` IKE_SAs connecting at once per source address.
//
// A headend drops what comes too fast from one address: charon's block_threshold (default 5) silently drops
// IKE_SA_INITs from a peer IP that already has that many half-open IKE_SAs, so pacing by rate alone collapses on a
// busy headend (setup times of seconds: 31 of 200 established at 50/s from 51 addresses, the rest 'peer not
// responding'). An initiation whose turn comes while its source is full therefore waits (FIFO per source) for one
// of that source's SAs to settle; the rate stays the upper bound. `max` 0 lifts the window, for a burst meant to
// overload.
//
// Bookkeeping only: the run decides when an initiation is due and starts the one handed back by settled().

/** Half-open IKE_SAs per source address by default: one below charon's block_threshold (5). */
export const DEFAULT_MAX_HALF_OPEN = 4;

export class HalfOpenWindow {
  /** Connecting IKE_SAs per source key ('' without a pool: the connection's own address). */
  private readonly open = new Map<string, number>();
  /** Initiations due by the rate but held back by the window, by index, per source key. */
  private readonly held = new Map<string, number[]>();
  private heldCount = 0;

  constructor(readonly max: number) {}

  /** Initiations due but held back (the status's `waiting`). */
  get waiting(): number {
    return this.heldCount;
  }

  /**
   * Initiation #index of `source` is due: true when it may start now, false when it is held until settled() hands
   * it back. Admitting takes no slot: opened() does once the IKE_SA exists (an initiation that fails before has
   * none to give back).
   */
  admit(source: string, index: number): boolean {
    // (written as the test for full so that a max that is not a positive number, NaN included, means no window)
    if (!(this.max > 0 && (this.open.get(source) ?? 0) >= this.max)) return true;
    let q = this.held.get(source);
    if (!q) this.held.set(source, (q = []));
    q.push(index);
    this.heldCount++;
    return false;
  }

  /** An IKE_SA of `source` is now connecting. */
  opened(source: string): void {
    this.open.set(source, (this.open.get(source) ?? 0) + 1);
  }

  /** An IKE_SA of `source` left the half-open state (up or failed): the held initiation now due, if any. */
  settled(source: string): number | undefined {
    const n = (this.open.get(source) ?? 1) - 1;
    if (n > 0) this.open.set(source, n);
    else this.open.delete(source);
    const q = this.held.get(source);
    const next = q?.shift();
    if (next === undefined) return undefined;
    this.heldCount--;
    if (!q!.length) this.held.delete(source);
    return next;
  }
}
