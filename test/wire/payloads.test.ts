// Round trip of every payload type: encode -> decode -> deep equal, and decode -> encode -> same bytes, with
// the bytes placed at a non-zero offset of a larger ArrayBuffer.

import { describe, expect, it } from 'vitest';
import { PayloadType as P } from '../../src/wire/constants.js';
import { decodeMessage, decodePayloads, encodeMessage, encodePayloads } from '../../src/wire/message.js';
import { codecs } from '../../src/wire/payloads/registry.js';
import { atOffset } from './helpers.js';
import { samples } from './samples.js';

const header = {
  spiI: Buffer.alloc(8, 1),
  spiR: Buffer.alloc(8, 2),
  majorVersion: 2,
  minorVersion: 0,
  exchange: 37,
  initiator: true,
  response: false,
  version: false,
  messageId: 7,
};

describe('payload round trip', () => {
  for (const [name, p] of Object.entries(samples)) {
    it(name, () => {
      const { firstType, bytes } = encodePayloads([p]);
      expect(firstType).toBe(p.type);
      // The outer chain of a message accepts every type (SK/SKF may not appear inside SK).
      const msg = encodeMessage(header, [p]);
      expect(msg.subarray(28).equals(bytes)).toBe(true);
      const r = decodeMessage(atOffset(msg));
      if (!r.ok) throw r.error;
      expect(r.value.payloads).toEqual([p]);
      expect(encodeMessage(header, r.value.payloads).equals(msg)).toBe(true);
    });
  }

  it('covers every registered payload type', () => {
    const covered = new Set(Object.values(samples).map((p) => p.type));
    for (const t of codecs.keys()) expect(covered.has(t), `no sample for payload ${t}`).toBe(true);
  });

  it('chains several payloads and keeps the critical bit', () => {
    const chain = [samples.IDi!, { ...samples.N!, critical: true }, samples.AUTH!, samples.TSi!, samples.TSr!];
    const { firstType, bytes } = encodePayloads(chain);
    expect(bytes[5]).toBe(0x00); // IDi not critical
    const r = decodePayloads(firstType, atOffset(bytes));
    if (!r.ok) throw r.error;
    expect(r.value).toEqual(chain);
  });

  it('writes the Next Payload of SK as the first inner type', () => {
    const { bytes } = encodePayloads([samples.SK!]);
    expect(bytes[0]).toBe(P.IDi);
    expect(bytes.readUInt16BE(2)).toBe(4 + 96);
  });

  it('lays out a transform with its key length attribute as RFC 7296 3.3.5 shows', () => {
    const { bytes } = encodePayloads([
      { type: P.SA, proposals: [{ num: 1, protocol: 1, spi: Buffer.alloc(0), transforms: [{ type: 1, id: 12, keyLength: 256 }] }] },
    ]);
    // generic header | proposal: last, rsvd, len 20, num 1, IKE, spi 0, 1 transform | transform: last, rsvd, len 12, ENCR, rsvd, AES_CBC | TV 14 = 256
    expect(bytes.toString('hex')).toBe(`00000018${'00000014010100 01'.replace(/ /g, '')}0000000c0100000c800e0100`);
  });

  it('decoded fields do not alias the input buffer', () => {
    const { firstType, bytes } = encodePayloads([samples.KE!]);
    const input = atOffset(bytes);
    const r = decodePayloads(firstType, input);
    if (!r.ok) throw r.error;
    input.fill(0);
    expect(r.value).toEqual([samples.KE]);
  });
});
