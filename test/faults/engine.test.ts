// FaultEngine: nth, lifetime (count, window), list() counters, clear, rule order, seeded probability.
import { describe, expect, test } from 'vitest';
import { FaultEngine } from '../../src/faults/engine.js';
import { FaultSyntaxError } from '../../src/faults/errors.js';
import { parseRuleTexts } from '../../src/faults/parse.js';
import { BAZ, FakeClock, deleteReq, engineWith, liveness } from './helpers.js';

/** Which of n liveness checks (mids 1..n) a fresh engine with this rule drops. */
function dropped(match: string, n: number, action = 'drop'): number[] {
  const { engine } = engineWith({ match, action });
  const out: number[] = [];
  for (let mid = 1; mid <= n; mid++) if (engine.onIkeReceive(liveness(mid)).kind !== 'pass') out.push(mid);
  return out;
}

describe('nth', () => {
  test('only the nth matching message', () => {
    expect(dropped('nth=3', 10)).toEqual([3]);
    expect(dropped('nth=1', 10)).toEqual([1]);
  });

  test('counts only messages meeting the other criteria', () => {
    const { engine } = engineWith({ match: 'exchange=INFORMATIONAL,empty,nth=2', action: 'drop' });
    const seq = [liveness(1), deleteReq(2), liveness(3), liveness(4)];
    expect(seq.map((m) => engine.onIkeReceive(m).kind)).toEqual(['pass', 'pass', 'drop', 'pass']);
  });

  test('counts only inside the window, and only what the action can act on', () => {
    const { engine, clock } = engineWith(
      { match: 'after=1s,nth=2', action: 'drop' },
      { name: 'nr', match: 'nth=2', action: 'no-retransmit' },
    );
    expect(engine.onIkeReceive(liveness(1)).kind).toBe('pass'); // before the window
    clock.advance(1000);
    expect(engine.onIkeReceive(liveness(2)).kind).toBe('pass');
    expect(engine.onIkeReceive(liveness(3)).kind).toBe('drop');
    // no-retransmit: first sends do not count towards its nth
    expect(engine.onIkeSend(liveness(4)).kind).toBe('pass');
    expect(engine.onIkeSend(liveness(4, { retransmit: true })).kind).toBe('pass');
    expect(engine.onIkeSend(liveness(4, { retransmit: true }))).toMatchObject({ kind: 'drop', rule: 'nr' });
  });

  test('a spent nth rule says so', () => {
    const { engine } = engineWith({ name: 'third', match: 'nth=3', action: 'drop' });
    for (let i = 1; i <= 5; i++) engine.onIkeReceive(liveness(i));
    expect(engine.list()[0]).toMatchObject({ state: 'spent', seen: 3, fired: 1 });
  });
});

describe('lifetime', () => {
  test('count: fire at most N times, then spent', () => {
    expect(dropped('', 10, 'drop').length).toBe(10);
    const { engine } = engineWith({ name: 'twice', action: 'drop', count: 2 });
    const kinds = [1, 2, 3, 4].map((m) => engine.onIkeReceive(liveness(m)).kind);
    expect(kinds).toEqual(['drop', 'drop', 'pass', 'pass']);
    expect(engine.list()[0]).toMatchObject({ state: 'spent', fired: 2, seen: 2, count: 2 });
  });

  test('count with prob counts firings, not draws', () => {
    const { engine } = engineWith({ name: 'p', match: 'prob=0.5,seed=9', action: 'drop', count: 5 });
    let fired = 0;
    for (let m = 0; m < 200; m++) if (engine.onIkeReceive(liveness(m)).kind === 'drop') fired++;
    expect(fired).toBe(5);
    expect(engine.list()[0]!.seen).toBeGreaterThan(5);
  });

  test('until cleared (default), time-bounded with for=', () => {
    const { engine, clock } = engineWith({ name: 'forever', action: 'delay=1ms' }, { name: 'bounded', match: 'for=10s', action: 'drop' });
    expect(engine.onIkeReceive(liveness())).toMatchObject({ rule: 'forever' });
    clock.advance(10_000);
    expect(engine.list().map((r) => r.state)).toEqual(['active', 'expired']);
    clock.advance(1e9);
    expect(engine.onIkeReceive(liveness())).toMatchObject({ rule: 'forever' });
  });
});

describe('list()', () => {
  test('counters: seen, fired, shadowed, last fired; the canonical text', () => {
    const { engine, clock } = engineWith(
      { name: 'dpd-loss', match: 'exchange=INFORMATIONAL,dir=in,request,empty,prob=0.5,seed=42', action: 'drop' },
      { name: 'slow', match: 'dir=in', action: 'delay=200ms' },
    );
    const t0 = clock.t;
    let drops = 0;
    for (let m = 1; m <= 20; m++) {
      clock.advance(1000);
      if (engine.onIkeReceive(liveness(m)).kind === 'drop') drops++;
    }
    engine.onIkeReceive(deleteReq(21));
    const [a, b] = engine.list();
    expect(a).toMatchObject({ name: 'dpd-loss', state: 'active', seen: 20, fired: drops, shadowed: 0, addedAt: t0, holding: 0 });
    expect(a!.text).toBe('--match dir=in,exchange=INFORMATIONAL,request,empty,prob=0.5,seed=42 --action drop');
    expect(b).toMatchObject({ name: 'slow', seen: 21, fired: 21 - drops, shadowed: drops, lastFiredAt: clock.t });
    expect(drops).toBeGreaterThan(0);
    expect(drops).toBeLessThan(20);
  });

  test('list() returns copies: changing them changes no rule', () => {
    const { engine } = engineWith({ name: 'x', action: 'delay=1s' });
    const info = engine.list()[0]!;
    (info.action as { ms: number }).ms = 1;
    expect(engine.onIkeReceive(liveness())).toMatchObject({ ms: 1000 });
  });
});

describe('add and clear', () => {
  test('names: given, generated (f1, f2, ...), never twice', () => {
    const { engine } = engineWith();
    engine.add(parseRuleTexts({ name: 'f2', action: 'drop' }));
    expect(engine.add(parseRuleTexts({ action: 'drop' })).name).toBe('f1');
    expect(engine.add(parseRuleTexts({ action: 'drop' })).name).toBe('f3');
    expect(() => engine.add(parseRuleTexts({ name: 'f1', action: 'drop' }))).toThrow(FaultSyntaxError);
    expect(() => engine.add(parseRuleTexts({ name: 'f1', action: 'drop' }))).toThrow(
      'name: expected a name no other rule has, got "f1" (clear it first, or pick another name)',
    );
    expect(engine.list().map((r) => r.name)).toEqual(['f2', 'f1', 'f3']);
  });

  test('the engine keeps its own copy of a rule', () => {
    const { engine } = engineWith();
    const spec = parseRuleTexts({ name: 'x', action: 'delay=1s' });
    engine.add(spec);
    (spec.action as { ms: number }).ms = 5;
    expect(engine.onIkeReceive(liveness())).toMatchObject({ ms: 1000 });
  });

  test('clear(name) removes one rule, clear() all; unknown names remove nothing', () => {
    const { engine } = engineWith({ name: 'a', match: 'ike=bar', action: 'drop' }, { name: 'b', action: 'delay=1s' });
    expect(engine.clear('nope')).toEqual({ removed: [], release: [] });
    expect(engine.clear('a')).toEqual({ removed: ['a'], release: [] });
    expect(engine.onIkeReceive(liveness())).toMatchObject({ rule: 'b' });
    expect(engine.clear()).toEqual({ removed: ['b'], release: [] });
    expect(engine.size).toBe(0);
    expect(engine.onIkeReceive(liveness())).toEqual({ kind: 'pass' });
  });

  test('clearing a reorder rule hands back what it holds', () => {
    const { engine } = engineWith({ name: 'r', action: 'reorder=5' });
    const h1 = engine.onIkeSend(liveness(1));
    const h2 = engine.onIkeSend(liveness(2, { ike: BAZ }));
    if (h1.kind !== 'hold' || h2.kind !== 'hold') throw new Error('not held');
    expect(engine.clear('r')).toEqual({
      removed: ['r'],
      release: [
        { id: h1.holdId, rule: 'r' },
        { id: h2.holdId, rule: 'r' },
      ],
    });
    expect(engine.releaseHeld(h1.holdId)).toBe(false);
  });

  test('first rule in order wins; the others count the message as shadowed', () => {
    const { engine } = engineWith({ name: 'first', match: 'mid=2', action: 'drop' }, { name: 'second', action: 'delay=1s' });
    expect(engine.onIkeReceive(liveness(1))).toMatchObject({ rule: 'second' });
    expect(engine.onIkeReceive(liveness(2))).toMatchObject({ rule: 'first' });
    expect(engine.list().map((r) => [r.name, r.fired, r.shadowed])).toEqual([
      ['first', 1, 0],
      ['second', 1, 1],
    ]);
  });
});

describe('active(point): the fast path for hook points', () => {
  test('only when a live rule can act there', () => {
    const { engine, clock } = engineWith();
    expect(engine.active('ike-send')).toBe(false);
    engine.add(parseRuleTexts({ name: 'k', match: 'for=1s', action: 'ke=omit' }));
    expect(['ike-send', 'ike-receive', 'esp-seal', 'esp-open', 'keepalive'].map((p) => engine.active(p as never))).toEqual([
      true,
      false,
      false,
      false,
      false,
    ]);
    engine.add(parseRuleTexts({ name: 'e', match: 'proto=esp,dir=in', action: 'drop', count: 1 }));
    expect(engine.active('esp-open')).toBe(true);
    expect(engine.active('esp-seal')).toBe(false);
    clock.advance(1000);
    expect(engine.active('ike-send')).toBe(false);
    engine.add(parseRuleTexts({ name: 'd', action: 'dead' }));
    expect(engine.active('keepalive')).toBe(true);
  });

  test('no rule: answered at once, without the clock; a rule added later acts, and once cleared the point is idle again', () => {
    const clock = new FakeClock();
    let reads = 0;
    const engine = new FaultEngine({ now: () => (reads++, clock.now()) });
    const points = ['ike-send', 'ike-receive', 'esp-seal', 'esp-open', 'keepalive'] as const;
    for (let i = 0; i < 1000; i++) for (const p of points) expect(engine.active(p)).toBe(false);
    expect(reads).toBe(0);
    // `ikelab fault add` at runtime
    engine.add(parseRuleTexts({ name: 'late', match: 'exchange=INFORMATIONAL,dir=in', action: 'drop' }));
    expect(engine.active('ike-receive')).toBe(true);
    expect(engine.onIkeReceive(liveness(5))).toMatchObject({ kind: 'drop', rule: 'late' });
    engine.clear('late');
    reads = 0;
    for (const p of points) expect(engine.active(p)).toBe(false);
    expect(reads).toBe(0);
    // and again: the answer follows the rules as they are, nothing cached goes stale
    engine.add(parseRuleTexts({ name: 'again', action: 'dead' }));
    expect(points.map((p) => engine.active(p))).toEqual([true, true, true, true, true]);
  });

  test('a spent reorder rule still holding a message keeps its point active until the message is released', () => {
    const { engine } = engineWith({ name: 'r', match: 'dir=out', action: 'reorder', count: 1 });
    expect(engine.onIkeSend(liveness(1)).kind).toBe('hold');
    expect(engine.list()[0]!.state).toBe('spent');
    expect(engine.active('ike-send')).toBe(true);
    expect(engine.onIkeSend(liveness(2)).release).toHaveLength(1);
    expect(engine.active('ike-send')).toBe(false);
  });
});

describe('prob with a seed', () => {
  const run = (seed: number, n: number): boolean[] => {
    const clock = new FakeClock();
    const engine = new FaultEngine({ now: clock.now });
    engine.add(parseRuleTexts({ match: `exchange=INFORMATIONAL,empty,prob=0.3,seed=${seed}`, action: 'drop' }));
    return Array.from({ length: n }, (_, i) => engine.onIkeReceive(liveness(i)).kind === 'drop');
  };

  test('the same seed gives the same sequence in two engines; another seed another one', () => {
    expect(run(42, 1000)).toEqual(run(42, 1000));
    expect(run(42, 1000)).not.toEqual(run(43, 1000));
  });

  test('the rate over 10,000 trials is within tolerance of prob', () => {
    for (const seed of [1, 42, 4_000_000_000]) {
      const fired = run(seed, 10_000).filter(Boolean).length;
      // binomial sd = sqrt(10000 * 0.3 * 0.7) ~ 46: 4 sd
      expect(Math.abs(fired - 3000)).toBeLessThan(185);
    }
  });

  test('no seed given: the default seed, still reproducible and shown in list()', () => {
    const { engine } = engineWith({ match: 'prob=0.3', action: 'drop' });
    expect(engine.list()[0]!.match.seed).toBe(1);
    expect(run(1, 200)).toEqual(run(1, 200));
  });

  test('messages that fail other criteria draw nothing: the run depends only on the matching ones', () => {
    const clock = new FakeClock();
    const engine = new FaultEngine({ now: clock.now });
    engine.add(parseRuleTexts({ match: 'exchange=INFORMATIONAL,empty,prob=0.3,seed=42', action: 'drop' }));
    const got: boolean[] = [];
    for (let i = 0; i < 1000; i++) {
      engine.onIkeReceive(deleteReq(i)); // not empty: no draw
      got.push(engine.onIkeReceive(liveness(i)).kind === 'drop');
    }
    expect(got).toEqual(run(42, 1000));
  });
});
