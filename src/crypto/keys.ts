// Key derivation for IKE SAs (RFC 7296 sections 2.14, 2.18) and CHILD_SAs (section 2.17).
import { Prf } from '../wire/constants.js';
import { keep } from '../wire/keep.js';
import { encrKeyLength, isAead } from './encr.js';
import { CryptoError } from './errors.js';
import { integKeyLength } from './integ.js';
import { prf, prfKeyLength, prfPlus } from './prf.js';

export { encrKeyLength, isAead } from './encr.js';
export { integKeyLength } from './integ.js';

/** integ is undefined or 0 (NONE) for AEAD ciphers (RFC 5282 section 8). */
export interface IkeSuite {
  encr: number;
  encrKeyBits?: number;
  integ?: number;
  prf: number;
  dh: number;
}

export interface IkeKeys {
  skeyseed: Buffer;
  skD: Buffer;
  skAi: Buffer;
  skAr: Buffer;
  skEi: Buffer;
  skEr: Buffer;
  skPi: Buffer;
  skPr: Buffer;
}

export interface ChildSuite {
  encr: number;
  encrKeyBits?: number;
  integ?: number;
}

/** I = keys protecting initiator -> responder traffic, R = the other direction. */
export interface ChildKeys {
  encrI: Buffer;
  integI: Buffer;
  encrR: Buffer;
  integR: Buffer;
}

/** Key sizes of one direction; rejects AEAD with an integrity transform and CBC without one. */
function splitSizes(s: ChildSuite): { e: number; i: number } {
  const integ = s.integ ?? 0;
  const aead = isAead(s.encr);
  if (aead && integ !== 0) throw new CryptoError('UNSUPPORTED', 'an AEAD cipher must not have an integrity transform (RFC 5282 section 8)');
  if (!aead && integ === 0) throw new CryptoError('UNSUPPORTED', `encryption ${s.encr} needs an integrity transform`);
  return { e: encrKeyLength(s.encr, s.encrKeyBits), i: integKeyLength(integ) };
}

/**
 * Consecutive slices of `buf` with the given lengths, one per length: views of one kept copy (wire/keep.ts), since
 * the keys live as long as their SA and together (one small allocation per SA, not one per key).
 */
function split<const L extends readonly number[]>(buf: Buffer, lengths: L): { -readonly [K in keyof L]: Buffer } {
  const kept = keep(buf);
  const out: Buffer[] = [];
  let off = 0;
  for (const len of lengths) {
    out.push(kept.subarray(off, off + len));
    off += len;
  }
  return out as { -readonly [K in keyof L]: Buffer };
}

/**
 * SKEYSEED key "Ni | Nr" (RFC 7296 section 2.14). PRFs with a fixed-length key (AES-XCBC, AES-CMAC:
 * 128 bits) take half the key from the start of each nonce, i.e. the first 8 bytes of Ni and of Nr.
 */
function nonceKey(prfId: number, ni: Buffer, nr: Buffer): Buffer {
  if (prfId === Prf.AES128_XCBC || prfId === Prf.AES128_CMAC) {
    const half = prfKeyLength(prfId) / 2;
    if (ni.length < half || nr.length < half) throw new CryptoError('BAD_LENGTH', 'nonce shorter than half the PRF key');
    return Buffer.concat([ni.subarray(0, half), nr.subarray(0, half)]);
  }
  return Buffer.concat([ni, nr]);
}

/** {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr). */
function expandIkeKeys(s: IkeSuite, skeyseed: Buffer, ni: Buffer, nr: Buffer, spiI: Buffer, spiR: Buffer): IkeKeys {
  const { e, i } = splitSizes(s);
  const p = prfKeyLength(s.prf);
  const lengths = [p, i, i, e, e, p, p] as const;
  const total = lengths.reduce((a, b) => a + b, 0);
  const keymat = prfPlus(s.prf, skeyseed, Buffer.concat([ni, nr, spiI, spiR]), total);
  const [skD, skAi, skAr, skEi, skEr, skPi, skPr] = split(keymat, lengths);
  return { skeyseed, skD, skAi, skAr, skEi, skEr, skPi, skPr };
}

/** Initial IKE SA keys (RFC 7296 section 2.14): SKEYSEED = prf(Ni | Nr, g^ir). */
export function deriveIkeKeys(s: IkeSuite, gir: Buffer, ni: Buffer, nr: Buffer, spiI: Buffer, spiR: Buffer): IkeKeys {
  const skeyseed = prf(s.prf, nonceKey(s.prf, ni, nr), gir);
  return expandIkeKeys(s, skeyseed, ni, nr, spiI, spiR);
}

/**
 * Keys of a rekeyed IKE SA (RFC 7296 section 2.18): SKEYSEED = prf_old(SK_d_old, g^ir (new) | Ni | Nr)
 * with the old SA's PRF, then prf+ of the new SA's PRF. Ni, Nr, SPIs are those of the CREATE_CHILD_SA.
 */
export function deriveRekeyedIkeKeys(
  s: IkeSuite,
  oldPrf: number,
  oldSkD: Buffer,
  gir: Buffer,
  ni: Buffer,
  nr: Buffer,
  spiI: Buffer,
  spiR: Buffer,
): IkeKeys {
  const skeyseed = prf(oldPrf, oldSkD, Buffer.concat([gir, ni, nr]));
  return expandIkeKeys(s, skeyseed, ni, nr, spiI, spiR);
}

/**
 * CHILD_SA keys (RFC 7296 section 2.17): KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr), taken as
 * encryption then integrity key for initiator -> responder, then the same for the other direction.
 * Ni/Nr are the nonces of the exchange that creates the CHILD_SA; g^ir only with PFS.
 */
export function deriveChildKeys(prfId: number, skD: Buffer, s: ChildSuite, ni: Buffer, nr: Buffer, gir?: Buffer): ChildKeys {
  const { e, i } = splitSizes(s);
  const seed = gir ? Buffer.concat([gir, ni, nr]) : Buffer.concat([ni, nr]);
  const keymat = prfPlus(prfId, skD, seed, 2 * (e + i));
  const [encrI, integI, encrR, integR] = split(keymat, [e, i, e, i]);
  return { encrI, integI, encrR, integR };
}
