// Test helper: one strongSwan known-answer run (see test/fixtures/kat/README.md), with the
// few IKE message fields the crypto tests need decoded by hand (RFC 7296 sections 3.1 and 3.2),
// so these tests do not depend on src/wire.
import { join } from 'node:path';
import { Encr, ExchangeType, Integ, PayloadType, Prf, DhGroup, HeaderFlag } from '../../src/wire/constants.js';
import { parseLogFile, type Dump } from './kat-parse.js';
import { KAT_DIR } from '../helpers/fixtures.js';

export { KAT_DIR };
export const KAT_PSK = Buffer.from('kat-secret-0123456789');
export const INITIATOR_IP = '10.95.0.2';
export const RESPONDER_IP = '10.95.0.1';

export interface KatSuite {
  dir: string;
  ike: { encr: number; encrKeyBits?: number; integ?: number; prf: number; dh: number };
  esp: { encr: number; encrKeyBits?: number; integ?: number };
  pfs: number;
}

// The proposals of README.md's table, in IANA numbers.
export const KAT_SUITES: KatSuite[] = [
  {
    dir: 'aes256-sha256-modp2048',
    ike: { encr: Encr.AES_CBC, encrKeyBits: 256, integ: Integ.HMAC_SHA2_256_128, prf: Prf.HMAC_SHA2_256, dh: DhGroup.MODP_2048 },
    esp: { encr: Encr.AES_CBC, encrKeyBits: 256, integ: Integ.HMAC_SHA2_256_128 },
    pfs: DhGroup.MODP_2048,
  },
  {
    dir: 'aes128gcm16-prfsha256-ecp256',
    ike: { encr: Encr.AES_GCM_16, encrKeyBits: 128, prf: Prf.HMAC_SHA2_256, dh: DhGroup.ECP_256 },
    esp: { encr: Encr.AES_GCM_16, encrKeyBits: 128 },
    pfs: DhGroup.ECP_256,
  },
  {
    dir: 'chacha20poly1305-prfsha256-curve25519',
    ike: { encr: Encr.CHACHA20_POLY1305, prf: Prf.HMAC_SHA2_256, dh: DhGroup.CURVE_25519 },
    esp: { encr: Encr.CHACHA20_POLY1305 },
    pfs: DhGroup.CURVE_25519,
  },
  {
    dir: '3des-sha1-modp1024',
    ike: { encr: Encr['3DES'], integ: Integ.HMAC_SHA1_96, prf: Prf.HMAC_SHA1, dh: DhGroup.MODP_1024 },
    esp: { encr: Encr['3DES'], integ: Integ.HMAC_SHA1_96 },
    pfs: DhGroup.MODP_1024,
  },
  {
    dir: 'aes256-sha384-ecp384',
    ike: { encr: Encr.AES_CBC, encrKeyBits: 256, integ: Integ.HMAC_SHA2_384_192, prf: Prf.HMAC_SHA2_384, dh: DhGroup.ECP_384 },
    esp: { encr: Encr.AES_CBC, encrKeyBits: 256, integ: Integ.HMAC_SHA2_384_192 },
    pfs: DhGroup.ECP_384,
  },
  {
    dir: 'aes256gcm16-prfsha512-ecp521',
    ike: { encr: Encr.AES_GCM_16, encrKeyBits: 256, prf: Prf.HMAC_SHA2_512, dh: DhGroup.ECP_521 },
    esp: { encr: Encr.AES_GCM_16, encrKeyBits: 256 },
    pfs: DhGroup.ECP_521,
  },
  {
    dir: 'aes128-sha512-curve448',
    ike: { encr: Encr.AES_CBC, encrKeyBits: 128, integ: Integ.HMAC_SHA2_512_256, prf: Prf.HMAC_SHA2_512, dh: DhGroup.CURVE_448 },
    esp: { encr: Encr.AES_CBC, encrKeyBits: 128, integ: Integ.HMAC_SHA2_512_256 },
    pfs: DhGroup.CURVE_448,
  },
];

export interface Payload {
  type: number;
  /** Offset of the generic payload header in the buffer it was walked in. */
  offset: number;
  body: Buffer;
}

export interface IkeMessage {
  raw: Buffer;
  spiI: Buffer;
  spiR: Buffer;
  exchange: number;
  flags: number;
  messageId: number;
  /** Payloads before (and including) an SK payload; an SK payload ends the walk. */
  payloads: Payload[];
}

/** Walk a chain of generic payload headers: next(1) critical(1) length(2) (RFC 7296 3.2). */
export function walkPayloads(buf: Buffer, first: number, start: number): Payload[] {
  const out: Payload[] = [];
  let type = first;
  let off = start;
  while (type !== PayloadType.NONE) {
    const len = buf.readUInt16BE(off + 2);
    if (len < 4 || off + len > buf.length) throw new Error(`bad payload length ${len} at ${off}`);
    out.push({ type, offset: off, body: buf.subarray(off + 4, off + len) });
    if (type === PayloadType.SK) break; // its "next payload" names the first inner payload
    type = buf[off]!;
    off += len;
  }
  return out;
}

/**
 * Decode an IKE header (RFC 7296 3.1) or return undefined for anything else (ESP-in-UDP).
 * Contrary to the KAT README, charon's `received packet` dumps on port 4500 still start with the
 * 4-byte non-ESP marker (RFC 3948 section 2.2); an IKE SPIi is never zero, so strip it.
 */
export function decodeIke(packet: Buffer): IkeMessage | undefined {
  const raw = packet.length > 4 && packet.readUInt32BE(0) === 0 ? packet.subarray(4) : packet;
  if (raw.length < 28 || raw[17] !== 0x20 || raw.readUInt32BE(24) !== raw.length) return undefined;
  const exchange = raw[18]!;
  if (exchange < ExchangeType.IKE_SA_INIT || exchange > ExchangeType.INFORMATIONAL) return undefined;
  return {
    raw,
    spiI: raw.subarray(0, 8),
    spiR: raw.subarray(8, 16),
    exchange,
    flags: raw[19]!,
    messageId: raw.readUInt32BE(20),
    payloads: walkPayloads(raw, raw[16]!, 28),
  };
}

export const isResponse = (m: IkeMessage): boolean => (m.flags & HeaderFlag.RESPONSE) !== 0;
export const fromOriginalInitiator = (m: IkeMessage): boolean => (m.flags & HeaderFlag.INITIATOR) !== 0;

export function payloadOf(payloads: Payload[], type: number): Buffer {
  const p = payloads.find((x) => x.type === type);
  if (!p) throw new Error(`no payload of type ${type}`);
  return p.body;
}

/** KE payload: DH group(2) reserved(2) key exchange data (RFC 7296 3.4). */
export function keData(payloads: Payload[]): { group: number; data: Buffer } {
  const body = payloadOf(payloads, PayloadType.KE);
  return { group: body.readUInt16BE(0), data: body.subarray(4) };
}

/** Notify payload data of the given type: protocol(1) spi size(1) type(2) spi data (RFC 7296 3.10). */
export function notifyData(payloads: Payload[], notifyType: number): Buffer[] {
  return payloads
    .filter((p) => p.type === PayloadType.NOTIFY && p.body.readUInt16BE(2) === notifyType)
    .map((p) => p.body.subarray(4 + p.body[1]!));
}

/** ID payload body for an IPv4 address: ID_IPV4_ADDR(1) | 3 reserved | address (RFC 7296 3.5). */
export function ipv4IdBody(ip: string): Buffer {
  return Buffer.from([1, 0, 0, 0, ...ip.split('.').map(Number)]);
}

export interface KatRun {
  suite: KatSuite;
  initiator: Dump[];
  responder: Dump[];
  /** IKE messages received by the initiator (sent by the responder) and vice versa, in order. */
  toInitiator: IkeMessage[];
  toResponder: IkeMessage[];
  initRequest: IkeMessage;
  initResponse: IkeMessage;
}

export function loadKat(suite: KatSuite): KatRun {
  const initiator = parseLogFile(join(KAT_DIR, suite.dir, 'initiator.log'));
  const responder = parseLogFile(join(KAT_DIR, suite.dir, 'responder.log'));
  const received = (d: Dump[]) => d.filter((x) => x.label === 'received packet').flatMap((x) => decodeIke(x.data) ?? []);
  const toInitiator = received(initiator);
  const toResponder = received(responder);
  const initRequest = toResponder.find((m) => m.exchange === ExchangeType.IKE_SA_INIT && !isResponse(m));
  const initResponse = toInitiator.find((m) => m.exchange === ExchangeType.IKE_SA_INIT && isResponse(m));
  if (!initRequest || !initResponse) throw new Error(`${suite.dir}: IKE_SA_INIT messages not found`);
  return { suite, initiator, responder, toInitiator, toResponder, initRequest, initResponse };
}
