// RFC 7296 3.11 Delete payload: Protocol ID (1), SPI Size (1), Num of SPIs (2), SPIs (Num x Size bytes).
// IKE SA deletion has SPI size 0 and no SPIs; ESP/AH use 4-byte SPIs.

import { PayloadType, ProtocolId } from '../constants.js';
import { fail } from '../errors.js';
import { decodeBody, encodeBody, rest, struct, u16, u8 } from '../fields.js';
import type { DeletePayload } from '../types.js';

interface Raw {
  protocol: number;
  spiSize: number;
  numSpis: number;
  spis: Buffer;
}

const body = struct<Raw>('Delete payload', [u8('protocol'), u8('spiSize'), u16('numSpis'), rest('spis')]);

export function decode(b: Buffer): DeletePayload {
  const t = PayloadType.DELETE;
  const raw = decodeBody(body, b, 'Delete payload');
  if (raw.spis.length !== raw.numSpis * raw.spiSize) {
    fail(
      'BAD_LENGTH',
      `Delete payload: ${raw.numSpis} SPIs of ${raw.spiSize} bytes need ${raw.numSpis * raw.spiSize} bytes, got ${raw.spis.length}`,
      t,
    );
  }
  // Same checks as charon: the SPI size must fit the protocol (RFC 7296 3.11).
  const want =
    raw.protocol === ProtocolId.IKE || raw.protocol === 0 ? 0 : raw.protocol === ProtocolId.ESP || raw.protocol === ProtocolId.AH ? 4 : -1;
  if (want < 0) fail('BAD_SYNTAX', `Delete payload: unknown protocol ${raw.protocol}`, t);
  if (raw.spiSize !== want) fail('BAD_SYNTAX', `Delete payload: SPI size ${raw.spiSize} for protocol ${raw.protocol}, expected ${want}`, t);
  const spis: Buffer[] = [];
  for (let i = 0; i < raw.numSpis; i++) spis.push(raw.spis.subarray(i * raw.spiSize, (i + 1) * raw.spiSize));
  return { type: t, protocol: raw.protocol, spiSize: raw.spiSize, spis };
}

export function encode(p: DeletePayload): Buffer {
  for (const s of p.spis) {
    if (s.length !== p.spiSize) fail('BAD_LENGTH', `Delete payload: SPI of ${s.length} bytes with SPI size ${p.spiSize}`);
  }
  return encodeBody(body, { protocol: p.protocol, spiSize: p.spiSize, numSpis: p.spis.length, spis: Buffer.concat(p.spis) });
}
