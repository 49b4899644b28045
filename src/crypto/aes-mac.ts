// AES-128 block-cipher MACs used as IKE PRFs and integrity algorithms: AES-XCBC-MAC (RFC 3566)
// and AES-CMAC (RFC 4493). Both are a CBC-MAC whose last block is masked with a subkey; OpenSSL
// provides the AES calls, this file only does the masking.
import { createCipheriv } from 'node:crypto';
import { CryptoError } from './errors.js';

const BLOCK = 16;
const ZERO_BLOCK = Buffer.alloc(BLOCK);

function aesBlock(key: Buffer, block: Buffer): Buffer {
  const c = createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  return c.update(block);
}

function xorInto(dst: Buffer, src: Buffer): void {
  for (let i = 0; i < BLOCK; i++) dst[i]! ^= src[i]!;
}

/**
 * CBC-MAC over msg with the last block masked: `fullMask` when the message ends on a complete
 * block, otherwise the block is padded with 0x80 00.. and masked with `partialMask`. The empty
 * message counts as one incomplete block (RFC 3566 section 4, RFC 4493 section 2.4).
 */
function maskedCbcMac(cbcKey: Buffer, msg: Buffer, fullMask: Buffer, partialMask: Buffer): Buffer {
  const n = Math.max(1, Math.ceil(msg.length / BLOCK));
  const headLen = (n - 1) * BLOCK;
  let state = ZERO_BLOCK;
  if (headLen > 0) {
    // One OpenSSL call for all but the last block: CBC encryption's last block is the CBC-MAC state.
    const c = createCipheriv('aes-128-cbc', cbcKey, ZERO_BLOCK);
    c.setAutoPadding(false);
    const out = c.update(msg.subarray(0, headLen));
    state = out.subarray(out.length - BLOCK);
  }
  const tail = msg.subarray(headLen);
  const last = Buffer.alloc(BLOCK);
  tail.copy(last);
  if (tail.length === BLOCK) {
    xorInto(last, fullMask);
  } else {
    last[tail.length] = 0x80;
    xorInto(last, partialMask);
  }
  xorInto(last, state);
  return aesBlock(cbcKey, last);
}

function checkKey(key: Buffer): void {
  if (key.length !== BLOCK) throw new CryptoError('BAD_LENGTH', `AES-128 MAC key must be 16 bytes, got ${key.length}`);
}

/** AES-XCBC-MAC-128 (RFC 3566 section 4), full 16-byte output. */
export function aesXcbcMac(key: Buffer, msg: Buffer): Buffer {
  checkKey(key);
  const k1 = aesBlock(key, Buffer.alloc(BLOCK, 0x01));
  const k2 = aesBlock(key, Buffer.alloc(BLOCK, 0x02));
  const k3 = aesBlock(key, Buffer.alloc(BLOCK, 0x03));
  return maskedCbcMac(k1, msg, k2, k3);
}

/** Doubling in GF(2^128) with the RFC 4493 section 2.3 constant Rb = 0x87. */
function dbl(b: Buffer): Buffer {
  const out = Buffer.alloc(BLOCK);
  for (let i = 0; i < BLOCK; i++) out[i] = ((b[i]! << 1) | (i + 1 < BLOCK ? b[i + 1]! >> 7 : 0)) & 0xff;
  if (b[0]! & 0x80) out[BLOCK - 1]! ^= 0x87;
  return out;
}

/** AES-CMAC (RFC 4493 section 2.4), full 16-byte output. */
export function aesCmac(key: Buffer, msg: Buffer): Buffer {
  checkKey(key);
  const k1 = dbl(aesBlock(key, ZERO_BLOCK));
  const k2 = dbl(k1);
  return maskedCbcMac(key, msg, k1, k2);
}

/** AES-XCBC-PRF-128 (RFC 4434 section 2): any key length, short keys zero-padded, long keys hashed. */
export function aesXcbcPrf(key: Buffer, msg: Buffer): Buffer {
  let k = key;
  if (key.length < BLOCK) k = Buffer.concat([key, Buffer.alloc(BLOCK - key.length)]);
  else if (key.length > BLOCK) k = aesXcbcMac(ZERO_BLOCK, key);
  return aesXcbcMac(k, msg);
}

/** AES-CMAC-PRF-128 (RFC 4615 section 3): any key that is not 16 bytes is first CMAC'd under zero. */
export function aesCmacPrf(key: Buffer, msg: Buffer): Buffer {
  const k = key.length === BLOCK ? key : aesCmac(ZERO_BLOCK, key);
  return aesCmac(k, msg);
}
