// Turning an OutMessage into bytes and received bytes into an InMessage, with SK payload protection
// (RFC 7296 3.14) for everything after IKE_SA_INIT.
import { CryptoError } from '../crypto/errors.js';
import { ExchangeType, PayloadType } from '../wire/constants.js';
import { decodePayloads, encodeMessage, encodePayloads, encodeSkPrefix } from '../wire/message.js';
import type { IkeHeader, IkeMessage, Payload, SkPayload } from '../wire/types.js';
import type { WireError } from '../wire/errors.js';
import type { IkeSa } from './ike-sa.js';
import type { InMessage } from './task.js';

export function headerFor(sa: IkeSa, exchange: number, messageId: number, isResponse: boolean): Omit<IkeHeader, 'length' | 'nextPayload'> {
  return {
    spiI: sa.spiI,
    spiR: sa.spiR,
    majorVersion: 2,
    minorVersion: 0,
    exchange,
    initiator: sa.initiator,
    response: isResponse,
    version: false,
    messageId,
  };
}

/** Deviations for fault injection (src/ike/task-manager.ts applies a fault rule's content change through these). */
export interface ProtectOptions {
  /** Payloads sent unprotected, chained before the SK payload (covered by its ICV, as everything before the body). */
  outer?: Payload[];
  /** SPIs to put in the header instead of the SA's. */
  spis?: { spiI?: Buffer; spiR?: Buffer };
}

/** Encode (and protect unless IKE_SA_INIT) a message of this SA. */
export function protect(
  sa: IkeSa,
  exchange: number,
  messageId: number,
  isResponse: boolean,
  payloads: Payload[],
  o: ProtectOptions = {},
): Buffer {
  const header = { ...headerFor(sa, exchange, messageId, isResponse), ...o.spis };
  if (exchange === ExchangeType.IKE_SA_INIT || !sa.skOut) return encodeMessage(header, [...payloads, ...(o.outer ?? [])]);
  const inner = encodePayloads(payloads);
  const bodyLength = sa.skOut.bodyLength(inner.bytes.length);
  if (o.outer?.length) {
    // the SK body goes last: encode the chain with a placeholder body, seal over everything before it
    const whole = encodeMessage(header, [...o.outer, { type: PayloadType.SK, innerNext: inner.firstType, body: Buffer.alloc(bodyLength) }]);
    const prefix = whole.subarray(0, whole.length - bodyLength);
    return Buffer.concat([prefix, sa.skOut.seal(inner.bytes, prefix)]);
  }
  const prefix = encodeSkPrefix(header, inner.firstType, bodyLength);
  const body = sa.skOut.seal(inner.bytes, prefix);
  return Buffer.concat([prefix, body]);
}

export type UnprotectResult =
  | { ok: true; msg: InMessage; inner?: Payload[] }
  | { ok: false; reason: 'INTEGRITY' | 'SYNTAX' | 'NO_KEYS'; detail: string; error?: WireError };

/** Decrypt and decode the SK payload of a decoded message. IKE_SA_INIT passes through. */
export function unprotect(sa: IkeSa, m: IkeMessage, raw: Buffer): UnprotectResult {
  const base = { exchange: m.header.exchange, messageId: m.header.messageId, isResponse: m.header.response, raw };
  const last = m.payloads[m.payloads.length - 1];
  if (!last || last.type !== PayloadType.SK) {
    if (m.header.exchange === ExchangeType.IKE_SA_INIT) return { ok: true, msg: { ...base, payloads: m.payloads } };
    // RFC 7296 3.14: everything after IKE_SA_INIT is protected; an unprotected error notify is not trusted.
    return { ok: false, reason: 'SYNTAX', detail: 'no SK payload in protected exchange' };
  }
  if (!sa.skIn) return { ok: false, reason: 'NO_KEYS', detail: 'SK payload before keys are established' };
  const sk = last as SkPayload;
  const aad = raw.subarray(0, raw.length - sk.body.length);
  let plain: Buffer;
  try {
    plain = sa.skIn.open(sk.body, aad);
  } catch (e) {
    const detail = e instanceof CryptoError ? e.message : String(e);
    return { ok: false, reason: 'INTEGRITY', detail };
  }
  const inner = decodePayloads(sk.innerNext, plain);
  // Authenticated but malformed inside: the caller may answer with an error notify (RFC 7296 2.21.2).
  if (!inner.ok) return { ok: false, reason: 'SYNTAX', detail: inner.error.message, error: inner.error };
  return { ok: true, msg: { ...base, payloads: [...m.payloads.slice(0, -1), ...inner.value] }, inner: inner.value };
}
