// RFC 7296 3.5 Identification payloads (IDi, IDr): ID Type (1), RESERVED (3), Identification Data.

import { PayloadType } from '../constants.js';
import { decodeBody, encodeBody, rest, struct, u8, zero } from '../fields.js';
import type { Writer } from '../reader.js';
import type { IdPayload } from '../types.js';

type Body = Omit<IdPayload, 'type' | 'critical'>;

const body = struct<Body>('ID payload', [u8('idType'), zero(3), rest('data')]);

export function decode(b: Buffer, type: number = PayloadType.IDi): IdPayload {
  return { type: type as IdPayload['type'], ...decodeBody(body, b, 'ID payload') };
}

export function encode(p: IdPayload): Buffer {
  return encodeBody(body, p);
}

export function write(w: Writer, p: IdPayload): void {
  body.write(w, p, true);
}
