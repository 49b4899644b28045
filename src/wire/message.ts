// IKE messages: header + chain of payloads linked by their generic headers (RFC 7296 3.2). Decoding validates the
// whole chain before anything reads it; SK/SKF stay opaque (src/crypto opens them, then calls decodePayloads
// on the plaintext). Encoding derives every Next Payload and Length field.

import { GENERIC_PAYLOAD_HEADER_LENGTH, IKE_HEADER_LENGTH, PayloadType } from './constants.js';
import { type Decoded, fail, guard, WireError } from './errors.js';
import { checkedHeader, encodeHeader } from './header.js';
import { codecs } from './payloads/registry.js';
import { Reader, Writer } from './reader.js';
import type { IkeHeader, IkeMessage, Payload, UnknownPayload } from './types.js';

/** DoS cap on payloads per chain; charon's own caps (20 notifies, 20 VIDs, ...) add up to far less. */
export const MAX_PAYLOADS = 256;

const CRITICAL = 0x80;

export const isUnknown = (p: Payload): p is UnknownPayload => 'unknown' in p && p.unknown === true;
const isEncrypted = (t: number) => t === PayloadType.SK || t === PayloadType.SKF;

/** Walks a payload chain over all of r; `outer` says whether SK/SKF may end it (they may not appear inside SK). */
function readChain(firstType: number, r: Reader, outer: boolean): Payload[] {
  const payloads: Payload[] = [];
  let type = firstType;
  while (type !== PayloadType.NONE) {
    if (payloads.length >= MAX_PAYLOADS) fail('TOO_MANY', `more than ${MAX_PAYLOADS} payloads`, type);
    const at = r.pos;
    if (r.remaining < GENERIC_PAYLOAD_HEADER_LENGTH) {
      fail('BAD_LENGTH', `payload ${type} at offset ${at}: generic header needs 4 bytes, ${r.remaining} left`, type);
    }
    const next = r.u8('next payload');
    const critical = (r.u8('flags') & CRITICAL) !== 0;
    const length = r.u16('payload length');
    if (length < GENERIC_PAYLOAD_HEADER_LENGTH) fail('BAD_LENGTH', `payload ${type} at offset ${at}: length ${length} < 4`, type);
    if (length - 4 > r.remaining) {
      fail('BAD_LENGTH', `payload ${type} at offset ${at}: length ${length} runs ${length - 4 - r.remaining} bytes past the end`, type);
    }
    const body = r.buf.subarray(r.pos, r.pos + length - 4);
    r.pos += length - 4;
    const codec = codecs.get(type);
    let p: Payload;
    if (!codec) {
      // RFC 7296 2.5: skip unknown payloads, unless critical: then reject the whole message.
      if (critical) fail('UNSUPPORTED_CRITICAL', `unknown payload type ${type} with the critical bit`, type);
      p = { type, unknown: true, body: Buffer.from(body) };
    } else {
      if (!outer && isEncrypted(type)) fail('BAD_SYNTAX', `payload ${type} inside an encrypted payload`, type);
      try {
        p = codec.decode(body, type, next);
      } catch (e) {
        if (e instanceof WireError && e.payloadType === undefined) e.payloadType = type;
        throw e;
      }
    }
    // The critical bit MUST be ignored for known types (RFC 7296 2.5), but is kept for logs and re-encoding.
    if (critical) p.critical = true;
    payloads.push(p);
    // SK/SKF is last (RFC 7296 3.14, RFC 7383 2.5); its Next Payload names the first inner payload instead.
    if (isEncrypted(type)) break;
    type = next;
  }
  if (r.remaining !== 0) {
    fail('BAD_LENGTH', `payload chain ends at offset ${r.pos}, ${r.remaining} bytes left over`);
  }
  return payloads;
}

/** Header + outer payload chain. Never throws; errors after the header carry it (error.header). */
export function decodeMessage(buf: Buffer): Decoded<IkeMessage> {
  let header: IkeHeader | undefined;
  return guard(
    () => {
      header = checkedHeader(buf);
      const payloads = readChain(header.nextPayload, new Reader(buf, IKE_HEADER_LENGTH, header.length, 'IKE message'), true);
      return { header, payloads };
    },
    () => header,
  );
}

/** The inner chain of a decrypted SK payload (padding and Pad Length already removed). Never throws. */
export function decodePayloads(firstType: number, buf: Buffer): Decoded<Payload[]> {
  return guard(() => readChain(firstType, Reader.of(buf, 'payload chain'), false));
}

function nextOf(payloads: Payload[], i: number): number {
  const p = payloads[i]!;
  if (!isUnknown(p) && (p.type === PayloadType.SK || p.type === PayloadType.SKF)) {
    if (i !== payloads.length - 1) fail('BAD_SYNTAX', 'SK/SKF must be the last payload');
    return p.innerNext;
  }
  return payloads[i + 1]?.type ?? PayloadType.NONE;
}

/** Generic headers chained, Next Payload and Length filled in. Throws WireError only for unencodable input. */
export function encodePayloads(payloads: Payload[]): { firstType: number; bytes: Buffer } {
  const w = new Writer();
  payloads.forEach((p, i) => {
    const codec = codecs.get(p.type);
    const body = isUnknown(p) || !codec ? (isUnknown(p) ? p.body : fail('BAD_SYNTAX', `no codec for payload ${p.type}`)) : codec.encode(p);
    const length = GENERIC_PAYLOAD_HEADER_LENGTH + body.length;
    if (length > 0xffff) fail('BAD_LENGTH', `payload ${p.type} would be ${length} bytes`, p.type);
    w.u8(nextOf(payloads, i));
    w.u8(p.critical ? CRITICAL : 0);
    w.u16(length);
    w.bytes(body);
  });
  return { firstType: payloads[0]?.type ?? PayloadType.NONE, bytes: w.finish() };
}

type HeaderIn = Omit<IkeHeader, 'length' | 'nextPayload'>;

/** A whole unprotected message (IKE_SA_INIT, or an unprotected error notify). */
export function encodeMessage(header: HeaderIn, payloads: Payload[]): Buffer {
  const { firstType, bytes } = encodePayloads(payloads);
  const h = encodeHeader({ ...header, nextPayload: firstType, length: IKE_HEADER_LENGTH + bytes.length });
  return Buffer.concat([h, bytes]);
}

function genericHeader(next: number, length: number): Buffer {
  if (length > 0xffff) fail('BAD_LENGTH', `encrypted payload would be ${length} bytes`);
  const b = Buffer.alloc(GENERIC_PAYLOAD_HEADER_LENGTH);
  b.writeUInt8(next, 0);
  b.writeUInt16BE(length, 2);
  return b;
}

/**
 * For protected messages: the bytes before the SK body (header + SK generic header, lengths final), which are
 * also the AEAD associated data (RFC 5282 5.1). The caller seals the inner chain and appends the SK body
 * (IV | ciphertext | ICV) of exactly skBodyLength bytes.
 */
export function encodeSkPrefix(header: HeaderIn, innerFirstType: number, skBodyLength: number): Buffer {
  const skLength = GENERIC_PAYLOAD_HEADER_LENGTH + skBodyLength;
  const h = encodeHeader({ ...header, nextPayload: PayloadType.SK, length: IKE_HEADER_LENGTH + skLength });
  return Buffer.concat([h, genericHeader(innerFirstType, skLength)]);
}

/**
 * Same for one encrypted fragment (RFC 7383 2.5): header + SKF generic header + Fragment Number + Total
 * Fragments. innerFirstType is sent in fragment 1 only; the others carry 0. encryptedLength is IV | ciphertext | ICV.
 */
export function encodeSkfPrefix(
  header: HeaderIn,
  innerFirstType: number,
  fragmentNumber: number,
  totalFragments: number,
  encryptedLength: number,
): Buffer {
  const skfLength = GENERIC_PAYLOAD_HEADER_LENGTH + 4 + encryptedLength;
  const h = encodeHeader({ ...header, nextPayload: PayloadType.SKF, length: IKE_HEADER_LENGTH + skfLength });
  const frag = Buffer.alloc(4);
  frag.writeUInt16BE(fragmentNumber, 0);
  frag.writeUInt16BE(totalFragments, 2);
  return Buffer.concat([h, genericHeader(fragmentNumber === 1 ? innerFirstType : PayloadType.NONE, skfLength), frag]);
}
