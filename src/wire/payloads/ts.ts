// RFC 7296 3.13 Traffic Selector payloads (TSi, TSr): Number of TSs (1), RESERVED (3), then selectors (3.13.1):
// TS Type (1), IP Protocol ID (1), Selector Length (2), Start Port, End Port, Starting and Ending Address.

import { PayloadType, TsType } from '../constants.js';
import { fail } from '../errors.js';
import { type Codec, countOf, decodeBody, encodeBody, fixed, list, mapped, rest, selfLength, struct, u16, u8, zero } from '../fields.js';
import type { Writer } from '../reader.js';
import type { TrafficSelector, TsPayload } from '../types.js';

export const MAX_SELECTORS = 64;

type Range = Pick<TrafficSelector, 'startPort' | 'endPort' | 'startAddr' | 'endAddr'>;

/** The part after the selector header, per address family. */
const ranges: Record<number, Codec<Range>> = {
  [TsType.TS_IPV4_ADDR_RANGE]: struct<Range>('IPv4 traffic selector', [
    u16('startPort'),
    u16('endPort'),
    fixed('startAddr', 4),
    fixed('endAddr', 4),
  ]),
  [TsType.TS_IPV6_ADDR_RANGE]: struct<Range>('IPv6 traffic selector', [
    u16('startPort'),
    u16('endPort'),
    fixed('startAddr', 16),
    fixed('endAddr', 16),
  ]),
};

interface Raw {
  tsType: number;
  ipProtocol: number;
  data: Buffer;
}

const selector: Codec<TrafficSelector> = mapped(
  struct<Raw>('traffic selector', [u8('tsType'), u8('ipProtocol'), selfLength, rest('data')]),
  (raw) => {
    const range = ranges[raw.tsType];
    if (!range) {
      // Unknown TS types are kept and ignored later, as charon does.
      const e = Buffer.alloc(0);
      return { tsType: raw.tsType, ipProtocol: raw.ipProtocol, startPort: 0, endPort: 0, startAddr: e, endAddr: e, raw: raw.data };
    }
    const r = decodeBody(range, raw.data, 'traffic selector');
    // RFC 7296 3.13.1: start <= end, except the OPAQUE ports encoding (start 65535, end 0).
    if (r.startPort > r.endPort && !(r.startPort === 0xffff && r.endPort === 0)) {
      fail('BAD_SYNTAX', `traffic selector: start port ${r.startPort} > end port ${r.endPort}`);
    }
    return { tsType: raw.tsType, ipProtocol: raw.ipProtocol, ...r };
  },
  (ts) => {
    const range = ranges[ts.tsType];
    const data = ts.raw ?? (range ? encodeBody(range, ts) : fail('BAD_SYNTAX', `traffic selector: type ${ts.tsType} without raw data`));
    return { tsType: ts.tsType, ipProtocol: ts.ipProtocol, data };
  },
);

const body = struct<{ selectors: TrafficSelector[] }>('TS payload', [
  countOf(1, 'selectors'),
  zero(3),
  list('selectors', selector, MAX_SELECTORS),
]);

export function decode(b: Buffer, type: number = PayloadType.TSi): TsPayload {
  return { type: type as TsPayload['type'], ...decodeBody(body, b, 'TS payload') };
}

export function encode(p: TsPayload): Buffer {
  return encodeBody(body, p);
}

export function write(w: Writer, p: TsPayload): void {
  body.write(w, p, true);
}
