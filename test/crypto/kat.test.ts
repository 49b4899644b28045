// Known answers from strongSwan 5.9.8 (level-4 logs in test/fixtures/kat): every value
// below was computed by charon, so these tests check ikelab's crypto against another implementation.
import { describe, expect, test } from 'vitest';
import { AuthMethod, ExchangeType, Notify, PayloadType } from '../../src/wire/constants.js';
import { CryptoError } from '../../src/crypto/errors.js';
import { dhPublicLength, generateDh } from '../../src/crypto/dh.js';
import { prf } from '../../src/crypto/prf.js';
import { deriveChildKeys, deriveIkeKeys, isAead } from '../../src/crypto/keys.js';
import { createSkCipher, sealWithIv } from '../../src/crypto/sk.js';
import { pskAuth, signedOctets, verifyPskAuth } from '../../src/crypto/auth.js';
import { natdHash } from '../../src/crypto/natd.js';
import { byLabel, single, type Dump } from './kat-parse.js';
import { authRecords, childKeyRecords, skRecords } from './kat-records.js';
import {
  INITIATOR_IP,
  KAT_PSK,
  KAT_SUITES,
  RESPONDER_IP,
  fromOriginalInitiator,
  ipv4IdBody,
  isResponse,
  keData,
  loadKat,
  notifyData,
  payloadOf,
  walkPayloads,
  type IkeMessage,
} from './kat-suite.js';

const hex = (b: Buffer) => b.toString('hex');

describe.each(KAT_SUITES)('strongSwan KAT $dir', (suite) => {
  const run = loadKat(suite);
  const ni = payloadOf(run.initRequest.payloads, PayloadType.NONCE);
  const nr = payloadOf(run.initResponse.payloads, PayloadType.NONCE);
  const spiI = run.initRequest.spiI;
  const spiR = run.initResponse.spiR;
  const gir = single(run.initiator, 'shared Diffie Hellman secret');
  const keys = deriveIkeKeys(suite.ike, gir, ni, nr, spiI, spiR);
  const aead = isAead(suite.ike.encr);
  const logs: [string, Dump[]][] = [
    ['initiator', run.initiator],
    ['responder', run.responder],
  ];
  // The original initiator protects with SK_ei/SK_ai, the responder with SK_er/SK_ar (RFC 7296 2.14).
  const cipherFor = (byInitiator: boolean) =>
    byInitiator ? createSkCipher(suite.ike, keys.skEi, keys.skAi) : createSkCipher(suite.ike, keys.skEr, keys.skAr);

  /** Open an SK-protected message with our cipher; returns the inner payloads too. */
  const openMessage = (m: IkeMessage) => {
    const sk = m.payloads.find((p) => p.type === PayloadType.SK);
    if (!sk) throw new Error('no SK payload');
    const aad = m.raw.subarray(0, sk.offset + 4);
    const plain = cipherFor(fromOriginalInitiator(m)).open(m.raw.subarray(sk.offset + 4), aad);
    return { aad, plain, sk, inner: walkPayloads(plain, m.raw[sk.offset]!, 0) };
  };
  const protectedMessages = [...run.toInitiator, ...run.toResponder].filter((m) => m.exchange !== ExchangeType.IKE_SA_INIT);

  test('KE payloads carry the negotiated group in our format, and our DH accepts them', () => {
    for (const m of [run.initRequest, run.initResponse]) {
      const ke = keData(m.payloads);
      expect(ke.group).toBe(suite.ike.dh);
      expect(ke.data.length).toBe(dhPublicLength(suite.ike.dh));
      // Charon's public values must be valid points / in range for our checks.
      expect(generateDh(suite.ike.dh).computeSecret(ke.data).length).toBe(gir.length);
    }
    expect(hex(single(run.responder, 'shared Diffie Hellman secret'))).toBe(hex(gir));
  });

  test('SKEYSEED and the seven SK_* keys (RFC 7296 2.14) match both logs', () => {
    for (const [, log] of logs) {
      expect(hex(single(log, 'SKEYSEED'))).toBe(hex(keys.skeyseed));
      expect(hex(single(log, 'Sk_d secret'))).toBe(hex(keys.skD));
      expect(hex(single(log, 'Sk_ei secret'))).toBe(hex(keys.skEi));
      expect(hex(single(log, 'Sk_er secret'))).toBe(hex(keys.skEr));
      expect(hex(single(log, 'Sk_pi secret'))).toBe(hex(keys.skPi));
      expect(hex(single(log, 'Sk_pr secret'))).toBe(hex(keys.skPr));
      if (aead) {
        // charon does not dump empty keys; RFC 5282 section 8: no SK_a with combined-mode ciphers
        expect(byLabel(log, 'Sk_ai secret')).toHaveLength(0);
        expect(keys.skAi.length + keys.skAr.length).toBe(0);
      } else {
        expect(hex(single(log, 'Sk_ai secret'))).toBe(hex(keys.skAi));
        expect(hex(single(log, 'Sk_ar secret'))).toBe(hex(keys.skAr));
      }
    }
  });

  test('NAT detection hashes (RFC 7296 2.23): logged chunks and the destination hashes on the wire', () => {
    let pairs = 0;
    for (const [, log] of logs) {
      const chunks = byLabel(log, 'natd_chunk');
      const hashes = byLabel(log, 'natd_hash');
      expect(chunks.length).toBe(hashes.length);
      chunks.forEach((c, i) => {
        const d = c.data; // SPIi | SPIr | IPv4 | port
        expect(d.length).toBe(22);
        const ip = [...d.subarray(16, 20)].join('.');
        expect(hex(natdHash(d.subarray(0, 8), d.subarray(8, 16), ip, d.readUInt16BE(20)))).toBe(hex(hashes[i]!.data));
        pairs++;
      });
    }
    expect(pairs).toBe(8);
    const zero = Buffer.alloc(8);
    const reqDst = notifyData(run.initRequest.payloads, Notify.NAT_DETECTION_DESTINATION_IP);
    const rspDst = notifyData(run.initResponse.payloads, Notify.NAT_DETECTION_DESTINATION_IP);
    expect(reqDst.map(hex)).toEqual([hex(natdHash(spiI, zero, RESPONDER_IP, 500))]);
    expect(rspDst.map(hex)).toEqual([hex(natdHash(spiI, spiR, INITIATOR_IP, 500))]);
  });

  test('PSK AUTH octets and values for both directions (RFC 7296 2.15)', () => {
    let seen = 0;
    for (const [, log] of logs) {
      const recs = authRecords(log);
      expect(recs).toHaveLength(2);
      for (const r of recs) {
        const byInitiator = r.idBody.equals(ipv4IdBody(INITIATOR_IP));
        if (!byInitiator) expect(hex(r.idBody)).toBe(hex(ipv4IdBody(RESPONDER_IP)));
        const skP = byInitiator ? keys.skPi : keys.skPr;
        const octets = byInitiator
          ? signedOctets(suite.ike.prf, run.initRequest.raw, nr, skP, r.idBody)
          : signedOctets(suite.ike.prf, run.initResponse.raw, ni, skP, r.idBody);
        expect(hex(r.skP)).toBe(hex(skP));
        expect(hex(r.octets)).toBe(hex(octets));
        expect(r.secret.toString()).toBe(KAT_PSK.toString());
        expect(hex(r.keyPadPrf)).toBe(hex(prf(suite.ike.prf, KAT_PSK, Buffer.from('Key Pad for IKEv2'))));
        expect(hex(r.auth)).toBe(hex(pskAuth(suite.ike.prf, KAT_PSK, octets)));
        expect(verifyPskAuth(suite.ike.prf, KAT_PSK, octets, r.auth)).toBe(true);
        const bad = Buffer.from(r.auth);
        bad[bad.length - 1]! ^= 1;
        expect(verifyPskAuth(suite.ike.prf, KAT_PSK, octets, bad)).toBe(false);
        expect(verifyPskAuth(suite.ike.prf, KAT_PSK, octets, r.auth.subarray(1))).toBe(false);
        seen++;
      }
    }
    expect(seen).toBe(4);
  });

  test('SK payloads charon sealed are reproduced byte for byte with its IV and padding', () => {
    let n = 0;
    for (const [role, log] of logs) {
      for (const r of skRecords(log).filter((x) => x.encrypting)) {
        const cipher = cipherFor(role === 'initiator');
        const body = sealWithIv(cipher, r.plain, r.assoc, r.iv, r.padding.subarray(0, -1));
        expect(hex(body)).toBe(hex(Buffer.concat([r.iv, r.encrypted, r.icv])));
        expect(cipher.bodyLength(r.plain.length)).toBe(body.length); // charon pads minimally too
        expect(hex(cipher.open(body, r.assoc))).toBe(hex(r.plain));
        n++;
      }
    }
    expect(n).toBeGreaterThanOrEqual(8);
  });

  test('SK payloads charon opened give the same plaintext with our cipher', () => {
    let n = 0;
    for (const [role, log] of logs) {
      for (const r of skRecords(log).filter((x) => !x.encrypting)) {
        // charon logs the ciphertext of a received payload with the ICV still attached
        expect(hex(r.encrypted.subarray(r.encrypted.length - r.icv.length))).toBe(hex(r.icv));
        const cipher = cipherFor(role !== 'initiator');
        expect(hex(cipher.open(Buffer.concat([r.iv, r.encrypted]), r.assoc))).toBe(hex(r.plain));
        n++;
      }
    }
    expect(n).toBeGreaterThanOrEqual(8);
  });

  test('every received IKE_AUTH/CREATE_CHILD_SA/INFORMATIONAL message opens to the logged plaintext; tampering fails', () => {
    const logged = new Set([...skRecords(run.initiator), ...skRecords(run.responder)].map((r) => hex(r.plain)));
    expect(protectedMessages.length).toBeGreaterThanOrEqual(4);
    for (const m of protectedMessages) {
      const { aad, plain, sk } = openMessage(m);
      expect(logged.has(hex(plain))).toBe(true);
      const cipher = cipherFor(fromOriginalInitiator(m));
      const body = Buffer.from(m.raw.subarray(sk.offset + 4));
      body[body.length >> 1]! ^= 0x01;
      expect(() => cipher.open(body, aad)).toThrow(expect.objectContaining({ code: 'INTEGRITY' }) as unknown as CryptoError);
      const badAad = Buffer.from(aad);
      badAad[20]! ^= 0x80; // message ID
      expect(() => cipher.open(m.raw.subarray(sk.offset + 4), badAad)).toThrow(CryptoError);
    }
    // The IKE_AUTH request carries the AUTH value computed above
    const authReq = run.toResponder.find((m) => m.exchange === ExchangeType.IKE_AUTH && !isResponse(m))!;
    const auth = payloadOf(openMessage(authReq).inner, PayloadType.AUTH);
    expect(auth[0]).toBe(AuthMethod.SHARED_KEY_MIC);
    const own = authRecords(run.initiator).find((r) => r.idBody.equals(ipv4IdBody(INITIATOR_IP)))!;
    expect(hex(auth.subarray(4))).toBe(hex(own.auth));
  });

  test('CHILD_SA KEYMAT of IKE_AUTH (RFC 7296 2.17) matches both logs', () => {
    const expected = deriveChildKeys(suite.ike.prf, keys.skD, suite.esp, ni, nr);
    for (const [, log] of logs) {
      const rec = childKeyRecords(log)[0]!;
      expect(rec.dhSecret).toBeUndefined();
      expect(hex(rec.seed)).toBe(hex(Buffer.concat([ni, nr])));
      expect(hex(rec.encrI)).toBe(hex(expected.encrI));
      expect(hex(rec.encrR)).toBe(hex(expected.encrR));
      expect(hex(rec.integI ?? Buffer.alloc(0))).toBe(hex(expected.integI));
      expect(hex(rec.integR ?? Buffer.alloc(0))).toBe(hex(expected.integR));
    }
  });

  test('CHILD_SA rekey with PFS: KE payloads, seed = g^ir | Ni | Nr and KEYMAT', () => {
    const ccsa = protectedMessages.filter((m) => m.exchange === ExchangeType.CREATE_CHILD_SA);
    const req = ccsa.find((m) => !isResponse(m))!;
    const rsp = ccsa.find((m) => isResponse(m))!;
    expect(req && rsp).toBeTruthy();
    const reqInner = openMessage(req).inner;
    const rspInner = openMessage(rsp).inner;
    const ni2 = payloadOf(reqInner, PayloadType.NONCE);
    const nr2 = payloadOf(rspInner, PayloadType.NONCE);
    for (const inner of [reqInner, rspInner]) {
      const ke = keData(inner);
      expect(ke.group).toBe(suite.pfs);
      expect(ke.data.length).toBe(dhPublicLength(suite.pfs));
      expect(() => generateDh(suite.pfs).computeSecret(ke.data)).not.toThrow();
    }
    for (const [, log] of logs) {
      const rec = childKeyRecords(log)[1]!;
      expect(rec.dhSecret).toBeDefined();
      const dh = rec.dhSecret!;
      expect(dh.length).toBe(suite.pfs >= 19 && suite.pfs <= 21 ? dhPublicLength(suite.pfs) / 2 : dhPublicLength(suite.pfs));
      expect(hex(rec.seed)).toBe(hex(Buffer.concat([dh, ni2, nr2])));
      const expected = deriveChildKeys(suite.ike.prf, keys.skD, suite.esp, ni2, nr2, dh);
      expect(hex(rec.encrI)).toBe(hex(expected.encrI));
      expect(hex(rec.encrR)).toBe(hex(expected.encrR));
      expect(hex(rec.integI ?? Buffer.alloc(0))).toBe(hex(expected.integI));
      expect(hex(rec.integR ?? Buffer.alloc(0))).toBe(hex(expected.integR));
    }
  });
});
