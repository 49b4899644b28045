// The scenario format: errors name the file, the key path and the line (as config errors do), parameters are
// substituted, and every built-in scenario parses with fault rules the daemon's own parser accepts.
import fs, { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { parseRuleTexts } from '../../src/faults/index.js';
import { isEventName } from '../../src/log/events.js';
import { builtinNames, builtinPath, findScenario } from '../../src/scenario/builtins.js';
import { parseScenario } from '../../src/scenario/format.js';
import { resolveScenario } from '../../src/scenario/resolve.js';

const err = (text: string): ConfigError => {
  try {
    parseScenario(text, 'my.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('parsed without error');
};

const OK = `description: ok
params: { conn: auto, child: auto, wait: 2s }
steps:
  - initiate: { child: $child }
  - expect:
      event: ike.established
      within: $wait
      match: { ike: '\${conn}' }
`;

describe('scenario format errors', () => {
  test('YAML syntax error: file and line', () => {
    const e = err('description: x\nsteps:\n  - initiate: { child: a\n');
    expect(e.message).toMatch(/^my\.yaml: expected valid YAML, got a syntax error/);
    expect(e.line).toBeGreaterThanOrEqual(3);
  });

  test('unknown top-level key names itself and its line', () => {
    const e = err(`${OK}stpes: []\n`);
    expect(e.keyPath).toBe('stpes');
    expect(e.line).toBe(9);
    expect(e.message).toContain('unknown key "stpes"');
  });

  test('a misspelt step kind: key path, line and the closest kind', () => {
    const e = err('steps:\n  - initiate: net\n  - expcet: { event: ike.established }\n');
    expect(e.keyPath).toBe('steps[1].expcet');
    expect(e.line).toBe(3);
    expect(e.message).toContain('did you mean expect?');
  });

  test('a bad duration after substitution names the key and line', () => {
    const e = err('params: { t: soon }\nsteps:\n  - initiate: net\n  - expect:\n      event: ike.established\n      within: $t\n');
    expect(e.file).toBe('my.yaml');
    expect(e.keyPath).toBe('steps[1].expect.within');
    expect(e.line).toBe(6);
    expect(e.message).toContain('expected a duration');
  });

  test('unknown event names, undeclared parameters, unknown keys of a kind', () => {
    expect(err('steps:\n  - expect: { event: ike.up }\n').keyPath).toBe('steps[0].expect.event');
    const undeclared = err(`steps:\n  - initiate: { child: '\${nope}' }\n`);
    expect(undeclared.keyPath).toBe('steps[0].initiate.child');
    expect(undeclared.message).toContain('a declared parameter');
    const key = err('steps:\n  - wait-state: { ike: a, state: UP, whithin: 2s }\n');
    expect(key.keyPath).toBe('steps[0].wait-state.whithin');
    expect(key.message).toContain('did you mean within?');
  });

  test('a fault rule the daemon would refuse is refused with its own message', () => {
    const e = err("steps:\n  - fault: { add: x, match: 'exchange=IKE_AUTH', action: ke=omit }\n");
    expect(e.keyPath).toBe('steps[0].fault');
    expect(e.line).toBe(2);
    expect(e.message).toContain('--match exchange');
    expect(err('steps:\n  - fault: { add: x, match: dir=in }\n').keyPath).toBe('steps[0].fault.action');
  });

  test('finally takes actions only; auto is for conn and child only; rekey dh needs a child and a known group', () => {
    expect(err('steps: [{ sleep: 1s }]\nfinally: [{ expect: { event: ike.established } }]\n').keyPath).toBe('finally[0].expect');
    expect(err('params: { dst: auto }\nsteps: [{ sleep: 1s }]\n').keyPath).toBe('params.dst');
    expect(err('steps: [{ rekey: { ike: a, dh: none } }]\n').keyPath).toBe('steps[0].rekey.dh');
    expect(err('steps: [{ rekey: { child: a, dh: modp7 } }]\n').keyPath).toBe('steps[0].rekey.dh');
  });

  test('expect-count needs min or max; a bad regex is refused', () => {
    expect(err('steps: [{ expect-count: { event: dpd.timeout, within: 1s } }]\n').keyPath).toBe('steps[0].expect-count');
    expect(err("steps: [{ peer-log: { contains: '(' } }]\n").keyPath).toBe('steps[0].peer-log.contains');
  });
});

describe('scenario format values', () => {
  test('parameters: $name and $\u007bname}; a $ not naming a parameter stays (regex anchors)', () => {
    const sc = parseScenario(`${OK}  - peer-log: { contains: 'retransmits$' }\n`, 'ok.yaml');
    expect(sc.name).toBe('ok');
    const r = resolveScenario(sc, { conn: 'bar', child: 'net', wait: '3s' });
    expect(r.steps[0]).toMatchObject({ kind: 'initiate', args: { child: 'net' }, name: 'initiate net' });
    expect(r.steps[1]).toMatchObject({
      kind: 'expect',
      event: 'ike.established',
      withinMs: 3000,
      match: { ike: 'bar' },
      since: 'previous',
    });
    expect(r.steps[2]).toMatchObject({ kind: 'peer-log', withinMs: 10_000 });
    expect((r.steps[2] as { regex: RegExp }).regex.source).toBe('retransmits$');
  });

  test('initiate overrides become the control verb arguments; fault in CLI form and as a mapping', () => {
    const sc = parseScenario(
      `steps:
  - initiate: { child: net, psk: wrong, esp_proposals: [aes128-sha256, aes256-sha256], local-ts: 10.1.0.0/24, remote_ts: 10.2.0.0/24 }
  - fault: add d1 --match ike=bar,dir=in --action drop --count 2
  - fault: { add: d2, match: 'proto=esp,dir=out,nth=4', action: esp-replay=3 }
  - fault: clear d1
  - fault: { clear: all }
  - expect: { event: ike.failed, match: { notify: /AUTH/ } }
`,
      'f.yaml',
    );
    const r = resolveScenario(sc, {});
    expect(r.steps[0]).toMatchObject({
      args: {
        child: 'net',
        psk: 'wrong',
        'esp-proposals': 'aes128-sha256,aes256-sha256',
        'local-ts': '10.1.0.0/24',
        'remote-ts': '10.2.0.0/24',
      },
    });
    expect(r.steps[1]).toMatchObject({ op: 'add', rule: { name: 'd1', match: 'ike=bar,dir=in', action: 'drop', count: '2' } });
    expect(r.steps[2]).toMatchObject({ op: 'add', rule: { name: 'd2', action: 'esp-replay=3' } });
    expect(r.steps[3]).toMatchObject({ op: 'clear', rule: { name: 'd1' } });
    expect(r.steps[4]).toMatchObject({ op: 'clear', rule: {} });
    expect((r.steps[5] as { match: Record<string, unknown> }).match.notify).toBeInstanceOf(RegExp);
  });
});

describe('built-in scenarios', () => {
  const names = builtinNames();
  test('the ones the issue asks for are there', () => {
    for (const n of [
      'pfs-mismatch-at-rekey',
      'ikelab-dead',
      'peer-dead',
      'delete-ike-no-reinit',
      'delete-child',
      'wrong-psk',
      'ike-proposal-mismatch',
      'esp-proposal-mismatch',
      'ts-mismatch',
      'invalid-ke',
      'anti-replay',
      'lost-delete-response',
      'temporary-failure',
    ])
      expect(names).toContain(n);
  });

  test('each is documented in README (a row of the built-ins table) and run against strongSwan by an interop test', () => {
    const root = path.join(__dirname, '..', '..');
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const interop = path.join(root, 'test', 'interop');
    const runs = fs
      .readdirSync(interop)
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => fs.readFileSync(path.join(interop, f), 'utf8'))
      .join('\n');
    const undocumented = names.filter((n) => !readme.includes(`\n| \`${n}\``));
    const unrun = names.filter((n) => !new RegExp(`(run|findScenario)\\('${n}'`).test(runs));
    expect({ undocumented, unrun }).toEqual({ undocumented: [], unrun: [] });
  });

  test.each(names)('%s parses, starts with a comment naming the failure, and its fault rules parse', (name) => {
    const path = builtinPath(name)!;
    expect(readFileSync(path, 'utf8')).toMatch(/^# Field failure: \S/);
    const sc = findScenario(name);
    expect(sc.description.length).toBeGreaterThan(10);
    expect(sc.description).not.toContain('\n');
    // resolved with made-up values for every parameter, as a user's --set would give them
    const params = Object.fromEntries(Object.entries(sc.params).map(([k, v]) => [k, v === null || v === 'auto' ? `x${k}` : v]));
    const r = resolveScenario(sc, params);
    for (const s of [...r.steps, ...r.finally]) {
      if (s.kind === 'fault' && s.op === 'add') expect(() => parseRuleTexts(s.rule)).not.toThrow();
      if ('event' in s) expect(isEventName(s.event)).toBe(true);
    }
    // every parameter is used somewhere
    const text = readFileSync(path, 'utf8');
    for (const k of Object.keys(sc.params)) expect(text).toMatch(new RegExp(`\\$(${k}\\b|\\{${k}\\})`));
  });
});
