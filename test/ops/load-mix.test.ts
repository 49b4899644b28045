// Failure mixes of load runs (src/ops/load-mix.ts, load-mix-tracker.ts): the parser refuses what is not a mix,
// the plan is exact (round(N * share) per class), the placement is a seeded shuffle (same seed, same SAs), and in
// process, against a second ikelab as the headend, each class comes to the outcome it is there for.
import { afterEach, describe, expect, test } from 'vitest';
import { formatSummary, loadArgs, loadOk } from '../../src/control/load-cli.js';
import { CliUsageError } from '../../src/control/watch-cli.js';
import type { IkelabEvent } from '../../src/log/events.js';
import { OpError } from '../../src/ops/context.js';
import { MIX_CLASSES, parseMix, placeMix, planCounts } from '../../src/ops/load-mix.js';
import { makePair, type Pair } from '../helpers/peers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});

describe('the mix text', () => {
  test('classes with shares in percent, decimals, and a value for the classes that take one', () => {
    expect(parseMix('wrong-psk=5%,no-proposal=2%,silent-after-auth=1%')).toEqual([
      { cls: 'wrong-psk', percent: 5 },
      { cls: 'no-proposal', percent: 2 },
      { cls: 'silent-after-auth', percent: 1 },
    ]);
    expect(parseMix(' ts-mismatch=0.5%:2001:db8::/64 , no-child-proposal=.25%:aes128-sha1')).toEqual([
      { cls: 'ts-mismatch', percent: 0.5, value: '2001:db8::/64' },
      { cls: 'no-child-proposal', percent: 0.25, value: 'aes128-sha1' },
    ]);
    expect(parseMix('wrong-psk=60%,no-proposal=40%')).toHaveLength(2);
  });

  test.each([
    ['', /expected CLASS=PERCENT%/],
    ['wrong-psk=5', /not CLASS=PERCENT%/],
    ['wrong-psk=5%,', /empty item/],
    ['wrong-psk=-5%', /not CLASS=PERCENT%/],
    ['wrong-psk=0%', /> 0% and <= 100%/],
    ['wrong-psk=101%', /> 0% and <= 100%/],
    ['bad-cert=5%', /unknown class 'bad-cert' \(known: wrong-psk, no-proposal, no-child-proposal, ts-mismatch, silent-after-auth\)/],
    ['wrong-psk=5%,wrong-psk=1%', /given twice/],
    ['wrong-psk=60%,no-proposal=30%,silent-after-auth=10.5%', /add up to 100.5%, more than 100%/],
    ['wrong-psk=5%:secret', /wrong-psk takes no value/],
  ])('%j is refused: %s', (text, why) => {
    expect(() => parseMix(text)).toThrow(OpError);
    expect(() => parseMix(text)).toThrow(why);
  });

  test('the CLI refuses a bad mix, a seed without a mix and a bad seed before asking the daemon (exit 2)', () => {
    for (const v of [
      { count: '10', mix: 'wrong-psk=5' },
      { count: '10', mix: 'wrong-psk=70%,no-proposal=40%' },
      { count: '10', 'mix-seed': '7' },
      { count: '10', mix: 'wrong-psk=5%', 'mix-seed': '-1' },
      { count: '10', mix: 'wrong-psk=5%', 'mix-seed': '4294967296' },
    ])
      expect(() => loadArgs(v), JSON.stringify(v)).toThrow(CliUsageError);
    expect(loadArgs({ count: '10', mix: 'wrong-psk=5%', 'mix-seed': '7' })).toMatchObject({ mix: 'wrong-psk=5%', 'mix-seed': '7' });
  });
});

describe('exact plan, seeded placement', () => {
  test('round(N * share) per class: 5/2/1 % of 2,000 are 100/40/20, whatever the seed', () => {
    const shares = parseMix('wrong-psk=5%,no-proposal=2%,silent-after-auth=1%');
    const counts = planCounts(shares, 2000);
    expect([...counts]).toEqual([
      ['wrong-psk', 100],
      ['no-proposal', 40],
      ['silent-after-auth', 20],
    ]);
    for (const seed of [0, 1, 42, 0xffff_ffff]) {
      const slots = placeMix(counts, 2000, seed);
      expect(slots).toHaveLength(2000);
      const tally = (c: string | undefined) => slots.filter((s) => s === c).length;
      expect([tally('wrong-psk'), tally('no-proposal'), tally('silent-after-auth'), tally(undefined)]).toEqual([100, 40, 20, 1840]);
    }
  });

  test('rounding never plans more SAs than the run has', () => {
    const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b);
    // 50 % + 50 % of 3 rounds to 2 + 2 = 4 > 3: one class gives one back
    expect(sum(planCounts(parseMix('wrong-psk=50%,no-proposal=50%'), 3))).toBe(3);
    expect([...planCounts(parseMix('wrong-psk=0.1%'), 10).values()]).toEqual([0]);
    // 5 x 20 %: of 99 each rounds to 20 (100 > 99), of 7 each to 1 (5 <= 7, the rest good)
    const all = parseMix(MIX_CLASSES.map((c) => `${c}=20%`).join(','));
    expect(sum(planCounts(all, 99))).toBe(99);
    expect([...planCounts(all, 7).values()]).toEqual([1, 1, 1, 1, 1]);
    for (const n of [1, 2, 3, 4, 6, 11]) expect(sum(planCounts(all, n))).toBeLessThanOrEqual(n);
  });

  test('same seed, same SAs; another seed, other SAs; and spread over the run, not bunched at its start', () => {
    const counts = planCounts(parseMix('wrong-psk=10%'), 1000);
    const a = placeMix(counts, 1000, 7);
    expect(placeMix(counts, 1000, 7)).toEqual(a);
    expect(placeMix(counts, 1000, 8)).not.toEqual(a);
    const at = a.flatMap((c, i) => (c ? [i] : []));
    expect(at.filter((i) => i < 500).length).toBeGreaterThan(25);
    expect(at.filter((i) => i >= 500).length).toBeGreaterThan(25);
  });
});

/** B's events of one kind, counted from now on. */
function countOn(p: Pair, who: 'a' | 'b', event: string, pred: (e: IkelabEvent) => boolean = () => true): { n: number } {
  const c = { n: 0 };
  p[who].log.onEvent((e) => {
    if (e.event === event && pred(e)) c.n++;
  });
  return c;
}

describe('each class against an ikelab headend (in process)', () => {
  test('100 SAs with every class: exact counts, each class its outcome, the headend sees the same', () => {
    const ecp = ['aes128-sha256-ecp256'];
    const p = (pair = makePair({ a: { proposals: ecp }, b: { proposals: ecp, dpdDelay: 5 } }));
    const bAuthFailed = countOn(p, 'b', 'ike.failed', (e) => e.notify === 'AUTHENTICATION_FAILED' || /AUTH/.test(String(e.reason)));
    const bSent = { noProp: 0, tsUnacc: 0, childNoProp: 0 };
    p.b.log.onEvent((e) => {
      if (e.event !== 'message.sent' || e.request) return;
      const n = e.notifies ?? [];
      if (e.exchange === 'IKE_SA_INIT' && n.includes('NO_PROPOSAL_CHOSEN')) bSent.noProp++;
      if (e.exchange === 'IKE_AUTH' && n.includes('NO_PROPOSAL_CHOSEN')) bSent.childNoProp++;
      if (e.exchange === 'IKE_AUTH' && n.includes('TS_UNACCEPTABLE')) bSent.tsUnacc++;
    });
    const bDead = countOn(p, 'b', 'dpd.timeout');
    const first = p.a.daemon.ops.startLoad({
      ike: 'demo',
      count: 100,
      rate: 100,
      mix: 'wrong-psk=5%,no-proposal=3%,no-child-proposal=3%,ts-mismatch=2%,silent-after-auth=2%',
      mixSeed: 1234,
    });
    expect(first.mixPlanned).toEqual({
      'wrong-psk': 5,
      'no-proposal': 3,
      'no-child-proposal': 3,
      'ts-mismatch': 2,
      'silent-after-auth': 2,
      good: 85,
    });
    p.run(2000, 10);
    const s = p.a.daemon.ops.loadStatus();
    expect(s).toMatchObject({ done: true, established: 92, failed: 8, mixSeed: 1234 });
    expect(s.failures).toEqual({ AUTHENTICATION_FAILED: 5, NO_PROPOSAL_CHOSEN: 3 });
    expect(s.childFailures).toEqual({ NO_PROPOSAL_CHOSEN: 3, TS_UNACCEPTABLE: 2 });
    expect(s.mixAsPlanned).toEqual(s.mixPlanned);
    expect(s.mixOutcomes).toEqual({
      'wrong-psk: failed AUTHENTICATION_FAILED': 5,
      'no-proposal: failed NO_PROPOSAL_CHOSEN': 3,
      'no-child-proposal: established, CHILD_SA refused NO_PROPOSAL_CHOSEN': 3,
      'ts-mismatch: established, CHILD_SA refused TS_UNACCEPTABLE': 2,
      'silent-after-auth: established, then silenced': 2,
      'good: established': 85,
    });
    expect(loadOk(s)).toBe(true);
    const text = formatSummary(s);
    expect(text).toContain('failure mix wrong-psk=5%,no-proposal=3%,no-child-proposal=3%,ts-mismatch=2%,silent-after-auth=2% (seed 1234');
    expect(text).toContain('    wrong-psk: 5 planned, 5 failed AUTHENTICATION_FAILED');
    expect(text).toContain('    silent-after-auth: 2 planned, 2 established, then silenced');
    expect(text).toContain('    good: 85 planned, 85 established');
    // the headend's side of it
    expect(bAuthFailed.n).toBe(5);
    expect(bSent).toEqual({ noProp: 3, tsUnacc: 2, childNoProp: 3 });
    expect(p.a.daemon.ops.faults.list().filter((r) => r.name.startsWith('load1-silent-'))).toHaveLength(2);
    // the silenced IKE_SAs answer nothing: the headend's DPD gives up on exactly those two, none other
    p.run(30_000, 100);
    expect(bDead.n).toBe(2);
    expect(p.b.sas()).toHaveLength(92 - 2);
    // the silent rules go with their IKE_SAs: a terminate is swallowed too, so A gives up on its own DELETE
    for (const r of p.a.daemon.ops.faults.list().filter((x) => x.name.startsWith('load1-silent-')))
      p.a.daemon.ops.terminate(String(r.match.ikeId));
    p.run(20_000, 100);
    expect(p.a.daemon.ops.faults.list()).toEqual([]);
    expect(p.a.sas()).toHaveLength(90);
  });

  test('a run that ends early counts the unsettled SAs of each class as failed timeout: not as planned', () => {
    const p = (pair = makePair());
    p.dropAlways((m) => m.from === 'A');
    p.a.daemon.ops.startLoad({ ike: 'demo', count: 10, rate: 10, mix: 'wrong-psk=20%', mixSeed: 3, timeoutMs: 500 });
    p.run(1000, 10);
    const s = p.a.daemon.ops.loadStatus();
    expect(s).toMatchObject({
      done: true,
      timedOut: true,
      mixPlanned: { 'wrong-psk': 2, good: 8 },
      mixAsPlanned: { 'wrong-psk': 0, good: 0 },
    });
    expect(s.mixOutcomes).toEqual({ 'wrong-psk: failed timeout': 2, 'good: failed timeout': 8 });
    expect(loadOk(s)).toBe(false);
    expect(formatSummary(s)).toContain('    wrong-psk: 2 planned, 0 failed AUTHENTICATION_FAILED; otherwise: failed timeout 2');
  });

  test('the same seed puts each class on the same SAs again; the seed drawn is reported', () => {
    const ecp = ['aes128-sha256-ecp256'];
    const p = (pair = makePair({ a: { proposals: ecp }, b: { proposals: ecp } }));
    const classesOf = (): string[] =>
      p.a.sink
        .messages()
        .flatMap((l) => /SA #(\d+) is a '([a-z-]+)'/.exec(l)?.slice(1, 3).join(' ') ?? [])
        .sort();
    const r1 = p.a.daemon.ops.startLoad({ ike: 'demo', count: 40, rate: 200, mix: 'wrong-psk=10%,no-proposal=10%' });
    expect(r1.mixSeed).toEqual(expect.any(Number));
    p.run(500, 10);
    const first = classesOf();
    expect(first).toHaveLength(8);
    p.a.sink.clear();
    p.a.daemon.ops.startLoad({ ike: 'demo', count: 40, rate: 200, mix: 'wrong-psk=10%,no-proposal=10%', mixSeed: r1.mixSeed });
    p.run(500, 10);
    expect(classesOf()).toEqual(first);
    expect(p.a.daemon.ops.loadStatus().mixAsPlanned).toEqual({ 'wrong-psk': 4, 'no-proposal': 4, good: 32 });
  });

  test('refused before anything starts: a bad mix, a child class without a child, a value the parsers refuse', () => {
    const p = (pair = makePair());
    const ops = p.a.daemon.ops;
    expect(() => ops.startLoad({ ike: 'demo', count: 5, rate: 0, mix: 'wrong-psk=70%,no-proposal=40%' })).toThrow(/more than 100%/);
    expect(() => ops.startLoad({ ike: 'demo', count: 5, rate: 0, mix: 'no-proposal=10%:aes128-nope-modp1024' })).toThrow(
      /--mix no-proposal: /,
    );
    expect(() => ops.startLoad({ ike: 'demo', count: 5, rate: 0, mix: 'ts-mismatch=10%:10.0.0.0/99' })).toThrow(/--mix ts-mismatch: /);
    expect(() => ops.startLoad({ ike: 'demo', count: 5, rate: 0, mix: 'wrong-psk=10%', mixSeed: 1.5 })).toThrow(/--mix-seed/);
    const cfg = ops.config;
    ops.reload({ ...cfg, connections: cfg.connections.map((c) => ({ ...c, children: [] })) });
    expect(() => ops.startLoad({ ike: 'demo', count: 5, rate: 0, mix: 'no-child-proposal=10%' })).toThrow(/has no child/);
    // the connection's own DH group is no mismatch: the default skips it, the explicit value is the user's choice
    p.run(100, 10);
    expect(p.a.sas()).toHaveLength(0);
  });
});
