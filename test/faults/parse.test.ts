// The CLI rule syntax: every documented form is accepted and prints back canonically; unknown keys, values and
// actions are refused with the option, what was expected, what was given and the closest known word.
import { describe, expect, test } from 'vitest';
import { FaultSyntaxError } from '../../src/faults/errors.js';
import { formatRule } from '../../src/faults/format.js';
import { parseRuleTexts, type RuleTexts } from '../../src/faults/parse.js';
import { DhGroup, ExchangeType as X, Notify, PayloadType as P } from '../../src/wire/constants.js';

const rule = (match: string, action: string, more: Partial<RuleTexts> = {}) => parseRuleTexts({ match, action, ...more });
const err = (match: string, action: string, more: Partial<RuleTexts> = {}): string => {
  try {
    rule(match, action, more);
  } catch (e) {
    expect(e).toBeInstanceOf(FaultSyntaxError);
    return (e as Error).message;
  }
  throw new Error(`accepted --match ${match} --action ${action}`);
};

describe('--match', () => {
  test('the issue example: every criterion at once', () => {
    const r = rule('exchange=INFORMATIONAL,dir=in,request,empty,nth=3,after=10s,for=30s,prob=0.3,seed=42,ike=bar', 'drop');
    expect(r.match).toEqual({
      layer: 'ike',
      exchange: X.INFORMATIONAL,
      dir: 'in',
      role: 'request',
      empty: true,
      nth: 3,
      afterMs: 10_000,
      forMs: 30_000,
      prob: 0.3,
      seed: 42,
      ike: 'bar',
    });
  });

  test.each([
    ['ike-id=3', { ikeId: 3 }],
    ['ike_id=3', { ikeId: 3 }],
    ['IKE=bar', { ike: 'bar' }],
    ['exchange=create-child-sa', { exchange: X.CREATE_CHILD_SA }],
    ['exchange=ike_auth', { exchange: X.IKE_AUTH }],
    ['exchange=37', { exchange: 37 }],
    ['response', { role: 'response' }],
    ['request=yes', { role: 'request' }],
    ['mid=4294967295', { messageId: 0xffff_ffff }],
    ['payload=KE+No', { payloads: [P.KE, P.NONCE] }],
    ['payload=nonce+d+TSi', { payloads: [P.NONCE, P.DELETE, P.TSi] }],
    ['payload=200', { payloads: [200] }],
    ['notify=INVALID_KE_PAYLOAD+cookie', { notifies: [Notify.INVALID_KE_PAYLOAD, Notify.COOKIE] }],
    ['empty=no', { empty: false }],
    ['retransmit', { retransmit: true }],
    ['retransmit=no', { retransmit: false }],
    ['after=1500ms', { afterMs: 1500 }],
    ['after=0.5s', { afterMs: 500 }],
    ['for=2m', { forMs: 120_000 }],
    ['for=1h', { forMs: 3_600_000 }],
    ['prob=30%', { prob: 0.3, seed: 1 }],
    ['prob=1', { prob: 1, seed: 1 }],
    ['prob=.25,seed=0', { prob: 0.25, seed: 0 }],
    ['', {}],
    [' dir = out , nth = 2 ', { dir: 'out', nth: 2 }],
  ] as [string, object][])('%s', (text, want) => {
    expect(rule(text, 'drop').match).toEqual({ layer: 'ike', ...want });
  });

  test('ESP criteria: proto=esp, child; the layer follows esp-* actions', () => {
    expect(rule('proto=esp,child=net,dir=out,prob=5%,seed=7', 'drop').match).toEqual({
      layer: 'esp',
      child: 'net',
      dir: 'out',
      prob: 0.05,
      seed: 7,
    });
    expect(rule('', 'esp-replay=3').match.layer).toBe('esp');
    expect(rule('', 'ke=omit').match.layer).toBe('ike');
  });

  test.each([
    ['exchnage=INFORMATIONAL', /^--match: expected one of proto, ike, .*, got unknown key "exchnage" \(did you mean "exchange"\?\)$/],
    ['direction=in', /unknown key "direction"/],
    ['dir=inbound', /^--match dir: expected in \(received\) or out \(sent\), got "inbound"$/],
    ['exchange=INFO', /^--match exchange: expected IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL or a number 0..255, got "INFO"$/],
    ['exchange=300', /--match exchange: expected .* got "300"/],
    ['payload=KX', /^--match payload: expected a payload name .* got "KX"$/],
    ['notify=BOGUS', /^--match notify: expected a notify name/],
    ['nth=0', /^--match nth: expected a count from 1/],
    ['nth=two', /--match nth/],
    ['mid=-1', /^--match mid: expected a message ID/],
    ['after=10', /^--match after: expected a duration with a unit: 400ms, 10s, 2m or 1h, got "10" \(a bare number has no unit\)$/],
    ['after=10d', /--match after: expected a duration/],
    ['for=0s', /--match for: expected a duration .* 1ms to 7 days/],
    ['prob=0', /^--match prob: expected a probability 0 < p <= 1/],
    ['prob=1.5', /--match prob/],
    ['prob=150%', /--match prob/],
    ['seed=3', /^--match seed: expected seed only together with prob/],
    ['prob=0.5,seed=-1', /--match seed: expected a seed/],
    ['request,response', /^--match response: expected request or response, not both/],
    ['request=no', /^--match request: expected a flag .* \(to exclude it, give response instead\)$/],
    ['empty,payload=KE', /^--match empty: expected empty without payload=/],
    ['empty=maybe', /^--match empty: expected yes or no, got "maybe"$/],
    ['proto=ah', /^--match proto: expected ike or esp, got "ah"$/],
    ['dir=in,dir=out', /^--match dir: expected each key once, got it twice$/],
    ['dir=', /^--match dir: expected a value after =/],
    ['dir=in,,nth=2', /^--match: expected key=value or flag items separated by single commas, got "dir=in,,nth=2" \(item 2 is empty\)$/],
    ['=in', /^--match: expected key=value, got "=in" \(no key before =\)$/],
    ['ike=a b', /^--match ike: expected a connection name/],
  ])('refuses %s', (text, msg) => {
    expect(err(text, 'drop')).toMatch(msg);
  });

  test('IKE criteria in an ESP rule and ESP criteria in an IKE rule are refused', () => {
    expect(err('proto=esp,exchange=IKE_AUTH', 'drop')).toBe(
      '--match exchange: expected no exchange in an ESP rule (exchange is about IKE messages)',
    );
    expect(err('empty', 'esp-replay')).toMatch(/^--match empty: expected no empty in an ESP rule/);
    expect(err('child=net', 'drop')).toBe('--match child: expected no child in an IKE rule (child is about ESP packets)');
    expect(err('proto=esp', 'ke=omit')).toMatch(/^--match proto: expected proto=ike for ke$/);
    expect(err('proto=ike', 'esp-seq-jump=5')).toMatch(/^--match proto: expected proto=esp for esp-seq-jump$/);
  });
});

describe('--action', () => {
  test.each([
    ['drop', { type: 'drop' }],
    ['DROP', { type: 'drop' }],
    ['delay=400ms', { type: 'delay', ms: 400 }],
    ['delay=2s', { type: 'delay', ms: 2000 }],
    ['duplicate', { type: 'duplicate', copies: 1, gapMs: 0 }],
    ['duplicate=3,gap=500ms', { type: 'duplicate', copies: 3, gapMs: 500 }],
    ['reorder', { type: 'reorder', after: 1, maxMs: 10_000 }],
    ['reorder=65,max=2s', { type: 'reorder', after: 65, maxMs: 2000 }],
    ['corrupt', { type: 'corrupt', where: 'icv' }],
    ['corrupt=iv', { type: 'corrupt', where: 'iv' }],
    ['truncate=100', { type: 'truncate', keep: 100 }],
    ['truncate=-4', { type: 'truncate', keep: -4 }],
    ['notify=NO_PROPOSAL_CHOSEN', { type: 'notify', notify: Notify.NO_PROPOSAL_CHOSEN }],
    ['notify=ts-unacceptable', { type: 'notify', notify: Notify.TS_UNACCEPTABLE }],
    ['notify=INVALID_KE_PAYLOAD:19', { type: 'notify', notify: Notify.INVALID_KE_PAYLOAD, group: 19 }],
    ['notify=INVALID_KE_PAYLOAD:modp2048', { type: 'notify', notify: Notify.INVALID_KE_PAYLOAD, group: DhGroup.MODP_2048 }],
    ['notify=INVALID_KE_PAYLOAD,group=ecp256', { type: 'notify', notify: Notify.INVALID_KE_PAYLOAD, group: DhGroup.ECP_256 }],
    ['notify=AUTHENTICATION_FAILED', { type: 'notify', notify: Notify.AUTHENTICATION_FAILED }],
    ['notify=TEMPORARY_FAILURE', { type: 'notify', notify: Notify.TEMPORARY_FAILURE }],
    ['notify=INVALID_SYNTAX', { type: 'notify', notify: Notify.INVALID_SYNTAX }],
    ['notify=36', { type: 'notify', notify: 36 }],
    ['ke=omit', { type: 'ke', mode: 'omit' }],
    ['ke=empty', { type: 'ke', mode: 'empty' }],
    ['ke=group:19', { type: 'ke', mode: 'group', group: 19 }],
    ['ke=group:curve25519', { type: 'ke', mode: 'group', group: DhGroup.CURVE_25519 }],
    ['ke=fill:7', { type: 'ke', mode: 'fill', byte: 7 }],
    ['unknown-payload', { type: 'unknown-payload', payloadType: 255, critical: false, sk: false }],
    ['unknown-payload=200,critical,sk', { type: 'unknown-payload', payloadType: 200, critical: true, sk: true }],
    ['unknown_payload,critical=no', { type: 'unknown-payload', payloadType: 255, critical: false, sk: false }],
    ['wrong-spi', { type: 'wrong-spi' }],
    ['wrong-mid', { type: 'wrong-mid', offset: 1 }],
    ['wrong-mid=-2', { type: 'wrong-mid', offset: -2 }],
    ['wrong-mid=+5', { type: 'wrong-mid', offset: 5 }],
    ['wrong-mid=7', { type: 'wrong-mid', value: 7 }],
    ['no-retransmit', { type: 'no-retransmit' }],
    ['no-delete', { type: 'no-delete' }],
    ['replay=forward', { type: 'replay', order: 'forward' }],
    ['replay=backward', { type: 'replay', order: 'backward' }],
    ['dead', { type: 'dead' }],
    ['esp-replay', { type: 'esp-replay', count: 1 }],
    ['esp-replay=3', { type: 'esp-replay', count: 3 }],
    ['esp-seq-jump=1000', { type: 'esp-seq-jump', by: 1000 }],
  ])('%s', (text, want) => {
    expect(rule('', text).action).toEqual(want);
  });

  test.each([
    ['dorp', /^--action: expected one of drop, delay, .*, got unknown action "dorp" \(did you mean "drop"\?\)$/],
    ['', /^--action: expected an action: drop, delay, .*, got nothing$/],
    ['delay', /^--action delay: expected a value: a duration such as 400ms, got none$/],
    ['delay=400', /^--action delay: expected a duration with a unit: 400ms, 10s, 2m or 1h, got "400" \(a bare number has no unit\)$/],
    ['delay=0ms', /^--action delay: expected a duration .*1ms to 7 days/],
    ['drop=3', /^--action drop: expected drop without a value, got "3"$/],
    ['drop,gap=1s', /^--action drop: expected no options, got "gap"$/],
    ['duplicate=2,gapp=1s', /^--action duplicate: expected one of gap, got unknown option "gapp" \(did you mean "gap"\?\)$/],
    ['duplicate=11', /^--action duplicate: expected a number of extra copies 1..10, got "11"$/],
    ['gap=1s,duplicate', /^--action: expected the action first, then its options, got "gap"$/],
    ['drop,delay=1s', /^--action: expected one action per rule, got drop and delay \(add one rule per action\)$/],
    ['corrupt=tag', /^--action corrupt: expected icv or iv, got "tag"$/],
    ['truncate', /^--action truncate: expected a value/],
    ['truncate=big', /^--action truncate: expected bytes to keep/],
    ['notify=INVALID_KE_PAYLOAD', /^--action notify: expected INVALID_KE_PAYLOAD:GROUP, got "INVALID_KE_PAYLOAD" \(RFC 7296 3.10.1/],
    ['notify=COOKIE', /^--action notify: expected an error notify name .* got "COOKIE" \(COOKIE is a status notify, not an error\)$/],
    ['notify=NO_SUCH_THING', /^--action notify: expected an error notify name/],
    [
      'notify=TS_UNACCEPTABLE:19',
      /^--action notify: expected TS_UNACCEPTABLE without a group, got "TS_UNACCEPTABLE:19" \(only INVALID_KE_PAYLOAD carries one\)$/,
    ],
    ['notify=INVALID_KE_PAYLOAD:19,group=20', /^--action notify: expected the group once/],
    ['notify=INVALID_KE_PAYLOAD:ecp999', /^--action notify: expected a DH group number/],
    [
      'ke=19',
      /^--action ke: expected omit, empty, group:N or fill:BYTE, got "19" \(write group:N for another DH group, fill:N for KE data filled with byte N\)$/,
    ],
    ['ke=fill:256', /^--action ke: expected a byte value 0..255, got "256"$/],
    ['ke=group', /^--action ke: expected omit, empty, group:N or fill:BYTE/],
    ['unknown-payload=0', /^--action unknown-payload: expected a payload type 1..255/],
    ['unknown-payload,critical=maybe', /^--action critical: expected yes or no, got "maybe"$/],
    ['wrong-mid=+0', /^--action wrong-mid: expected a non-zero offset/],
    ['replay', /^--action replay: expected a value: forward \(old to new\) or backward/],
    ['replay=sideways', /^--action replay: expected forward or backward, got "sideways"$/],
    ['esp-replay=65', /^--action esp-replay: expected how many of the last packets to replay, 1..64/],
    ['esp-seq-jump', /^--action esp-seq-jump: expected a value/],
  ])('refuses %s', (text, msg) => {
    expect(err('', text)).toMatch(msg);
  });
});

describe('match and action together', () => {
  test.each([
    ['dir=in', 'ke=omit', /^--match dir: expected dir=out for ke \(it changes what this daemon sends\)$/],
    ['dir=in', 'wrong-spi', /^--match dir: expected dir=out for wrong-spi/],
    ['dir=out', 'replay=forward', /^--match dir: expected dir=in for replay \(it acts on what this daemon receives\)$/],
    [
      'exchange=IKE_AUTH',
      'ke=group:19',
      /^--match exchange: expected IKE_SA_INIT or CREATE_CHILD_SA for ke \(IKE_AUTH carries no KE payload\)$/,
    ],
    [
      'exchange=IKE_SA_INIT',
      'corrupt',
      /^--match exchange: expected an encrypted exchange for corrupt=icv \(IKE_SA_INIT has no SK payload\)$/,
    ],
    ['exchange=IKE_SA_INIT', 'unknown-payload,sk', /^--match exchange: expected an encrypted exchange/],
    ['exchange=IKE_AUTH', 'no-delete', /^--match exchange: expected INFORMATIONAL for no-delete/],
    ['response', 'no-delete', /^--match response: expected no response with no-delete/],
    ['retransmit=no', 'no-retransmit', /^--match retransmit: expected retransmit left out/],
    ['dir=in,response', 'notify=TEMPORARY_FAILURE', /^--match response: expected request with dir=in for notify/],
    ['dir=out,request', 'notify=TEMPORARY_FAILURE', /^--match request: expected response with dir=out for notify/],
    [
      'ike=bar,dir=in',
      'dead',
      /^--match dir: expected only ike, ike-id, after, for with dead \(dead drops everything of the IKE_SA: IKE, keepalives and ESP, both ways\)$/,
    ],
    ['proto=esp', 'dead', /^--match proto: expected only ike, ike-id, after, for with dead/],
  ])('refuses --match %s --action %s', (match, action, msg) => {
    expect(err(match, action)).toMatch(msg);
  });

  test('dead takes no count: it lasts until cleared or its window ends', () => {
    expect(err('ike=bar', 'dead', { count: 1 })).toMatch(/^--count: expected no count with dead/);
    expect(rule('ike=bar,after=5s,for=1m', 'dead').match).toEqual({ layer: 'ike', ike: 'bar', afterMs: 5000, forMs: 60_000 });
  });

  test('--count and --name', () => {
    expect(rule('', 'drop', { count: '3', name: 'dpd-loss' })).toMatchObject({ name: 'dpd-loss', count: 3 });
    expect(rule('', 'drop', { count: 2 }).count).toBe(2);
    expect(err('', 'drop', { count: '0' })).toMatch(/^--count: expected how often the rule may fire, 1 or more, got "0"$/);
    expect(err('', 'drop', { name: 'has space' })).toMatch(/^--name: expected a rule name/);
    expect(err('', 'drop', { name: '-x' })).toMatch(/^--name: expected a rule name/);
  });
});

describe('canonical text', () => {
  const forms: [string, string, string][] = [
    [
      'exchange=INFORMATIONAL,dir=in,request,empty,nth=3,after=10s,for=30s,prob=0.3,seed=42,ike=bar',
      'drop',
      '--match ike=bar,dir=in,exchange=INFORMATIONAL,request,empty,nth=3,after=10s,for=30s,prob=0.3,seed=42 --action drop',
    ],
    ['', 'delay=400ms', '--action delay=400ms'],
    ['prob=30%', 'duplicate=1,gap=0.5s', '--match prob=0.3,seed=1 --action duplicate,gap=500ms'],
    ['exchange=create_child_sa,dir=out', 'ke=group:ecp256', '--match dir=out,exchange=CREATE_CHILD_SA --action ke=group:19'],
    ['', 'notify=invalid-ke-payload:19', '--action notify=INVALID_KE_PAYLOAD:19'],
    ['payload=nonce+ke', 'drop', '--match payload=No+KE --action drop'],
    ['payload=idi+TSR+e', 'drop', '--match payload=IDi+TSr+E --action drop'],
    ['payload=49', 'drop', '--match payload=49 --action drop'],
    ['notify=16390', 'drop', '--match notify=COOKIE --action drop'],
    ['proto=esp,child=net', 'drop', '--match proto=esp,child=net --action drop'],
    ['', 'esp-replay=3', '--action esp-replay=3'],
    ['empty=no,retransmit=no', 'wrong-mid=-1', '--match empty=no,retransmit=no --action wrong-mid=-1'],
    ['after=90s', 'reorder=2,max=10s', '--match after=90s --action reorder=2'],
    ['', 'unknown-payload=255,sk', '--action unknown-payload,sk'],
  ];
  test.each(forms)('--match %s --action %s', (match, action, text) => {
    const r = rule(match, action);
    expect(formatRule(r)).toBe(text);
  });

  test('format -> parse gives the same rule back', () => {
    for (const [match, action] of forms) {
      const r = rule(match, action, { count: 4 });
      const text = formatRule(r);
      const m = /^(?:--match (\S+) )?--action (\S+) --count (\d+)$/.exec(text)!;
      expect(parseRuleTexts({ match: m[1], action: m[2]!, count: m[3] })).toEqual(r);
    }
  });
});
