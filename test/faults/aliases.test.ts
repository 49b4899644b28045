// libreswan impair names map to the rules documented in src/faults/aliases.ts, and behave like libreswan's.
import { describe, expect, test } from 'vitest';
import { parseImpair } from '../../src/faults/aliases.js';
import { FaultSyntaxError } from '../../src/faults/errors.js';
import { FaultEngine } from '../../src/faults/engine.js';
import { formatRule } from '../../src/faults/format.js';
import { FakeClock, authReq, deleteReq, liveness, rekeyReq } from './helpers.js';

const one = (item: string): string => {
  const rules = parseImpair([item]);
  expect(rules).toHaveLength(1);
  return `${rules[0]!.name} ${formatRule(rules[0]!)}`;
};

describe('the alias table', () => {
  test.each([
    ['drop-incoming:3', 'impair:drop-incoming:3 --match dir=in,retransmit=no,nth=3 --action drop'],
    ['drop-outgoing=2', 'impair:drop-outgoing:2 --match dir=out,retransmit=no,nth=2 --action drop'],
    ['jacob-two-two', 'impair:jacob-two-two --match dir=out --action duplicate,gap=500ms'],
    ['replay-duplicates', 'impair:replay-duplicates --match dir=in --action duplicate'],
    ['replay-forward', 'impair:replay-forward --match dir=in --action replay=forward'],
    ['replay-backward', 'impair:replay-backward --match dir=in --action replay=backward'],
    ['corrupt-encrypted', 'impair:corrupt-encrypted --match dir=in --action corrupt=iv'],
    ['ke-payload:omit', 'impair:ke-payload:omit --match dir=out --action ke=omit'],
    ['ke-payload:empty', 'impair:ke-payload:empty --match dir=out --action ke=empty'],
    ['ke-payload:7', 'impair:ke-payload:7 --match dir=out --action ke=fill:7'],
    ['suppress-retransmits', 'impair:suppress-retransmits --match dir=out,request,retransmit --action no-retransmit'],
    ['send-no-delete', 'impair:send-no-delete --match dir=out --action no-delete'],
    [
      'add-unknown-v2-payload-to:IKE_AUTH',
      'impair:add-unknown-v2-payload-to:IKE_AUTH --match dir=out,exchange=IKE_AUTH --action unknown-payload',
    ],
    [
      'add-unknown-v2-payload-to-sk:CREATE_CHILD_SA',
      'impair:add-unknown-v2-payload-to-sk:CREATE_CHILD_SA --match dir=out,exchange=CREATE_CHILD_SA --action unknown-payload,sk',
    ],
  ])('%s', (item, want) => {
    expect(one(item)).toBe(want);
  });

  test('libreswan spellings: case, _ for -, = or : before the value, :yes on switches', () => {
    expect(one('SUPPRESS_RETRANSMITS')).toBe(one('suppress-retransmits'));
    expect(one('jacob_two_two:yes')).toBe(one('jacob-two-two'));
    expect(formatRule(parseImpair(['add_unknown_v2_payload_to=ike-sa-init'])[0]!)).toBe(
      '--match dir=out,exchange=IKE_SA_INIT --action unknown-payload',
    );
  });

  test('unknown-v2-payload-critical marks the unknown payload rules of the same list critical, in any order', () => {
    const rules = parseImpair(['unknown-v2-payload-critical', 'add-unknown-v2-payload-to:IKE_SA_INIT', 'send-no-delete']);
    expect(rules.map(formatRule)).toEqual([
      '--match dir=out,exchange=IKE_SA_INIT --action unknown-payload,critical',
      '--match dir=out --action no-delete',
    ]);
  });

  test.each([
    [
      'drop-incomming:3',
      /^--impair: expected one of drop-incoming, .*, got unknown impair "drop-incomming" \(did you mean "drop-incoming"\?\)$/,
    ],
    ['revival', /unknown impair "revival"/],
    [
      'drop-incoming',
      /^--impair drop-incoming: expected drop-incoming:HOW, HOW being the message number N \(1 = the first message\), got no value$/,
    ],
    ['drop-incoming:0', /^--impair drop-incoming: expected a message number 1 or more, got "0"$/],
    ['ke-payload:300', /^--impair ke-payload: expected omit, empty or a fill byte 0..255, got "300"$/],
    ['ke-payload:duplicate', /^--impair ke-payload: .*\(a KE payload sent twice has no ikelab equivalent\)$/],
    ['add-unknown-v2-payload-to:IKE_WHATEVER', /^--impair add-unknown-v2-payload-to: expected IKE_SA_INIT, IKE_AUTH/],
    ['add-unknown-v2-payload-to-sk:IKE_SA_INIT', /IKE_SA_INIT has no SK payload/],
    ['jacob-two-two:3', /^--impair jacob-two-two: expected yes or no, got "3"$/],
    ['no-jacob-two-two', /^--impair no-jacob-two-two: expected an impairment to switch on.*clear its rule by name\)$/],
    ['send-no-delete:no', /expected an impairment to switch on/],
    [
      'unknown-v2-payload-critical',
      /^--impair unknown-v2-payload-critical: expected unknown-v2-payload-critical together with add-unknown-v2-payload-to/,
    ],
  ])('refuses %s', (item, msg) => {
    expect(() => parseImpair([item])).toThrow(FaultSyntaxError);
    expect(() => parseImpair([item])).toThrow(msg);
  });
});

describe('the aliases behave like libreswan', () => {
  const engineOf = (...items: string[]): FaultEngine => {
    const e = new FaultEngine({ now: new FakeClock().now });
    for (const r of parseImpair(items)) e.add(r);
    return e;
  };

  test('drop-incoming:2 drops the second message once; its retransmit gets through', () => {
    const e = engineOf('drop-incoming:2');
    expect(
      [
        e.onIkeReceive(liveness(0)),
        e.onIkeReceive(liveness(1)),
        e.onIkeReceive(liveness(1, { retransmit: true })),
        e.onIkeReceive(liveness(2)),
      ].map((d) => d.kind),
    ).toEqual(['pass', 'drop', 'pass', 'pass']);
    expect(e.onIkeSend(liveness(3)).kind).toBe('pass');
  });

  test('jacob-two-two: every outgoing message twice, half a second apart; nothing incoming', () => {
    const e = engineOf('jacob-two-two');
    expect(e.onIkeSend(authReq())).toMatchObject({ kind: 'duplicate', copies: 1, gapMs: 500 });
    expect(e.onIkeReceive(authReq()).kind).toBe('pass');
  });

  test('suppress-retransmits: first transmissions go, retransmits do not', () => {
    const e = engineOf('suppress-retransmits');
    expect(e.onIkeSend(liveness()).kind).toBe('pass');
    expect(e.onIkeSend(liveness(7, { retransmit: true }))).toMatchObject({ kind: 'drop' });
    expect(e.onIkeSend(liveness(7, { retransmit: true, isResponse: true })).kind).toBe('pass');
  });

  test('send-no-delete only touches DELETE requests; ke-payload every outgoing KE', () => {
    const e = engineOf('send-no-delete', 'ke-payload:omit');
    expect(e.onIkeSend(deleteReq()).kind).toBe('no-delete');
    expect(e.onIkeSend(liveness()).kind).toBe('pass');
    expect(e.onIkeSend(rekeyReq())).toMatchObject({ kind: 'ke', mode: 'omit' });
  });
});
