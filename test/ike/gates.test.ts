// The state gates as a table: which exchange a message may carry in which IKE_SA state and role.
import { describe, expect, test } from 'vitest';
import { requestGate, responseGate, type GateView } from '../../src/ike/gates.js';
import type { IkeState } from '../../src/ike/ike-sa.js';
import { ExchangeType as X } from '../../src/wire/constants.js';

const view = (state: IkeState, initiator = false, hasKeys = true): GateView => ({ state, initiator, hasKeys });
const req = (exchange: number, fromInitiator = true) => ({ exchange, initiator: fromInitiator, response: false });
const resp = (exchange: number) => ({ exchange, initiator: false, response: true });

describe('requestGate (we are the responder, the peer the original initiator)', () => {
  test.each([
    [X.IKE_SA_INIT, 'CREATED', false, true],
    [X.IKE_SA_INIT, 'CREATED', true, false], // keys already derived: never again
    [X.IKE_SA_INIT, 'CONNECTING', true, false],
    [X.IKE_SA_INIT, 'ESTABLISHED', true, false],
    [X.IKE_AUTH, 'CREATED', false, false],
    [X.IKE_AUTH, 'CONNECTING', true, true],
    [X.IKE_AUTH, 'ESTABLISHED', true, false],
    [X.CREATE_CHILD_SA, 'CONNECTING', true, false],
    [X.CREATE_CHILD_SA, 'ESTABLISHED', true, true],
    [X.CREATE_CHILD_SA, 'REKEYING', true, true],
    [X.INFORMATIONAL, 'CREATED', false, false],
    [X.INFORMATIONAL, 'CONNECTING', true, false],
    [X.INFORMATIONAL, 'REKEYED', true, true],
    [X.INFORMATIONAL, 'DELETING', true, true],
    [X.INFORMATIONAL, 'DESTROYING', true, false],
    [43, 'ESTABLISHED', true, false],
  ] as const)('exchange %i in %s (keys: %s): open = %s', (exchange, state, keys, open) => {
    expect(requestGate(view(state, false, keys), req(exchange)) === undefined).toBe(open);
  });

  test('as original initiator we never accept IKE_SA_INIT or IKE_AUTH requests', () => {
    expect(requestGate(view('CREATED', true, false), req(X.IKE_SA_INIT, false))).toBeDefined();
    expect(requestGate(view('CONNECTING', true), req(X.IKE_AUTH, false))).toBeDefined();
    expect(requestGate(view('ESTABLISHED', true), req(X.INFORMATIONAL, false))).toBeUndefined();
  });

  test('a request whose I flag names us as the original initiator is dropped', () => {
    expect(requestGate(view('ESTABLISHED', true), req(X.INFORMATIONAL, true))).toBe('wrong Initiator flag');
    expect(requestGate(view('ESTABLISHED', false), req(X.INFORMATIONAL, false))).toBe('wrong Initiator flag');
  });
});

describe('responseGate (we are the original initiator)', () => {
  test('an IKE_SA_INIT response answers only an IKE_SA_INIT request, and the reverse', () => {
    const v = view('ESTABLISHED', true);
    expect(responseGate(v, resp(X.IKE_SA_INIT), X.INFORMATIONAL)).toMatch(/IKE_SA_INIT response, but expected INFORMATIONAL/);
    expect(responseGate(view('CREATED', true, false), resp(X.INFORMATIONAL), X.IKE_SA_INIT)).toBeDefined();
    expect(responseGate(view('CREATED', true, false), resp(X.IKE_SA_INIT), X.IKE_SA_INIT)).toBeUndefined();
  });

  test('protected responses of another protected exchange are left to the ICV check', () => {
    expect(responseGate(view('ESTABLISHED', true), resp(X.IKE_AUTH), X.INFORMATIONAL)).toBeUndefined();
  });

  test('a response claiming we are the responder is dropped', () => {
    expect(responseGate(view('ESTABLISHED', true), { exchange: X.INFORMATIONAL, initiator: true, response: true }, X.INFORMATIONAL)).toBe(
      'wrong Initiator flag',
    );
  });
});
