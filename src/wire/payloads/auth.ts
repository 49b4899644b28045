// RFC 7296 3.8 Authentication payload: Auth Method (1), RESERVED (3), Authentication Data.

import { PayloadType } from '../constants.js';
import { decodeBody, encodeBody, rest, struct, u8, zero } from '../fields.js';
import type { Writer } from '../reader.js';
import type { AuthPayload } from '../types.js';

type Body = Omit<AuthPayload, 'type' | 'critical'>;

const body = struct<Body>('AUTH payload', [u8('method'), zero(3), rest('data')]);

export function decode(b: Buffer): AuthPayload {
  return { type: PayloadType.AUTH, ...decodeBody(body, b, 'AUTH payload') };
}

export function encode(p: AuthPayload): Buffer {
  return encodeBody(body, p);
}

export function write(w: Writer, p: AuthPayload): void {
  body.write(w, p, true);
}
