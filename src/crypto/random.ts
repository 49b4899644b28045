// Randomness behind an interface so protocol tests can inject deterministic nonces and SPIs
// (RFC 7296 section 2.10 requires nonces to be random for real traffic). Every random choice of the IKE side
// comes from the daemon's one RandomSource: nonces, SPIs, and through uniform()/randomInt() the non-secret
// choices too (retransmit jitter, rand_time, the delay before a failed rekey is retried), so that a seeded
// source makes a whole run repeatable. (DH private keys and SK IVs are OpenSSL's business: secrets, see
// test/ike/KNOWN_BUGS.md 8.)
import { randomBytes, randomFillSync } from 'node:crypto';

export interface RandomSource {
  bytes(n: number): Buffer;
}

// OpenSSL's CSPRNG output drawn 4 KiB at a time. A setup asks for seven or so small values (SPIs, nonce, IVs,
// jitter), and a randomBytes() call each cost more than the copy out of a block (issue 16: 2-3 % of a setup).
// What was handed out is wiped from the block, so a secret does not linger there.
const BLOCK = 4096;
const block = Buffer.allocUnsafeSlow(BLOCK);
let used = BLOCK;

/** n bytes from OpenSSL's CSPRNG (the block above for small n, a direct call for large ones). */
export function secureRandomBytes(n: number): Buffer {
  if (n > 256) return randomBytes(n);
  if (used + n > BLOCK) {
    randomFillSync(block);
    used = 0;
  }
  const out = Buffer.allocUnsafe(n);
  block.copy(out, 0, used, used + n);
  block.fill(0, used, used + n);
  used += n;
  return out;
}

/** OpenSSL's CSPRNG via node:crypto. */
export const systemRandom: RandomSource = {
  bytes: secureRandomBytes,
};

/** A uniform number in [0, 1) from 53 random bits of `r` (the precision of a double). */
export function uniform(r: RandomSource): number {
  const b = r.bytes(7);
  // 48 bits from the first six bytes, the top 5 bits of the seventh
  return (b.readUIntBE(0, 6) * 32 + (b[6]! >>> 3)) / 2 ** 53;
}

/** A uniform integer in 0..n-1 (n >= 1). */
export function randomInt(r: RandomSource, n: number): number {
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`randomInt: n must be a positive integer, got ${n}`);
  return Math.min(n - 1, Math.floor(uniform(r) * n));
}
