// RFC 7296 3.3 Security Association payload: a list of Proposal substructures (3.3.1), each holding Transform
// substructures (3.3.2) with attributes (3.3.5). Lengths, counts and "last substructure" bytes are derived from
// the field descriptions below; only the meaning checks charon also makes are added on top.

import { ATTR_KEY_LENGTH, PayloadType, ProtocolId } from '../constants.js';
import { fail } from '../errors.js';
import {
  type Codec,
  countOf,
  decodeBody,
  encodeBody,
  list,
  mapped,
  more,
  selfLength,
  sized,
  sizeOf,
  struct,
  u16,
  u8,
  zero,
} from '../fields.js';
import type { Writer } from '../reader.js';
import type { Proposal, SaPayload, Transform, TransformAttribute } from '../types.js';

/** DoS caps. Real proposals stay far below: charon's default IKE proposal has ~40 transforms. */
export const MAX_PROPOSALS = 64;
export const MAX_TRANSFORMS = 128;
export const MAX_ATTRIBUTES = 16;

/** RFC 7296 3.3.5: AF bit set = TV (2-byte value in place of the length), clear = TLV. */
const AF = 0x8000;

const attribute: Codec<TransformAttribute> = {
  read(r) {
    const t = r.u16('attribute type');
    if (t & AF) return { type: t & ~AF, value: r.u16('attribute value') };
    const len = r.u16('attribute length');
    return { type: t, value: r.bytes(len, 'attribute value') };
  },
  write(w, a) {
    if (typeof a.value === 'number') {
      w.u16((a.type & ~AF) | AF);
      w.u16(a.value);
    } else {
      w.u16(a.type & ~AF);
      w.u16(a.value.length);
      w.bytes(a.value);
    }
  },
};

interface RawTransform {
  type: number;
  id: number;
  attributes: TransformAttribute[];
}

const transform: Codec<Transform> = mapped(
  struct<RawTransform>('transform', [
    more(3),
    zero(1),
    selfLength,
    u8('type'),
    zero(1),
    u16('id'),
    list('attributes', attribute, MAX_ATTRIBUTES),
  ]),
  (raw) => {
    const t: Transform = { type: raw.type, id: raw.id };
    const others: TransformAttribute[] = [];
    for (const a of raw.attributes) {
      if (a.type === ATTR_KEY_LENGTH && typeof a.value === 'number' && t.keyLength === undefined) t.keyLength = a.value;
      else others.push(a);
    }
    if (others.length) t.otherAttributes = others;
    return t;
  },
  (t) => ({
    type: t.type,
    id: t.id,
    attributes: [...(t.keyLength !== undefined ? [{ type: ATTR_KEY_LENGTH, value: t.keyLength }] : []), ...(t.otherAttributes ?? [])],
  }),
);

const proposal = struct<Proposal>('proposal', [
  more(2),
  zero(1),
  selfLength,
  u8('num'),
  u8('protocol'),
  sizeOf(1, 'spi'),
  countOf(1, 'transforms'),
  sized('spi'),
  list('transforms', transform, MAX_TRANSFORMS),
]);

const body = struct<{ proposals: Proposal[] }>('SA payload', [list('proposals', proposal, MAX_PROPOSALS)]);

/** SPI sizes RFC 7296 3.3.1 allows per protocol (IKE: none in IKE_SA_INIT, 8 when rekeying). */
function spiSizeOk(p: Proposal): boolean {
  if (p.protocol === ProtocolId.IKE) return p.spi.length === 0 || p.spi.length === 8;
  if (p.protocol === ProtocolId.ESP || p.protocol === ProtocolId.AH) return p.spi.length === 4;
  return true;
}

export function decode(b: Buffer): SaPayload {
  const t = PayloadType.SA;
  const { proposals } = decodeBody(body, b, 'SA payload');
  // RFC 7296 3.3.1 numbers proposals from 1 upwards; like charon, reject 0 and decreasing numbers.
  let prev = 1;
  for (const p of proposals) {
    if (p.num < prev) fail('BAD_SYNTAX', `SA payload: proposal number ${p.num} after ${prev}`, t);
    prev = p.num;
    if (!spiSizeOk(p)) fail('BAD_SYNTAX', `SA payload: proposal ${p.num} has a ${p.spi.length}-byte SPI for protocol ${p.protocol}`, t);
  }
  return { type: t, proposals };
}

export function encode(p: SaPayload): Buffer {
  return encodeBody(body, p);
}

export function write(w: Writer, p: SaPayload): void {
  body.write(w, p, true);
}
