// `fault --mode silent|delay|normal` as fault rules: the old verb stays a shorthand.
import { describe, expect, test } from 'vitest';
import { FaultEngine } from '../../src/faults/engine.js';
import { applyFaultMode, faultModeRules } from '../../src/faults/mode.js';
import { formatRule } from '../../src/faults/format.js';
import { BAZ, FakeClock, liveness } from './helpers.js';

describe('faultModeRules', () => {
  test('silent: drop everything received (for one connection or all)', () => {
    expect(faultModeRules('silent')).toMatchObject({ clear: ['mode:silent'], summary: 'silent' });
    const t = faultModeRules('silent', 'bar');
    expect(t.summary).toBe('silent for bar');
    expect(t.add.map((r) => [r.name, formatRule(r)])).toEqual([['mode:silent', '--match ike=bar,dir=in --action drop']]);
  });

  test('delay: hold every received message N ms', () => {
    const t = faultModeRules('delay', undefined, 400);
    expect(t).toMatchObject({ clear: ['mode:delay'], summary: 'delay 400 ms' });
    expect(t.add.map(formatRule)).toEqual(['--match dir=in --action delay=400ms']);
  });

  test('normal: clear both, add nothing', () => {
    expect(faultModeRules('normal')).toEqual({ clear: ['mode:silent', 'mode:delay'], add: [], summary: 'normal' });
  });

  test.each([
    [['loud'], /^--mode: expected silent, delay or normal, got "loud"$/],
    [['delay'], /^--ms: expected a delay in ms, 1..60000, with --mode delay, got nothing$/],
    [['delay', undefined, 0], /^--ms: expected a delay in ms/],
    [['delay', undefined, 60_001], /^--ms: expected a delay in ms/],
    [['silent', 'a b'], /^--ike: expected a connection name/],
  ] as [[string, string?, number?], RegExp][])('refuses %j', (args, msg) => {
    expect(() => faultModeRules(...args)).toThrow(msg);
  });
});

describe('applyFaultMode on an engine', () => {
  test('silent, then delay, then normal: the same behaviour as Daemon.setFault', () => {
    const engine = new FaultEngine({ now: new FakeClock().now });
    expect(applyFaultMode(engine, 'silent', 'bar').summary).toBe('silent for bar');
    expect(engine.onIkeReceive(liveness())).toMatchObject({ kind: 'drop', rule: 'mode:silent' });
    expect(engine.onIkeReceive(liveness(7, { ike: BAZ })).kind).toBe('pass');
    expect(engine.onIkeSend(liveness()).kind).toBe('pass');

    applyFaultMode(engine, 'silent');
    expect(engine.onIkeReceive(liveness(7, { ike: BAZ })).kind).toBe('drop');
    expect(engine.list().map((r) => r.name)).toEqual(['mode:silent']);

    applyFaultMode(engine, 'delay', undefined, 250);
    expect(engine.list().map((r) => r.name)).toEqual(['mode:silent', 'mode:delay']);

    expect(applyFaultMode(engine, 'normal')).toEqual({ summary: 'normal', release: [] });
    expect(engine.size).toBe(0);
    expect(engine.onIkeReceive(liveness()).kind).toBe('pass');
  });

  test('delay alone delays everything received', () => {
    const engine = new FaultEngine({ now: new FakeClock().now });
    applyFaultMode(engine, 'delay', undefined, 250);
    expect(engine.onIkeReceive(liveness())).toMatchObject({ kind: 'delay', ms: 250, rule: 'mode:delay' });
  });
});
