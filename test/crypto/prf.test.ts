// PRFs (RFC 7296 2.13) and integrity MACs against published vectors: RFC 2202 (HMAC-MD5/SHA1),
// RFC 4231 (HMAC-SHA2), RFC 4868 (truncated SHA2 ICVs), RFC 3566 (AES-XCBC-MAC-96),
// RFC 4434 (AES-XCBC-PRF-128), RFC 4493 (AES-CMAC) and RFC 4615 (AES-CMAC-PRF-128).
import { describe, expect, test } from 'vitest';
import { cmac } from '@noble/ciphers/aes.js';
import { randomBytes } from 'node:crypto';
import { Integ, Prf } from '../../src/wire/constants.js';
import { prf, prfKeyLength, prfOutputLength, prfPlus } from '../../src/crypto/prf.js';
import { integIcv, integIcvLength, integKeyLength } from '../../src/crypto/integ.js';
import { aesCmac, aesXcbcMac } from '../../src/crypto/aes-mac.js';

const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const seq = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i));
const a = (s: string) => Buffer.from(s, 'ascii');

describe('HMAC PRFs', () => {
  test.each([
    // RFC 2202 sections 2 and 3, test cases 1 and 2
    [Prf.HMAC_MD5, Buffer.alloc(16, 0x0b), a('Hi There'), '9294727a3638bb1c13f48ef8158bfc9d'],
    [Prf.HMAC_MD5, a('Jefe'), a('what do ya want for nothing?'), '750c783e6ab0b503eaa86e310a5db738'],
    [Prf.HMAC_SHA1, Buffer.alloc(20, 0x0b), a('Hi There'), 'b617318655057264e28bc0b6fb378c8ef146be00'],
    [Prf.HMAC_SHA1, a('Jefe'), a('what do ya want for nothing?'), 'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79'],
    // RFC 4231 test cases 1, 2 and 6 (key longer than the block)
    [Prf.HMAC_SHA2_256, Buffer.alloc(20, 0x0b), a('Hi There'), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
    [
      Prf.HMAC_SHA2_384,
      Buffer.alloc(20, 0x0b),
      a('Hi There'),
      'afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6',
    ],
    [
      Prf.HMAC_SHA2_512,
      Buffer.alloc(20, 0x0b),
      a('Hi There'),
      '87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854',
    ],
    [Prf.HMAC_SHA2_256, a('Jefe'), a('what do ya want for nothing?'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'],
    [
      Prf.HMAC_SHA2_384,
      a('Jefe'),
      a('what do ya want for nothing?'),
      'af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649',
    ],
    [
      Prf.HMAC_SHA2_512,
      a('Jefe'),
      a('what do ya want for nothing?'),
      '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737',
    ],
    [
      Prf.HMAC_SHA2_256,
      Buffer.alloc(131, 0xaa),
      a('Test Using Larger Than Block-Size Key - Hash Key First'),
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    ],
    [
      Prf.HMAC_SHA2_384,
      Buffer.alloc(131, 0xaa),
      a('Test Using Larger Than Block-Size Key - Hash Key First'),
      '4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952',
    ],
    [
      Prf.HMAC_SHA2_512,
      Buffer.alloc(131, 0xaa),
      a('Test Using Larger Than Block-Size Key - Hash Key First'),
      '80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598',
    ],
  ])('prf %i vector %#', (id, key, data, mac) => {
    expect(hex(prf(id, key, data))).toBe(mac);
    expect(prfOutputLength(id)).toBe(mac.length / 2);
    expect(prfKeyLength(id)).toBe(mac.length / 2); // RFC 7296 2.13: preferred key size = output size
  });
});

describe('HMAC-SHA2 integrity truncation (RFC 4868 section 2.7.2.2, key = output length)', () => {
  test.each([
    [Integ.HMAC_SHA2_256_128, 32, 16, '198a607eb44bfbc69903a0f1cf2bbdc5'],
    [Integ.HMAC_SHA2_384_192, 48, 24, 'b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973'],
    [Integ.HMAC_SHA2_512_256, 64, 32, '637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8'],
  ])('integ %i', (id, keyLen, icvLen, icv) => {
    expect(integKeyLength(id)).toBe(keyLen);
    expect(integIcvLength(id)).toBe(icvLen);
    expect(hex(integIcv(id, Buffer.alloc(keyLen, 0x0b), a('Hi There')))).toBe(icv);
    expect(() => integIcv(id, Buffer.alloc(keyLen - 1, 0x0b), a('Hi There'))).toThrow(expect.objectContaining({ code: 'BAD_LENGTH' }));
  });

  test('HMAC-SHA1-96 and HMAC-MD5-96 truncate RFC 2202 results to 12 bytes (RFC 2404, RFC 2403)', () => {
    expect(hex(integIcv(Integ.HMAC_SHA1_96, Buffer.alloc(20, 0x0b), a('Hi There')))).toBe('b617318655057264e28bc0b6');
    expect(hex(integIcv(Integ.HMAC_MD5_96, Buffer.alloc(16, 0x0b), a('Hi There')))).toBe('9294727a3638bb1c13f48ef8');
    expect(integKeyLength(Integ.NONE)).toBe(0);
  });
});

describe('AES-XCBC (RFC 3566 section 4.6, RFC 4434 section 5)', () => {
  const key = seq(16);
  test.each([
    [0, '75f0251d528ac01c4573dfd584d79f29'],
    [3, '5b376580ae2f19afe7219ceef172756f'],
    [16, 'd2a246fa349b68a79998a4394ff7a263'],
    [20, '47f51b4564966215b8985c63055ed308'],
    [32, 'f54f0ec8d2b9f3d36807734bd5283fd4'],
    [34, 'becbb3bccdb518a30677d5481fb6b4d8'],
  ])('AES-XCBC-MAC-128 of %i message bytes', (len, mac) => {
    expect(hex(aesXcbcMac(key, seq(len)))).toBe(mac);
    expect(hex(integIcv(Integ.AES_XCBC_96, key, seq(len)))).toBe(mac.slice(0, 24));
  });

  test.each([
    [16, '47f51b4564966215b8985c63055ed308'],
    [10, '0fa087af7d866e7653434e602fdde835'], // short key: zero-padded
    [18, '8cd3c93ae598a9803006ffb67c40e9e4'], // long key: AES-XCBC-MAC(0^128, key) first
  ])('AES-XCBC-PRF-128 with a %i-byte key', (keyLen, out) => {
    const k = seq(keyLen);
    if (keyLen === 18) k.writeUInt16BE(0xedcb, 16);
    expect(hex(prf(Prf.AES128_XCBC, k, seq(20)))).toBe(out);
    expect(prfKeyLength(Prf.AES128_XCBC)).toBe(16);
    expect(prfOutputLength(Prf.AES128_XCBC)).toBe(16);
  });
});

describe('AES-CMAC (RFC 4493 section 4, RFC 4615 section 4)', () => {
  const key = h('2b7e1516 28aed2a6 abf71588 09cf4f3c');
  const msg = h(
    '6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51 30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710',
  );
  test.each([
    [0, 'bb1d6929e95937287fa37d129b756746'],
    [16, '070a16b46b4d4144f79bdd9dd04a287c'],
    [40, 'dfa66747de9ae63030ca32611497c827'],
    [64, '51f0bebf7e3b9d92fc49741779363cfe'],
  ])('AES-CMAC of %i bytes', (len, mac) => {
    expect(hex(aesCmac(key, msg.subarray(0, len)))).toBe(mac);
  });

  test.each([
    [18, '84a348a4a45d235babfffc0d2b4da09a'],
    [16, '980ae87b5f4c9c5214f5b6a8455e4c2d'],
    [10, '290d9e112edb09ee141fcf64c0b72f3d'],
  ])('AES-CMAC-PRF-128 with a %i-byte key', (keyLen, out) => {
    const k = seq(keyLen);
    if (keyLen === 18) k.writeUInt16BE(0xedcb, 16);
    expect(hex(prf(Prf.AES128_CMAC, k, seq(20)))).toBe(out);
  });

  test('agrees with @noble/ciphers cmac for random lengths', () => {
    for (let len = 0; len < 70; len++) {
      const k = randomBytes(16);
      const m = randomBytes(len);
      expect(hex(aesCmac(k, m))).toBe(hex(cmac(m, k)));
    }
  });
});

describe('prf+ (RFC 7296 section 2.13)', () => {
  test('T1 = prf(K, S | 0x01) and T2 = prf(K, T1 | S | 0x02), cut to length', () => {
    const K = a('key');
    const S = a('seed');
    const t1 = prf(Prf.HMAC_SHA1, K, Buffer.concat([S, Buffer.from([1])]));
    const t2 = prf(Prf.HMAC_SHA1, K, Buffer.concat([t1, S, Buffer.from([2])]));
    expect(hex(prfPlus(Prf.HMAC_SHA1, K, S, 33))).toBe(hex(Buffer.concat([t1, t2]).subarray(0, 33)));
    expect(prfPlus(Prf.HMAC_SHA1, K, S, 0)).toHaveLength(0);
  });

  test('output is limited to 255 blocks', () => {
    expect(prfPlus(Prf.HMAC_SHA2_256, a('k'), a('s'), 255 * 32)).toHaveLength(255 * 32);
    expect(() => prfPlus(Prf.HMAC_SHA2_256, a('k'), a('s'), 255 * 32 + 1)).toThrow(expect.objectContaining({ code: 'BAD_LENGTH' }));
  });

  test('unknown PRFs are UNSUPPORTED', () => {
    expect(() => prf(3, a('k'), a('d'))).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
    expect(() => prfOutputLength(99)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
  });
});
