// Malformed input: the public decoders must answer { ok: false } with the right code and never throw.

import { describe, expect, it } from 'vitest';
import { Notify, PayloadType as P } from '../../src/wire/constants.js';
import { errorNotify, type WireErrorCode } from '../../src/wire/errors.js';
import { decodeHeader } from '../../src/wire/header.js';
import { decodeMessage, decodePayloads, encodeMessage, MAX_PAYLOADS } from '../../src/wire/message.js';
import type { Payload } from '../../src/wire/types.js';
import { atOffset, noThrow, prng, scenarios } from './helpers.js';
import { readIkeMessages } from './pcap.js';
import { samples } from './samples.js';

const header = {
  spiI: Buffer.alloc(8, 1),
  spiR: Buffer.alloc(8, 0),
  majorVersion: 2,
  minorVersion: 0,
  exchange: 34,
  initiator: true,
  response: false,
  version: false,
  messageId: 0,
};

const real = scenarios()
  .flatMap((s) => readIkeMessages(s.capture))
  .map((m) => m.data);
const initRequest = real.find((m) => m[18] === 34 && (m[19]! & 0x20) === 0)!;
const authRequest = real.find((m) => m[18] === 35)!;

function expectFail(r: { ok: boolean; error?: { code: string } }, code: WireErrorCode, what = ''): void {
  expect(r.ok, what).toBe(false);
  if (!r.ok) expect(r.error!.code, what).toBe(code);
}

/** A generic payload header + body (RFC 7296 3.2). */
function gp(next: number, body: Buffer, flags = 0, length = body.length + 4): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt8(next, 0);
  h.writeUInt8(flags, 1);
  h.writeUInt16BE(length & 0xffff, 2);
  return Buffer.concat([h, body]);
}

const chain = (first: number, ...parts: Buffer[]) => noThrow(() => decodePayloads(first, atOffset(Buffer.concat(parts))), 'decodePayloads');
const hex = (s: string) => Buffer.from(s.replace(/ /g, ''), 'hex');

describe('truncation', () => {
  it('fails at every shorter length of real messages', () => {
    for (const msg of [initRequest, authRequest]) {
      for (let len = 0; len < msg.length; len++) {
        const cut = Buffer.from(msg.subarray(0, len));
        expectFail(
          noThrow(() => decodeMessage(atOffset(cut)), 'decodeMessage'),
          'TRUNCATED',
          `len ${len}`,
        );
        if (len < 28) continue;
        // Same, with the header length patched to agree: now the payload chain itself is cut short.
        cut.writeUInt32BE(len, 24);
        expectFail(
          noThrow(() => decodeMessage(atOffset(cut)), 'decodeMessage'),
          'BAD_LENGTH',
          `patched len ${len}`,
        );
      }
    }
  });

  it('rejects a datagram longer than the header says', () => {
    expectFail(decodeMessage(Buffer.concat([initRequest, Buffer.alloc(1)])), 'BAD_LENGTH');
    expectFail(decodeHeader(Buffer.concat([initRequest, Buffer.alloc(3)])), 'BAD_LENGTH');
  });
});

describe('header', () => {
  it('reports other major versions with the header attached', () => {
    for (const v of [0x10, 0x30, 0xf2]) {
      const b = Buffer.from(initRequest);
      b[17] = v;
      const r = decodeMessage(b);
      expectFail(r, 'BAD_VERSION');
      if (!r.ok) {
        expect(r.error.header?.spiI.equals(initRequest.subarray(0, 8))).toBe(true);
        expect(errorNotify(r.error)?.notifyType).toBe(Notify.INVALID_MAJOR_VERSION);
      }
      expectFail(decodeHeader(b), 'BAD_VERSION');
    }
  });

  it('accepts another minor version and ignores unknown flag bits', () => {
    const b = Buffer.from(initRequest);
    b[17] = 0x25;
    b[19] = b[19]! | 0x07;
    const r = decodeHeader(b);
    expect(r.ok && r.value.minorVersion === 5 && r.value.initiator && !r.value.response).toBe(true);
  });

  it('rejects a header length below 28', () => {
    const b = Buffer.from(initRequest.subarray(0, 28));
    b.writeUInt32BE(20, 24);
    expectFail(decodeHeader(b), 'BAD_LENGTH');
  });
});

describe('payload chain', () => {
  it('rejects every flipped payload length of a real IKE_SA_INIT', () => {
    const offsets: number[] = [];
    for (let off = 28, type = initRequest[16]!; type !== 0; ) {
      offsets.push(off);
      type = initRequest[off]!;
      off += initRequest.readUInt16BE(off + 2);
    }
    expect(offsets.length).toBe(8);
    for (const off of offsets) {
      for (const delta of [-1, 1, -4, 4]) {
        const b = Buffer.from(initRequest);
        b.writeUInt16BE((b.readUInt16BE(off + 2) + delta) & 0xffff, off + 2);
        const r = noThrow(() => decodeMessage(atOffset(b)), 'decodeMessage');
        expect(r.ok, `payload at ${off}, delta ${delta}`).toBe(false);
      }
      for (const len of [0, 3]) {
        const b = Buffer.from(initRequest);
        b.writeUInt16BE(len, off + 2);
        expectFail(decodeMessage(b), 'BAD_LENGTH');
      }
    }
  });

  it('rejects unknown critical payloads and keeps non-critical ones', () => {
    const msg = (flags: number) => {
      const body = Buffer.concat([gp(P.NONCE, Buffer.alloc(5), flags), gp(0, Buffer.alloc(16, 7))]);
      const h = Buffer.from(encodeMessage(header, []));
      h[16] = 99;
      h.writeUInt32BE(28 + body.length, 24);
      return Buffer.concat([h, body]);
    };
    const bad = noThrow(() => decodeMessage(atOffset(msg(0x80))), 'decodeMessage');
    expectFail(bad, 'UNSUPPORTED_CRITICAL');
    if (!bad.ok) {
      expect(bad.error.payloadType).toBe(99);
      expect(bad.error.header?.exchange).toBe(34);
      expect(errorNotify(bad.error)).toEqual({ notifyType: Notify.UNSUPPORTED_CRITICAL_PAYLOAD, data: Buffer.from([99]) });
    }
    const good = decodeMessage(atOffset(msg(0x01)));
    if (!good.ok) throw good.error;
    expect(good.value.payloads[0]).toEqual({ type: 99, unknown: true, body: Buffer.alloc(5) });
    // Known payloads ignore the critical bit (RFC 7296 2.5) but keep it.
    expect(chain(P.NONCE, gp(0, Buffer.alloc(16), 0x80))).toMatchObject({ ok: true, value: [{ critical: true }] });
  });

  it('caps the number of payloads', () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => gp(i === n - 1 ? 0 : P.VENDOR, Buffer.alloc(0)));
    expect(chain(P.VENDOR, ...many(MAX_PAYLOADS)).ok).toBe(true);
    expectFail(chain(P.VENDOR, ...many(MAX_PAYLOADS + 1)), 'TOO_MANY');
  });

  it('rejects chains that do not end at the buffer end, and SK inside SK', () => {
    expectFail(chain(P.NONCE, gp(0, Buffer.alloc(16)), Buffer.alloc(2)), 'BAD_LENGTH');
    expectFail(chain(P.NONCE, gp(P.VENDOR, Buffer.alloc(16))), 'BAD_LENGTH');
    expectFail(chain(P.SK, gp(P.IDi, Buffer.alloc(20))), 'BAD_SYNTAX');
  });

  it('rejects bytes after the SK payload', () => {
    const m = encodeMessage({ ...header, exchange: 35 }, [samples.SK!]);
    const b = Buffer.concat([m, Buffer.alloc(4)]);
    b.writeUInt32BE(b.length, 24);
    expectFail(decodeMessage(b), 'BAD_LENGTH');
  });
});

describe('payload bodies', () => {
  const cases: [string, number, Buffer, WireErrorCode][] = [
    ['KE shorter than 4', P.KE, hex('0013 00'), 'BAD_LENGTH'],
    ['ID shorter than 4', P.IDi, hex('01 0000'), 'BAD_LENGTH'],
    ['AUTH shorter than 4', P.AUTH, hex('02'), 'BAD_LENGTH'],
    ['notify SPI past the end', P.NOTIFY, hex('03 04 4009 dead'), 'BAD_LENGTH'],
    ['notify without type', P.NOTIFY, hex('00 00 40'), 'BAD_LENGTH'],
    ['nonce too short', P.NONCE, Buffer.alloc(15), 'BAD_LENGTH'],
    ['nonce too long', P.NONCE, Buffer.alloc(257), 'BAD_LENGTH'],
    ['delete count x size mismatch', P.DELETE, hex('03 04 0002 01020304'), 'BAD_LENGTH'],
    ['delete IKE with an SPI size', P.DELETE, hex('01 04 0001 01020304'), 'BAD_SYNTAX'],
    ['TS count mismatch', P.TSi, hex('02000000 07000010 0000ffff 0a0c0000 0a0c00ff'), 'BAD_LENGTH'],
    ['TS selector length too long', P.TSi, hex('01000000 07000014 0000ffff 0a0c0000 0a0c00ff'), 'BAD_LENGTH'],
    ['TS IPv4 selector with IPv6 length', P.TSi, hex('01000000 07000018 0000ffff 0a0c0000 0a0c00ff 0000000000000000'), 'BAD_LENGTH'],
    ['TS ports reversed', P.TSr, hex('01000000 07000010 00500010 0a0c0000 0a0c00ff'), 'BAD_SYNTAX'],
    ['SA proposal length mismatch', P.SA, hex('00000010 01010001 0000000c 0100000c'), 'BAD_LENGTH'],
    ['SA transform count mismatch', P.SA, hex('00000014 01010002 0000000c 0100000c 800e0100'), 'BAD_LENGTH'],
    ['SA transform length mismatch', P.SA, hex('00000014 01010001 0000000d 0100000c 800e0100'), 'BAD_LENGTH'],
    ['SA transform attribute cut', P.SA, hex('00000012 01010001 0000000a 0100000c 800e'), 'BAD_LENGTH'],
    ['SA proposal number 0', P.SA, hex('00000010 00010001 00000008 0100000c'), 'BAD_SYNTAX'],
    ['SA ESP proposal with 8-byte SPI', P.SA, hex('00000018 01030801 1111111111111111 00000008 0100000c'), 'BAD_SYNTAX'],
    ['SA bad last-substructure byte', P.SA, hex('05000010 01010001 00000008 0100000c'), 'BAD_SYNTAX'],
    ['CP attribute past the end', P.CP, hex('01000000 00010004 0a00'), 'BAD_LENGTH'],
    ['EAP length mismatch', P.EAP, hex('0201000b 01616c696365'), 'BAD_LENGTH'],
    ['EAP success with data', P.EAP, hex('03010005 00'), 'BAD_LENGTH'],
    ['SKF fragment 3 of 2', P.SKF, hex('0003 0002 00112233'), 'BAD_SYNTAX'],
  ];
  for (const [name, type, body, code] of cases) {
    it(name, () => {
      const r = chain(type, gp(0, body));
      expectFail(r, code);
      if (!r.ok) expect(r.error.payloadType).toBe(type);
    });
  }

  it('caps SA proposals', () => {
    const proposals = Array.from({ length: 65 }, (_, i) => ({
      num: i + 1,
      protocol: 1,
      spi: Buffer.alloc(0),
      transforms: [{ type: 1, id: 12, keyLength: 128 }],
    }));
    const b = encodeMessage(header, [{ type: P.SA, proposals }]);
    expectFail(decodeMessage(b), 'TOO_MANY');
    const ok = encodeMessage(header, [{ type: P.SA, proposals: proposals.slice(0, 64) }]);
    expect(decodeMessage(ok).ok).toBe(true);
  });
});

describe('fuzz', () => {
  it('never throws on random bytes', () => {
    const rnd = prng(1);
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.alloc(Math.floor(rnd() * 600));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(rnd() * 256);
      if (i % 2 && b.length >= 28) {
        // Give half of them a plausible header so the chain and payload decoders get exercised.
        b[16] = [33, 34, 41, 44, 46, 47, 48, 53][i % 8]!;
        b[17] = 0x20;
        b.writeUInt32BE(b.length, 24);
      }
      noThrow(() => decodeMessage(atOffset(b)), 'decodeMessage');
      noThrow(() => decodePayloads(b[0] ?? 0, atOffset(b)), 'decodePayloads');
    }
  });

  it('never throws on mutated real messages, and what decodes re-encodes', () => {
    const rnd = prng(2);
    let decoded = 0;
    for (let i = 0; i < 3000; i++) {
      const src = real[i % real.length]!;
      const b = Buffer.from(src);
      const flips = 1 + Math.floor(rnd() * 3);
      for (let f = 0; f < flips; f++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      const r = noThrow(() => decodeMessage(atOffset(b)), 'decodeMessage');
      if (!r.ok) continue;
      decoded++;
      const { length: _l, nextPayload: _n, ...h } = r.value.header;
      const again = noThrow(() => decodeMessage(encodeMessage(h, r.value.payloads as Payload[])), 're-decode');
      expect(again.ok).toBe(true);
    }
    expect(decoded).toBeGreaterThan(100);
  });
});
