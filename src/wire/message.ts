// IKE messages: header + chain of payloads linked by their generic headers (RFC 7296 3.2). Decoding validates the
// whole chain before anything reads it; SK/SKF stay opaque (src/crypto opens them, then calls decodePayloads
// on the plaintext). Encoding derives every Next Payload and Length field.

import { GENERIC_PAYLOAD_HEADER_LENGTH, IKE_HEADER_LENGTH, PayloadType } from './constants.js';
import { type Decoded, fail, guard, WireError } from './errors.js';
import { checkedHeader, writeHeader } from './header.js';
import { codecs } from './payloads/registry.js';
import { fieldBytes, ownCopy, Reader, Writer } from './reader.js';
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
      p = { type, unknown: true, body: fieldBytes(body) };
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
    () =>
      ownCopy(buf, (own) => {
        header = checkedHeader(own);
        const payloads = readChain(header.nextPayload, new Reader(own, IKE_HEADER_LENGTH, header.length, 'IKE message'), true);
        return { header, payloads };
      }),
    () => header,
  );
}

/** The inner chain of a decrypted SK payload (padding and Pad Length already removed). Never throws. */
export function decodePayloads(firstType: number, buf: Buffer): Decoded<Payload[]> {
  return guard(() => ownCopy(buf, (own) => readChain(firstType, Reader.of(own, 'payload chain'), false)));
}

function nextOf(payloads: Payload[], i: number): number {
  const p = payloads[i]!;
  if (!isUnknown(p) && (p.type === PayloadType.SK || p.type === PayloadType.SKF)) {
    if (i !== payloads.length - 1) fail('BAD_SYNTAX', 'SK/SKF must be the last payload');
    return p.innerNext;
  }
  return payloads[i + 1]?.type ?? PayloadType.NONE;
}

/** Generic headers chained, Next Payload and Length filled in, each body written in place. */
function writePayloads(w: Writer, payloads: Payload[]): void {
  for (let i = 0; i < payloads.length; i++) {
    const p = payloads[i]!;
    const codec = isUnknown(p) ? undefined : codecs.get(p.type);
    if (!isUnknown(p) && !codec) fail('BAD_SYNTAX', `no codec for payload ${p.type}`);
    const at = w.pos;
    w.u8(nextOf(payloads, i));
    w.u8(p.critical ? CRITICAL : 0);
    w.u16(0);
    if (codec) codec.write(w, p);
    else w.bytes((p as UnknownPayload).body);
    const length = w.pos - at;
    if (length > 0xffff) fail('BAD_LENGTH', `payload ${p.type} would be ${length} bytes`, p.type);
    w.patchU16(at + 2, length);
  }
}

/** Generic headers chained, Next Payload and Length filled in. Throws WireError only for unencodable input. */
export function encodePayloads(payloads: Payload[]): { firstType: number; bytes: Buffer } {
  const w = new Writer();
  writePayloads(w, payloads);
  return { firstType: payloads[0]?.type ?? PayloadType.NONE, bytes: w.finish() };
}

type HeaderIn = Omit<IkeHeader, 'length' | 'nextPayload'>;

/** A whole unprotected message (IKE_SA_INIT, or an unprotected error notify). */
export function encodeMessage(header: HeaderIn, payloads: Payload[]): Buffer {
  const w = new Writer();
  w.zeros(IKE_HEADER_LENGTH);
  writePayloads(w, payloads);
  const length = w.pos;
  w.writeAt(0, (hw) => writeHeader(hw, { ...header, nextPayload: payloads[0]?.type ?? PayloadType.NONE, length }));
  return w.finish();
}

function writeGenericHeader(w: Writer, next: number, length: number): void {
  if (length > 0xffff) fail('BAD_LENGTH', `encrypted payload would be ${length} bytes`);
  w.u8(next);
  w.u8(0);
  w.u16(length);
}

/**
 * For protected messages: the bytes before the SK body (header + SK generic header, lengths final), which are
 * also the AEAD associated data (RFC 5282 5.1). The caller seals the inner chain and appends the SK body
 * (IV | ciphertext | ICV) of exactly skBodyLength bytes.
 */
export function encodeSkPrefix(header: HeaderIn, innerFirstType: number, skBodyLength: number): Buffer {
  const skLength = GENERIC_PAYLOAD_HEADER_LENGTH + skBodyLength;
  const w = new Writer();
  writeHeader(w, { ...header, nextPayload: PayloadType.SK, length: IKE_HEADER_LENGTH + skLength });
  writeGenericHeader(w, innerFirstType, skLength);
  return w.finish();
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
  const w = new Writer();
  writeHeader(w, { ...header, nextPayload: PayloadType.SKF, length: IKE_HEADER_LENGTH + skfLength });
  writeGenericHeader(w, fragmentNumber === 1 ? innerFirstType : PayloadType.NONE, skfLength);
  w.u16(fragmentNumber);
  w.u16(totalFragments);
  return w.finish();
}
