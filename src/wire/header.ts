// RFC 7296 3.1 IKE header: IKE SA Initiator's SPI (8), Responder's SPI (8), Next Payload (1), MjVer|MnVer (1),
// Exchange Type (1), Flags (1), Message ID (4), Length (4) = 28 bytes.

import { HeaderFlag, IKE_HEADER_LENGTH, IKE_MAJOR_VERSION } from './constants.js';
import { type Decoded, fail, guard, WireError } from './errors.js';
import { encodeBody, fixed, struct, u32, u8 } from './fields.js';
import { Reader, type Writer } from './reader.js';
import type { IkeHeader } from './types.js';

interface Raw {
  spiI: Buffer;
  spiR: Buffer;
  nextPayload: number;
  version: number;
  exchange: number;
  flags: number;
  messageId: number;
  length: number;
}

const layout = struct<Raw>('IKE header', [
  fixed('spiI', 8),
  fixed('spiR', 8),
  u8('nextPayload'),
  u8('version'),
  u8('exchange'),
  u8('flags'),
  u32('messageId'),
  u32('length'),
]);

/** Reads the 28 header bytes without judging them; throws TRUNCATED if there are fewer. */
export function readHeader(buf: Buffer): IkeHeader {
  if (buf.length < IKE_HEADER_LENGTH) {
    fail('TRUNCATED', `IKE header needs ${IKE_HEADER_LENGTH} bytes, datagram has ${buf.length}`);
  }
  const raw = layout.read(Reader.of(buf, 'IKE header'));
  return {
    spiI: raw.spiI,
    spiR: raw.spiR,
    nextPayload: raw.nextPayload,
    majorVersion: raw.version >> 4,
    minorVersion: raw.version & 0x0f,
    exchange: raw.exchange,
    // Unknown flag bits MUST be ignored on receipt (RFC 7296 3.1).
    initiator: (raw.flags & HeaderFlag.INITIATOR) !== 0,
    response: (raw.flags & HeaderFlag.RESPONSE) !== 0,
    version: (raw.flags & HeaderFlag.VERSION) !== 0,
    messageId: raw.messageId,
    length: raw.length,
  };
}

/** readHeader plus the datagram-level checks; throws WireError with the header attached once it is known. */
export function checkedHeader(buf: Buffer): IkeHeader {
  const h = readHeader(buf);
  try {
    // Version first: RFC 7296 2.5 wants INVALID_MAJOR_VERSION for any other major version, whatever follows.
    if (h.majorVersion !== IKE_MAJOR_VERSION) fail('BAD_VERSION', `IKE major version ${h.majorVersion}, expected ${IKE_MAJOR_VERSION}`);
    if (h.length < IKE_HEADER_LENGTH) fail('BAD_LENGTH', `IKE header length ${h.length} is below ${IKE_HEADER_LENGTH}`);
    if (h.length > buf.length) fail('TRUNCATED', `IKE header length ${h.length}, datagram has only ${buf.length} bytes`);
    if (h.length < buf.length) fail('BAD_LENGTH', `IKE header length ${h.length}, datagram has ${buf.length} bytes`);
  } catch (e) {
    if (e instanceof WireError) e.header = h;
    throw e;
  }
  return h;
}

/** Checks length >= 28, major version 2 (else BAD_VERSION) and header length == datagram length. Never throws. */
export function decodeHeader(buf: Buffer): Decoded<IkeHeader> {
  return guard(() => checkedHeader(buf));
}

export function encodeHeader(h: IkeHeader): Buffer {
  return encodeBody(layout, rawOf(h));
}

/** The 28 header bytes into a Writer (message.ts writes them in front of the payloads it has just encoded). */
export function writeHeader(w: Writer, h: IkeHeader): void {
  layout.write(w, rawOf(h), true);
}

function rawOf(h: IkeHeader): Raw {
  const flags = (h.initiator ? HeaderFlag.INITIATOR : 0) | (h.version ? HeaderFlag.VERSION : 0) | (h.response ? HeaderFlag.RESPONSE : 0);
  return {
    spiI: h.spiI,
    spiR: h.spiR,
    nextPayload: h.nextPayload,
    version: ((h.majorVersion & 0x0f) << 4) | (h.minorVersion & 0x0f),
    exchange: h.exchange,
    flags,
    messageId: h.messageId,
    length: h.length,
  };
}
