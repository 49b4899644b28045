// What the receive path does with packets that are not what they should be: exact padding and next header,
// authentic packets with wrong padding, truncated, extended and random packets. Results only, never a throw,
// and the SA keeps working afterwards (the CBC contexts are long-lived, so a desync would show).
import { describe, expect, it } from 'vitest';
import { randomBytes, randomInt } from 'node:crypto';
import { gcm } from '@noble/ciphers/aes.js';
import { EspInbound, EspOutbound, EspSequenceExhausted, type EspSaParams } from '../../src/ipsec/esp-sa.js';
import { Encr, Integ } from '../../src/wire/constants.js';

const SUITES: { name: string; p: Omit<EspSaParams, 'spi' | 'esn' | 'replayWindow'>; iv: number; icv: number; align: number }[] = [
  {
    name: 'aes128-sha1',
    p: { encr: Encr.AES_CBC, encrKeyBits: 128, integ: Integ.HMAC_SHA1_96, encKey: randomBytes(16), integKey: randomBytes(20) },
    iv: 16,
    icv: 12,
    align: 16,
  },
  {
    name: '3des-sha1',
    p: { encr: Encr['3DES'], integ: Integ.HMAC_SHA1_96, encKey: randomBytes(24), integKey: randomBytes(20) },
    iv: 8,
    icv: 12,
    align: 8,
  },
  {
    name: 'aes256-sha512',
    p: { encr: Encr.AES_CBC, encrKeyBits: 256, integ: Integ.HMAC_SHA2_512_256, encKey: randomBytes(32), integKey: randomBytes(64) },
    iv: 16,
    icv: 32,
    align: 16,
  },
  {
    name: 'aes256gcm16',
    p: { encr: Encr.AES_GCM_16, encrKeyBits: 256, encKey: randomBytes(36), integKey: Buffer.alloc(0) },
    iv: 8,
    icv: 16,
    align: 4,
  },
  {
    name: 'chacha20poly1305',
    p: { encr: Encr.CHACHA20_POLY1305, encKey: randomBytes(36), integKey: Buffer.alloc(0) },
    iv: 8,
    icv: 16,
    align: 4,
  },
];

describe.each(SUITES)('$name', (s) => {
  const params: EspSaParams = { ...s.p, spi: Buffer.from('c0ffee01', 'hex'), esn: false, replayWindow: 64 };

  it('pads every inner length minimally to the alignment, and reports the next header', () => {
    const out = new EspOutbound(params);
    const inb = new EspInbound(params);
    for (let len = 0; len <= 70; len++) {
      const inner = randomBytes(len);
      const esp = out.seal(inner, len % 3 === 0 ? 41 : 4);
      const pt = Math.ceil((len + 2) / s.align) * s.align; // the least padding that aligns
      expect(esp.length).toBe(8 + s.iv + pt + s.icv);
      expect(out.overhead(len)).toBe(esp.length - len);
      const r = inb.open(esp);
      expect(r).toMatchObject({ ok: true, nextHeader: len % 3 === 0 ? 41 : 4 });
      if (r.ok) expect(r.inner.equals(inner)).toBe(true);
    }
  });

  it('truncated, extended and bit-flipped packets are refused, and the SA still works after', () => {
    const out = new EspOutbound(params);
    const inb = new EspInbound(params);
    const esp = out.seal(randomBytes(100), 4);
    for (let len = 0; len < esp.length; len++) {
      const r = inb.open(esp.subarray(0, len));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(['MALFORMED', 'INTEGRITY']).toContain(r.reason);
    }
    for (const extra of [1, 3, 4, s.align, 16]) expect(inb.open(Buffer.concat([esp, randomBytes(extra)])).ok).toBe(false);
    for (let i = 0; i < esp.length * 8; i += 7) {
      const bad = Buffer.from(esp);
      bad[i >> 3]! ^= 1 << (i & 7);
      const r = inb.open(bad);
      expect(r.ok).toBe(false);
    }
    expect(inb.open(esp)).toMatchObject({ ok: true, seq: 1n });
    const next = randomBytes(33);
    const r = inb.open(out.seal(next, 4));
    expect(r.ok && r.inner.equals(next)).toBe(true);
  });

  it('random garbage never throws', () => {
    const inb = new EspInbound(params);
    for (let i = 0; i < 3000; i++) {
      const g = randomBytes(randomInt(0, 200));
      if (i % 2) Buffer.from('c0ffee01', 'hex').copy(g); // with our SPI, so it reaches the crypto
      expect(() => inb.open(g)).not.toThrow();
      expect(inb.open(g).ok).toBe(false);
    }
    expect(inb.replay.top).toBe(0n);
  });

  it('the sender stops before the 32-bit sequence number would cycle (RFC 4303 3.3.3)', () => {
    const out = new EspOutbound(params);
    out.seq = 0xffff_fffen;
    expect(out.seal(Buffer.alloc(1), 4).readUInt32BE(4)).toBe(0xffffffff);
    expect(() => out.seal(Buffer.alloc(1), 4)).toThrow(EspSequenceExhausted);
  });

  it('with ESN the sender carries into the high bits and stops only before 2^64 cycles', () => {
    const p = { ...params, esn: true };
    const out = new EspOutbound(p);
    const inb = new EspInbound(p);
    out.seq = 0x1_ffff_fffen;
    inb.replay.update(0x1_ffff_fff0n);
    for (const want of [0x1_ffff_ffffn, 0x2_0000_0000n, 0x2_0000_0001n]) {
      const esp = out.seal(Buffer.alloc(3), 4);
      expect(esp.readUInt32BE(4)).toBe(Number(want & 0xffff_ffffn));
      expect(inb.open(esp)).toMatchObject({ ok: true, seq: want });
    }
    out.seq = 0xffff_ffff_ffff_fffen;
    expect(out.seal(Buffer.alloc(1), 4).readUInt32BE(4)).toBe(0xffffffff);
    expect(out.seq).toBe(0xffff_ffff_ffff_ffffn);
    expect(() => out.seal(Buffer.alloc(1), 4)).toThrow(EspSequenceExhausted);
  });

  it('a packet below the window at the very end of the ESN space is refused, not thrown on', () => {
    const p = { ...params, esn: true };
    const out = new EspOutbound(p);
    const inb = new EspInbound(p);
    inb.replay.update(0xffff_ffff_ffff_fff0n);
    out.seq = 0xffff_ffff_0000_0000n; // low bits 1 lie below the window: A2.2 guesses the (nonexistent) next subspace
    expect(inb.open(out.seal(Buffer.alloc(8), 4))).toEqual({ ok: false, reason: 'INTEGRITY' });
    out.seq = 0xffff_ffff_ffff_fff4n;
    expect(inb.open(out.seal(Buffer.alloc(8), 4))).toMatchObject({ ok: true, seq: 0xffff_ffff_ffff_fff5n });
  });

  it("one SA's plaintext scratch serves packets of every size; a sealed packet never changes afterwards", () => {
    const out = new EspOutbound(params);
    const inb = new EspInbound(params);
    const sizes = [1, 1400, 20, 9000, 0, 3000, 57];
    const inners = sizes.map((n) => randomBytes(n));
    const sealed = inners.map((x) => out.seal(x, 4));
    const copies = sealed.map((x) => Buffer.from(x));
    for (const x of inners) out.seal(x, 41); // reuse the scratch again
    sealed.forEach((x, i) => {
      expect(x.equals(copies[i]!)).toBe(true);
      const r = inb.open(x);
      expect(r.ok && r.inner.equals(inners[i]!)).toBe(true);
    });
  });
});

describe('authentic packets with a wrong trailer (sealed by @noble with RFC 4106 framing)', () => {
  const key = randomBytes(20);
  const spi = Buffer.from('0000beef', 'hex');
  const params: EspSaParams = {
    spi,
    encr: Encr.AES_GCM_16,
    encrKeyBits: 128,
    encKey: key,
    integKey: Buffer.alloc(0),
    esn: false,
    replayWindow: 32,
  };
  let seq = 0;
  const seal = (plaintext: Buffer): Buffer => {
    const hdr = Buffer.alloc(8);
    spi.copy(hdr);
    hdr.writeUInt32BE(++seq, 4);
    const iv = randomBytes(8);
    return Buffer.concat([hdr, iv, gcm(key.subarray(0, 16), Buffer.concat([key.subarray(16), iv]), hdr).encrypt(plaintext)]);
  };
  const inb = new EspInbound(params);

  it('default padding 1, 2, 3 is accepted', () => {
    // inner aabbcc | padding 01 02 03 | pad length 3 | next header 4
    const r = inb.open(seal(Buffer.from('aabbcc0102030304', 'hex')));
    expect(r).toMatchObject({ ok: true, nextHeader: 4 });
    if (r.ok) expect(r.inner.toString('hex')).toBe('aabbcc');
  });
  it('padding bytes other than 1, 2, 3, ... are MALFORMED', () => {
    expect(inb.open(seal(Buffer.from('aabbccdd00000204', 'hex')))).toEqual({ ok: false, reason: 'MALFORMED' });
  });
  it('a pad length longer than the plaintext is MALFORMED', () => {
    expect(inb.open(seal(Buffer.from('aabb0604', 'hex')))).toEqual({ ok: false, reason: 'MALFORMED' });
  });
  it('the inner packet and next header come out exactly', () => {
    // inner aabbccdd01 | padding 01 | pad length 1 | next header 3
    const r = inb.open(seal(Buffer.from('aabbccdd01010103', 'hex')));
    expect(r).toMatchObject({ ok: true, nextHeader: 0x03 });
    if (r.ok) expect(r.inner.toString('hex')).toBe('aabbccdd01');
  });
  it('a plaintext whose length is not a multiple of 4 is MALFORMED (RFC 4303 2.4)', () => {
    expect(inb.open(seal(Buffer.from('aabbcc0004', 'hex')))).toEqual({ ok: false, reason: 'MALFORMED' });
  });
});
