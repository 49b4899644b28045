// RFC 7296 3.9 Nonce payload: Nonce Data only, which MUST be 16..256 bytes (charon rejects other sizes at parse
// time too, so an out-of-range nonce is answered with INVALID_SYNTAX instead of reaching the key derivation).

import { PayloadType } from '../constants.js';
import { fail } from '../errors.js';
import { fieldBytes, type Writer } from '../reader.js';
import type { NoncePayload } from '../types.js';

export const NONCE_MIN = 16;
export const NONCE_MAX = 256;

export function decode(b: Buffer): NoncePayload {
  if (b.length < NONCE_MIN || b.length > NONCE_MAX) {
    fail('BAD_LENGTH', `Nonce payload: ${b.length} bytes of nonce data, expected ${NONCE_MIN}..${NONCE_MAX}`, PayloadType.NONCE);
  }
  return { type: PayloadType.NONCE, data: fieldBytes(b) };
}

export function encode(p: NoncePayload): Buffer {
  return Buffer.from(p.data);
}

export function write(w: Writer, p: NoncePayload): void {
  w.bytes(p.data);
}
