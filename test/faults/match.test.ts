// Matching, one criterion at a time, through the engine (a rule fires or passes), plus the time window on a
// fake clock and whether an action can act on a message at all.
import { describe, expect, test } from 'vitest';
import { ExchangeType as X, Notify, PayloadType as P } from '../../src/wire/constants.js';
import type { IkeMessageCtx } from '../../src/faults/model.js';
import { BAR, BAZ, authReq, deleteReq, engineWith, esp, ike, initReq, liveness, rekeyReq } from './helpers.js';

/** Does `--match M --action drop` fire on ctx received (or sent)? Each call uses a fresh engine. */
function fires(match: string, ctx: IkeMessageCtx, dir: 'in' | 'out' = 'in', action = 'drop'): boolean {
  const { engine } = engineWith({ match, action });
  return (dir === 'in' ? engine.onIkeReceive(ctx) : engine.onIkeSend(ctx)).kind !== 'pass';
}

describe('criteria', () => {
  test('no criteria: everything the action can act on', () => {
    expect(fires('', liveness())).toBe(true);
    expect(fires('', initReq(), 'out')).toBe(true);
  });

  test('ike (connection name) and ike-id (IKE_SA unique id)', () => {
    expect(fires('ike=bar', liveness())).toBe(true);
    expect(fires('ike=bar', liveness(7, { ike: BAZ }))).toBe(false);
    expect(fires('ike-id=2', liveness(7, { ike: BAZ }))).toBe(true);
    expect(fires('ike-id=2', liveness())).toBe(false);
    expect(fires('ike=baz,ike-id=1', liveness(7, { ike: BAZ }))).toBe(false);
  });

  test('dir', () => {
    expect(fires('dir=in', liveness(), 'in')).toBe(true);
    expect(fires('dir=in', liveness(), 'out')).toBe(false);
    expect(fires('dir=out', liveness(), 'out')).toBe(true);
    expect(fires('dir=out', liveness(), 'in')).toBe(false);
  });

  test('exchange', () => {
    expect(fires('exchange=INFORMATIONAL', liveness())).toBe(true);
    expect(fires('exchange=IKE_AUTH', liveness())).toBe(false);
    expect(fires('exchange=IKE_AUTH', authReq())).toBe(true);
    expect(fires('exchange=34', initReq())).toBe(true);
  });

  test('request / response', () => {
    expect(fires('request', liveness())).toBe(true);
    expect(fires('response', liveness())).toBe(false);
    expect(fires('response', liveness(7, { isResponse: true }))).toBe(true);
    expect(fires('request', liveness(7, { isResponse: true }))).toBe(false);
  });

  test('mid', () => {
    expect(fires('mid=7', liveness(7))).toBe(true);
    expect(fires('mid=7', liveness(8))).toBe(false);
  });

  test('payload: all of them present; unknown payloads never match', () => {
    expect(fires('payload=KE', rekeyReq())).toBe(true);
    expect(fires('payload=KE+No+SA', rekeyReq())).toBe(true);
    expect(fires('payload=KE+D', rekeyReq())).toBe(false);
    expect(fires('payload=D', deleteReq())).toBe(true);
    expect(fires('payload=D', ike({ payloads: undefined }))).toBe(false);
  });

  test('notify: all of them present', () => {
    expect(fires('notify=NAT_DETECTION_SOURCE_IP', initReq())).toBe(true);
    expect(fires('notify=NAT_DETECTION_SOURCE_IP+NAT_DETECTION_DESTINATION_IP', initReq())).toBe(true);
    expect(fires('notify=COOKIE', initReq())).toBe(false);
    expect(fires('notify=COOKIE', ike({ payloads: [P.NOTIFY], notifies: [Notify.COOKIE] }))).toBe(true);
  });

  test('empty: only liveness checks (an INFORMATIONAL with no payload at all)', () => {
    const dpdOnly = 'exchange=INFORMATIONAL,request,empty';
    expect(fires(dpdOnly, liveness())).toBe(true);
    expect(fires(dpdOnly, deleteReq())).toBe(false);
    expect(fires(dpdOnly, liveness(7, { isResponse: true }))).toBe(false);
    expect(fires(dpdOnly, authReq())).toBe(false);
    expect(fires(dpdOnly, ike({ payloads: undefined }))).toBe(false);
    expect(fires('empty=no', deleteReq())).toBe(true);
    expect(fires('empty=no', liveness())).toBe(false);
  });

  test('retransmit', () => {
    expect(fires('retransmit', liveness(7, { retransmit: true }))).toBe(true);
    expect(fires('retransmit', liveness())).toBe(false);
    expect(fires('retransmit=no', liveness())).toBe(true);
    expect(fires('retransmit=no', liveness(7, { retransmit: true }))).toBe(false);
  });

  test('layers: IKE rules ignore ESP packets and ESP rules IKE messages; child narrows ESP rules', () => {
    const { engine } = engineWith(
      { name: 'ike', match: 'dir=out', action: 'drop' },
      { name: 'esp', match: 'proto=esp,child=net', action: 'delay=5ms' },
    );
    expect(engine.onEspSeal(esp())).toMatchObject({ kind: 'delay', rule: 'esp' });
    expect(engine.onEspSeal(esp({ child: 'other' })).kind).toBe('pass');
    expect(engine.onIkeSend(liveness())).toMatchObject({ kind: 'drop', rule: 'ike' });
    expect(engine.onKeepalive({ ike: BAR }).kind).toBe('pass');
  });
});

describe('time window (after / for), from when the rule was added, on an injected clock', () => {
  test('after=10s,for=30s: waiting, active, expired', () => {
    const { engine, clock } = engineWith({ name: 'w', match: 'after=10s,for=30s', action: 'drop' });
    expect(engine.list()[0]!.state).toBe('waiting');
    clock.advance(9_999);
    expect(engine.onIkeReceive(liveness()).kind).toBe('pass');
    clock.advance(1);
    expect(engine.list()[0]!.state).toBe('active');
    expect(engine.onIkeReceive(liveness()).kind).toBe('drop');
    clock.advance(29_999);
    expect(engine.onIkeReceive(liveness()).kind).toBe('drop');
    clock.advance(1);
    expect(engine.onIkeReceive(liveness()).kind).toBe('pass');
    expect(engine.list()[0]).toMatchObject({ state: 'expired', fired: 2, seen: 2 });
  });

  test('for= alone bounds the rule from the start; after= alone never ends', () => {
    const { engine, clock } = engineWith(
      { name: 'for', match: 'for=1s', action: 'drop' },
      { name: 'after', match: 'after=1s', action: 'delay=1ms' },
    );
    expect(engine.onIkeReceive(liveness())).toMatchObject({ rule: 'for' });
    clock.advance(1000);
    expect(engine.onIkeReceive(liveness())).toMatchObject({ rule: 'after' });
    clock.advance(86_400_000);
    expect(engine.onIkeReceive(liveness())).toMatchObject({ rule: 'after' });
  });

  test('a rule added later starts its window then (the engine clock, never Date.now)', () => {
    const { engine, clock } = engineWith();
    clock.advance(50_000);
    engine.add({ name: 'late', match: { layer: 'ike', afterMs: 1000 }, action: { type: 'drop' } });
    expect(engine.onIkeReceive(liveness()).kind).toBe('pass');
    clock.advance(1000);
    expect(engine.onIkeReceive(liveness()).kind).toBe('drop');
  });
});

describe('what an action can act on (not counted, not fired otherwise)', () => {
  test.each([
    ['ke=omit', rekeyReq(), 'out', true],
    ['ke=omit', rekeyReq(3, { payloads: [P.SA, P.NONCE, P.TSi, P.TSr] }), 'out', false],
    ['ke=omit', ike({ exchange: X.CREATE_CHILD_SA, payloads: undefined }), 'out', true],
    ['ke=omit', authReq(), 'out', false],
    ['ke=omit', rekeyReq(3, { retransmit: true }), 'out', false],
    ['notify=TS_UNACCEPTABLE', authReq(), 'in', true],
    ['notify=TS_UNACCEPTABLE', { ...authReq(), isResponse: true }, 'in', false],
    ['notify=TS_UNACCEPTABLE', { ...authReq(), isResponse: true }, 'out', true],
    ['notify=TS_UNACCEPTABLE', authReq(), 'out', false],
    ['corrupt', initReq(), 'out', false],
    ['corrupt', authReq(), 'out', true],
    ['unknown-payload,sk', initReq(), 'out', false],
    ['unknown-payload', initReq(), 'out', true],
    ['no-retransmit', liveness(), 'out', false],
    ['no-retransmit', liveness(7, { retransmit: true }), 'out', true],
    ['no-delete', deleteReq(), 'out', true],
    ['no-delete', liveness(), 'out', false],
    ['no-delete', { ...deleteReq(), isResponse: true }, 'out', false],
    ['wrong-mid', liveness(7, { retransmit: true }), 'out', false],
    ['replay=forward', liveness(), 'in', true],
    ['replay=forward', liveness(), 'out', false],
  ] as [string, IkeMessageCtx, 'in' | 'out', boolean][])('%s on %j %s -> %s', (action, ctx, dir, want) => {
    expect(fires('', ctx, dir, action)).toBe(want);
  });
});
