// Message rules (charon message.c table): what may appear in which exchange, and whether it must be inside SK.

import { describe, expect, it } from 'vitest';
import { ExchangeType as X, Notify, PayloadType as P } from '../../src/wire/constants.js';
import { checkMessageRules } from '../../src/wire/rules.js';
import type { Payload } from '../../src/wire/types.js';
import { samples } from './samples.js';

const n = (notifyType: number): Payload => ({ type: P.NOTIFY, protocol: 0, spi: Buffer.alloc(0), notifyType, data: Buffer.alloc(0) });
const s = samples as Record<string, Payload>;
const SK = s.SK!;
const code = (e: ReturnType<typeof checkMessageRules>) => e?.code;

describe('checkMessageRules', () => {
  it('accepts IKE_SA_INIT as charon sends it, and error-only responses', () => {
    expect(checkMessageRules(X.IKE_SA_INIT, false, [s.SA!, s.KE!, s.No!, n(Notify.NAT_DETECTION_SOURCE_IP), s.V!])).toBeUndefined();
    expect(checkMessageRules(X.IKE_SA_INIT, false, [n(Notify.COOKIE), s.SA!, s.KE!, s.No!])).toBeUndefined();
    expect(checkMessageRules(X.IKE_SA_INIT, true, [n(Notify.NO_PROPOSAL_CHOSEN)])).toBeUndefined();
    expect(checkMessageRules(X.IKE_SA_INIT, true, [s.SA!, s.KE!, s.No!, s.CERTREQ!])).toBeUndefined();
  });

  it('requires SA, KE and Nonce in an IKE_SA_INIT request', () => {
    expect(code(checkMessageRules(X.IKE_SA_INIT, false, [s.SA!, s.No!]))).toBe('BAD_SYNTAX');
    expect(code(checkMessageRules(X.IKE_SA_INIT, false, [n(Notify.COOKIE)]))).toBe('BAD_SYNTAX');
    expect(code(checkMessageRules(X.IKE_SA_INIT, false, [s.SA!, s.SA!, s.KE!, s.No!]))).toBe('TOO_MANY');
  });

  it('forbids SK in IKE_SA_INIT and plain payloads outside SK elsewhere', () => {
    expect(code(checkMessageRules(X.IKE_SA_INIT, false, [s.SA!, s.KE!, s.No!, SK]))).toBe('BAD_SYNTAX');
    expect(code(checkMessageRules(X.IKE_AUTH, false, [s.IDi!, SK]))).toBe('BAD_SYNTAX');
    expect(code(checkMessageRules(X.INFORMATIONAL, false, [n(Notify.INITIAL_CONTACT)]))).toBe('BAD_SYNTAX');
    expect(code(checkMessageRules(X.INFORMATIONAL, false, []))).toBe('BAD_SYNTAX');
    expect(checkMessageRules(X.IKE_AUTH, false, [s.UNKNOWN!, SK])).toBeUndefined();
    expect(checkMessageRules(X.IKE_AUTH, false, [s.SKF!])).toBeUndefined();
  });

  it('checks the inner payloads of protected exchanges', () => {
    const authReq = [s.IDi!, n(Notify.INITIAL_CONTACT), s.IDr!, s.AUTH!, s.SA!, s.TSi!, s.TSr!, n(Notify.MOBIKE_SUPPORTED)];
    expect(checkMessageRules(X.IKE_AUTH, false, [SK], authReq)).toBeUndefined();
    expect(checkMessageRules(X.IKE_AUTH, true, [SK], [n(Notify.AUTHENTICATION_FAILED)])).toBeUndefined();
    expect(code(checkMessageRules(X.IKE_AUTH, false, [SK], [...authReq, s.AUTH!]))).toBe('TOO_MANY');
    expect(code(checkMessageRules(X.IKE_AUTH, false, [SK], [SK]))).toBe('BAD_SYNTAX');
    // CREATE_CHILD_SA: SA and Nonce required in requests; a response may be a lone error notify.
    expect(checkMessageRules(X.CREATE_CHILD_SA, false, [SK], [n(Notify.REKEY_SA), s.SA!, s.No!, s.TSi!, s.TSr!])).toBeUndefined();
    expect(code(checkMessageRules(X.CREATE_CHILD_SA, false, [SK], [n(Notify.REKEY_SA), s.SA!]))).toBe('BAD_SYNTAX');
    expect(checkMessageRules(X.CREATE_CHILD_SA, true, [SK], [n(Notify.NO_PROPOSAL_CHOSEN)])).toBeUndefined();
    expect(checkMessageRules(X.INFORMATIONAL, true, [SK], [])).toBeUndefined();
    expect(checkMessageRules(X.INFORMATIONAL, false, [SK], [s.D!, s.D_IKE!, s.V!])).toBeUndefined();
    // Like charon, payloads an exchange does not list are left for the tasks to ignore.
    expect(checkMessageRules(X.INFORMATIONAL, false, [SK], [s.KE!])).toBeUndefined();
    const manyNotifies = Array.from({ length: 21 }, () => n(Notify.NO_ADDITIONAL_ADDRESSES));
    expect(code(checkMessageRules(X.INFORMATIONAL, false, [SK], manyNotifies))).toBe('TOO_MANY');
  });

  it('has no rules for unknown exchanges', () => {
    expect(code(checkMessageRules(43, false, [SK]))).toBe('BAD_EXCHANGE');
  });
});
