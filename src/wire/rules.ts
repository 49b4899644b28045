// Which payloads each message may carry, as data (charon message.c keeps the same table; RFC 7296 1.2-1.5 and
// 3.14). Checked after decoding (outer chain) and after decryption (inner chain), before any task sees the
// message. Permissive where charon is: payload types a message does not list are ignored, not rejected, and
// notifies and vendor IDs are allowed everywhere.

import { ExchangeType as X, PayloadType as P } from './constants.js';
import { WireError } from './errors.js';
import { isUnknown } from './message.js';
import { charonExchangeName, payloadName } from './names.js';
import type { Payload } from './types.js';

export interface PayloadRule {
  type: number;
  min: number;
  max: number;
  /** If present, the message is complete: later rules' minimums no longer apply (error-notify-only answers). */
  sufficient?: boolean;
}

export interface MessageRule {
  /** true: everything but SK/SKF must be inside SK (RFC 7296 3.14); false: no SK at all (IKE_SA_INIT). */
  encrypted: boolean;
  payloads: PayloadRule[];
}

const MAX_NOTIFY = 20;
const MAX_VENDOR = 20;
const MAX_DELETE = 20;
const MAX_CERT = 8;
const MAX_CERTREQ = 20;

const r = (type: number, min: number, max: number, sufficient = false): PayloadRule => ({ type, min, max, sufficient });

/** Order matters: rules are walked in order and a sufficient payload waives the minimums of later rules. */
export const messageRules: Record<string, MessageRule> = {
  [`${X.IKE_SA_INIT}:request`]: {
    encrypted: false,
    payloads: [r(P.NOTIFY, 0, MAX_NOTIFY), r(P.SA, 1, 1), r(P.KE, 1, 1), r(P.NONCE, 1, 1), r(P.VENDOR, 0, MAX_VENDOR)],
  },
  [`${X.IKE_SA_INIT}:response`]: {
    encrypted: false,
    payloads: [
      r(P.NOTIFY, 0, MAX_NOTIFY, true),
      r(P.SA, 1, 1),
      r(P.KE, 1, 1),
      r(P.NONCE, 1, 1),
      r(P.CERTREQ, 0, MAX_CERTREQ),
      r(P.VENDOR, 0, MAX_VENDOR),
    ],
  },
  [`${X.IKE_AUTH}:request`]: {
    encrypted: true,
    payloads: [
      r(P.NOTIFY, 0, MAX_NOTIFY),
      r(P.EAP, 0, 1, true),
      r(P.AUTH, 0, 1, true),
      r(P.IDi, 0, 1),
      r(P.CERT, 0, MAX_CERT),
      r(P.CERTREQ, 0, MAX_CERTREQ),
      r(P.IDr, 0, 1),
      r(P.SA, 0, 1),
      r(P.TSi, 0, 1),
      r(P.TSr, 0, 1),
      r(P.CP, 0, 1),
      r(P.VENDOR, 0, MAX_VENDOR),
    ],
  },
  [`${X.IKE_AUTH}:response`]: {
    encrypted: true,
    payloads: [
      r(P.NOTIFY, 0, MAX_NOTIFY, true),
      r(P.EAP, 0, 1, true),
      r(P.AUTH, 0, 1, true),
      r(P.CERT, 0, MAX_CERT),
      r(P.IDr, 0, 1),
      r(P.SA, 0, 1),
      r(P.TSi, 0, 1),
      r(P.TSr, 0, 1),
      r(P.CP, 0, 1),
      r(P.VENDOR, 0, MAX_VENDOR),
    ],
  },
  [`${X.CREATE_CHILD_SA}:request`]: {
    encrypted: true,
    payloads: [
      r(P.NOTIFY, 0, MAX_NOTIFY),
      r(P.SA, 1, 1),
      r(P.NONCE, 1, 1),
      r(P.KE, 0, 1),
      r(P.TSi, 0, 1),
      r(P.TSr, 0, 1),
      r(P.CP, 0, 1),
      r(P.VENDOR, 0, MAX_VENDOR),
    ],
  },
  [`${X.CREATE_CHILD_SA}:response`]: {
    encrypted: true,
    payloads: [
      r(P.NOTIFY, 0, MAX_NOTIFY, true),
      r(P.SA, 1, 1),
      r(P.NONCE, 1, 1),
      r(P.KE, 0, 1),
      r(P.TSi, 0, 1),
      r(P.TSr, 0, 1),
      r(P.CP, 0, 1),
      r(P.VENDOR, 0, MAX_VENDOR),
    ],
  },
  [`${X.INFORMATIONAL}:request`]: {
    encrypted: true,
    payloads: [r(P.NOTIFY, 0, MAX_NOTIFY), r(P.CP, 0, 1), r(P.DELETE, 0, MAX_DELETE), r(P.VENDOR, 0, MAX_VENDOR)],
  },
  [`${X.INFORMATIONAL}:response`]: {
    encrypted: true,
    payloads: [r(P.NOTIFY, 0, MAX_NOTIFY), r(P.CP, 0, 1), r(P.DELETE, 0, MAX_DELETE), r(P.VENDOR, 0, MAX_VENDOR)],
  },
};

export const ruleFor = (exchange: number, isResponse: boolean): MessageRule | undefined =>
  messageRules[`${exchange}:${isResponse ? 'response' : 'request'}`];

const isSk = (p: Payload) => !isUnknown(p) && (p.type === P.SK || p.type === P.SKF);

function checkCounts(rule: MessageRule, payloads: Payload[], where: string): WireError | undefined {
  let complete = false;
  for (const pr of rule.payloads) {
    // counted without a filtered copy per rule: this runs on every message received
    let found = 0;
    for (const p of payloads) if (p.type === pr.type && !isUnknown(p)) found++;
    if (found > pr.max) return new WireError('TOO_MANY', `${where}: ${found} ${payloadName(pr.type)} payloads, at most ${pr.max}`, pr.type);
    if (!complete && found < pr.min) return new WireError('BAD_SYNTAX', `${where}: ${payloadName(pr.type)} payload missing`, pr.type);
    if (found && pr.sufficient) complete = true;
  }
  return undefined;
}

/**
 * undefined if the message fits its exchange's rules, else the error to answer with (INVALID_SYNTAX).
 * For protected exchanges pass the decrypted (reassembled) inner payloads as `inner` once available.
 */
export function checkMessageRules(exchange: number, isResponse: boolean, outer: Payload[], inner?: Payload[]): WireError | undefined {
  const rule = ruleFor(exchange, isResponse);
  const where = `${charonExchangeName(exchange)} ${isResponse ? 'response' : 'request'}`;
  if (!rule) return new WireError('BAD_EXCHANGE', `no message rules for exchange type ${exchange}`);
  if (!rule.encrypted) {
    const sk = outer.find(isSk);
    if (sk) return new WireError('BAD_SYNTAX', `${where}: unexpected encrypted payload`, sk.type);
    return checkCounts(rule, outer, where);
  }
  // Protected exchange: SK or SKF alone outside (unknown non-critical payloads are skipped, as always).
  const plain = outer.find((p) => !isUnknown(p) && !isSk(p));
  if (plain) return new WireError('BAD_SYNTAX', `${where}: ${payloadName(plain.type)} payload was not encrypted`, plain.type);
  if (!outer.some(isSk)) return new WireError('BAD_SYNTAX', `${where}: no encrypted payload`, P.SK);
  if (!inner) return undefined;
  const nested = inner.find(isSk);
  if (nested) return new WireError('BAD_SYNTAX', `${where}: encrypted payload inside the encrypted payload`, nested.type);
  return checkCounts(rule, inner, where);
}
