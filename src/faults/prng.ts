// A small seeded PRNG for probabilistic fault rules: the same seed gives the same sequence on every machine and
// Node version, which is what makes "drop 30% of liveness checks" reproducible from a bug report. Never
// Math.random (unseeded) and never crypto (not repeatable).
//
// xoshiro128** (Blackman & Vigna) for the stream, its state filled by splitmix32 from the 32-bit seed, so
// neighbouring seeds (1, 2, 3) still give unrelated sequences and seed 0 is as good as any other.

/** splitmix32 step: a well-mixed 32-bit value from a counter. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(readonly seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new RangeError(`PRNG seed ${seed}: an integer 0..4294967295`);
    const st = { s: seed | 0 };
    this.s0 = splitmix32(st);
    this.s1 = splitmix32(st);
    this.s2 = splitmix32(st);
    this.s3 = splitmix32(st);
    // xoshiro must not start from all zeros (it would stay there); splitmix32 makes that practically impossible
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next 32-bit unsigned value. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 0x1_0000_0000;
  }

  /** true with probability p (p >= 1 always, p <= 0 never); always consumes one value so sequences stay aligned. */
  chance(p: number): boolean {
    return this.next() < p;
  }
}
