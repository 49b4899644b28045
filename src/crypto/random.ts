// Randomness behind an interface so protocol tests can inject deterministic nonces and SPIs
// (RFC 7296 section 2.10 requires nonces to be random for real traffic).
import { randomBytes } from 'node:crypto';

export interface RandomSource {
  bytes(n: number): Buffer;
}

/** OpenSSL's CSPRNG via node:crypto. */
export const systemRandom: RandomSource = {
  bytes: (n: number): Buffer => randomBytes(n),
};
