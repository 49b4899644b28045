// PSK AUTH (RFC 7296 2.15) and NAT detection hashes (RFC 7296 2.23) on hand-built inputs; the
// strongSwan KATs cover them with real values, these cover IPv6 and the edge cases.
import { createHash, createHmac } from 'node:crypto';
import { expect, test } from 'vitest';
import { Prf } from '../../src/wire/constants.js';
import { macedId, pskAuth, signedOctets, verifyPskAuth } from '../../src/crypto/auth.js';
import { natdHash } from '../../src/crypto/natd.js';

const hmac = (k: Buffer, d: Buffer) => createHmac('sha256', k).update(d).digest();
const sha1 = (d: Buffer) => createHash('sha1').update(d).digest('hex');

test('PSK AUTH = prf(prf(psk, "Key Pad for IKEv2"), msg | nonce | prf(SK_p, ID body))', () => {
  const psk = Buffer.from('secret');
  const msg = Buffer.from('first message');
  const nonce = Buffer.alloc(32, 1);
  const skP = Buffer.alloc(32, 2);
  const id = Buffer.from([2, 0, 0, 0, ...Buffer.from('vpn.example')]);
  const octets = Buffer.concat([msg, nonce, hmac(skP, id)]);
  expect(macedId(Prf.HMAC_SHA2_256, skP, id).equals(hmac(skP, id))).toBe(true);
  expect(signedOctets(Prf.HMAC_SHA2_256, msg, nonce, skP, id).equals(octets)).toBe(true);
  const auth = hmac(hmac(psk, Buffer.from('Key Pad for IKEv2')), octets);
  expect(pskAuth(Prf.HMAC_SHA2_256, psk, octets).equals(auth)).toBe(true);
  expect(verifyPskAuth(Prf.HMAC_SHA2_256, psk, octets, auth)).toBe(true);
  expect(verifyPskAuth(Prf.HMAC_SHA2_256, Buffer.from('Secret'), octets, auth)).toBe(false);
  expect(verifyPskAuth(Prf.HMAC_SHA2_256, psk, octets, Buffer.concat([auth, Buffer.alloc(1)]))).toBe(false);
  expect(verifyPskAuth(Prf.HMAC_SHA2_256, psk, octets, Buffer.alloc(0))).toBe(false);
});

test('NATD hash = SHA1(SPIi | SPIr | IP | port) for IPv4 and every IPv6 text form', () => {
  const spiI = Buffer.from('0102030405060708', 'hex');
  const spiR = Buffer.alloc(8);
  const port = Buffer.from('1194', 'hex'); // 4500
  const v4 = Buffer.from([192, 0, 2, 1]);
  expect(natdHash(spiI, spiR, '192.0.2.1', 4500).toString('hex')).toBe(sha1(Buffer.concat([spiI, spiR, v4, port])));
  const cases: [string, string][] = [
    ['2001:db8::1', '20010db8000000000000000000000001'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '20010db8000000000000000000000001'],
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['fe80::', 'fe800000000000000000000000000000'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['64:ff9b::192.0.2.1', '0064ff9b0000000000000000c0000201'],
    ['1:2:3:4:5:6:192.0.2.1', '000100020003000400050006c0000201'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['fe80::1%eth0', 'fe800000000000000000000000000001'],
  ];
  for (const [text, bytes] of cases) {
    const expected = sha1(Buffer.concat([spiI, spiR, Buffer.from(bytes, 'hex'), Buffer.from([0x01, 0xf4])]));
    expect(natdHash(spiI, spiR, text, 500).toString('hex'), text).toBe(expected);
  }
  expect(() => natdHash(spiI, spiR, 'host.example', 500)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
});
