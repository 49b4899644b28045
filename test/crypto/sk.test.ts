// SK payload behaviour: cross-checks against @noble/ciphers, lengths, IV handling and every
// rejection path of open() (RFC 7296 section 3.14, RFC 5282, RFC 7634).
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { Encr, Integ } from '../../src/wire/constants.js';
import { createSkCipher, sealWithIv, type SkSuite } from '../../src/crypto/sk.js';
import { encrKeyLength, integKeyLength } from '../../src/crypto/keys.js';
import { integIcv } from '../../src/crypto/integ.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const code = (c: string) => expect.objectContaining({ code: c });

const AEAD: {
  name: string;
  suite: SkSuite;
  noble: (k: Uint8Array, n: Uint8Array, a: Uint8Array) => { encrypt(p: Uint8Array): Uint8Array; decrypt(c: Uint8Array): Uint8Array };
}[] = [
  { name: 'AES-GCM-16-128', suite: { encr: Encr.AES_GCM_16, encrKeyBits: 128 }, noble: gcm },
  { name: 'AES-GCM-16-192', suite: { encr: Encr.AES_GCM_16, encrKeyBits: 192 }, noble: gcm },
  { name: 'AES-GCM-16-256', suite: { encr: Encr.AES_GCM_16, encrKeyBits: 256 }, noble: gcm },
  { name: 'ChaCha20-Poly1305', suite: { encr: Encr.CHACHA20_POLY1305 }, noble: chacha20poly1305 },
];

describe.each(AEAD)('$name against @noble/ciphers', ({ suite, noble }) => {
  const material = () => randomBytes(encrKeyLength(suite.encr, suite.encrKeyBits));
  test('our seal opens with noble, noble seal opens with us', () => {
    for (const len of [0, 1, 15, 16, 17, 100, 1000]) {
      const km = material();
      const key = km.subarray(0, km.length - 4);
      const salt = km.subarray(km.length - 4);
      const cipher = createSkCipher(suite, km, Buffer.alloc(0));
      const plain = randomBytes(len);
      const aad = randomBytes(32);
      const body = cipher.seal(plain, aad);
      expect(body.length).toBe(cipher.bodyLength(len));
      const iv = body.subarray(0, 8);
      const decrypted = noble(key, Buffer.concat([salt, iv]), aad).decrypt(body.subarray(8));
      // no padding for AEAD, only the pad-length byte 0
      expect(hex(decrypted)).toBe(hex(Buffer.concat([plain, Buffer.from([0])])));
      const iv2 = randomBytes(8);
      const theirs = noble(key, Buffer.concat([salt, iv2]), aad).encrypt(Buffer.concat([plain, Buffer.alloc(3), Buffer.from([3])]));
      expect(hex(cipher.open(Buffer.concat([iv2, theirs]), aad))).toBe(hex(plain));
    }
  });

  test('IVs come from a per-cipher counter and never repeat', () => {
    const cipher = createSkCipher(suite, material(), Buffer.alloc(0));
    const ivs = Array.from({ length: 300 }, () => cipher.seal(Buffer.alloc(1), Buffer.alloc(0)).subarray(0, 8));
    expect(new Set(ivs.map(hex)).size).toBe(300);
    for (let i = 1; i < ivs.length; i++) {
      const prev = ivs[i - 1]!.readBigUInt64BE();
      expect(ivs[i]!.readBigUInt64BE()).toBe((prev + 1n) & 0xffffffffffffffffn);
    }
  });

  test('any changed bit of body or AAD fails integrity; short bodies are BAD_LENGTH', () => {
    const cipher = createSkCipher(suite, material(), Buffer.alloc(0));
    const aad = randomBytes(32);
    const body = cipher.seal(Buffer.from('payload bytes'), aad);
    for (let i = 0; i < body.length; i++) {
      const bad = Buffer.from(body);
      bad[i]! ^= 0x10;
      expect(() => cipher.open(bad, aad)).toThrow(code('INTEGRITY'));
    }
    const badAad = Buffer.from(aad);
    badAad[0]! ^= 1;
    expect(() => cipher.open(body, badAad)).toThrow(code('INTEGRITY'));
    expect(() => cipher.open(body.subarray(0, 8 + 16), aad)).toThrow(code('BAD_LENGTH'));
  });

  test('a pad length beyond the plaintext is BAD_LENGTH even with a valid ICV', () => {
    const km = material();
    const cipher = createSkCipher(suite, km, Buffer.alloc(0));
    const iv = randomBytes(8);
    const aad = randomBytes(8);
    const forged = noble(km.subarray(0, km.length - 4), Buffer.concat([km.subarray(km.length - 4), iv]), aad).encrypt(
      Buffer.from([1, 2, 9]),
    );
    expect(() => cipher.open(Buffer.concat([iv, forged]), aad)).toThrow(code('BAD_LENGTH'));
  });
});

const CBC: SkSuite[] = [
  { encr: Encr.AES_CBC, encrKeyBits: 128, integ: Integ.HMAC_SHA2_256_128 },
  { encr: Encr.AES_CBC, encrKeyBits: 192, integ: Integ.HMAC_SHA2_384_192 },
  { encr: Encr.AES_CBC, encrKeyBits: 256, integ: Integ.HMAC_SHA2_512_256 },
  { encr: Encr.AES_CBC, encrKeyBits: 128, integ: Integ.HMAC_SHA1_96 },
  { encr: Encr.AES_CBC, encrKeyBits: 128, integ: Integ.AES_XCBC_96 },
  { encr: Encr.AES_CBC, encrKeyBits: 128, integ: Integ.HMAC_MD5_96 },
  { encr: Encr['3DES'], integ: Integ.HMAC_SHA1_96 },
];

describe.each(CBC)('CBC suite %o', (suite) => {
  const make = () => {
    const ek = randomBytes(encrKeyLength(suite.encr, suite.encrKeyBits));
    const ak = randomBytes(integKeyLength(suite.integ!));
    return { ek, ak, cipher: createSkCipher(suite, ek, ak) };
  };

  test('round trip, body length and block alignment', () => {
    const { cipher } = make();
    for (let len = 0; len < 40; len++) {
      const plain = randomBytes(len);
      const aad = randomBytes(32);
      const body = cipher.seal(plain, aad);
      expect(body.length).toBe(cipher.bodyLength(len));
      expect((body.length - cipher.ivLength - cipher.icvLength) % cipher.blockLength).toBe(0);
      expect(hex(cipher.open(body, aad))).toBe(hex(plain));
    }
  });

  test('fresh random IV per message', () => {
    const { cipher } = make();
    const a = cipher.seal(Buffer.alloc(4), Buffer.alloc(0));
    const b = cipher.seal(Buffer.alloc(4), Buffer.alloc(0));
    expect(hex(a.subarray(0, cipher.ivLength))).not.toBe(hex(b.subarray(0, cipher.ivLength)));
  });

  test('the ICV covers AAD, IV and ciphertext; lengths are checked first', () => {
    const { cipher } = make();
    const aad = randomBytes(28);
    const body = cipher.seal(Buffer.from('inner payloads'), aad);
    for (let i = 0; i < body.length; i++) {
      const bad = Buffer.from(body);
      bad[i]! ^= 0x01;
      expect(() => cipher.open(bad, aad)).toThrow(code('INTEGRITY'));
    }
    expect(() => cipher.open(body, Buffer.concat([aad, Buffer.from([0])]))).toThrow(code('INTEGRITY'));
    expect(() => cipher.open(body.subarray(1), aad)).toThrow(code('BAD_LENGTH'));
    expect(() => cipher.open(body.subarray(0, cipher.ivLength + cipher.icvLength), aad)).toThrow(code('BAD_LENGTH'));
  });

  test('an authentic message whose pad length exceeds the ciphertext is BAD_LENGTH', () => {
    const { ek, ak, cipher } = make();
    const iv = randomBytes(cipher.ivLength);
    const block = Buffer.alloc(cipher.blockLength, 0xff); // pad length 255 in one block
    const c = createCipheriv(suite.encr === Encr['3DES'] ? 'des-ede3-cbc' : `aes-${suite.encrKeyBits}-cbc`, ek, iv);
    c.setAutoPadding(false);
    const ct = Buffer.concat([c.update(block), c.final()]);
    const aad = Buffer.alloc(28);
    const icv = integIcv(suite.integ!, ak, Buffer.concat([aad, iv, ct]));
    expect(() => cipher.open(Buffer.concat([iv, ct, icv]), aad)).toThrow(code('BAD_LENGTH'));
  });

  test('explicit padding is honoured and must fill the block', () => {
    const { cipher } = make();
    const b = cipher.blockLength;
    const body = sealWithIv(cipher, Buffer.alloc(b - 1), Buffer.alloc(0), randomBytes(cipher.ivLength), Buffer.alloc(b, 7));
    expect(body.length).toBe(cipher.ivLength + 2 * b + cipher.icvLength);
    expect(cipher.open(body, Buffer.alloc(0))).toHaveLength(b - 1);
    expect(() => sealWithIv(cipher, Buffer.alloc(3), Buffer.alloc(0), randomBytes(cipher.ivLength), Buffer.alloc(1))).toThrow(
      code('BAD_LENGTH'),
    );
  });
});

describe('createSkCipher argument checks', () => {
  test('wrong key sizes are BAD_LENGTH', () => {
    expect(() =>
      createSkCipher({ encr: Encr.AES_CBC, encrKeyBits: 128, integ: Integ.HMAC_SHA1_96 }, Buffer.alloc(32), Buffer.alloc(20)),
    ).toThrow(code('BAD_LENGTH'));
    expect(() =>
      createSkCipher({ encr: Encr.AES_CBC, encrKeyBits: 128, integ: Integ.HMAC_SHA1_96 }, Buffer.alloc(16), Buffer.alloc(16)),
    ).toThrow(code('BAD_LENGTH'));
    expect(() => createSkCipher({ encr: Encr.AES_GCM_16, encrKeyBits: 128 }, Buffer.alloc(16), Buffer.alloc(0))).toThrow(
      code('BAD_LENGTH'),
    );
  });

  test('unsupported or inconsistent suites are UNSUPPORTED', () => {
    expect(() =>
      createSkCipher({ encr: Encr.AES_GCM_16, encrKeyBits: 128, integ: Integ.HMAC_SHA1_96 }, Buffer.alloc(20), Buffer.alloc(20)),
    ).toThrow(code('UNSUPPORTED'));
    expect(() => createSkCipher({ encr: Encr.AES_CBC, encrKeyBits: 128 }, Buffer.alloc(16), Buffer.alloc(0))).toThrow(code('UNSUPPORTED'));
    expect(() => createSkCipher({ encr: Encr.AES_CBC }, Buffer.alloc(16), Buffer.alloc(20))).toThrow(code('UNSUPPORTED'));
    expect(() =>
      createSkCipher({ encr: Encr.AES_CBC, encrKeyBits: 100, integ: Integ.HMAC_SHA1_96 }, Buffer.alloc(16), Buffer.alloc(20)),
    ).toThrow(code('UNSUPPORTED'));
    expect(() => createSkCipher({ encr: Encr.AES_CCM_16, encrKeyBits: 128 }, Buffer.alloc(19), Buffer.alloc(0))).toThrow(
      code('UNSUPPORTED'),
    );
    expect(() => createSkCipher({ encr: Encr.CHACHA20_POLY1305, encrKeyBits: 128 }, Buffer.alloc(36), Buffer.alloc(0))).toThrow(
      code('UNSUPPORTED'),
    );
  });

  test('sealWithIv rejects an IV of the wrong size', () => {
    const c = createSkCipher({ encr: Encr.CHACHA20_POLY1305 }, Buffer.alloc(36), Buffer.alloc(0));
    expect(() => sealWithIv(c, Buffer.alloc(1), Buffer.alloc(0), Buffer.alloc(12))).toThrow(code('BAD_LENGTH'));
  });
});
