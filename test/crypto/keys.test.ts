// Key lengths and derivation rules of RFC 7296 sections 2.13-2.18 that the strongSwan KATs do not
// exercise (nonce-keyed PRFs, IKE SA rekey), checked by composing the RFC formulas by hand.
import { describe, expect, test } from 'vitest';
import { createHmac } from 'node:crypto';
import { Encr, Integ, Prf } from '../../src/wire/constants.js';
import { deriveChildKeys, deriveIkeKeys, deriveRekeyedIkeKeys, encrKeyLength, integKeyLength, isAead } from '../../src/crypto/keys.js';
import { aesXcbcMac, aesCmac } from '../../src/crypto/aes-mac.js';
import { prfPlus } from '../../src/crypto/prf.js';

const hex = (b: Buffer) => b.toString('hex');
const fill = (n: number, v: number) => Buffer.alloc(n, v);
const code = (c: string) => expect.objectContaining({ code: c });

test('encrKeyLength includes the AEAD salt (RFC 5282 7.1, RFC 4106 8.1, RFC 7634 4)', () => {
  expect(encrKeyLength(Encr.AES_CBC, 128)).toBe(16);
  expect(encrKeyLength(Encr.AES_CBC, 192)).toBe(24);
  expect(encrKeyLength(Encr.AES_CBC, 256)).toBe(32);
  expect(encrKeyLength(Encr['3DES'])).toBe(24);
  expect(encrKeyLength(Encr.AES_GCM_16, 128)).toBe(20);
  expect(encrKeyLength(Encr.AES_GCM_8, 256)).toBe(36);
  expect(encrKeyLength(Encr.AES_GCM_12, 192)).toBe(28);
  expect(encrKeyLength(Encr.CHACHA20_POLY1305)).toBe(36);
  expect(() => encrKeyLength(Encr.AES_CBC)).toThrow(code('UNSUPPORTED'));
  expect(() => encrKeyLength(Encr.DES)).toThrow(code('UNSUPPORTED'));
  expect(isAead(Encr.AES_GCM_16) && isAead(Encr.CHACHA20_POLY1305)).toBe(true);
  expect(isAead(Encr.AES_CBC) || isAead(Encr['3DES'])).toBe(false);
  expect([Integ.HMAC_SHA1_96, Integ.AES_XCBC_96, Integ.HMAC_SHA2_256_128].map(integKeyLength)).toEqual([20, 16, 32]);
});

describe('nonce-keyed PRFs (RFC 7296 2.14): SKEYSEED key = first 8 bytes of Ni | first 8 of Nr', () => {
  const ni = Buffer.from('00112233445566778899aabbccddeeff0011', 'hex');
  const nr = Buffer.from('ffeeddccbbaa99887766554433221100ffee', 'hex');
  const gir = fill(32, 0x42);
  test.each([
    [Prf.AES128_XCBC, aesXcbcMac],
    [Prf.AES128_CMAC, aesCmac],
  ])('prf %i', (prfId, mac) => {
    const s = { encr: Encr.AES_CBC, encrKeyBits: 128, integ: Integ.AES_XCBC_96, prf: prfId, dh: 19 };
    const k = deriveIkeKeys(s, gir, ni, nr, fill(8, 1), fill(8, 2));
    expect(hex(k.skeyseed)).toBe(hex(mac(Buffer.concat([ni.subarray(0, 8), nr.subarray(0, 8)]), gir)));
    // SK_d, SK_pi, SK_pr are 16 bytes (the PRF's key size), SK_a 16 (AES-XCBC-96), SK_e 16
    expect([k.skD, k.skAi, k.skAr, k.skEi, k.skEr, k.skPi, k.skPr].map((b) => b.length)).toEqual([16, 16, 16, 16, 16, 16, 16]);
  });
});

test('IKE SA rekey (RFC 7296 2.18): SKEYSEED = prf_old(SK_d old, g^ir | Ni | Nr), then the new PRF', () => {
  const oldSkD = fill(20, 7);
  const gir = fill(48, 3);
  const ni = fill(32, 4);
  const nr = fill(32, 5);
  const spiI = fill(8, 0xa);
  const spiR = fill(8, 0xb);
  const s = { encr: Encr.AES_GCM_16, encrKeyBits: 256, prf: Prf.HMAC_SHA2_384, dh: 20 };
  const k = deriveRekeyedIkeKeys(s, Prf.HMAC_SHA1, oldSkD, gir, ni, nr, spiI, spiR);
  const skeyseed = createHmac('sha1', oldSkD)
    .update(Buffer.concat([gir, ni, nr]))
    .digest();
  expect(hex(k.skeyseed)).toBe(hex(skeyseed));
  // prf+ with the new PRF (HMAC-SHA-384): T1 = prf(SKEYSEED, Ni | Nr | SPIi | SPIr | 0x01)
  const t1 = createHmac('sha384', skeyseed)
    .update(Buffer.concat([ni, nr, spiI, spiR, Buffer.from([1])]))
    .digest();
  expect(hex(k.skD)).toBe(hex(t1));
  expect(k.skAi.length + k.skAr.length).toBe(0);
  expect(k.skEi.length).toBe(36);
  expect(k.skPr.length).toBe(48);
});

test('CHILD_SA KEYMAT split: encr I, integ I, encr R, integ R (RFC 7296 2.17)', () => {
  const skD = fill(32, 9);
  const ni = fill(16, 1);
  const nr = fill(16, 2);
  const gir = fill(32, 3);
  const s = { encr: Encr.AES_CBC, encrKeyBits: 128, integ: Integ.HMAC_SHA1_96 };
  const keymat = prfPlus(Prf.HMAC_SHA2_256, skD, Buffer.concat([gir, ni, nr]), 72);
  const k = deriveChildKeys(Prf.HMAC_SHA2_256, skD, s, ni, nr, gir);
  expect(hex(Buffer.concat([k.encrI, k.integI, k.encrR, k.integR]))).toBe(hex(keymat));
  expect([k.encrI.length, k.integI.length]).toEqual([16, 20]);
  expect(() =>
    deriveChildKeys(Prf.HMAC_SHA2_256, skD, { encr: Encr.AES_GCM_16, encrKeyBits: 128, integ: Integ.HMAC_SHA1_96 }, ni, nr),
  ).toThrow(code('UNSUPPORTED'));
});
