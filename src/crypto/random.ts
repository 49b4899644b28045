// Randomness behind an interface so protocol tests can inject deterministic nonces and SPIs
// (RFC 7296 section 2.10 requires nonces to be random for real traffic). Every random choice of the IKE side
// comes from the daemon's one RandomSource: nonces, SPIs, and through uniform()/randomInt() the non-secret
// choices too (retransmit jitter, rand_time, the delay before a failed rekey is retried), so that a seeded
// source makes a whole run repeatable. (DH private keys and SK IVs are OpenSSL's business: secrets, see
// test/ike/KNOWN_BUGS.md 8.)
import { randomBytes } from 'node:crypto';

export interface RandomSource {
  bytes(n: number): Buffer;
}

/** OpenSSL's CSPRNG via node:crypto. */
export const systemRandom: RandomSource = {
  bytes: (n: number): Buffer => randomBytes(n),
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
