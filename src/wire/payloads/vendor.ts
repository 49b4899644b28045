// RFC 7296 3.12 Vendor ID payload: opaque Vendor ID data.

import { PayloadType } from '../constants.js';
import { fieldBytes, type Writer } from '../reader.js';
import type { VendorPayload } from '../types.js';

export function decode(b: Buffer): VendorPayload {
  return { type: PayloadType.VENDOR, data: fieldBytes(b) };
}

export function encode(p: VendorPayload): Buffer {
  return Buffer.from(p.data);
}

export function write(w: Writer, p: VendorPayload): void {
  w.bytes(p.data);
}
