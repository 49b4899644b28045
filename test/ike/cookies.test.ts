// The pure COOKIE logic (RFC 7296 2.6): HMAC cookies over (SPIi, IPi, Ni) with a rotating secret, and charon's
// rule of when cookies are required (thresholds plus a 10 s calm-down).
import { describe, expect, test } from 'vitest';
import { COOKIE_BYTES, COOKIE_CALMDOWN_MS, COOKIE_ROTATE_MS, CookiePolicy, CookieSecrets } from '../../src/ike/cookies.js';
import { seededRandom } from '../helpers/peers.js';

const NI = Buffer.alloc(32, 0x11);
const SPI = Buffer.from('0102030405060708', 'hex');
const IP = '192.0.2.7';

function jar() {
  let t = 1_000;
  let draws = 0;
  const rnd = seededRandom('cookie-test');
  const random = { bytes: (n: number) => (draws++, rnd.bytes(n)) };
  const c = new CookieSecrets(random, () => t);
  return { c, advance: (ms: number) => (t += ms), draws: () => draws };
}

describe('CookieSecrets', () => {
  test('verifies its own cookie: version byte + HMAC-SHA256, 33 bytes', () => {
    const { c } = jar();
    const cookie = c.make(NI, IP, SPI);
    expect(cookie).toHaveLength(COOKIE_BYTES);
    expect(cookie.length).toBeLessThanOrEqual(64); // RFC 7296 3.10.1
    expect(c.verify(cookie, NI, IP, SPI)).toBe(true);
    // deterministic for the same request and secret: no per-request state is needed to check it
    expect(c.make(NI, IP, SPI).equals(cookie)).toBe(true);
  });

  test('draws its secret from the injected RandomSource only when a cookie is first needed', () => {
    const { c, draws } = jar();
    expect(c.verify(Buffer.alloc(COOKIE_BYTES), NI, IP, SPI)).toBe(false);
    expect(draws()).toBe(0);
    c.make(NI, IP, SPI);
    c.make(NI, IP, SPI);
    expect(draws()).toBe(1);
  });

  test('rejects a tampered cookie (any byte), a truncated one and an extended one', () => {
    const { c } = jar();
    const cookie = c.make(NI, IP, SPI);
    for (const i of [0, 1, 16, COOKIE_BYTES - 1]) {
      const bad = Buffer.from(cookie);
      bad[i]! ^= 0x01;
      expect(c.verify(bad, NI, IP, SPI), `byte ${i}`).toBe(false);
    }
    expect(c.verify(cookie.subarray(0, COOKIE_BYTES - 1), NI, IP, SPI)).toBe(false);
    expect(c.verify(Buffer.concat([cookie, Buffer.alloc(1)]), NI, IP, SPI)).toBe(false);
    expect(c.verify(Buffer.alloc(0), NI, IP, SPI)).toBe(false);
  });

  test('a cookie is bound to IPi, SPIi and Ni', () => {
    const { c } = jar();
    const cookie = c.make(NI, IP, SPI);
    expect(c.verify(cookie, NI, '192.0.2.8', SPI)).toBe(false);
    expect(c.verify(cookie, NI, '2001:db8::7', SPI)).toBe(false);
    expect(c.verify(cookie, NI, IP, Buffer.from('0102030405060709', 'hex'))).toBe(false);
    expect(c.verify(cookie, Buffer.alloc(32, 0x12), IP, SPI)).toBe(false);
    expect(c.verify(cookie, NI.subarray(0, 31), IP, SPI)).toBe(false);
  });

  test('the address length is part of the MAC: an IPv4 cookie does not verify from an IPv6 address built from Ni', () => {
    const { c } = jar();
    // IPv6 | Ni' == IPv4 | Ni byte for byte (16 + 20 == 4 + 32)
    const ni = Buffer.alloc(32, 0xaa);
    const cookie = c.make(ni, '10.0.0.1', SPI);
    const v6 = Buffer.concat([Buffer.from([10, 0, 0, 1]), ni.subarray(0, 12)]);
    const v6text = (v6.toString('hex').match(/.{4}/g) ?? []).join(':');
    expect(c.verify(cookie, ni.subarray(12), v6text, SPI)).toBe(false);
  });

  test('the previous secret is accepted after one rotation, not after two', () => {
    const { c } = jar();
    const old = c.make(NI, IP, SPI);
    c.rotate();
    expect(c.verify(old, NI, IP, SPI)).toBe(true);
    const newer = c.make(NI, IP, SPI);
    expect(newer[0]).not.toBe(old[0]); // the version byte names the secret
    expect(newer.equals(old)).toBe(false);
    c.rotate();
    expect(c.verify(old, NI, IP, SPI)).toBe(false);
    expect(c.verify(newer, NI, IP, SPI)).toBe(true);
  });

  test('rotation follows the injected clock: valid one period on, gone two periods on', () => {
    const a = jar();
    const cookie = a.c.make(NI, IP, SPI);
    a.advance(COOKIE_ROTATE_MS - 1);
    expect(a.c.verify(cookie, NI, IP, SPI)).toBe(true);
    a.advance(1); // one period: rotated, the cookie's secret is now the previous one
    expect(a.c.verify(cookie, NI, IP, SPI)).toBe(true);
    expect(a.c.make(NI, IP, SPI)[0]).not.toBe(cookie[0]);
    a.advance(COOKIE_ROTATE_MS); // second rotation
    expect(a.c.verify(cookie, NI, IP, SPI)).toBe(false);

    const b = jar();
    const c2 = b.c.make(NI, IP, SPI);
    b.advance(2 * COOKIE_ROTATE_MS); // nobody asked for cookies meanwhile: both secrets dropped
    expect(b.c.verify(c2, NI, IP, SPI)).toBe(false);
  });
});

describe('CookiePolicy (charon receiver.c cookie_required)', () => {
  test('global threshold, and 0 turns it off', () => {
    const p = new CookiePolicy();
    expect(p.required(0, 30, 29, 0, 0, IP)).toBe(false);
    expect(p.required(0, 30, 30, 0, 0, IP)).toBe(true);
    expect(new CookiePolicy().required(0, 0, 10_000, 0, 10_000, IP)).toBe(false);
  });

  test('stays on for the calm-down delay after the threshold was last reached', () => {
    const p = new CookiePolicy();
    expect(p.required(1000, 30, 30, 0, 0, IP)).toBe(true);
    expect(p.required(1000 + COOKIE_CALMDOWN_MS - 1, 30, 0, 0, 0, IP)).toBe(true);
    expect(p.required(1000 + COOKIE_CALMDOWN_MS, 30, 0, 0, 0, IP)).toBe(false);
  });

  test('per-IP threshold with its own calm-down (hashed buckets)', () => {
    const p = new CookiePolicy();
    expect(p.required(0, 30, 3, 3, 2, IP)).toBe(false);
    expect(p.required(0, 30, 3, 3, 3, IP)).toBe(true);
    expect(p.required(5000, 30, 0, 3, 0, IP)).toBe(true);
    expect(p.required(5000 + COOKIE_CALMDOWN_MS, 30, 0, 3, 0, IP)).toBe(false);
  });
});
