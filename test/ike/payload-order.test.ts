// Payloads sorted into charon's order, checked against "generating" lines of the real charon logs in
// test/fixtures/charon-logs, from shuffles of the same payloads.
import { describe, expect, it } from 'vitest';
import { notify } from '../../src/ike/notifies.js';
import { bracketed, orderPayloads } from '../../src/ike/payload-order.js';
import { ExchangeType as X, Notify as N, PayloadType as P } from '../../src/wire/constants.js';
import type { Payload } from '../../src/wire/types.js';

const pl = (type: number): Payload => ({ type }) as Payload;
const nt = (notifyType: number): Payload => notify(notifyType);

/**
 * Deterministic shuffles (a fixed LCG: the same cases on every run) that keep the notifies in their relative order:
 * like charon's tables, ours place notifies without an entry of their own where [NOTIFY, 0] is, in the order the
 * tasks added them (which is charon's order of adding them), so only that order is given.
 */
function shuffles(ps: Payload[], count: number): Payload[][] {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const notifies = ps.filter((p) => p.type === P.NOTIFY);
  return Array.from({ length: count }, () => {
    const a = ps.slice();
    for (let i = a.length - 1; i > 0; i--) {
      const j = rnd(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    let k = 0;
    return a.map((p) => (p.type === P.NOTIFY ? notifies[k++]! : p));
  });
}

/** What charon's IKE_SA_INIT request and response both carry, in its order; each adds its own notifies after. */
const INIT_COMMON = [
  pl(P.SA),
  pl(P.KE),
  pl(P.NONCE),
  nt(N.NAT_DETECTION_SOURCE_IP),
  nt(N.NAT_DETECTION_DESTINATION_IP),
  nt(N.IKEV2_FRAGMENTATION_SUPPORTED),
  nt(N.SIGNATURE_HASH_ALGORITHMS),
];

// [exchange, response?, payloads, the charon line's payload list]
const CASES: [string, number, boolean, Payload[], string][] = [
  [
    'IKE_SA_INIT request',
    X.IKE_SA_INIT,
    false,
    [...INIT_COMMON, nt(N.REDIRECT_SUPPORTED)],
    '[ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(REDIR_SUP) ]',
  ],
  [
    'IKE_SA_INIT response',
    X.IKE_SA_INIT,
    true,
    [...INIT_COMMON, nt(N.CHILDLESS_IKEV2_SUPPORTED), nt(N.MULTIPLE_AUTH_SUPPORTED)],
    '[ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(CHDLESS_SUP) N(MULT_AUTH) ]',
  ],
  [
    'IKE_AUTH request',
    X.IKE_AUTH,
    false,
    [
      pl(P.IDi),
      nt(N.INITIAL_CONTACT),
      pl(P.IDr),
      pl(P.AUTH),
      pl(P.SA),
      pl(P.TSi),
      pl(P.TSr),
      nt(N.MOBIKE_SUPPORTED),
      nt(N.NO_ADDITIONAL_ADDRESSES),
      nt(N.MULTIPLE_AUTH_SUPPORTED),
      nt(N.EAP_ONLY_AUTHENTICATION),
      nt(N.IKEV2_MESSAGE_ID_SYNC_SUPPORTED),
    ],
    '[ IDi N(INIT_CONTACT) IDr AUTH SA TSi TSr N(MOBIKE_SUP) N(NO_ADD_ADDR) N(MULT_AUTH) N(EAP_ONLY) N(MSG_ID_SYN_SUP) ]',
  ],
  [
    'IKE_AUTH response',
    X.IKE_AUTH,
    true,
    [pl(P.IDr), pl(P.AUTH), pl(P.SA), pl(P.TSi), pl(P.TSr), nt(N.MOBIKE_SUPPORTED), nt(N.NO_ADDITIONAL_ADDRESSES)],
    '[ IDr AUTH SA TSi TSr N(MOBIKE_SUP) N(NO_ADD_ADDR) ]',
  ],
  ['CREATE_CHILD_SA response', X.CREATE_CHILD_SA, true, [pl(P.SA), pl(P.NONCE), pl(P.KE), pl(P.TSi), pl(P.TSr)], '[ SA No KE TSi TSr ]'],
];

describe('orderPayloads', () => {
  for (const [name, exchange, isResponse, payloads, charon] of CASES) {
    it(`puts a ${name} into charon's order from any order`, () => {
      // payloads already in order come back as they are (and as a new array, which callers may change)
      const same = orderPayloads(exchange, isResponse, payloads);
      expect(bracketed(same)).toBe(charon);
      expect(same).not.toBe(payloads);
      for (const input of shuffles(payloads, 50)) expect(bracketed(orderPayloads(exchange, isResponse, input))).toBe(charon);
    });
  }

  it('keeps notifies of one type and payloads no rule names in their own order, the unnamed last', () => {
    const a = nt(N.MOBIKE_SUPPORTED);
    const b = nt(N.MOBIKE_SUPPORTED);
    const unknownA = pl(200);
    const unknownB = pl(201);
    const out = orderPayloads(X.IKE_AUTH, true, [unknownA, b, pl(P.TSr), a, unknownB, pl(P.IDr)]);
    expect(out.map((p) => p.type)).toEqual([P.IDr, P.TSr, P.NOTIFY, P.NOTIFY, 200, 201]);
    expect(out[2]).toBe(b);
    expect(out[3]).toBe(a);
  });

  it('puts a notify with a place of its own there, every other notify at [NOTIFY, 0]', () => {
    // IKE_SA_INIT request: N(COOKIE) first, NAT-D after No, any other notify after those and before V
    const out = orderPayloads(X.IKE_SA_INIT, false, [
      pl(P.VENDOR),
      nt(N.IKEV2_FRAGMENTATION_SUPPORTED),
      pl(P.NONCE),
      nt(N.NAT_DETECTION_SOURCE_IP),
      pl(P.SA),
      nt(N.COOKIE),
    ]);
    expect(bracketed(out)).toBe('[ N(COOKIE) SA No N(NATD_S_IP) N(FRAG_SUP) V ]');
  });

  it('leaves an exchange without a table as it is', () => {
    const ps = [pl(P.NONCE), pl(P.SA)];
    expect(orderPayloads(99, false, ps)).toBe(ps);
  });
});
