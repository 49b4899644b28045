// RFC 7383 2.5 Encrypted Fragment payload: Fragment Number (2), Total Fragments (2), then IV | ciphertext | ICV.
// Next Payload carries the first inner payload type in fragment 1 only (0 in the others).

import { PayloadType } from '../constants.js';
import { fail } from '../errors.js';
import { decodeBody, encodeBody, rest, struct, u16 } from '../fields.js';
import type { SkfPayload } from '../types.js';

type Body = Pick<SkfPayload, 'fragmentNumber' | 'totalFragments' | 'body'>;

const body = struct<Body>('SKF payload', [u16('fragmentNumber'), u16('totalFragments'), rest('body')]);

export function decode(b: Buffer, innerNext: number): SkfPayload {
  const v = decodeBody(body, b, 'SKF payload');
  // RFC 7383 2.5: numbering starts at 1 and cannot exceed the total.
  if (v.fragmentNumber < 1 || v.fragmentNumber > v.totalFragments) {
    fail('BAD_SYNTAX', `SKF payload: fragment ${v.fragmentNumber} of ${v.totalFragments}`, PayloadType.SKF);
  }
  return { type: PayloadType.SKF, innerNext, fragmentNumber: v.fragmentNumber, totalFragments: v.totalFragments, body: v.body };
}

export function encode(p: SkfPayload): Buffer {
  return encodeBody(body, p);
}
