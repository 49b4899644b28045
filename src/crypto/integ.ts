// Integrity transforms (IANA transform type 3) for the SK payload ICV (RFC 7296 section 3.14)
// and the lengths of their keys in KEYMAT (RFC 7296 sections 2.14 and 2.17).
import { createHmac } from 'node:crypto';
import { Integ } from '../wire/constants.js';
import { aesXcbcMac } from './aes-mac.js';
import { CryptoError } from './errors.js';

interface IntegAlg {
  keyLen: number;
  icvLen: number;
  /** The MAC over the concatenation of `parts` (fed one by one: no copy of the message just to MAC it). */
  mac(key: Buffer, parts: readonly Buffer[]): Buffer;
}

const hmac =
  (hash: string) =>
  (key: Buffer, parts: readonly Buffer[]): Buffer => {
    const h = createHmac(hash, key);
    for (const p of parts) h.update(p);
    return h.digest();
  };

// HMAC key sizes are the hash output size and ICVs are the truncated MAC: RFC 2404 (SHA1-96),
// RFC 2403 (MD5-96), RFC 4868 section 2.1 (SHA2: key = output length, ICV = half of it),
// RFC 3566 (AES-XCBC-MAC-96: 128-bit key, 96-bit ICV).
const INTEGS: Record<number, IntegAlg> = {
  [Integ.HMAC_MD5_96]: { keyLen: 16, icvLen: 12, mac: hmac('md5') },
  [Integ.HMAC_SHA1_96]: { keyLen: 20, icvLen: 12, mac: hmac('sha1') },
  [Integ.AES_XCBC_96]: {
    keyLen: 16,
    icvLen: 12,
    mac: (key, parts) => aesXcbcMac(key, parts.length === 1 ? parts[0]! : Buffer.concat(parts)),
  },
  [Integ.HMAC_SHA2_256_128]: { keyLen: 32, icvLen: 16, mac: hmac('sha256') },
  [Integ.HMAC_SHA2_384_192]: { keyLen: 48, icvLen: 24, mac: hmac('sha384') },
  [Integ.HMAC_SHA2_512_256]: { keyLen: 64, icvLen: 32, mac: hmac('sha512') },
};

function alg(integId: number): IntegAlg {
  const a = INTEGS[integId];
  if (!a) throw new CryptoError('UNSUPPORTED', `unsupported integrity algorithm ${integId}`);
  return a;
}

export function integSupported(integId: number): boolean {
  return INTEGS[integId] !== undefined;
}

/** Bytes of SK_a* / ESP integrity key; 0 for NONE (AEAD suites). */
export function integKeyLength(integId: number): number {
  if (integId === Integ.NONE) return 0;
  return alg(integId).keyLen;
}

export function integIcvLength(integId: number): number {
  return alg(integId).icvLen;
}

/** The truncated MAC that goes into the ICV field, over the data given in one or more consecutive parts. */
export function integIcv(integId: number, key: Buffer, ...data: Buffer[]): Buffer {
  const a = alg(integId);
  if (key.length !== a.keyLen) {
    throw new CryptoError('BAD_LENGTH', `integrity ${integId}: key of ${key.length} bytes, expected ${a.keyLen}`);
  }
  return a.mac(key, data).subarray(0, a.icvLen);
}
