// ECP (RFC 5903) and Curve25519/448 (RFC 7748, RFC 8031) groups: published vectors, and
// node:crypto cross-checked against @noble/curves in both directions.
import { describe, expect, test } from 'vitest';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { x448 } from '@noble/curves/ed448.js';
import { dhFromPrivate, dhPublicLength, generateDh } from '../../src/crypto/dh.js';

const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// RFC 5903 section 8: i, g^i (x|y), r, g^r (x|y), g^ir (x only, section 9)
const RFC5903 = [
  {
    group: 19,
    i: 'C88F01F5 10D9AC3F 70A292DA A2316DE5 44E9AAB8 AFE84049 C62A9C57 862D1433',
    gi:
      'DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF 945D0C37 72581180' +
      '5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58 389E0577 B8990BB3',
    r: 'C6EF9C5D 78AE012A 011164AC B397CE20 88685D8F 06BF9BE0 B283AB46 476BEE53',
    gr:
      'D12DFB52 89C8D4F8 1208B702 70398C34 2296970A 0BCCB74C 736FC755 4494BF63' +
      '56FBF3CA 366CC23E 8157854C 13C58D6A AC23F046 ADA30F83 53E74F33 039872AB',
    gir: 'D6840F6B 42F6EDAF D13116E0 E1256520 2FEF8E9E CE7DCE03 812464D0 4B9442DE',
  },
  {
    group: 20,
    i: '099F3C70 34D4A2C6 99884D73 A375A67F 7624EF7C 6B3C0F16 0647B674 14DCE655 E35B5380 41E649EE 3FAEF896 783AB194',
    gi:
      '667842D7 D180AC2C DE6F74F3 7551F557 55C7645C 20EF73E3 1634FE72 B4C55EE6 DE3AC808 ACB4BDB4 C88732AE E95F41AA' +
      '9482ED1F C0EEB9CA FC498462 5CCFC23F 65032149 E0E144AD A0241815 35A0F38E EB9FCFF3 C2C947DA E69B4C63 4573A81C',
    r: '41CB0779 B4BDB85D 47846725 FBEC3C94 30FAB46C C8DC5060 855CC9BD A0AA2942 E0308312 916B8ED2 960E4BD5 5A7448FC',
    gr:
      'E558DBEF 53EECDE3 D3FCCFC1 AEA08A89 A987475D 12FD950D 83CFA417 32BC509D 0D1AC43A 0336DEF9 6FDA41D0 774A3571' +
      'DCFBEC7A ACF31964 72169E83 8430367F 66EEBE3C 6E70C416 DD5F0C68 759DD1FF F83FA401 42209DFF 5EAAD96D B9E6386C',
    gir: '11187331 C279962D 93D60424 3FD592CB 9D0A926F 422E4718 7521287E 7156C5C4 D6031355 69B9E9D0 9CF5D4A2 70F59746',
  },
  {
    group: 21,
    i: '0037ADE9 319A89F4 DABDB3EF 411AACCC A5123C61 ACAB57B5 393DCE47 608172A0 95AA85A3 0FE1C295 2C6771D9 37BA9777 F5957B26 39BAB072 462F68C2 7A57382D 4A52',
    gi:
      '0015417E 84DBF28C 0AD3C278 713349DC 7DF153C8 97A1891B D98BAB43 57C9ECBE E1E3BF42 E00B8E38 0AEAE57C 2D107564 94188594 2AF5A7F4 601723C4 195D176C ED3E' +
      '017CAE20 B6641D2E EB695786 D8C94614 6239D099 E18E1D5A 514C739D 7CB4A10A D8A78801 5AC405D7 799DC75E 7B7D5B6C F2261A6A 7F150743 8BF01BEB 6CA3926F 9582',
    r: '0145BA99 A847AF43 793FDD0E 872E7CDF A16BE30F DC780F97 BCCC3F07 8380201E 9C677D60 0B343757 A3BDBF2A 3163E4C2 F869CCA7 458AA4A4 EFFC311F 5CB15168 5EB9',
    gr:
      '00D0B397 5AC4B799 F5BEA16D 5E13E9AF 971D5E9B 984C9F39 728B5E57 39735A21 9B97C356 436ADC6E 95BB0352 F6BE64A6 C2912D4E F2D0433C ED2B6171 640012D9 460F' +
      '015C6822 6383956E 3BD066E7 97B623C2 7CE0EAC2 F551A10C 2C724D98 52077B87 220B6536 C5C408A1 D2AEBB8E 86D678AE 49CB5709 1F473229 6579AB44 FCD17F0F C56A',
    gir: '01144C7D 79AE6956 BC8EDB8E 7C787C45 21CB086F A64407F9 7894E5E6 B2D79B04 D1427E73 CA4BAA24 0A347868 59810C06 B3C715A3 A8CC3151 F2BEE417 996D19F3 DDEA',
  },
];

describe.each(RFC5903)('RFC 5903 section 8 vector, group $group', (v) => {
  test('public values are x|y and the shared secret is x only', () => {
    const i = dhFromPrivate(v.group, h(v.i));
    const r = dhFromPrivate(v.group, h(v.r));
    expect(hex(i.publicKey)).toBe(hex(h(v.gi)));
    expect(hex(r.publicKey)).toBe(hex(h(v.gr)));
    expect(dhPublicLength(v.group)).toBe(h(v.gi).length);
    expect(hex(i.computeSecret(r.publicKey))).toBe(hex(h(v.gir)));
    expect(hex(r.computeSecret(i.publicKey))).toBe(hex(h(v.gir)));
  });
});

// RFC 7748 section 6.1 / 6.2: Alice and Bob
const RFC7748_DH = [
  {
    group: 31,
    a: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
    A: '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
    b: '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb',
    B: 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
    K: '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742',
  },
  {
    group: 32,
    a: '9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28dd9c9baf574a9419744897391006382a6f127ab1d9ac2d8c0a598726b',
    A: '9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c22c5d9bbc836647241d953d40c5b12da88120d53177f80e532c41fa0',
    b: '1c306a7ac2a0e2e0990b294470cba339e6453772b075811d8fad0d1d6927c120bb5ee8972b0d3e21374c9c921b09d1b0366f10b65173992d',
    B: '3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b43027d8b972fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609',
    K: '07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282bb60c0b56fd2464c335543936521c24403085d59a449a5037514a879d',
  },
];

describe.each(RFC7748_DH)('RFC 7748 section 6 Diffie-Hellman, group $group', (v) => {
  test('public keys and shared secret (raw little-endian bytes, RFC 8031 section 2)', () => {
    const a = dhFromPrivate(v.group, h(v.a));
    const b = dhFromPrivate(v.group, h(v.b));
    expect(hex(a.publicKey)).toBe(v.A);
    expect(hex(b.publicKey)).toBe(v.B);
    expect(hex(a.computeSecret(b.publicKey))).toBe(v.K);
    expect(hex(b.computeSecret(a.publicKey))).toBe(v.K);
  });
});

// RFC 7748 section 5.2: scalar x u-coordinate, including a non-canonical / high-bit u input
const RFC7748_FN = [
  {
    group: 31,
    k: 'a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4',
    u: 'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c',
    out: 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552',
  },
  {
    group: 32,
    k: '3d262fddf9ec8e88495266fea19a34d28882acef045104d0d1aae121700a779c984c24f8cdd78fbff44943eba368f54b29259a4f1c600ad3',
    u: '06fce640fa3487bfda5f6cf2d5263f8aad88334cbd07437f020f08f9814dc031ddbdc38c19c6da2583fa5429db94ada18aa7a7fb4ef8a086',
    out: 'ce3e4ff95a60dc6697da1db1d85e6afbdf79b50a2412d7546d5f239fe14fbaadeb445fc66a01b0779d98223961111e21766282f73dd96b6f',
  },
];

test.each(RFC7748_FN)('RFC 7748 section 5.2 function vector, group $group', (v) => {
  expect(hex(dhFromPrivate(v.group, h(v.k)).computeSecret(h(v.u)))).toBe(v.out);
});

const NOBLE: [
  number,
  {
    getPublicKey(k: Uint8Array, c?: boolean): Uint8Array;
    getSharedSecret(a: Uint8Array, b: Uint8Array, c?: boolean): Uint8Array;
    utils: { randomSecretKey(): Uint8Array };
  },
  boolean,
][] = [
  [19, p256, true],
  [20, p384, true],
  [21, p521, true],
  [31, x25519, false],
  [32, x448, false],
];

describe.each(NOBLE)('group %i against @noble/curves', (group, curve, weierstrass) => {
  // noble speaks SEC1 (0x04 | x | y) for Weierstrass curves; IKE drops the 0x04 (RFC 5903 section 7)
  const toNoble = (pub: Buffer) => (weierstrass ? Buffer.concat([Buffer.from([4]), pub]) : pub);
  const fromNoble = (pub: Uint8Array) => Buffer.from(weierstrass ? pub.subarray(1) : pub);
  const nobleSecret = (priv: Uint8Array, pub: Buffer) => {
    const s = weierstrass
      ? curve.getSharedSecret(priv, toNoble(pub), false).subarray(1, 1 + pub.length / 2)
      : curve.getSharedSecret(priv, pub);
    return hex(s);
  };

  test('our public with noble private, and noble public with our private, agree', () => {
    for (let n = 0; n < 5; n++) {
      const ours = generateDh(group);
      const theirPriv = curve.utils.randomSecretKey();
      const theirPub = fromNoble(weierstrass ? curve.getPublicKey(theirPriv, false) : curve.getPublicKey(theirPriv));
      expect(theirPub.length).toBe(dhPublicLength(group));
      expect(hex(ours.computeSecret(theirPub))).toBe(nobleSecret(theirPriv, ours.publicKey));
    }
  });

  test('dhFromPrivate derives the same public key as noble', () => {
    const priv = Buffer.from(curve.utils.randomSecretKey());
    const pub = weierstrass ? curve.getPublicKey(priv, false) : curve.getPublicKey(priv);
    expect(hex(dhFromPrivate(group, priv).publicKey)).toBe(hex(fromNoble(pub)));
  });
});

describe('invalid public values (RFC 6989, RFC 7748 section 6)', () => {
  test.each([19, 20, 21, 31, 32])('group %i: wrong length', (group) => {
    const kp = generateDh(group);
    const len = dhPublicLength(group);
    for (const l of [0, len - 1, len + 1]) {
      expect(() => kp.computeSecret(Buffer.alloc(l, 9))).toThrow(expect.objectContaining({ code: 'INVALID_PUBLIC' }));
    }
  });

  test.each([19, 20, 21])('group %i: points off the curve, the identity encoding, prefixed values', (group) => {
    const kp = generateDh(group);
    const len = dhPublicLength(group);
    const offCurve = Buffer.from(kp.publicKey);
    offCurve[len - 1]! ^= 1; // flip a bit of y
    for (const bad of [offCurve, Buffer.alloc(len), Buffer.alloc(len, 0xff)]) {
      expect(() => kp.computeSecret(bad)).toThrow(expect.objectContaining({ code: 'INVALID_PUBLIC' }));
    }
    // a SEC1-prefixed point is one byte too long for IKE
    expect(() => kp.computeSecret(Buffer.concat([Buffer.from([4]), kp.publicKey]))).toThrow(
      expect.objectContaining({ code: 'INVALID_PUBLIC' }),
    );
  });

  test.each([31, 32])('group %i: small-order points give an all-zero secret and are rejected', (group) => {
    const kp = generateDh(group);
    const len = dhPublicLength(group);
    const one = Buffer.alloc(len);
    one[0] = 1;
    for (const bad of [Buffer.alloc(len), one]) {
      expect(() => kp.computeSecret(bad)).toThrow(expect.objectContaining({ code: 'INVALID_PUBLIC' }));
    }
  });
});
