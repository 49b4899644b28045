// Anti-replay window (RFC 4303 3.4.3) and ESN high-bit inference (RFC 4303 Appendix A2), checked against a
// naive model (a Set of everything accepted plus the RFC's window rule) and hand-worked cases.
import { describe, expect, it } from 'vitest';
import { randomBytes, randomInt } from 'node:crypto';
import { ReplayWindow } from '../../src/ipsec/replay.js';
import { EspInbound, EspOutbound } from '../../src/ipsec/esp-sa.js';
import { Encr, Integ } from '../../src/wire/constants.js';

describe.each([32, 64, 512, 1024])('window of %i', (w) => {
  it('accepts new numbers, refuses duplicates, the too old, and sequence number 0', () => {
    const r = new ReplayWindow(w);
    expect(r.checkAndUpdate(0n)).toBe(false);
    expect(r.checkAndUpdate(1n)).toBe(true);
    expect(r.checkAndUpdate(1n)).toBe(false); // duplicate
    expect(r.checkAndUpdate(BigInt(w + 10))).toBe(true); // far ahead: window slides
    expect(r.top).toBe(BigInt(w + 10));
    expect(r.checkAndUpdate(11n)).toBe(true); // oldest still inside: top - seq = w - 1
    expect(r.checkAndUpdate(10n)).toBe(false); // just left of the window
    expect(r.checkAndUpdate(BigInt(w + 9))).toBe(true); // in window, out of order
    expect(r.checkAndUpdate(BigInt(w + 9))).toBe(false);
    expect(r.check(BigInt(w + 8))).toBe(true); // check alone changes nothing
    expect(r.check(BigInt(w + 8))).toBe(true);
  });

  // The window keeps 64-bit numbers as two 32-bit halves: start below 2^32, and beyond 2^53 where doubles lose bits.
  it.each([1n, 0xffff_f000n, 0x7fff_ffff_ffff_f000n])(
    'agrees with a naive model on random traffic from %s (reordering, duplicates, jumps)',
    (start) => {
      const r = new ReplayWindow(w);
      const seen = new Set<bigint>();
      let top = 0n;
      let next = start;
      for (let i = 0; i < 20000; i++) {
        const roll = randomInt(100);
        let seq: bigint;
        if (roll < 60) seq = next++;
        else if (roll < 85)
          seq = next - BigInt(randomInt(1, w + 40)); // around the left edge
        else if (roll < 95)
          seq = [...seen][randomInt(seen.size || 1)] ?? 1n; // replays
        else seq = next += BigInt(randomInt(1, 3 * w)); // loss bursts
        if (seq <= 0n) continue;
        const fresh = seq > top || (top - seq < BigInt(w) && !seen.has(seq));
        expect(r.checkAndUpdate(seq), `seq ${seq} top ${top}`).toBe(fresh);
        if (fresh) {
          seen.add(seq);
          if (seq > top) top = seq;
        }
      }
    },
  );
});

describe('ESN high bits (RFC 4303 A2.2)', () => {
  it('Case A: window inside one subspace; below it means the low bits wrapped', () => {
    const r = new ReplayWindow(32);
    r.update(0x5_0000_1000n);
    expect(r.inferSeq(0x1000)).toBe(0x5_0000_1000n); // the top itself (a duplicate, found by check)
    expect(r.inferSeq(0x0fe1)).toBe(0x5_0000_0fe1n); // window bottom
    expect(r.inferSeq(0x2000)).toBe(0x5_0000_2000n); // ahead, same subspace
    expect(r.inferSeq(0x0fe0)).toBe(0x6_0000_0fe0n); // below the window: next subspace
  });

  it('Case B: window straddles 2^32; numbers at its top end belong to the previous subspace', () => {
    const r = new ReplayWindow(64);
    r.update(0x2_ffff_fff0n);
    r.update(0x3_0000_0005n); // crossed: window spans ...ffc6 .. 3_00000005
    expect(r.inferSeq(0xfffffff0)).toBe(0x2_ffff_fff0n);
    expect(r.inferSeq(0x00000003)).toBe(0x3_0000_0003n);
    expect(r.inferSeq(0x00001000)).toBe(0x3_0000_1000n);
    expect(r.check(0x2_ffff_fff0n)).toBe(false); // seen before the wrap
    expect(r.check(0x2_ffff_fff1n)).toBe(true);
  });

  it('before any wrap there is no previous subspace', () => {
    const r = new ReplayWindow(32);
    expect(r.inferSeq(0xfffffff0)).toBe(0xfffffff0n);
  });

  it('sealed packets across the wrap open with inferred high bits, replays do not', () => {
    const p = {
      spi: randomBytes(4),
      encr: Encr.AES_CBC,
      encrKeyBits: 128,
      integ: Integ.HMAC_SHA2_256_128,
      encKey: randomBytes(16),
      integKey: randomBytes(32),
      esn: true,
      replayWindow: 32,
    };
    const out = new EspOutbound(p);
    const inb = new EspInbound(p);
    out.seq = 0xffff_fff0n;
    inb.replay.update(0xffff_fff0n);
    const sent: Buffer[] = [];
    for (let i = 0; i < 40; i++) sent.push(out.seal(Buffer.from([i]), 4));
    expect(sent[39]!.readUInt32BE(4)).toBe(0x18); // low bits wrapped on the wire
    // Deliver out of order around the wrap: the last ones first, then the earlier ones.
    for (const i of [20, 10, 39, 15, 30, 12]) expect(inb.open(sent[i]!)).toMatchObject({ ok: true, seq: 0xffff_fff0n + BigInt(i + 1) });
    expect(inb.open(sent[10]!)).toEqual({ ok: false, reason: 'REPLAY' });
    // 0xfffffff6 is left of the window (top 0x1_00000018): A2.2 guesses the high bits 1 for it, so as the
    // RFC notes, such a stale packet fails the ICV rather than the window.
    expect(inb.open(sent[5]!)).toEqual({ ok: false, reason: 'INTEGRITY' });
    expect(inb.open(sent[12]!)).toEqual({ ok: false, reason: 'REPLAY' }); // 0xfffffffd: inside, seen
    expect(inb.replay.top).toBe(0x1_0000_0018n);
  });

  it('a forged packet (bad ICV) never moves the window', () => {
    const p = {
      spi: randomBytes(4),
      encr: Encr.AES_GCM_16,
      encrKeyBits: 128,
      encKey: randomBytes(20),
      integKey: Buffer.alloc(0),
      esn: false,
      replayWindow: 32,
    };
    const out = new EspOutbound(p);
    const inb = new EspInbound(p);
    expect(inb.open(out.seal(Buffer.alloc(20), 4)).ok).toBe(true);
    out.seq = 1000n;
    const far = out.seal(Buffer.alloc(20), 4);
    far[far.length - 1]! ^= 0x80;
    expect(inb.open(far)).toEqual({ ok: false, reason: 'INTEGRITY' });
    expect(inb.replay.top).toBe(1n);
    far[far.length - 1]! ^= 0x80;
    expect(inb.open(far)).toMatchObject({ ok: true, seq: 1001n }); // the genuine one still gets in
  });

  it('window 0 disables replay protection', () => {
    const r = new ReplayWindow(0);
    expect(r.checkAndUpdate(5n)).toBe(true);
    expect(r.checkAndUpdate(5n)).toBe(true);
    expect(r.checkAndUpdate(0n)).toBe(false);
  });
});
