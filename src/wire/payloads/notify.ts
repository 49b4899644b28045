// RFC 7296 3.10 Notify payload: Protocol ID (1), SPI Size (1), Notify Message Type (2), SPI, Notification Data.
// Only the structure is checked here; what a notify's data must look like is up to the task that reads it.

import { PayloadType } from '../constants.js';
import { decodeBody, encodeBody, rest, sized, sizeOf, struct, u16, u8 } from '../fields.js';
import type { Writer } from '../reader.js';
import type { NotifyPayload } from '../types.js';

type Body = Omit<NotifyPayload, 'type' | 'critical'>;

const body = struct<Body>('Notify payload', [u8('protocol'), sizeOf(1, 'spi'), u16('notifyType'), sized('spi'), rest('data')]);

export function decode(b: Buffer): NotifyPayload {
  return { type: PayloadType.NOTIFY, ...decodeBody(body, b, 'Notify payload') };
}

export function encode(p: NotifyPayload): Buffer {
  return encodeBody(body, p);
}

export function write(w: Writer, p: NotifyPayload): void {
  body.write(w, p, true);
}
