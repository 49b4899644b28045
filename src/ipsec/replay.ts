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

export class ReplayWindow {
  /** Highest sequence number accepted so far (0 before the first packet; 0 is never a valid number). */
  private topSeq = 0n;
  private readonly bits: Uint32Array;
  private readonly ringMask: number;
  private readonly ringBitsMask: bigint;

  /** size = number of sequence numbers the window spans; 0 disables replay protection (charon semantics). */
  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`replay window ${size}`);
    let blocks = 1;
    while (blocks < Math.ceil(size / 32) + 1) blocks <<= 1;
    this.bits = new Uint32Array(blocks);
    this.ringMask = blocks - 1;
    this.ringBitsMask = BigInt(blocks * 32 - 1);
  }

  get top(): bigint {
    return this.topSeq;
  }

  /**
   * The full 64-bit sequence number for the low 32 bits of a received ESN packet, RFC 4303 Appendix A2.2:
   * Case A (the window lies in one 2^32 subspace): below the window means the counter wrapped (next subspace).
   * Case B (the window straddles a subspace boundary): at or above the window bottom means the previous one.
   * The guess is only a guess: a wrong one fails the ICV, because the high bits are part of it (2.2.1).
   */
  inferSeq(seqLow: number): bigint {
    const w = Math.max(this.size, ESN_INFERENCE_MIN);
    const thLow = Number(this.topSeq & 0xffff_ffffn);
    const thHigh = this.topSeq >> 32n;
    const tlLow = (thLow - w + 1 + U32) % U32; // bottom of the window, modulo 2^32
    let high: bigint;
    if (thLow >= w - 1) {
      high = seqLow >= tlLow ? thHigh : thHigh + 1n; // Case A
    } else {
      high = seqLow >= tlLow ? thHigh - 1n : thHigh; // Case B
      // Before the counter ever wrapped there is no previous subspace: the number is simply far ahead.
      if (high < 0n) high = 0n;
    }
    return (high << 32n) | BigInt(seqLow);
  }

  /** True when seq is new: to the right of the window, or inside it and not yet seen. Changes nothing. */
  check(seq: bigint): boolean {
    if (seq === 0n) return false; // RFC 4303 3.3.3: the first packet carries 1, 0 is never sent
    if (this.size === 0 || seq > this.topSeq) return true;
    if (this.topSeq - seq >= BigInt(this.size)) return false; // left of the window: too old
    const idx = Number(seq & this.ringBitsMask);
    return (this.bits[idx >>> 5]! & (1 << (idx & 31))) === 0;
  }

  /** Record seq as received (after its ICV passed), sliding the window when it is a new maximum. */
  update(seq: bigint): void {
    if (seq > this.topSeq) {
      const from = this.topSeq >> 5n;
      const diff = (seq >> 5n) - from;
      const n = diff > BigInt(this.bits.length) ? this.bits.length : Number(diff);
      let block = Number(from & BigInt(this.ringMask));
      for (let i = 0; i < n; i++) {
        block = (block + 1) & this.ringMask;
        this.bits[block] = 0;
      }
      this.topSeq = seq;
    }
    const idx = Number(seq & this.ringBitsMask);
    this.bits[idx >>> 5] = this.bits[idx >>> 5]! | (1 << (idx & 31));
  }

  /** check + update in one step, as the receive path uses it once the ICV is verified. */
  checkAndUpdate(seq: bigint): boolean {
    if (!this.check(seq)) return false;
    this.update(seq);
    return true;
  }
}
