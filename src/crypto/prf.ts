// IKEv2 pseudo-random functions (RFC 7296 section 2.13, IANA transform type 2) and prf+.
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { Prf } from '../wire/constants.js';
import { aesCmacPrf, aesXcbcPrf } from './aes-mac.js';
import { CryptoError } from './errors.js';

interface PrfAlg {
  outLen: number;
  /** Preferred key size: RFC 7296 2.13/2.14 uses it for SK_d, SK_pi and SK_pr. */
  keyLen: number;
  fn(key: Buffer, data: Buffer): Buffer;
  /** HMAC PRFs: the hash, so prf+ can key one KeyObject for all its blocks and feed the parts of each block. */
  hash?: string;
}

const hmac =
  (hash: string) =>
  (key: Buffer, data: Buffer): Buffer =>
    createHmac(hash, key).update(data).digest();

const hmacPrf = (hash: string, outLen: number): PrfAlg => ({ outLen, keyLen: outLen, fn: hmac(hash), hash });

const PRFS: Record<number, PrfAlg> = {
  [Prf.HMAC_MD5]: hmacPrf('md5', 16), // RFC 2104
  [Prf.HMAC_SHA1]: hmacPrf('sha1', 20), // RFC 2104
  [Prf.HMAC_SHA2_256]: hmacPrf('sha256', 32), // RFC 4868 section 2.1.2
  [Prf.HMAC_SHA2_384]: hmacPrf('sha384', 48),
  [Prf.HMAC_SHA2_512]: hmacPrf('sha512', 64),
  [Prf.AES128_XCBC]: { outLen: 16, keyLen: 16, fn: aesXcbcPrf }, // RFC 4434
  [Prf.AES128_CMAC]: { outLen: 16, keyLen: 16, fn: aesCmacPrf }, // RFC 4615
};

/** prf+'s one-octet block counters 1..255, so a block needs no Buffer of its own for it. */
const COUNTERS = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

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
  const out = Buffer.allocUnsafe(blocks * a.outLen);
  // HMAC: one KeyObject for every block (keying node:crypto from a raw Buffer each time costs more than the
  // KeyObject once it is used twice), and T(n-1) | S | n fed in parts instead of concatenated (issue 16).
  const hk: KeyObject | Buffer | undefined = a.hash ? (blocks > 1 ? createSecretKey(key) : key) : undefined;
  let prev = out.subarray(0, 0);
  for (let i = 1; i <= blocks; i++) {
    const counter = COUNTERS.subarray(i, i + 1);
    const t = hk
      ? createHmac(a.hash!, hk).update(prev).update(seed).update(counter).digest()
      : a.fn(key, Buffer.concat([prev, seed, counter]));
    const at = (i - 1) * a.outLen;
    t.copy(out, at);
    prev = out.subarray(at, at + a.outLen);
  }
  return out.subarray(0, length);
}
