// RFC 7296 3.16 EAP payload: one whole EAP message (RFC 3748 4): Code (1), Identifier (1), Length (2), then
// Type and Type-Data for Request/Response. Like charon, the EAP Length must equal the payload body, and
// Success/Failure carry no data.

import { PayloadType } from '../constants.js';
import { fail } from '../errors.js';
import type { EapPayload } from '../types.js';

export const EapCode = { REQUEST: 1, RESPONSE: 2, SUCCESS: 3, FAILURE: 4 } as const;

export function decode(b: Buffer): EapPayload {
  const t = PayloadType.EAP;
  if (b.length < 4) fail('BAD_LENGTH', `EAP payload: ${b.length} bytes, an EAP header needs 4`, t);
  const len = b.readUInt16BE(2);
  if (len !== b.length) fail('BAD_LENGTH', `EAP payload: EAP length ${len} but ${b.length} bytes of payload`, t);
  const code = b[0]!;
  if (code < EapCode.REQUEST || code > EapCode.FAILURE) fail('BAD_SYNTAX', `EAP payload: unknown code ${code}`, t);
  if ((code === EapCode.SUCCESS || code === EapCode.FAILURE) && len !== 4) {
    fail('BAD_LENGTH', `EAP payload: Success/Failure with ${len - 4} bytes of data`, t);
  }
  return { type: t, data: Buffer.from(b) };
}

export function encode(p: EapPayload): Buffer {
  return Buffer.from(p.data);
}
