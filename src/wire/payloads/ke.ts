// RFC 7296 3.4 Key Exchange payload: DH Group Num (2), RESERVED (2), Key Exchange Data.

import { PayloadType } from '../constants.js';
import { decodeBody, encodeBody, rest, struct, u16, zero } from '../fields.js';
import type { Writer } from '../reader.js';
import type { KePayload } from '../types.js';

type Body = Omit<KePayload, 'type' | 'critical'>;

const body = struct<Body>('KE payload', [u16('group'), zero(2), rest('data')]);

export function decode(b: Buffer): KePayload {
  return { type: PayloadType.KE, ...decodeBody(body, b, 'KE payload') };
}

export function encode(p: KePayload): Buffer {
  return encodeBody(body, p);
}

export function write(w: Writer, p: KePayload): void {
  body.write(w, p, true);
}
