// Anti-replay sliding window of one inbound SA (RFC 4303 section 3.4.3 and Appendix A), including the
// reconstruction of the high 32 bits of an extended sequence number (Appendix A2.2).
//
// Like wireguard-go's replay filter, the bitmap is a ring of 32-bit blocks: moving the window forward only
// zeroes the blocks it enters, never shifts bits, so advancing by a large jump costs at most one pass over the
// ring. The ring holds at least one block more than the window needs, so the bits of the oldest sequence
// number still inside the window are never overwritten by a newer one.
//
// The caller verifies the ICV first and only then calls check/update (or checkAndUpdate): a forged packet
// must never move the window (RFC 4303 3.4.3: "the receive window is updated only if the ICV verification
// succeeds").

const U32 = 0x1_0000_0000;
/** Window used only to infer ESN high bits when anti-replay is disabled (replay_window 0): the sender still
 *  moves forward, so a small window keeps the inference meaningful (RFC 4303 A2.1 requires tracking it). */
const ESN_INFERENCE_MIN = 32;
/** 2^27 blocks of 32 bits cover 2^32 sequence numbers: a block's number is high * 2^27 + (low >>> 5). */
const BLOCKS_PER_HIGH = 0x800_0000;

/**
 * Sequence numbers are held as two unsigned 32-bit halves (high, low) in plain numbers: a BigInt per operation
 * would allocate several times per packet. The bigint methods (check, update, checkAndUpdate, inferSeq, top) are
 * the same operations for callers that hold a bigint.
 */
export class ReplayWindow {
  /** Highest sequence number accepted so far (0 before the first packet; 0 is never a valid number). */
  private topHigh = 0;
  private topLow = 0;
  /**
   * The ring, made by the first update: an SA that never receives keeps none (10,000 held SAs, most of them idle).
   * Nothing reads it before then: until the first update the top is 0 and every number above 0 is new.
   */
  private bits: Uint32Array | undefined;
  private readonly blocks: number;
  private readonly ringMask: number;
  /** The bits of the high half that still select a block: only a ring of more than 2^27 blocks needs any. */
  private readonly highMask: number;

  /** size = number of sequence numbers the window spans; 0 disables replay protection (charon semantics). */
  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`replay window ${size}`);
    let blocks = 1;
    while (blocks < Math.ceil(size / 32) + 1) blocks *= 2;
    this.blocks = blocks;
    this.ringMask = blocks - 1;
    this.highMask = blocks > BLOCKS_PER_HIGH ? blocks / BLOCKS_PER_HIGH - 1 : 0;
  }

  get top(): bigint {
    return (BigInt(this.topHigh) << 32n) | BigInt(this.topLow);
  }

  /**
   * The high 32 bits of the sequence number whose low 32 bits a received ESN packet carries, RFC 4303 Appendix A2.2:
   * Case A (the window lies in one 2^32 subspace): below the window means the counter wrapped (next subspace).
   * Case B (the window straddles a subspace boundary): at or above the window bottom means the previous one.
   * The guess is only a guess: a wrong one fails the ICV, because the high bits are part of it (2.2.1).
   */
  inferHigh(seqLow: number): number {
    const w = Math.max(this.size, ESN_INFERENCE_MIN);
    const thLow = this.topLow;
    const thHigh = this.topHigh;
    const tlLow = (thLow - w + 1 + U32) % U32; // bottom of the window, modulo 2^32
    if (thLow >= w - 1) return seqLow >= tlLow ? thHigh : (thHigh + 1) >>> 0; // Case A
    // Case B. Before the counter ever wrapped there is no previous subspace: the number is simply far ahead.
    if (seqLow >= tlLow) return thHigh === 0 ? 0 : thHigh - 1;
    return thHigh;
  }

  /** inferHigh as one 64-bit number. */
  inferSeq(seqLow: number): bigint {
    return (BigInt(this.inferHigh(seqLow)) << 32n) | BigInt(seqLow >>> 0);
  }

  /** True when (high, low) is new: to the right of the window, or inside it and not yet seen. Changes nothing. */
  checkParts(high: number, low: number): boolean {
    if (high === 0 && low === 0) return false; // RFC 4303 3.3.3: the first packet carries 1, 0 is never sent
    if (this.size === 0 || high > this.topHigh || (high === this.topHigh && low > this.topLow)) return true;
    // How far below the top, exact below 2^53 (beyond that far outside any window anyway).
    if ((this.topHigh - high) * U32 + (this.topLow - low) >= this.size) return false; // left of the window: too old
    return (this.bits![this.block(high, low)]! & (1 << (low & 31))) === 0;
  }

  /** Record (high, low) as received (after its ICV passed), sliding the window when it is a new maximum. */
  updateParts(high: number, low: number): void {
    const bits = this.bits ?? (this.bits = new Uint32Array(this.blocks));
    if (high > this.topHigh || (high === this.topHigh && low > this.topLow)) {
      // Zero the blocks the window enters; past a whole ring's worth, every block once.
      const diff = (high - this.topHigh) * BLOCKS_PER_HIGH + ((low >>> 5) - (this.topLow >>> 5));
      const n = Math.min(diff, bits.length);
      let block = this.block(this.topHigh, this.topLow);
      for (let i = 0; i < n; i++) {
        block = (block + 1) & this.ringMask;
        bits[block] = 0;
      }
      this.topHigh = high;
      this.topLow = low;
    }
    const b = this.block(high, low);
    bits[b] = bits[b]! | (1 << (low & 31));
  }

  /** checkParts + updateParts in one step, as the receive path uses it once the ICV is verified. */
  checkAndUpdateParts(high: number, low: number): boolean {
    if (!this.checkParts(high, low)) return false;
    this.updateParts(high, low);
    return true;
  }

  /** The ring block holding the bit of (high, low). */
  private block(high: number, low: number): number {
    return ((high & this.highMask) * BLOCKS_PER_HIGH + (low >>> 5)) & this.ringMask;
  }

  check(seq: bigint): boolean {
    return this.checkParts(...halves(seq));
  }

  update(seq: bigint): void {
    this.updateParts(...halves(seq));
  }

  checkAndUpdate(seq: bigint): boolean {
    return this.checkAndUpdateParts(...halves(seq));
  }
}

/** A 64-bit sequence number as (high, low) halves. */
export const halves = (seq: bigint): [number, number] => [Number(BigInt.asUintN(64, seq) >> 32n), Number(seq & 0xffff_ffffn)];
