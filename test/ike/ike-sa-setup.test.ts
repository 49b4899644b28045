// What an IKE_SA's setup records (src/ike/ike-sa-setup.ts, IkeSa's base): SK ciphers per direction from the I flag,
// the key export with both SPIs, kept copies, the IKE_SA_INIT messages dropped after IKE_AUTH, partial updates, and
// what a rekey's new IKE_SA inherits. A bare subclass stands in for IkeSa: no daemon, no exchange.
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import type { IkeKeys, IkeSuite } from '../../src/crypto/keys.js';
import { createSkCipher } from '../../src/crypto/sk.js';
import { IkeSaSetup } from '../../src/ike/ike-sa-setup.js';
import type { KeyExport } from '../../src/ike/key-export.js';
import type { IkeServices } from '../../src/ike/services.js';
import { DhGroup, Encr, Prf, ProtocolId } from '../../src/wire/constants.js';
import type { Proposal } from '../../src/wire/types.js';

const SPI_I = Buffer.from('1111111111111111', 'hex');
const SPI_R = Buffer.from('2222222222222222', 'hex');
/** AES-GCM-16-128: SK_e is 16 bytes of key and 4 of salt, no SK_a (RFC 5282). */
const SUITE: IkeSuite = { encr: Encr.AES_GCM_16, encrKeyBits: 128, prf: Prf.HMAC_SHA2_256, dh: DhGroup.MODP_2048 };
const keys = (): IkeKeys => ({
  skeyseed: randomBytes(32),
  skD: randomBytes(32),
  skAi: Buffer.alloc(0),
  skAr: Buffer.alloc(0),
  skEi: randomBytes(20),
  skEr: randomBytes(20),
  skPi: randomBytes(32),
  skPr: randomBytes(32),
});
const proposal = (spi: Buffer): Proposal => ({ num: 1, protocol: ProtocolId.IKE, spi, transforms: [] });

class Setup extends IkeSaSetup {
  readonly exported: KeyExport[] = [];
  readonly svc = { keysDerived: (k: KeyExport) => this.exported.push(k) } as unknown as IkeServices;
  readonly spiI = SPI_I;
  readonly spiR = SPI_R;
  constructor(readonly initiator: boolean) {
    super();
  }
  takeOver(old: Setup): void {
    this.inheritSetup(old);
  }
}

describe('setKeys', () => {
  test('the original initiator seals with SK_ei, the responder with SK_er; each opens what the other sealed', () => {
    const k = keys();
    const i = new Setup(true);
    const r = new Setup(false);
    i.setKeys(SUITE, proposal(Buffer.alloc(0)), k);
    r.setKeys(SUITE, proposal(Buffer.alloc(0)), k);
    const aad = Buffer.from('header');
    const plain = Buffer.from('IKE_AUTH payloads');
    expect(createSkCipher(SUITE, k.skEi, k.skAi).open(i.skOut!.seal(plain, aad), aad)).toEqual(plain);
    expect(createSkCipher(SUITE, k.skEr, k.skAr).open(r.skOut!.seal(plain, aad), aad)).toEqual(plain);
    expect(r.skIn!.open(i.skOut!.seal(plain, aad), aad)).toEqual(plain);
    expect(i.skIn!.open(r.skOut!.seal(plain, aad), aad)).toEqual(plain);
    expect(() => i.skIn!.open(i.skOut!.seal(plain, aad), aad)).toThrow();
  });

  test('exports both SPIs and the four SK_e/SK_a keys, nothing else', () => {
    const k = keys();
    const s = new Setup(false);
    s.setKeys(SUITE, proposal(Buffer.alloc(0)), k);
    expect(s.exported).toEqual([
      {
        kind: 'ike',
        spiI: SPI_I,
        spiR: SPI_R,
        encr: Encr.AES_GCM_16,
        encrKeyBits: 128,
        skEi: k.skEi,
        skEr: k.skEr,
        skAi: k.skAi,
        skAr: k.skAr,
      },
    ]);
    expect(s.keys).toBe(k);
    expect(s.suite).toBe(SUITE);
  });

  test("a rekey proposal's SPI is copied, not kept as a view of the message", () => {
    const message = Buffer.from('33333333333333334444', 'hex');
    const s = new Setup(true);
    s.setKeys(SUITE, proposal(message.subarray(0, 8)), keys());
    message.fill(0);
    expect(s.proposal!.spi.toString('hex')).toBe('3333333333333333');
    const empty = proposal(Buffer.alloc(0));
    s.setKeys(SUITE, empty, keys());
    expect(s.proposal).toBe(empty);
  });
});

test('setupDone drops the IKE_SA_INIT messages and keeps the nonces', () => {
  const s = new Setup(true);
  s.useNonces({ ni: Buffer.from('aa', 'hex'), nr: Buffer.from('bb', 'hex') });
  s.keepInitMessage('request', Buffer.alloc(300, 1));
  s.keepInitMessage('response', Buffer.alloc(280, 2));
  expect([s.initRequest.length, s.initResponse.length]).toEqual([300, 280]);
  s.setupDone();
  s.setupDone();
  expect([s.initRequest.length, s.initResponse.length]).toEqual([0, 0]);
  expect([s.ni.toString('hex'), s.nr.toString('hex')]).toEqual(['aa', 'bb']);
});

test('identify and peerAnnounced leave alone what they are not given', () => {
  const s = new Setup(false);
  s.identify({ local: 'moon', remote: 'sun' });
  s.identify({ remote: 'carol' });
  s.peerAnnounced({ mobike: true, window: 4 });
  s.peerAnnounced({ fragmentation: true });
  expect([s.localId, s.remoteId]).toEqual(['moon', 'carol']);
  expect([s.peerMobike, s.peerWindow, s.peerFragmentation, s.initialContact]).toEqual([true, 4, true, false]);
});

test("a rekey's new IKE_SA takes identities, NAT and peer features, not the window, INITIAL_CONTACT or keys", () => {
  const old = new Setup(true);
  old.identify({ local: 'moon', remote: 'sun' });
  old.natDetected(true, false);
  old.peerAnnounced({ mobike: true, fragmentation: true, window: 4, initialContact: true });
  old.setKeys(SUITE, proposal(Buffer.alloc(0)), keys());
  const next = new Setup(false);
  next.takeOver(old);
  expect([next.localId, next.remoteId, next.natLocal, next.natRemote, next.natAny]).toEqual(['moon', 'sun', true, false, true]);
  expect([next.peerMobike, next.peerFragmentation]).toEqual([true, true]);
  expect([next.peerWindow, next.initialContact, next.keys]).toEqual([1, false, undefined]);
});
