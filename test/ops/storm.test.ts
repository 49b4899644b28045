// Rekey and DPD storms (src/ops/storm.ts) in process: two daemons on the shared manual clock (peers.ts), so the
// pacing, the outcomes by reason and the latencies are exact. Also the control verbs (storm, storm-status) and
// the CLI's checks.
import { afterEach, describe, expect, test } from 'vitest';
import { CONTROL_COMMANDS, runCommand } from '../../src/control/commands/table.js';
import { formatStormSummary, stormArgs, stormOk } from '../../src/control/storm-cli.js';
import { CliUsageError } from '../../src/control/watch-cli.js';
import { OpError } from '../../src/ops/context.js';
import { is, makePair, type Pair } from '../helpers/peers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});

const ECP = ['aes128-sha256-ecp256'];

/** A pair with `n` IKE_SAs (one CHILD_SA each) up, A the initiator. */
function upPair(n: number): Pair {
  const p = (pair = makePair({ a: { proposals: ECP }, b: { proposals: ECP } }));
  p.a.daemon.ops.startLoad({ ike: 'demo', count: n, rate: 100 });
  p.run(n * 10 + 200, 10);
  expect(p.a.daemon.ops.loadStatus()).toMatchObject({ established: n, done: true });
  return p;
}

function count(p: Pair, who: 'a' | 'b', event: string): { n: number } {
  const c = { n: 0 };
  p[who].log.onEvent((e) => {
    if (e.event === event) c.n++;
  });
  return c;
}

describe('rekey storms', () => {
  test('--all: each IKE_SA its CHILD_SA, then itself; paced; all rekeyed, as the peer saw it', () => {
    const p = upPair(20);
    const before = new Set(p.a.sas().map((s) => s.uniqueId));
    const bChild = count(p, 'b', 'child.rekeyed');
    const bIke = count(p, 'b', 'ike.rekeyed');
    const first = p.a.daemon.ops.startStorm({ kind: 'rekey', rate: 20 });
    expect(first).toMatchObject({ id: 1, kind: 'rekey', scope: 'all', count: 40, attempted: 0, done: false });
    p.run(490, 10);
    // requests at 0, 50, ..., 450 ms: 10 made, every one answered within its 10 ms step
    expect(p.a.daemon.ops.stormStatus()).toMatchObject({ attempted: 10, succeeded: 10, inFlight: 0, done: false });
    p.run(2000, 10);
    const s = p.a.daemon.ops.stormStatus(1);
    expect(s).toMatchObject({
      count: 40,
      attempted: 40,
      succeeded: 40,
      failed: 0,
      failures: {},
      attemptedBy: { CHILD_SA: 20, IKE_SA: 20 },
      succeededBy: { CHILD_SA: 20, IKE_SA: 20 },
      done: true,
      timedOut: false,
    });
    expect(s.elapsedMs).toBeGreaterThanOrEqual(1950);
    expect(s.elapsedMs).toBeLessThanOrEqual(1960);
    expect(s.latencyMs!.max).toBeLessThanOrEqual(10);
    expect(stormOk(s)).toBe(true);
    expect([bChild.n, bIke.n]).toEqual([20, 20]);
    // every IKE_SA was replaced, each still with one CHILD_SA
    expect(p.a.sas().filter((x) => before.has(x.uniqueId))).toEqual([]);
    expect(p.a.sas().map((x) => x.children.filter((c) => c.state === 'INSTALLED').length)).toEqual(new Array(20).fill(1));
    expect(formatStormSummary(s)).toContain('rekey storm 1: 40 rekeys (all), 40 attempted, 40 rekeyed, 0 failed in ');
    expect(formatStormSummary(s)).toContain('CHILD_SA 20/20, IKE_SA 20/20');
  });

  test('--child-only follows CHILD_SAs an IKE_SA rekey moved meanwhile; --ike-only rekeys only IKE_SAs', () => {
    const p = upPair(6);
    p.a.daemon.ops.startStorm({ kind: 'rekey', scope: 'child', rate: 2 });
    p.run(100, 10);
    // the IKE_SAs are replaced under the storm: its later CHILD_SA rekeys must go to the new ones
    p.a.daemon.ops.rekey('demo');
    p.run(4000, 10);
    expect(p.a.daemon.ops.stormStatus()).toMatchObject({ count: 6, succeeded: 6, attemptedBy: { CHILD_SA: 6 }, done: true });

    const bChild = count(p, 'b', 'child.rekeyed');
    p.a.daemon.ops.startStorm({ kind: 'rekey', scope: 'ike', rate: 0 });
    p.run(200, 10);
    expect(p.a.daemon.ops.stormStatus()).toMatchObject({ id: 2, scope: 'ike', count: 6, succeeded: 6, attemptedBy: { IKE_SA: 6 } });
    expect(bChild.n).toBe(0);
  });

  test('refusals by the peer count by notify: CHILD_SA and IKE_SA rekeys', () => {
    const p = upPair(4);
    p.b.daemon.ops.faults.add({ match: 'exchange=CREATE_CHILD_SA,dir=in,request', action: 'notify=NO_PROPOSAL_CHOSEN' });
    p.a.daemon.ops.startStorm({ kind: 'rekey', rate: 0 });
    p.run(500, 10);
    const s = p.a.daemon.ops.stormStatus();
    expect(s).toMatchObject({ count: 8, attempted: 8, succeeded: 0, failed: 8, failures: { NO_PROPOSAL_CHOSEN: 8 }, done: true });
    expect(s.latencyMs).toBeNull();
    expect(stormOk(s)).toBe(false);
    expect(formatStormSummary(s)).toContain('failed: NO_PROPOSAL_CHOSEN 8');
  });

  test('nothing to rekey is refused; the timeout counts what has no outcome', () => {
    const p = (pair = makePair({ a: { proposals: ECP }, b: { proposals: ECP } }));
    expect(() => p.a.daemon.ops.startStorm({ kind: 'rekey', rate: 1 })).toThrow(/no established IKE_SA/);
    expect(() => p.a.daemon.ops.stormStatus()).toThrow(OpError);
    p.establish();
    expect(() => p.a.daemon.ops.startStorm({ kind: 'rekey', rate: -1 })).toThrow(/--rate/);
    expect(() => p.a.daemon.ops.startStorm({ kind: 'dpd', scope: 'ike', rate: 1 })).toThrow(/no rekey scope/);
    p.dropAlways(is.from('B'));
    p.a.daemon.ops.startStorm({ kind: 'rekey', scope: 'ike', rate: 1, timeoutMs: 500 });
    p.run(1000, 10);
    expect(p.a.daemon.ops.stormStatus()).toMatchObject({ failed: 1, failures: { timeout: 1 }, timedOut: true, done: true });
  });
});

describe('DPD storms', () => {
  test('one empty INFORMATIONAL per IKE_SA, paced; answered with RTTs; unanswered ones: peer not responding', () => {
    const p = upPair(10);
    const silent = new Set(
      p.b
        .sas()
        .slice(0, 3)
        .map((s) => s.localSpi.toString('hex')),
    );
    // B does not answer the liveness checks of three IKE_SAs (its responder SPI identifies them)
    p.dropAlways((m) => m.from === 'B' && is.exchange('INFORMATIONAL')(m) && silent.has(m.header.spiR.toString('hex')));
    const bInfo = { n: 0 };
    p.b.log.onEvent((e) => {
      if (e.event === 'message.received' && e.exchange === 'INFORMATIONAL' && e.request && (e.payloads ?? []).length === 0) bInfo.n++;
    });
    p.a.daemon.ops.startStorm({ kind: 'dpd', rate: 10 });
    p.run(950, 10);
    expect(p.a.daemon.ops.stormStatus()).toMatchObject({ attempted: 10, done: false });
    p.run(10_000, 10);
    const s = p.a.daemon.ops.stormStatus();
    expect(s).toMatchObject({
      kind: 'dpd',
      count: 10,
      attempted: 10,
      succeeded: 7,
      failed: 3,
      failures: { 'peer not responding': 3 },
      attemptedBy: { DPD: 10 },
      done: true,
    });
    expect(s.scope).toBeUndefined();
    // a round trip through the pair is one 10 ms step at most
    expect(s.latencyMs!.max).toBeLessThanOrEqual(10);
    // B received each unanswered check four times (three retransmits): 7 + 3 * 4
    expect(bInfo.n).toBe(7 + 12);
    expect(p.a.sas()).toHaveLength(7);
    const text = formatStormSummary(s);
    expect(text).toContain('dpd storm 1: 10 DPDs, 10 attempted, 7 answered, 3 not answered in ');
    expect(text).toContain('not answered: peer not responding 3');
  });

  test("--ike NAME|ID: a liveness check on one IKE_SA now (or on one connection's); an unknown one is refused", () => {
    const p = upPair(3);
    const target = p.a.sas()[1]!;
    const bInfo = { n: 0 };
    p.b.log.onEvent((e) => {
      if (e.event === 'message.received' && e.exchange === 'INFORMATIONAL' && e.request && e.ikeId !== undefined) bInfo.n++;
    });
    p.a.daemon.ops.startStorm({ kind: 'dpd', rate: 0, ike: String(target.uniqueId) });
    p.run(100, 10);
    expect(p.a.daemon.ops.stormStatus()).toMatchObject({ count: 1, attempted: 1, succeeded: 1, done: true });
    expect(bInfo.n).toBe(1);
    p.a.daemon.ops.startStorm({ kind: 'dpd', rate: 0, ike: 'demo' });
    p.run(100, 10);
    expect(p.a.daemon.ops.stormStatus()).toMatchObject({ count: 3, succeeded: 3, done: true });
    expect(() => p.a.daemon.ops.startStorm({ kind: 'dpd', rate: 0, ike: 'nope' })).toThrow(OpError);
    expect(() => p.a.daemon.ops.startStorm({ kind: 'dpd', rate: 0, ike: '999' })).toThrow(/no IKE_SA named '999'/);
    expect(stormArgs('dpd', { ike: 'demo' })).toMatchObject({ kind: 'dpd', ike: 'demo' });
  });

  test('the control verbs: storm replies with the first status, storm-status with progress; --stop', async () => {
    const p = upPair(3);
    const ctx = { daemon: p.a.daemon.ops, log: p.a.log };
    const r = (await runCommand(CONTROL_COMMANDS, ctx, 'storm', { kind: 'dpd', rate: '1' })) as { ok: true; result: any };
    expect(r).toMatchObject({ ok: true, result: { id: 1, kind: 'dpd', count: 3, done: false } });
    p.run(1500, 10);
    const mid = (await runCommand(CONTROL_COMMANDS, ctx, 'storm-status', { id: '1' })) as { ok: true; result: any };
    expect(mid.result).toMatchObject({ attempted: 2, succeeded: 2, done: false });
    const stopped = (await runCommand(CONTROL_COMMANDS, ctx, 'storm-status', { id: '1', stop: true })) as { ok: true; result: any };
    expect(stopped.result).toMatchObject({ attempted: 3, succeeded: 2, failed: 1, failures: { stopped: 1 }, done: true });
    for (const bad of [{ kind: 'flood' }, { kind: 'dpd', rate: '-1' }, { kind: 'rekey', scope: 'some' }, { kind: 'dpd', timeout: 'x' }])
      expect(await runCommand(CONTROL_COMMANDS, ctx, 'storm', bad), JSON.stringify(bad)).toMatchObject({ ok: false });
    expect(await runCommand(CONTROL_COMMANDS, ctx, 'storm-status', { id: '7' })).toMatchObject({
      ok: false,
      error: expect.stringContaining('no storm 7'),
    });
  });

  test('the CLI checks --rate, --timeout and the scope flags before asking the daemon (exit 2)', () => {
    for (const v of [{ rate: '-1' }, { rate: 'fast' }, { timeout: '' }, { 'ike-only': true, 'child-only': true }])
      expect(() => stormArgs('rekey', v), JSON.stringify(v)).toThrow(CliUsageError);
    expect(stormArgs('rekey', { 'child-only': true, rate: '50' })).toEqual({
      kind: 'rekey',
      scope: 'child',
      rate: '50',
      timeout: undefined,
    });
    expect(stormArgs('dpd', { rate: '5', timeout: '30' })).toEqual({ kind: 'dpd', scope: undefined, rate: '5', timeout: '30' });
  });
});
