// Decoded shapes of the IKE header and every RFC 7296 payload. These are the contract between the codec
// (src/wire), the config's proposal parser (src/config) and the exchanges (src/ike): plain data, no behaviour.

import type { PayloadType } from './constants.js';

export interface IkeHeader {
  spiI: Buffer; // 8 bytes
  spiR: Buffer; // 8 bytes
  nextPayload: number;
  majorVersion: number;
  minorVersion: number;
  exchange: number;
  /** I flag: sent by the original initiator of the IKE SA. */
  initiator: boolean;
  /** R flag: this message is a response. */
  response: boolean;
  /** V flag: sender can speak a higher major version. */
  version: boolean;
  messageId: number;
  length: number;
}

/** RFC 7296 3.3.5 transform attribute other than Key Length: TV format when value is a number, else TLV. */
export interface TransformAttribute {
  type: number;
  value: number | Buffer;
}

/** RFC 7296 3.3.2; keyLength is the Key Length attribute (bits) when present. */
export interface Transform {
  type: number;
  id: number;
  keyLength?: number;
  /** Attributes other than a TV Key Length, as received (RFC 7296 3.3.6: a proposal with unknown ones is skipped). */
  otherAttributes?: TransformAttribute[];
}

/** RFC 7296 3.3.1 */
export interface Proposal {
  num: number;
  protocol: number;
  spi: Buffer; // 0 bytes in IKE_SA_INIT, 8 for IKE rekey, 4 for ESP/AH
  transforms: Transform[];
}

/** RFC 7296 3.13.1 */
export interface TrafficSelector {
  tsType: number; // TS_IPV4_ADDR_RANGE / TS_IPV6_ADDR_RANGE
  ipProtocol: number; // 0 = any
  startPort: number;
  endPort: number;
  startAddr: Buffer; // 4 or 16 bytes
  endAddr: Buffer;
  /** For TS types the codec does not interpret (e.g. RFC 9478 security labels): the bytes after the 4-byte
   *  selector header, kept so the selector can be skipped and re-encoded; ports and addresses are then empty. */
  raw?: Buffer;
}

export interface CfgAttribute {
  type: number;
  value: Buffer;
}

interface Base {
  /** Critical bit as received or to send; unknown critical payloads are rejected by the decoder. */
  critical?: boolean;
}

export interface SaPayload extends Base {
  type: typeof PayloadType.SA;
  proposals: Proposal[];
}
export interface KePayload extends Base {
  type: typeof PayloadType.KE;
  group: number;
  data: Buffer;
}
export interface IdPayload extends Base {
  type: typeof PayloadType.IDi | typeof PayloadType.IDr;
  idType: number;
  data: Buffer;
}
export interface CertPayload extends Base {
  type: typeof PayloadType.CERT | typeof PayloadType.CERTREQ;
  encoding: number;
  data: Buffer;
}
export interface AuthPayload extends Base {
  type: typeof PayloadType.AUTH;
  method: number;
  data: Buffer;
}
export interface NoncePayload extends Base {
  type: typeof PayloadType.NONCE;
  data: Buffer;
}
export interface NotifyPayload extends Base {
  type: typeof PayloadType.NOTIFY;
  protocol: number; // 0 when no SPI
  spi: Buffer; // may be empty
  notifyType: number;
  data: Buffer;
}
export interface DeletePayload extends Base {
  type: typeof PayloadType.DELETE;
  protocol: number;
  spiSize: number;
  spis: Buffer[];
}
export interface VendorPayload extends Base {
  type: typeof PayloadType.VENDOR;
  data: Buffer;
}
export interface TsPayload extends Base {
  type: typeof PayloadType.TSi | typeof PayloadType.TSr;
  selectors: TrafficSelector[];
}
export interface CpPayload extends Base {
  type: typeof PayloadType.CP;
  cfgType: number;
  attributes: CfgAttribute[];
}
export interface EapPayload extends Base {
  type: typeof PayloadType.EAP;
  data: Buffer;
}
/** SK: kept opaque by the codec; src/crypto opens it. innerNext is the type of the first inner payload. */
export interface SkPayload extends Base {
  type: typeof PayloadType.SK;
  innerNext: number;
  body: Buffer;
}
/** RFC 7383 encrypted fragment. */
export interface SkfPayload extends Base {
  type: typeof PayloadType.SKF;
  innerNext: number;
  fragmentNumber: number;
  totalFragments: number;
  body: Buffer;
}
/** A payload type the codec does not know, received without the critical bit: skipped but kept for logging. */
export interface UnknownPayload extends Base {
  type: number;
  unknown: true;
  body: Buffer;
}

export type Payload =
  | SaPayload
  | KePayload
  | IdPayload
  | CertPayload
  | AuthPayload
  | NoncePayload
  | NotifyPayload
  | DeletePayload
  | VendorPayload
  | TsPayload
  | CpPayload
  | EapPayload
  | SkPayload
  | SkfPayload
  | UnknownPayload;

export interface IkeMessage {
  header: IkeHeader;
  /** Payloads in wire order; for a protected message, the SK payload is last and still encrypted. */
  payloads: Payload[];
}
