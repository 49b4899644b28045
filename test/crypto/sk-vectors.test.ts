// SK payload ciphers against published vectors: AES-GCM (McGrew & Viega, "The Galois/Counter Mode
// of Operation", test cases 2, 4, 8, 10, 14, 16), ChaCha20-Poly1305 (RFC 8439 section 2.8.2),
// AES-CBC (NIST SP 800-38A F.2.1/F.2.3/F.2.5), 3DES (NIST SP 800-67 appendix B example).
// The SK trailer (padding | pad length) is part of the cipher input, so each vector's plaintext
// is split into inner payload bytes, padding and a final byte that reads as the pad length.
import { describe, expect, test } from 'vitest';
import { Encr, Integ } from '../../src/wire/constants.js';
import { createSkCipher, sealWithIv } from '../../src/crypto/sk.js';

const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const xor = (x: Buffer, y: Buffer) => Buffer.from(x.map((v, i) => v ^ y[i]!));

/** Split a vector plaintext P into (inner, padding) so that inner | padding | P[last] == P. */
function asSkPlaintext(p: Buffer): { inner: Buffer; padding: Buffer } {
  const padLen = p[p.length - 1]!;
  const innerLen = p.length - 1 - padLen;
  if (innerLen < 0) throw new Error('vector plaintext cannot be an SK trailer');
  return { inner: p.subarray(0, innerLen), padding: p.subarray(innerLen, p.length - 1) };
}

const GCM_P60 = h(
  'd9313225 f88406e5 a55909c5 aff5269a 86a7a953 1534f7da 2e4c303d 8a318a72 1c3c0c95 95680953 2fcf0e24 49a6b525 b16aedf5 aa0de657 ba637b39',
);
const GCM_A = h('feedface deadbeef feedface deadbeef abaddad2');
const GCM_K = h('feffe992 8665731c 6d6a8f94 67308308');

const GCM = [
  // zero key, zero IV, 16 zero bytes: inner = 15 zero bytes, pad length 0
  {
    name: 'TC2',
    bits: 128,
    key: Buffer.alloc(16),
    salt: Buffer.alloc(4),
    iv: Buffer.alloc(8),
    aad: Buffer.alloc(0),
    p: Buffer.alloc(16),
    c: '0388dace60b6a392f328c2b971b2fe78',
    t: 'ab6e47d42cec13bdf53a67b21257bddf',
  },
  {
    name: 'TC8',
    bits: 192,
    key: Buffer.alloc(24),
    salt: Buffer.alloc(4),
    iv: Buffer.alloc(8),
    aad: Buffer.alloc(0),
    p: Buffer.alloc(16),
    c: '98e7247c07f0fe411c267e4384b0f600',
    t: '2ff58d80033927ab8ef4d4587514f0fb',
  },
  {
    name: 'TC14',
    bits: 256,
    key: Buffer.alloc(32),
    salt: Buffer.alloc(4),
    iv: Buffer.alloc(8),
    aad: Buffer.alloc(0),
    p: Buffer.alloc(16),
    c: 'cea7403d4d606b6e074ec5d3baf39d18',
    t: 'd0d1c8a799996bf0265b98b5d48ab919',
  },
  // 60-byte plaintext ending in 0x39: 2 inner bytes, 57 padding bytes, pad length 57; with AAD
  {
    name: 'TC4',
    bits: 128,
    key: GCM_K,
    salt: h('cafebabe'),
    iv: h('facedbaddecaf888'),
    aad: GCM_A,
    p: GCM_P60,
    c: '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091',
    t: '5bc94fbc3221a5db94fae95ae7121a47',
  },
  {
    name: 'TC10',
    bits: 192,
    key: Buffer.concat([GCM_K, GCM_K.subarray(0, 8)]),
    salt: h('cafebabe'),
    iv: h('facedbaddecaf888'),
    aad: GCM_A,
    p: GCM_P60,
    c: '3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710',
    t: '2519498e80f1478f37ba55bd6d27618c',
  },
  {
    name: 'TC16',
    bits: 256,
    key: Buffer.concat([GCM_K, GCM_K]),
    salt: h('cafebabe'),
    iv: h('facedbaddecaf888'),
    aad: GCM_A,
    p: GCM_P60,
    c: '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662',
    t: '76fc6ece0f4e1768cddf8853bb2d551b',
  },
];

describe.each(GCM)('AES-GCM McGrew-Viega $name (AES-$bits)', (v) => {
  // ENCR_AES_GCM_8/12 are the same cipher with the tag truncated (RFC 5282 section 3)
  test.each([
    [Encr.AES_GCM_16, 16],
    [Encr.AES_GCM_12, 12],
    [Encr.AES_GCM_8, 8],
  ])('encr %i seals and opens with a %i-byte ICV', (encr, icv) => {
    const cipher = createSkCipher({ encr, encrKeyBits: v.bits }, Buffer.concat([v.key, v.salt]), Buffer.alloc(0));
    expect(cipher.icvLength).toBe(icv);
    const { inner, padding } = asSkPlaintext(v.p);
    const body = sealWithIv(cipher, inner, v.aad, v.iv, padding);
    expect(hex(body)).toBe(hex(v.iv) + v.c + v.t.slice(0, 2 * icv));
    expect(hex(cipher.open(body, v.aad))).toBe(hex(inner));
  });
});

test('ChaCha20-Poly1305 RFC 8439 section 2.8.2 (nonce = salt 07000000 | IV, RFC 7634 section 2)', () => {
  const key = h('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
  const p = Buffer.from(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  );
  const aad = h('50515253c0c1c2c3c4c5c6c7');
  const iv = h('4041424344454647');
  const c = h(
    'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116',
  );
  const tag = h('1ae10b594f09e26a7e902ecbd0600691');
  const cipher = createSkCipher({ encr: Encr.CHACHA20_POLY1305 }, Buffer.concat([key, h('07000000')]), Buffer.alloc(0));
  const { inner, padding } = asSkPlaintext(p); // the final '.' (46) reads as pad length
  const body = sealWithIv(cipher, inner, aad, iv, padding);
  expect(hex(body)).toBe(hex(Buffer.concat([iv, c, tag])));
  expect(hex(cipher.open(body, aad))).toBe(hex(inner));
});

describe('CBC ciphers, first block of published vectors', () => {
  // With CBC, C1 = E(K, P1 xor IV). Choosing our IV as IV' = (inner | 0x00) xor P1 xor IV makes the
  // one-block SK plaintext (7 or 15 inner bytes, pad length 0) encrypt to the published C1.
  const cases = [
    {
      name: 'AES-128 SP 800-38A F.2.1',
      encr: Encr.AES_CBC,
      bits: 128,
      key: '2b7e151628aed2a6abf7158809cf4f3c',
      c1: '7649abac8119b246cee98e9b12e9197d',
    },
    {
      name: 'AES-192 SP 800-38A F.2.3',
      encr: Encr.AES_CBC,
      bits: 192,
      key: '8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b',
      c1: '4f021db243bc633d7178183a9fa071e8',
    },
    {
      name: 'AES-256 SP 800-38A F.2.5',
      encr: Encr.AES_CBC,
      bits: 256,
      key: '603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4',
      c1: 'f58c4c04d6e5f1ba779eabfb5f7bfbd6',
    },
  ];
  test.each(cases)('$name', (v) => {
    const p1 = h('6bc1bee22e409f96e93d7e117393172a');
    const nistIv = h('000102030405060708090a0b0c0d0e0f');
    const inner = Buffer.from('fifteen bytes!!');
    const iv = xor(xor(Buffer.concat([inner, Buffer.from([0])]), p1), nistIv);
    const cipher = createSkCipher({ encr: v.encr, encrKeyBits: v.bits, integ: Integ.HMAC_SHA2_256_128 }, h(v.key), Buffer.alloc(32, 1));
    const body = sealWithIv(cipher, inner, Buffer.alloc(32), iv);
    expect(body.length).toBe(16 + 16 + 16);
    expect(hex(body.subarray(16, 32))).toBe(v.c1);
    expect(cipher.open(body, Buffer.alloc(32)).toString()).toBe(inner.toString());
  });

  // SP 800-67's example plaintext really reads "The qufck brown fox jump" (sic).
  test('3DES SP 800-67 example: "The qufc" -> A826FD8CE53B855F with keys K1|K2|K3', () => {
    const key = h('0123456789ABCDEF 23456789ABCDEF01 456789ABCDEF0123');
    const inner = Buffer.from('seven!!');
    const iv = xor(Buffer.concat([inner, Buffer.from([0])]), Buffer.from('The qufc'));
    const cipher = createSkCipher({ encr: Encr['3DES'], integ: Integ.HMAC_SHA1_96 }, key, Buffer.alloc(20, 1));
    const body = sealWithIv(cipher, inner, Buffer.alloc(32), iv);
    expect(hex(body.subarray(8, 16))).toBe('a826fd8ce53b855f');
    expect(body.length).toBe(8 + 8 + 12);
    expect(cipher.open(body, Buffer.alloc(32)).toString()).toBe('seven!!');
  });
});
