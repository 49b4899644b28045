// RFC 7296 3.15 Configuration payload: CFG Type (1), RESERVED (3), then attributes (3.15.1):
// R bit + Attribute Type (15 bits), Length (2), Value.

import { PayloadType } from '../constants.js';
import { decodeBody, encodeBody, list, mapped, sized, sizeOf, struct, u16, u8, zero } from '../fields.js';
import type { CfgAttribute, CpPayload } from '../types.js';

export const MAX_CFG_ATTRIBUTES = 128;

/** The R bit is reserved (RFC 7296 3.15.1): masked off on receipt, sent as zero. */
const attribute = mapped(
  struct<CfgAttribute>('configuration attribute', [u16('type'), sizeOf(2, 'value'), sized('value')]),
  (a) => ({ type: a.type & 0x7fff, value: a.value }),
  (a) => ({ type: a.type & 0x7fff, value: a.value }),
);

type Body = Omit<CpPayload, 'type' | 'critical'>;

const body = struct<Body>('CP payload', [u8('cfgType'), zero(3), list('attributes', attribute, MAX_CFG_ATTRIBUTES)]);

export function decode(b: Buffer): CpPayload {
  return { type: PayloadType.CP, ...decodeBody(body, b, 'CP payload') };
}

export function encode(p: CpPayload): Buffer {
  return encodeBody(body, p);
}
