// MODP groups (RFC 2409 section 6, RFC 3526): the primes against the RFC text and its defining
// formula, and g^x / shared secrets against a BigInt reference, for every group we support.
import { getDiffieHellman } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { dhFromPrivate, dhPublicLength, dhSupported, generateDh } from '../../src/crypto/dh.js';
import { MODP_PRIMES } from '../../src/crypto/modp-primes.js';

const big = (b: Buffer) => BigInt(`0x${b.length ? b.toString('hex') : '0'}`);
const buf = (n: bigint, len: number) => Buffer.from(n.toString(16).padStart(2 * len, '0'), 'hex');
function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let r = 1n;
  let b = base % mod;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % mod;
    b = (b * b) % mod;
  }
  return r;
}

/** floor(pi * 2^bits) by Machin's formula, pi = 16 atan(1/5) - 4 atan(1/239), with 64 guard bits. */
function piTimes2Pow(bits: number): bigint {
  const one = 1n << BigInt(bits + 64);
  const atanInv = (x: bigint) => {
    let sum = 0n;
    let term = one / x;
    for (let n = 1n, sign = 1n; term !== 0n; n += 2n, sign = -sign, term /= x * x) sum += (sign * term) / n;
    return sum;
  };
  return (16n * atanInv(5n) - 4n * atanInv(239n)) >> 64n;
}

// Per group: bits, the k of "p = 2^n - 2^(n-64) - 1 + 2^64 * { [2^(n-130) pi] + k }" and the last
// 8 words of the prime as printed in the RFC, and OpenSSL's name for the same group.
const GROUPS: { id: number; bits: number; k: bigint; tail: string; openssl: string }[] = [
  { id: 1, bits: 768, k: 149686n, tail: 'F44C42E9 A63A3620 FFFFFFFF FFFFFFFF', openssl: 'modp1' },
  { id: 2, bits: 1024, k: 129093n, tail: '49286651 ECE65381 FFFFFFFF FFFFFFFF', openssl: 'modp2' },
  { id: 5, bits: 1536, k: 741804n, tail: 'F1746C08 CA237327 FFFFFFFF FFFFFFFF', openssl: 'modp5' },
  { id: 14, bits: 2048, k: 124476n, tail: '15728E5A 8AACAA68 FFFFFFFF FFFFFFFF', openssl: 'modp14' },
  { id: 15, bits: 3072, k: 1690314n, tail: '4B82D120 A93AD2CA FFFFFFFF FFFFFFFF', openssl: 'modp15' },
  { id: 16, bits: 4096, k: 240904n, tail: '4DF435C9 34063199 FFFFFFFF FFFFFFFF', openssl: 'modp16' },
  { id: 17, bits: 6144, k: 929484n, tail: 'E694F91E 6DCC4024 FFFFFFFF FFFFFFFF', openssl: 'modp17' },
  { id: 18, bits: 8192, k: 4743158n, tail: '60C980DD 98EDD3DF FFFFFFFF FFFFFFFF', openssl: 'modp18' },
];
const PI = piTimes2Pow(8192 - 130);
const RFC_HEAD = 'FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1'.replace(/ /g, '');

describe.each(GROUPS)('MODP group $id ($bits bit)', ({ id, bits, k, tail, openssl }) => {
  const prime = Buffer.from(MODP_PRIMES[id]!, 'hex');
  const p = big(prime);
  const len = bits / 8;

  test('prime follows the RFC formula, RFC text and OpenSSL', () => {
    const n = BigInt(bits);
    const pi = PI >> BigInt(8192 - bits); // [2^(n-130) pi]
    expect(p).toBe((1n << n) - (1n << (n - 64n)) - 1n + (1n << 64n) * (pi + k));
    const h = prime.toString('hex').toUpperCase();
    expect(h.startsWith(RFC_HEAD)).toBe(true);
    expect(h.endsWith(tail.replace(/ /g, ''))).toBe(true);
    expect(getDiffieHellman(openssl).getPrime('hex').toUpperCase()).toBe(h);
    expect(dhSupported(id)).toBe(true);
    expect(dhPublicLength(id)).toBe(len);
  });

  test('g^x mod p and the shared secret match a BigInt reference', () => {
    const a = Buffer.from(`${'1f'.repeat(20)}a5c3`, 'hex');
    const b = Buffer.from(`${'7e'.repeat(24)}0102`, 'hex');
    const pa = dhFromPrivate(id, a);
    const pb = dhFromPrivate(id, b);
    expect(pa.publicKey.toString('hex')).toBe(buf(modPow(2n, big(a), p), len).toString('hex'));
    expect(pb.publicKey.toString('hex')).toBe(buf(modPow(2n, big(b), p), len).toString('hex'));
    const expected = buf(modPow(2n, big(a) * big(b), p), len).toString('hex');
    expect(pa.computeSecret(pb.publicKey).toString('hex')).toBe(expected);
    expect(pb.computeSecret(pa.publicKey).toString('hex')).toBe(expected);
  });

  test('values are left-padded to the prime length (RFC 7296 3.4)', () => {
    const small = dhFromPrivate(id, Buffer.from([5])); // g^5 = 32: one significant byte
    expect(small.publicKey.length).toBe(len);
    expect(big(small.publicKey)).toBe(32n);
    // secret = 2^5 with the peer value 2 (= g^1): again a single significant byte
    expect(small.computeSecret(buf(2n, len)).toString('hex')).toBe(buf(32n, len).toString('hex'));
  });

  test('invalid peer values are rejected (RFC 6989 2.1)', () => {
    const kp = generateDh(id);
    expect(kp.publicKey.length).toBe(len);
    for (const v of [0n, 1n, p - 1n, p, p + 1n, (1n << BigInt(bits)) - 1n]) {
      expect(() => kp.computeSecret(buf(v, len)), `value ${v}`).toThrow(expect.objectContaining({ code: 'INVALID_PUBLIC' }));
    }
    expect(() => kp.computeSecret(buf(2n, len - 1))).toThrow(expect.objectContaining({ code: 'INVALID_PUBLIC' }));
    expect(() => kp.computeSecret(buf(2n, len + 1))).toThrow(expect.objectContaining({ code: 'INVALID_PUBLIC' }));
    expect(kp.computeSecret(buf(p - 2n, len)).length).toBe(len);
  });

  test('two fresh key pairs agree, and agree with the reference', () => {
    const x = generateDh(id);
    const y = generateDh(id);
    const s = x.computeSecret(y.publicKey);
    expect(s.equals(y.computeSecret(x.publicKey))).toBe(true);
    expect(big(x.publicKey) > 1n && big(x.publicKey) < p - 1n).toBe(true);
  });
});

test('unknown groups are UNSUPPORTED', () => {
  expect(dhSupported(22)).toBe(false);
  expect(() => generateDh(22)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
  expect(() => dhPublicLength(0)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
});

test('legacy groups 1 and 2 keep each key pair separate despite the shared engine', () => {
  for (const id of [1, 2]) {
    const prime = big(Buffer.from(MODP_PRIMES[id]!, 'hex'));
    const pairs = [generateDh(id), generateDh(id), dhFromPrivate(id, Buffer.from([3]))];
    const peer = dhFromPrivate(id, Buffer.from([7]));
    const len = dhPublicLength(id);
    // prior pairs must still use their own exponent after later pairs were made
    const s2 = pairs[2]!.computeSecret(peer.publicKey);
    expect(big(s2)).toBe(modPow(2n, 21n, prime));
    expect(s2.length).toBe(len);
    expect(pairs[0]!.computeSecret(pairs[1]!.publicKey).equals(pairs[1]!.computeSecret(pairs[0]!.publicKey))).toBe(true);
  }
});
