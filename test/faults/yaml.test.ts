// The YAML form of fault rules: the same shape as the CLI, validated with errors that name the key path.
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { FaultSyntaxError } from '../../src/faults/errors.js';
import { formatRule } from '../../src/faults/format.js';
import { parseRuleTexts } from '../../src/faults/parse.js';
import { parseFaultsYaml } from '../../src/faults/yaml.js';

const load = (text: string) => parseFaultsYaml(parse(text).faults);
const err = (text: string): string => {
  try {
    load(text);
  } catch (e) {
    expect(e).toBeInstanceOf(FaultSyntaxError);
    return (e as Error).message;
  }
  throw new Error('accepted');
};

describe('faults: in YAML', () => {
  test('the documented example equals its CLI form', () => {
    const rules = load(`
faults:
  - name: dpd-loss
    match: { exchange: INFORMATIONAL, dir: in, request: true, empty: true, nth: 3, after: 10s, for: 30s, prob: 0.3, seed: 42, ike: bar }
    action: drop
    count: 1
`);
    expect(rules).toEqual([
      parseRuleTexts({
        name: 'dpd-loss',
        match: 'exchange=INFORMATIONAL,dir=in,request,empty,nth=3,after=10s,for=30s,prob=0.3,seed=42,ike=bar',
        action: 'drop',
        count: 1,
      }),
    ]);
  });

  test('every spelling of an action: name, CLI text, mapping with its options', () => {
    const rules = load(`
faults:
  - { action: drop }
  - { action: "delay=400ms" }
  - { action: { delay: 400ms } }
  - { action: { duplicate: 2, gap: 500ms } }
  - { action: { notify: INVALID_KE_PAYLOAD, group: 19 } }
  - { action: { notify: "INVALID_KE_PAYLOAD:19" } }
  - { action: { unknown_payload: 200, critical: true, sk: true } }
  - { action: { drop: } }
  - { action: { esp_replay: 3 } }
  - { action: { wrong-mid: "+2" } }
  - { action: { wrong-mid: 7 } }
`);
    expect(rules.map(formatRule)).toEqual([
      '--action drop',
      '--action delay=400ms',
      '--action delay=400ms',
      '--action duplicate=2,gap=500ms',
      '--action notify=INVALID_KE_PAYLOAD:19',
      '--action notify=INVALID_KE_PAYLOAD:19',
      '--action unknown-payload=200,critical,sk',
      '--action drop',
      '--action esp-replay=3',
      '--action wrong-mid=+2',
      '--action wrong-mid=7',
    ]);
  });

  test('match as a mapping (snake_case keys, lists) or as CLI text', () => {
    const rules = load(`
faults:
  - match: { ike_id: 3, exchange: CREATE_CHILD_SA, dir: out, request: true, payload: [SA, KE], retransmit: false }
    action: "ke=group:19"
  - match: "exchange=CREATE_CHILD_SA,dir=out,request,payload=SA+KE,retransmit=no,ike-id=3"
    action: { ke: "group:19" }
  - match: { proto: esp, child: net, prob: 5%, seed: 7 }
    action: drop
`);
    expect(formatRule(rules[0]!)).toBe(formatRule(rules[1]!));
    expect(formatRule(rules[0]!)).toBe(
      '--match ike-id=3,dir=out,exchange=CREATE_CHILD_SA,request,payload=SA+KE,retransmit=no --action ke=group:19',
    );
    expect(formatRule(rules[2]!)).toBe('--match proto=esp,child=net,prob=0.05,seed=7 --action drop');
  });

  test('no faults key, or an empty one: no rules', () => {
    expect(parseFaultsYaml(undefined)).toEqual([]);
    expect(parseFaultsYaml(null)).toEqual([]);
    expect(load('faults: []')).toEqual([]);
  });

  test.each([
    ['faults: { name: x }', /^faults: expected a list of rules \(\{ name, match, action, count \}\), got a mapping$/],
    ['faults: [drop]', /^faults\[0\]: expected a rule: a mapping with name, match, action and count, got "drop"$/],
    ['faults: [ { name: a } ]', /^faults\[0\]\.action: expected an action \(drop, delay: 400ms, \.\.\.\), got nothing$/],
    [
      'faults: [ { action: drop, acton: drop } ]',
      /^faults\[0\]: expected one of name, match, action, count, got unknown key "acton" \(did you mean "action"\?\)$/,
    ],
    [
      'faults: [ { action: drop }, { action: { dorp: true } } ]',
      /^faults\[1\]\.action: expected one of drop, .*got unknown action "dorp" \(did you mean "drop"\?\)$/,
    ],
    [
      'faults: [ { action: drop, match: { exchnage: IKE_AUTH } } ]',
      /^faults\[0\]\.match: expected one of proto, .* got unknown key "exchnage" \(did you mean "exchange"\?\)$/,
    ],
    [
      'faults: [ { action: drop, match: { dir: inbound } } ]',
      /^faults\[0\]\.match\.dir: expected in \(received\) or out \(sent\), got "inbound"$/,
    ],
    [
      'faults: [ { action: drop, match: { after: 10 } } ]',
      /^faults\[0\]\.match\.after: expected a duration with a unit: 400ms, 10s, 2m or 1h, got 10 \(a bare number has no unit\)$/,
    ],
    ['faults: [ { action: drop, match: { payload: [KE, KX] } } ]', /^faults\[0\]\.match\.payload\[1\]: expected a payload name/],
    ['faults: [ { action: drop, match: { request: false } } ]', /^faults\[0\]\.match\.request: expected a flag/],
    [
      'faults: [ { action: drop, match: [dir, in] } ]',
      /^faults\[0\]\.match: expected a mapping of criteria \(or the CLI text form\), got a list$/,
    ],
    [
      'faults: [ { action: { delay: 400 } } ]',
      /^faults\[0\]\.action\.delay: expected a duration with a unit.*got 400 \(a bare number has no unit\)$/,
    ],
    ['faults: [ { action: { delay: 1s, drop: true } } ]', /^faults\[0\]\.action: expected one action per rule, got delay and drop/],
    [
      'faults: [ { action: { duplicate: 2, gapp: 1s } } ]',
      /^faults\[0\]\.action\.duplicate: expected one of gap, got unknown option "gapp"/,
    ],
    ['faults: [ { action: { notify: INVALID_KE_PAYLOAD } } ]', /^faults\[0\]\.action\.notify: expected INVALID_KE_PAYLOAD:GROUP/],
    ['faults: [ { action: { ke: omit }, match: { dir: in } } ]', /^faults\[0\]\.match\.dir: expected dir=out for ke/],
    ['faults: [ { action: drop, count: 0 } ]', /^faults\[0\]\.count: expected how often the rule may fire, 1 or more, got 0$/],
    ['faults: [ { action: dead, count: 2 } ]', /^faults\[0\]\.count: expected no count with dead/],
    ['faults: [ { name: "a b", action: drop } ]', /^faults\[0\]\.name: expected a rule name/],
    [
      'faults: [ { name: x, action: drop }, { name: y, action: drop }, { name: x, action: delay=1s } ]',
      /^faults\[2\]\.name: expected a name no other rule has, got "x" \(faults\[0\] has it\)$/,
    ],
    ['faults: [ { action: drop, match: { dir: in, DIR: out } } ]', /^faults\[0\]\.match\.dir: expected each key once, got it twice$/],
  ])('%s', (text, msg) => {
    expect(err(text)).toMatch(msg);
  });
});
