// RFC 7296 3.6 Certificate and 3.7 Certificate Request payloads share one layout:
// Cert Encoding (1), then Certificate Data / Certification Authority (SHA-1 hashes for CERTREQ).

import { PayloadType } from '../constants.js';
import { decodeBody, encodeBody, rest, struct, u8 } from '../fields.js';
import type { CertPayload } from '../types.js';

type Body = Omit<CertPayload, 'type' | 'critical'>;

const body = struct<Body>('CERT payload', [u8('encoding'), rest('data')]);

export function decode(b: Buffer, type: number = PayloadType.CERT): CertPayload {
  return { type: type as CertPayload['type'], ...decodeBody(body, b, 'CERT payload') };
}

export function encode(p: CertPayload): Buffer {
  return encodeBody(body, p);
}
