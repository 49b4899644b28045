// Payload type -> body codec (RFC 7296 3.2 payload type numbers). The chain walker in ../message.ts uses this
// table and nothing else, so supporting a new payload means one new file and one line here.

import { PayloadType } from '../constants.js';
import type { Writer } from '../reader.js';
import type { Payload } from '../types.js';
import * as auth from './auth.js';
import * as cert from './cert.js';
import * as cp from './cp.js';
import * as del from './delete.js';
import * as eap from './eap.js';
import * as id from './id.js';
import * as ke from './ke.js';
import * as nonce from './nonce.js';
import * as notify from './notify.js';
import * as sa from './sa.js';
import * as sk from './sk.js';
import * as skf from './skf.js';
import * as ts from './ts.js';
import * as vendor from './vendor.js';

export interface PayloadCodec {
  /** `type` tells shared layouts apart (IDi/IDr, CERT/CERTREQ, TSi/TSr); `next` is the generic header's Next
   *  Payload, which SK and SKF keep as innerNext (RFC 7296 3.14, RFC 7383 2.5). */
  decode(body: Buffer, type: number, next: number): Payload;
  encode(p: Payload): Buffer;
  /** The body straight into the message being encoded (no Buffer of its own in between). */
  write(w: Writer, p: Payload): void;
}

// The casts are safe: the registry key selects which member of the Payload union reaches each encoder.
const entry = <P extends Payload>(
  decode: (b: Buffer, type: number, next: number) => P,
  encode: (p: P) => Buffer,
  write?: (w: Writer, p: P) => void,
): PayloadCodec => ({
  decode,
  encode: encode as (p: Payload) => Buffer,
  write: (write ?? ((w: Writer, p: P) => w.bytes(encode(p)))) as (w: Writer, p: Payload) => void,
});

export const codecs: ReadonlyMap<number, PayloadCodec> = new Map<number, PayloadCodec>([
  [PayloadType.SA, entry(sa.decode, sa.encode, sa.write)],
  [PayloadType.KE, entry(ke.decode, ke.encode, ke.write)],
  [PayloadType.IDi, entry((b, t) => id.decode(b, t), id.encode, id.write)],
  [PayloadType.IDr, entry((b, t) => id.decode(b, t), id.encode, id.write)],
  [PayloadType.CERT, entry((b, t) => cert.decode(b, t), cert.encode)],
  [PayloadType.CERTREQ, entry((b, t) => cert.decode(b, t), cert.encode)],
  [PayloadType.AUTH, entry(auth.decode, auth.encode, auth.write)],
  [PayloadType.NONCE, entry(nonce.decode, nonce.encode, nonce.write)],
  [PayloadType.NOTIFY, entry(notify.decode, notify.encode, notify.write)],
  [PayloadType.DELETE, entry(del.decode, del.encode)],
  [PayloadType.VENDOR, entry(vendor.decode, vendor.encode, vendor.write)],
  [PayloadType.TSi, entry((b, t) => ts.decode(b, t), ts.encode, ts.write)],
  [PayloadType.TSr, entry((b, t) => ts.decode(b, t), ts.encode, ts.write)],
  [PayloadType.SK, entry((b, _t, n) => sk.decode(b, n), sk.encode, sk.write)],
  [PayloadType.CP, entry(cp.decode, cp.encode)],
  [PayloadType.EAP, entry(eap.decode, eap.encode)],
  [PayloadType.SKF, entry((b, _t, n) => skf.decode(b, n), skf.encode)],
]);

export const isKnownPayload = (type: number): boolean => codecs.has(type);
