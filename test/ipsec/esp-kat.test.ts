// Known answers for the ESP engine from other implementations: the AES-GCM ESP packets of
// draft-mcgrew-gcm-test-01 (the companion test cases of RFC 4106), the ESP example of RFC 7634 appendix A,
// and real ESP-in-UDP pings captured between two strongSwan 5.9.8 peers for every supported suite.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { EspInbound, EspOutbound, type EspSaParams } from '../../src/ipsec/esp-sa.js';
import { parseEcho, parseIp4 } from '../../src/ipsec/packets.js';
import { Encr } from '../../src/wire/constants.js';
import { KAT_DIR, KAT_SUITES, katChildSas, readEspPackets } from './strongswan-kat.js';

const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// draft-mcgrew-gcm-test-01 section 4, AES-GCM cases: key | salt, SPI, sequence number (8 bytes = ESN),
// plaintext (inner | padding | pad length | next header), and the complete ESP packet.
const GCM_CASES: { name: string; key: string; salt: string; spi: string; seq: string; plaintext: string; packet: string }[] = [
  {
    name: 'case 2 (AES-128, 32-bit seq)',
    key: 'feffe9928665731c6d6a8f9467308308',
    salt: 'cafebabe',
    spi: '0000a5f8',
    seq: '0000000a',
    plaintext: `4500003e698f000080114dccc0a80102 c0a801010a980035002a2343b2d00100 00010000000000000373697009637962 65726369747902646b00000100010001`,
    packet: `0000a5f80000000afacedbaddecaf888 deb22cd9b07c72c16e3a65beeb8df304 a5a5897d33ae530f1ba76d5d114d2a5c
             3de81827c10e9a4f51330d0eec416642 cfbb85a5b47e48a4ec3b9ba95d918bd1 83b70d3aa8bc6ee4c309e9d85a41ad4a`,
  },
  {
    name: 'case 1 (AES-128, extended sequence number)',
    key: '4c80cdefbb5d10da906ac73c3613a634',
    salt: '2e443b68',
    spi: '00004321',
    seq: '8765432100000000',
    plaintext: `45000048699a000080114db7c0a80102 c0a801010a9bf15638d3010000010000 00000000045f736970045f7564700373
                69700963796265726369747902646b00 0021000101020201`,
    packet: `00004321000000004956ed7e3b244cfe fecf537e729d5b07dc30df528dd22b76 8d1b98736696a6fd348509fa13ceac34
             cfa2436f14a3f3cf65925bf1f4a13c5d 15b21e1884f5ff6247aeabb786b93bce 61bc17d768fd9732459018148f6cbe72 2fd04796562dfdb4`,
  },
  {
    name: 'case 3 (AES-256)',
    key: 'abbccddef00112233445566778899aababbccddef00112233445566778899aab',
    salt: '11223344',
    spi: '4a2cbfe3',
    seq: '00000002',
    plaintext: `4500003069a6400080062690c0a80102 9389155e0a9e008b2dc57ee000000000 7002400020bf0000020405b401010402 01020201`,
    packet: `4a2cbfe3000000020102030405060708 ff425c9b724599df7a3bcd510194e00d 6a78107f1b0b1cbf06efae9d65a5d763
             748a637985771d347f0545659f14e99d ef842d8eb335f4eecfdbf831824b4c49 15956c96`,
  },
  {
    name: 'case 4 (all-zero key, ICMP)',
    key: '00000000000000000000000000000000',
    salt: '00000000',
    spi: '00000000',
    seq: '00000001',
    plaintext: `4500003c99c500008001cb7a40679318 010101010800075c0200440061626364 65666768696a6b6c6d6e6f7071727374 75767761626364656667686901020201`,
    packet: `00000000000000010000000000000000 4688daf2f973a392732909c331d56d60 f694abaa414b5e7ff5fdcdfff5e9a284
             456476492719ffb64de7d9dca1e1d894 bc3bd57873ed4d181d19d4d5c8c18af3 f821d496eeb096e98ad2b69e4799c71d`,
  },
  {
    name: 'case 5 (ESN, high bits in AAD only)',
    key: '3de09874b388e6491988d0c3607eae1f',
    salt: '57690e43',
    spi: '42f67e3f',
    seq: '1010101010101010',
    plaintext: `4500003c99c300008001cb7c40679318 010101010800085c0200430061626364 65666768696a6b6c6d6e6f7071727374 75767761626364656667686901020201`,
    packet: `42f67e3f101010104e280000a2fca1a3 fba2caa4853cf9f0f22cb10d86dd83b0 fec75691cf1a04b00d1138ec9c357917
             65acbd8701ad79845bf9fe3fba487bc9 1755e6662b4c8d0d1f5e22739530320a e0d731cc978ecafaeae88f00e80d6e48`,
  },
  {
    name: 'case 7 (AES-256, ESN 156f3126dd0db99b)',
    key: 'abbccddef00112233445566778899aababbccddef00112233445566778899aab',
    salt: '73616c74',
    spi: '17405e67',
    seq: '156f3126dd0db99b',
    plaintext: `45080028732c00004006e9f90a010612 0a01038f06b88023dd6bafbecb712602 50101f646d540001`,
    packet: `17405e67dd0db99b616e640169766563 f2d69ecdbd5a0d5b8d5ef38bad4da58d 1f278fde98ef67549d524a3018d9a57f
             f4d3a31ce673119e451626c2415771e3 b7eebca614c89b35`,
  },
  {
    name: 'case 11 (seq ffffffff, empty inner packet)',
    key: '7d773d00c144c525ac619d18c84a3f47',
    salt: 'd9664267',
    spi: '335467ae',
    seq: 'ffffffff',
    plaintext: '01020201',
    packet: `335467aeffffffff43457e9182443bc6 437f866bcb3f699fe9b0822bac961c45 04bef270`,
  },
  {
    name: 'case 13 (AES-256, ESN ffffffffffffffff: the last number)',
    key: '6c6567616c697a656d6172696a75616e61616e64646f69746265666f72656961',
    salt: '7475726e',
    spi: '796b6963',
    seq: 'ffffffffffffffff',
    plaintext: `45000030da3a00008001df3bc0a80005 c0a800010800c6cd0200070061626364 65666768696a6b6c6d6e6f7071727374 01020201`,
    packet: `796b6963ffffffff333021696765746d f97ab2aa356d8edce17644ac8c78e25d d24dedbb29ebf1b64a274b39b49c3a86
             4cd3d78ca4ae68a32b42458fb57dbe82 1dcc63b9d0937ba2945f669368661a32 9fb4c053`,
  },
];

/** Split the vector's plaintext the way the sender built it: inner packet, padding, pad length, next header. */
function splitPlaintext(pt: Buffer): { inner: Buffer; nextHeader: number } {
  const padLen = pt[pt.length - 2]!;
  return { inner: pt.subarray(0, pt.length - 2 - padLen), nextHeader: pt[pt.length - 1]! };
}

describe('AES-GCM ESP packets of draft-mcgrew-gcm-test-01', () => {
  for (const c of GCM_CASES) {
    const key = h(c.key);
    const seq = BigInt(`0x${c.seq}`);
    const esn = c.seq.length === 16;
    const packet = h(c.packet);
    const params: EspSaParams = {
      spi: h(c.spi),
      encr: Encr.AES_GCM_16,
      encrKeyBits: key.length * 8,
      encKey: Buffer.concat([key, h(c.salt)]),
      integKey: Buffer.alloc(0),
      esn,
      replayWindow: 64,
    };

    it(`${c.name}: seal gives the exact packet`, () => {
      const out = new EspOutbound({ ...params, iv: () => packet.subarray(8, 16) });
      out.seq = seq - 1n;
      const { inner, nextHeader } = splitPlaintext(h(c.plaintext));
      expect(out.seal(inner, nextHeader).toString('hex')).toBe(packet.toString('hex'));
      expect(out.seq).toBe(seq);
    });

    it(`${c.name}: open recovers the plaintext and the full sequence number`, () => {
      const inb = new EspInbound(params);
      // Put the window just below the packet, so the ESN high bits are inferred from it (RFC 4303 A2.2).
      if (seq > 1n) inb.replay.update(seq - 1n);
      const r = inb.open(packet);
      expect(r).toMatchObject({ ok: true, seq });
      if (!r.ok) return;
      const { inner, nextHeader } = splitPlaintext(h(c.plaintext));
      expect(r.inner.toString('hex')).toBe(inner.toString('hex'));
      expect(r.nextHeader).toBe(nextHeader);
    });
  }

  it('a wrong ESN guess fails the ICV: the high bits are authenticated', () => {
    const c = GCM_CASES[1]!;
    const inb = new EspInbound({
      spi: h(c.spi),
      encr: Encr.AES_GCM_16,
      encrKeyBits: 128,
      encKey: Buffer.concat([h(c.key), h(c.salt)]),
      integKey: Buffer.alloc(0),
      esn: true,
      replayWindow: 64,
    });
    expect(inb.open(h(c.packet))).toEqual({ ok: false, reason: 'INTEGRITY' }); // window at 0: high bits guessed 0
  });
});

describe('ChaCha20-Poly1305 ESP example of RFC 7634 appendix A', () => {
  const params: EspSaParams = {
    spi: h('01020304'),
    encr: Encr.CHACHA20_POLY1305,
    encKey: h('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f a0a1a2a3'),
    integKey: Buffer.alloc(0),
    esn: false,
    replayWindow: 32,
  };
  const inner = h(`4500 0054 a6f2 0000 4001 e778 c633 6405 c000 0205 0800 5b7a 3a08 0000 553b ec10 0007 3627 0809 0a0b 0c0d 0e0f 1011
    1213 1415 1617 1819 1a1b 1c1d 1e1f 2021 2223 2425 2627 2829 2a2b 2c2d 2e2f 3031 3233 3435 3637`);
  const packet = h(`01020304 00000005 1011121314151617
    2403 9428 b97f 417e 3c13 753a 4f05 087b 67c3 52e6 a7fa b1b9 82d4 66ef 407a e5c6 14ee 8099 d528 44eb 61aa 95df ab4c 02f7
    2aa7 1e7c 4c4f 64c9 befe 2fac c638 e8f3 cbec 163f ac46 9b50 2773 f6fb 94e6 64da 9165 b828 29f6 41e0
    76aa a826 6b7f b0f7 b11b 3699 07e1 ad43`);

  it('seal gives the exact packet (tunnel mode, next header 4, padding 1 2)', () => {
    const out = new EspOutbound({ ...params, iv: () => h('1011121314151617') });
    out.seq = 4n;
    expect(out.seal(inner, 4).toString('hex')).toBe(packet.toString('hex'));
  });

  it('open recovers the ICMP echo request', () => {
    const r = new EspInbound(params).open(packet);
    expect(r).toMatchObject({ ok: true, seq: 5n, nextHeader: 4 });
    if (!r.ok) return;
    expect(r.inner.equals(inner)).toBe(true);
    const echo = parseEcho(parseIp4(r.inner)!);
    expect(echo).toMatchObject({ request: true, id: 0x3a08, seq: 0 });
  });
});

describe('strongSwan 5.9.8 ESP-in-UDP captures', () => {
  for (const s of KAT_SUITES) {
    it(`${s.dir}: all 8 pings and replies of both CHILD_SAs decrypt, and re-seal to the same bytes`, () => {
      const sas = katChildSas(s.dir);
      const packets = readEspPackets(join(KAT_DIR, s.dir, 'capture.pcap'));
      expect(packets).toHaveLength(8);
      const inbound = new Map(
        sas.map((sa) => [
          sa.spi.toString('hex'),
          new EspInbound({ ...s, spi: sa.spi, encKey: sa.encKey, integKey: sa.integKey, esn: false, replayWindow: 32 }),
        ]),
      );
      for (const p of packets) {
        const sa = sas.find((x) => x.spi.equals(p.esp.subarray(0, 4)))!;
        expect(sa.src).toBe(p.src);
        const r = inbound.get(sa.spi.toString('hex'))!.open(p.esp);
        expect(r.ok).toBe(true);
        if (!r.ok) continue;
        expect(r.nextHeader).toBe(4); // tunnel mode, IPv4 inside
        const ip = parseIp4(r.inner)!;
        const echo = parseEcho(ip)!;
        const fromInitiator = p.src === '10.95.0.2';
        expect(ip.src.join('.')).toBe(fromInitiator ? '10.12.0.1' : '10.11.0.1');
        expect(ip.dst.join('.')).toBe(fromInitiator ? '10.11.0.1' : '10.12.0.1');
        expect(echo.request).toBe(fromInitiator);
        // Our sender with strongSwan's IV and sequence number must produce strongSwan's packet bit for bit:
        // same layout, padding (1, 2, 3, ...), pad length and ICV.
        const ivLen = s.encr === Encr.AES_CBC ? 16 : 8;
        const out = new EspOutbound({
          ...s,
          spi: sa.spi,
          encKey: sa.encKey,
          integKey: sa.integKey,
          esn: false,
          replayWindow: 32,
          iv: () => p.esp.subarray(8, 8 + ivLen),
        });
        out.seq = r.seq - 1n;
        expect(out.seal(r.inner, 4).toString('hex')).toBe(p.esp.toString('hex'));
      }
      // Replaying the capture is refused by every window now.
      for (const p of packets)
        expect(inbound.get(p.esp.subarray(0, 4).toString('hex'))!.open(p.esp)).toEqual({ ok: false, reason: 'REPLAY' });
    });
  }
});
