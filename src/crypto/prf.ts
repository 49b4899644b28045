// IKEv2 pseudo-random functions (RFC 7296 section 2.13, IANA transform type 2) and prf+.
import { createHmac } from 'node:crypto';
import { Prf } from '../wire/constants.js';
import { aesCmacPrf, aesXcbcPrf } from './aes-mac.js';
import { CryptoError } from './errors.js';

interface PrfAlg {
  outLen: number;
  /** Preferred key size: RFC 7296 2.13/2.14 uses it for SK_d, SK_pi and SK_pr. */
  keyLen: number;
  fn(key: Buffer, data: Buffer): Buffer;
}

const hmac =
  (hash: string) =>
  (key: Buffer, data: Buffer): Buffer =>
    createHmac(hash, key).update(data).digest();

const PRFS: Record<number, PrfAlg> = {
  [Prf.HMAC_MD5]: { outLen: 16, keyLen: 16, fn: hmac('md5') }, // RFC 2104
  [Prf.HMAC_SHA1]: { outLen: 20, keyLen: 20, fn: hmac('sha1') }, // RFC 2104
  [Prf.HMAC_SHA2_256]: { outLen: 32, keyLen: 32, fn: hmac('sha256') }, // RFC 4868 section 2.1.2
  [Prf.HMAC_SHA2_384]: { outLen: 48, keyLen: 48, fn: hmac('sha384') },
  [Prf.HMAC_SHA2_512]: { outLen: 64, keyLen: 64, fn: hmac('sha512') },
  [Prf.AES128_XCBC]: { outLen: 16, keyLen: 16, fn: aesXcbcPrf }, // RFC 4434
  [Prf.AES128_CMAC]: { outLen: 16, keyLen: 16, fn: aesCmacPrf }, // RFC 4615
};

function alg(prfId: number): PrfAlg {
  const a = PRFS[prfId];
  if (!a) throw new CryptoError('UNSUPPORTED', `unsupported PRF ${prfId}`);
  return a;
}

export function prfSupported(prfId: number): boolean {
  return PRFS[prfId] !== undefined;
}

export function prfOutputLength(prfId: number): number {
  return alg(prfId).outLen;
}

/** Length of SK_d / SK_pi / SK_pr: the PRF's preferred key size (RFC 7296 section 2.14). */
export function prfKeyLength(prfId: number): number {
  return alg(prfId).keyLen;
}

export function prf(prfId: number, key: Buffer, data: Buffer): Buffer {
  return alg(prfId).fn(key, data);
}

/**
 * prf+ (RFC 7296 section 2.13): T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n), output
 * T1 | T2 | ... cut to `length`. The counter is one octet, so at most 255 blocks exist.
 */
export function prfPlus(prfId: number, key: Buffer, seed: Buffer, length: number): Buffer {
  const a = alg(prfId);
  const blocks = Math.ceil(length / a.outLen);
  if (blocks > 255) throw new CryptoError('BAD_LENGTH', `prf+ cannot produce ${length} bytes with PRF ${prfId}`);
  const out: Buffer[] = [];
  let prev: Buffer = Buffer.alloc(0);
  for (let i = 1; i <= blocks; i++) {
    prev = a.fn(key, Buffer.concat([prev, seed, Buffer.from([i])]));
    out.push(prev);
  }
  return Buffer.concat(out).subarray(0, length);
}
