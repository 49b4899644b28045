// The order in which charon emits payloads, per exchange and direction (read from strongSwan's message.c
// order tables). Tasks add payloads in whatever order suits them; the manager sorts before encoding, so our
// "generating ... [ ... ]" lines and the bytes on the wire look like charon's. Entry [type, notify] matches a
// notify of that type; [NOTIFY, 0] matches every other notify.
import { ExchangeType as X, Notify as N, PayloadType as P } from '../wire/constants.js';
import type { NotifyPayload, Payload } from '../wire/types.js';
import { describePayloads } from '../wire/names.js';

type Order = ReadonlyArray<readonly [number, number]>;

const initI: Order = [
  [P.NOTIFY, N.COOKIE],
  [P.SA, 0],
  [P.KE, 0],
  [P.NONCE, 0],
  [P.NOTIFY, N.NAT_DETECTION_SOURCE_IP],
  [P.NOTIFY, N.NAT_DETECTION_DESTINATION_IP],
  [P.NOTIFY, 0],
  [P.VENDOR, 0],
];
const initR: Order = [
  [P.SA, 0],
  [P.KE, 0],
  [P.NONCE, 0],
  [P.NOTIFY, N.NAT_DETECTION_SOURCE_IP],
  [P.NOTIFY, N.NAT_DETECTION_DESTINATION_IP],
  [P.NOTIFY, N.HTTP_CERT_LOOKUP_SUPPORTED],
  [P.CERTREQ, 0],
  [P.NOTIFY, 0],
  [P.VENDOR, 0],
];
const childNotifies: Order = [
  [P.NOTIFY, N.IPCOMP_SUPPORTED],
  [P.NOTIFY, N.USE_TRANSPORT_MODE],
  [P.NOTIFY, N.ESP_TFC_PADDING_NOT_SUPPORTED],
  [P.NOTIFY, N.NON_FIRST_FRAGMENTS_ALSO],
];
const mobike: Order = [
  [P.NOTIFY, N.MOBIKE_SUPPORTED],
  [P.NOTIFY, N.ADDITIONAL_IP4_ADDRESS],
  [P.NOTIFY, N.ADDITIONAL_IP6_ADDRESS],
  [P.NOTIFY, N.NO_ADDITIONAL_ADDRESSES],
];
const authI: Order = [
  [P.IDi, 0],
  [P.CERT, 0],
  [P.NOTIFY, N.INITIAL_CONTACT],
  [P.NOTIFY, N.HTTP_CERT_LOOKUP_SUPPORTED],
  [P.CERTREQ, 0],
  [P.IDr, 0],
  [P.AUTH, 0],
  [P.EAP, 0],
  [P.CP, 0],
  ...childNotifies,
  [P.SA, 0],
  [P.TSi, 0],
  [P.TSr, 0],
  ...mobike,
  [P.NOTIFY, 0],
  [P.VENDOR, 0],
];
const authR: Order = [
  [P.IDr, 0],
  [P.CERT, 0],
  [P.AUTH, 0],
  [P.EAP, 0],
  [P.CP, 0],
  ...childNotifies,
  [P.SA, 0],
  [P.TSi, 0],
  [P.TSr, 0],
  [P.NOTIFY, N.AUTH_LIFETIME],
  ...mobike,
  [P.NOTIFY, 0],
  [P.VENDOR, 0],
];
const info: Order = [
  [P.NOTIFY, N.UPDATE_SA_ADDRESSES],
  [P.NOTIFY, N.NAT_DETECTION_SOURCE_IP],
  [P.NOTIFY, N.NAT_DETECTION_DESTINATION_IP],
  [P.NOTIFY, N.COOKIE2],
  [P.NOTIFY, 0],
  [P.DELETE, 0],
  [P.CP, 0],
];
const childI: Order = [[P.NOTIFY, N.REKEY_SA], ...childNotifies, [P.SA, 0], [P.NONCE, 0], [P.KE, 0], [P.TSi, 0], [P.TSr, 0], [P.NOTIFY, 0]];
const childR: Order = [
  ...childNotifies,
  [P.SA, 0],
  [P.NONCE, 0],
  [P.KE, 0],
  [P.TSi, 0],
  [P.TSr, 0],
  [P.NOTIFY, N.ADDITIONAL_TS_POSSIBLE],
  [P.NOTIFY, 0],
];

const tables: Record<number, [Order, Order]> = {
  [X.IKE_SA_INIT]: [initI, initR],
  [X.IKE_AUTH]: [authI, authR],
  [X.CREATE_CHILD_SA]: [childI, childR],
  [X.INFORMATIONAL]: [info, info],
};

// IOS XE's order where its `debug crypto ikev2` "Payload contents" were seen (docs/PROFILES.md): vendor IDs right
// after the nonce in IKE_SA_INIT and first in IKE_AUTH, the status notifies last. Other exchanges keep charon's.
const iosInit: Order = [
  [P.NOTIFY, N.COOKIE],
  [P.SA, 0],
  [P.KE, 0],
  [P.NONCE, 0],
  [P.VENDOR, 0],
  [P.NOTIFY, N.NAT_DETECTION_SOURCE_IP],
  [P.NOTIFY, N.NAT_DETECTION_DESTINATION_IP],
  [P.CERTREQ, 0],
  [P.NOTIFY, 0],
];
const iosAuthNotifies: Order = [
  [P.NOTIFY, N.INITIAL_CONTACT],
  [P.NOTIFY, N.SET_WINDOW_SIZE],
  [P.NOTIFY, N.ESP_TFC_PADDING_NOT_SUPPORTED],
  [P.NOTIFY, N.NON_FIRST_FRAGMENTS_ALSO],
  [P.NOTIFY, 0],
];
const iosAuthI: Order = [
  [P.VENDOR, 0],
  [P.IDi, 0],
  [P.CERT, 0],
  [P.CERTREQ, 0],
  [P.IDr, 0],
  [P.AUTH, 0],
  [P.CP, 0],
  [P.SA, 0],
  [P.TSi, 0],
  [P.TSr, 0],
  ...iosAuthNotifies,
];
const iosAuthR: Order = [
  [P.VENDOR, 0],
  [P.IDr, 0],
  [P.CERT, 0],
  [P.AUTH, 0],
  [P.CP, 0],
  [P.SA, 0],
  [P.TSi, 0],
  [P.TSr, 0],
  ...iosAuthNotifies,
];

const iosTables: Record<number, [Order, Order]> = {
  ...tables,
  [X.IKE_SA_INIT]: [iosInit, iosInit],
  [X.IKE_AUTH]: [iosAuthI, iosAuthR],
};

/**
 * An Order turned into O(1) lookups, made once per table: ranking used to walk the table with entries() per payload
 * and build a Set per message, some 12 KB of garbage per IKE_SA setup (issue 16's allocation profile).
 */
interface Ranks {
  /** A payload type's first entry (notifies excluded). */
  byType: Map<number, number>;
  /** A notify type's first entry of its own. */
  byNotify: Map<number, number>;
  /** The first [NOTIFY, 0] entry: every notify without an entry of its own. */
  otherNotify: number;
  /** Where payloads no entry names go (after all, in their own order). */
  unnamed: number;
}

const ranksOf = new WeakMap<Order, Ranks>();

function ranks(order: Order): Ranks {
  let r = ranksOf.get(order);
  if (r) return r;
  r = { byType: new Map(), byNotify: new Map(), otherNotify: order.length, unnamed: order.length };
  for (let i = order.length - 1; i >= 0; i--) {
    // walked backwards so the first entry of a kind is the one left in the map
    const [pt, n] = order[i]!;
    if (pt !== P.NOTIFY) r.byType.set(pt, i);
    else if (n !== 0) r.byNotify.set(n, i);
    else r.otherNotify = i;
  }
  ranksOf.set(order, r);
  return r;
}

function rankOf(r: Ranks, p: Payload): number {
  if (p.type !== P.NOTIFY) return r.byType.get(p.type) ?? r.unnamed;
  return r.byNotify.get((p as NotifyPayload).notifyType) ?? r.otherNotify;
}

/**
 * Stable sort of payloads into charon's order (or IOS's, for a profile with its habits); payloads no rule names keep
 * their relative order at the end.
 */
export function orderPayloads(exchange: number, isResponse: boolean, payloads: Payload[], style: 'charon' | 'ios' = 'charon'): Payload[] {
  const t = (style === 'ios' ? iosTables : tables)[exchange];
  if (!t) return payloads;
  const r = ranks(t[isResponse ? 1 : 0]);
  const rank = payloads.map((p) => rankOf(r, p));
  let sorted = true;
  for (let i = 1; i < rank.length && sorted; i++) sorted = rank[i - 1]! <= rank[i]!;
  if (sorted) return payloads.slice();
  const idx = payloads.map((_, i) => i).sort((a, b) => rank[a]! - rank[b]! || a - b);
  return idx.map((i) => payloads[i]!);
}

/** charon's payload list in "generating"/"parsed" lines: "[ SA KE No ]", and "[ ]" when empty. */
export function bracketed(payloads: Payload[]): string {
  const d = describePayloads(payloads);
  return d ? `[ ${d} ]` : '[ ]';
}
