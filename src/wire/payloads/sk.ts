// RFC 7296 3.14 Encrypted and Authenticated payload. The codec keeps it opaque: body is IV | ciphertext | ICV and
// innerNext (the generic header's Next Payload) names the first payload inside; src/crypto opens it and hands
// the plaintext to decodePayloads(innerNext, ...).

import { PayloadType } from '../constants.js';
import { fieldBytes, type Writer } from '../reader.js';
import type { SkPayload } from '../types.js';

export function decode(b: Buffer, innerNext: number): SkPayload {
  return { type: PayloadType.SK, innerNext, body: fieldBytes(b) };
}

export function encode(p: SkPayload): Buffer {
  return Buffer.from(p.body);
}

export function write(w: Writer, p: SkPayload): void {
  w.bytes(p.body);
}
