// The `collide` action: its syntax, where it may act, the decision and its log line, and the nonce choice that
// decides the collision it makes. The choice is checked against RFC 7296 2.8.1 as both implementations apply it:
// ikelab's ChildRekey (lowerOf per exchange, our exchange's lower nonce below the peer's: we lost) and charon 5.9.8
// (child_create.c get_lower_nonce, child_rekey.c handle_collision: memcmp over the shorter length, > 0 won),
// re-stated here from reading them, for peer nonces drawn at random.
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { formatRule } from '../../src/faults/format.js';
import { parseFaultsYaml } from '../../src/faults/yaml.js';
import { parseRuleTexts } from '../../src/faults/parse.js';
import { lowerOf } from '../../src/ike/child-setup.js';
import { collideNonces } from '../../src/ike/receive-faults.js';
import { ExchangeType as X, Notify, PayloadType as P } from '../../src/wire/constants.js';
import { engineWith, liveness, rekeyReq } from './helpers.js';

const peerRekey = (mid = 4, over = {}) =>
  rekeyReq(mid, {
    payloads: [P.NOTIFY, P.SA, P.NONCE, P.KE, P.TSi, P.TSr],
    notifies: [Notify.REKEY_SA],
    rekeys: { child: 'net', label: 'net{2}' },
    ...over,
  });

describe('collide: syntax', () => {
  test('CLI and YAML forms, canonical text back', () => {
    const r = parseRuleTexts({ name: 'coll', match: 'exchange=CREATE_CHILD_SA', action: 'collide=win', count: 1 });
    expect(r.action).toEqual({ type: 'collide', outcome: 'win' });
    expect(r.match.layer).toBe('ike');
    expect(formatRule(r)).toBe('--match exchange=CREATE_CHILD_SA --action collide=win --count 1');
    expect(parseRuleTexts({ action: 'collide=LOSE' }).action).toEqual({ type: 'collide', outcome: 'lose' });
    const [y] = parseFaultsYaml([{ name: 'coll', action: { collide: 'lose' } }]);
    expect(y!.action).toEqual({ type: 'collide', outcome: 'lose' });
  });

  test.each([
    [{ action: 'collide' }, /a value: win .* or lose/],
    [{ action: 'collide=maybe' }, /win .* or lose/],
    [{ match: 'dir=out', action: 'collide=win' }, /dir=in for collide/],
    [{ match: 'exchange=INFORMATIONAL', action: 'collide=win' }, /CREATE_CHILD_SA for collide/],
    [{ match: 'response', action: 'collide=win' }, /no response with collide/],
    [{ match: 'retransmit', action: 'collide=win' }, /retransmit left out \(or no\) for collide/],
    [{ match: 'proto=esp', action: 'collide=win' }, /proto=ike for collide/],
  ])('refused: %o', (t, msg) => {
    expect(() => parseRuleTexts(t)).toThrow(msg);
  });
});

describe('collide: the decision', () => {
  test('fires on the peer rekey request naming one of our CHILD_SAs: line and event name the CHILD_SA', () => {
    const { engine, clock } = engineWith({ name: 'coll', action: 'collide=win' });
    const d = engine.onIkeReceive(peerRekey());
    if (d.kind !== 'collide') throw new Error(d.kind);
    expect(d.outcome).toBe('win');
    expect(d.rule).toBe('coll');
    expect(d.firing.text).toBe("fault 'coll': starting a rekey of CHILD_SA net{2} to collide with the peer's (ikelab's will win)");
    expect(d.firing.event).toEqual({
      event: 'fault.fired',
      rule: 'coll',
      action: 'collide=win',
      point: 'ike-receive',
      direction: 'in',
      ike: 'bar',
      ikeId: 1,
      exchange: 'CREATE_CHILD_SA',
      role: 'request',
      messageId: 4,
      child: 'net',
      fired: 1,
      at: clock.t,
    });
    const lose = engineWith({ name: 'c2', action: 'collide=lose' }).engine.onIkeReceive(peerRekey());
    expect(lose.kind !== 'pass' && lose.firing.text).toBe(
      "fault 'c2': starting a rekey of CHILD_SA net{2} to collide with the peer's (the peer's will win)",
    );
  });

  test.each([
    ['a CREATE_CHILD_SA without REKEY_SA (new CHILD_SA, IKE_SA rekey)', rekeyReq(4)],
    ['a rekey of a CHILD_SA we do not know (nothing to collide with)', peerRekey(4, { rekeys: undefined })],
    ["the peer's retransmit", peerRekey(4, { retransmit: true })],
    [
      'a rekey that came while ours could not start (the rule waits for the next)',
      peerRekey(4, { rekeys: { child: 'net', label: 'net{2}', busy: 'an exchange of ours is in flight' } }),
    ],
    ['a response', peerRekey(4, { isResponse: true })],
    ['an undecryptable message (payloads unknown)', peerRekey(4, { payloads: undefined, notifies: undefined, rekeys: undefined })],
    ['another exchange', liveness(4, { rekeys: { child: 'net', label: 'net{2}' } })],
  ])('does not act on %s, nor count it', (_what, ctx) => {
    const { engine } = engineWith({ name: 'coll', action: 'collide=win' });
    expect(engine.onIkeReceive(ctx).kind).toBe('pass');
    expect(engine.list()[0]!.seen).toBe(0);
  });

  test('never at the send point', () => {
    const { engine } = engineWith({ action: 'collide=win' });
    expect(engine.active('ike-send')).toBe(false);
    expect(engine.onIkeSend(peerRekey()).kind).toBe('pass');
    expect(engine.active('ike-receive')).toBe(true);
  });

  test('--count 1: the next rekey goes alone', () => {
    const { engine } = engineWith({ action: 'collide=lose', count: 1 });
    expect(engine.onIkeReceive(peerRekey(4)).kind).toBe('collide');
    expect(engine.onIkeReceive(peerRekey(5)).kind).toBe('pass');
  });
  test('exchange constant', () => expect(peerRekey().exchange).toBe(X.CREATE_CHILD_SA));
});

describe('collide: the nonces decide, on both implementations', () => {
  // ikelab (child-rekey.ts processI): we lost when our exchange's lower nonce is below the peer's exchange's
  const ikelabWins = (myExchange: Buffer, peerExchange: Buffer) => Buffer.compare(myExchange, peerExchange) >= 0;
  // charon 5.9.8: get_lower_nonce = memcmp(my, other, min len) < 0 ? my : other; won when memcmp(this, other) > 0
  const memcmp = (a: Buffer, b: Buffer) =>
    Buffer.compare(a.subarray(0, Math.min(a.length, b.length)), b.subarray(0, Math.min(a.length, b.length)));
  const charonLower = (mine: Buffer, other: Buffer) => (memcmp(mine, other) < 0 ? mine : other);
  const charonWins = (thisEx: Buffer, otherEx: Buffer) => memcmp(thisEx, otherEx) > 0;

  for (const outcome of ['win', 'lose'] as const) {
    test(`${outcome}: ${outcome === 'win' ? "ikelab's" : "the peer's"} rekey survives on both sides, for any peer nonces`, () => {
      for (let i = 0; i < 500; i++) {
        const plan = collideNonces(outcome);
        // the peer's nonces: its request (peer's exchange) and its response to ours (our exchange); charon uses 32
        const peerNi = randomBytes(32);
        const peerNr = randomBytes(i % 2 ? 32 : 16 + (i % 17));
        const ours = lowerOf(plan.initiator, peerNr);
        const theirs = lowerOf(peerNi, plan.responder);
        expect(ikelabWins(ours, theirs)).toBe(outcome === 'win');
        // charon sees the same two exchanges the other way round
        const cThis = charonLower(peerNi, plan.responder);
        const cOther = charonLower(peerNr, plan.initiator);
        expect(charonWins(cThis, cOther)).toBe(outcome === 'lose');
      }
    });
  }

  test('one-shot values: a plan is a fresh copy each time', () => {
    const a = collideNonces('win');
    a.responder.fill(7);
    expect(collideNonces('win').responder.equals(Buffer.alloc(32, 0))).toBe(true);
    expect(collideNonces('lose').initiator.equals(Buffer.alloc(32, 0))).toBe(true);
  });
});
