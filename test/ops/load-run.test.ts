// Load runs (src/ops/load-run.ts) in process: two daemons back to back on the shared manual clock (peers.ts), so
// pacing, progress, setup times and failure reasons are exact. Also the control verbs (initiate with a count,
// load-status), the CLI's checks (exit 2 values), INITIAL_CONTACT only on request, and one IDi per SA.
import { afterEach, describe, expect, test } from 'vitest';
import { CliUsageError } from '../../src/control/watch-cli.js';
import { CONTROL_COMMANDS, runCommand } from '../../src/control/commands/table.js';
import { formatSummary, loadArgs, loadOk } from '../../src/control/load-cli.js';
import type { IkelabEvent } from '../../src/log/events.js';
import { OpError } from '../../src/ops/context.js';
import { parseSourcePool, percentile } from '../../src/ops/load-run.js';
import { is, makePair, type Pair } from '../helpers/peers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});

/** A's IKE_AUTH requests as message.sent reported them: the payload list of each. */
function authRequests(p: Pair): { ikeId?: number; payloads: string[] }[] {
  const out: { ikeId?: number; payloads: string[] }[] = [];
  p.a.log.onEvent((e: IkelabEvent) => {
    if (e.event === 'message.sent' && e.exchange === 'IKE_AUTH' && e.request)
      out.push({ ikeId: e.ikeId, payloads: [...(e.payloads ?? []), ...(e.notifies ?? [])] });
  });
  return out;
}
const hasInitialContact = (payloads: string[]) => payloads.some((x) => x.includes('INIT_CONTACT') || x.includes('INITIAL_CONTACT'));

/** B accepts any IDi (a headend with remote id %any, like the load-tester's responder). */
function bAcceptsAnyId(p: Pair): void {
  const cfg = p.b.daemon.ops.config;
  p.b.daemon.ops.reload({ ...cfg, connections: cfg.connections.map((c) => ({ ...c, remote: { ...c.remote, id: '%any' } })) });
}

describe('load runs', () => {
  test('progress while paced, then the summary: all established, setup percentiles, achieved rate', () => {
    const p = (pair = makePair());
    // the 4th SA's first IKE_SA_INIT is lost: it needs a retransmit (1 s) and is the slow one of the percentiles
    let inits = 0;
    p.dropAlways((m) => m.from === 'A' && is.exchange('IKE_SA_INIT')(m) && !m.header.response && ++inits === 4);
    const first = p.a.daemon.ops.startLoad({ ike: 'demo', count: 4, rate: 10 });
    expect(first).toMatchObject({ id: 1, count: 4, started: 0, established: 0, done: false });
    p.run(250, 10);
    const mid = p.a.daemon.ops.loadStatus(first.id);
    // initiations at 0, 100, 200 ms; the 4th is due at 300
    expect(mid).toMatchObject({ started: 3, established: 3, failed: 0, inFlight: 0, done: false });
    p.run(400, 10);
    expect(p.a.daemon.ops.loadStatus()).toMatchObject({ started: 4, established: 3, inFlight: 1, done: false });
    p.run(2000, 10);
    const s = p.a.daemon.ops.loadStatus(1);
    expect(s).toMatchObject({ established: 4, failed: 0, inFlight: 0, done: true, timedOut: false, failures: {} });
    expect(s.setupMs).toEqual({ min: 0, p50: 0, p99: 1000, max: 1000 });
    // first initiation at 0, the last one established at 300 + 1000 ms
    expect(s.elapsedMs).toBe(1300);
    expect(s.ratePerSec).toBe(3.1);
    expect(loadOk(s)).toBe(true);
    expect(p.b.sas()).toHaveLength(4);
    expect(formatSummary(s)).toContain('4 of 4 established, 0 failed in 1.3 s (3.1 established/s)');
    expect(formatSummary(s)).toContain('setup time p50 0 ms, p99 1000 ms');
    // a finished run is frozen: more time changes nothing
    p.run(5000, 100);
    expect(p.a.daemon.ops.loadStatus(1)).toEqual(s);
  });

  test('failures by notify: a wrong PSK is AUTHENTICATION_FAILED', () => {
    const p = (pair = makePair({ b: { psk: 'something-else' } }));
    p.a.daemon.ops.startLoad({ ike: 'demo', count: 3, rate: 0 });
    p.run(100, 10);
    const s = p.a.daemon.ops.loadStatus();
    expect(s).toMatchObject({ established: 0, failed: 3, done: true, failures: { AUTHENTICATION_FAILED: 3 }, setupMs: null });
    expect(loadOk(s)).toBe(false);
    expect(formatSummary(s)).toContain('failed: AUTHENTICATION_FAILED 3');
  });

  test("failures by reason: a silent peer is 'peer not responding'; the run's timeout counts the rest as 'timeout'", () => {
    const p = (pair = makePair());
    p.dropAlways(is.from('A'));
    p.a.daemon.ops.startLoad({ ike: 'demo', count: 2, rate: 0 });
    p.run(20_000, 100);
    expect(p.a.daemon.ops.loadStatus()).toMatchObject({ failed: 2, done: true, failures: { 'peer not responding': 2 } });

    p.a.daemon.ops.startLoad({ ike: 'demo', count: 5, rate: 1, timeoutMs: 2500 });
    p.run(3000, 100);
    const s = p.a.daemon.ops.loadStatus();
    // 3 started by 2.5 s (0, 1, 2 s), none answered: all 5 count as timed out, the 2 not started never are
    expect(s).toMatchObject({ id: 2, started: 3, failed: 5, done: true, timedOut: true, failures: { timeout: 5 } });
    p.run(5000, 100);
    expect(p.a.daemon.ops.loadStatus().started).toBe(3);
  });

  test('at most 4 half-open IKE_SAs per source (charon drops above its block_threshold); the rest wait their turn', () => {
    const p = (pair = makePair());
    p.dropAlways(is.from('A'));
    p.a.daemon.ops.startLoad({ ike: 'demo', count: 6, rate: 0 });
    p.run(100, 10);
    expect(p.a.daemon.ops.loadStatus()).toMatchObject({ started: 4, inFlight: 4, waiting: 2, maxHalfOpen: 4, done: false });
    expect(p.a.sas()).toHaveLength(4);
    // the first four give up after their retransmits; the two held back start then, and give up in turn: the
    // run's default deadline moved on with them instead of counting them as 'timeout'
    p.run(60_000, 100);
    expect(p.a.daemon.ops.loadStatus()).toMatchObject({
      started: 6,
      failed: 6,
      waiting: 0,
      done: true,
      timedOut: false,
      failures: { 'peer not responding': 6 },
    });

    // 0 lifts the window: all at once
    p.a.daemon.ops.startLoad({ ike: 'demo', count: 6, rate: 0, maxHalfOpen: 0 });
    p.run(100, 10);
    expect(p.a.daemon.ops.loadStatus()).toMatchObject({ id: 2, started: 6, inFlight: 6, waiting: 0, maxHalfOpen: 0 });
  });

  test('the window refills as SAs come up: never more than maxHalfOpen connecting, all established', () => {
    const p = (pair = makePair());
    // messages travel within one clock step here, so the window is seen in the events' order: IKE_SA_INITs sent
    // (new IKE_SAs) minus IKE_SAs established, at every event
    let open = 0;
    let most = 0;
    p.a.log.onEvent((e: IkelabEvent) => {
      if (e.event === 'message.sent' && e.exchange === 'IKE_SA_INIT' && e.request) open++;
      if (e.event === 'ike.established') open--;
      most = Math.max(most, open);
    });
    p.a.daemon.ops.startLoad({ ike: 'demo', count: 10, rate: 0, maxHalfOpen: 2 });
    p.run(100, 1);
    expect(most).toBe(2);
    expect(p.a.daemon.ops.loadStatus()).toMatchObject({ started: 10, established: 10, failed: 0, waiting: 0, done: true });
  });

  test('no INITIAL_CONTACT on load SAs by default; --initial-contact sends it', () => {
    const p = (pair = makePair());
    const auths = authRequests(p);
    p.a.daemon.ops.startLoad({ ike: 'demo', count: 3, rate: 0 });
    p.run(100, 10);
    expect(auths).toHaveLength(3);
    expect(auths.filter((a) => hasInitialContact(a.payloads))).toEqual([]);
    expect(auths[0]!.payloads).toContain('AUTH');

    auths.length = 0;
    for (const sa of p.a.sas()) sa.destroy();
    for (const sa of p.b.sas()) sa.destroy();
    p.a.daemon.ops.startLoad({ ike: 'demo', count: 1, rate: 0, initialContact: true });
    p.run(100, 10);
    expect(auths).toHaveLength(1);
    expect(hasInitialContact(auths[0]!.payloads)).toBe(true);
  });

  test('--id-pattern: one IDi per SA (%d from 1), authenticated with the configured secret', () => {
    const p = (pair = makePair());
    bAcceptsAnyId(p);
    p.a.daemon.ops.startLoad({ ike: 'demo', count: 3, rate: 0, idPattern: 'c%d@example.com' });
    p.run(100, 10);
    expect(p.a.daemon.ops.loadStatus()).toMatchObject({ established: 3, failed: 0, done: true });
    expect(
      p.b
        .sas()
        .map((s) => s.remoteId)
        .sort(),
    ).toEqual(['c1@example.com', 'c2@example.com', 'c3@example.com']);
    expect(
      p.a
        .sas()
        .map((s) => s.localId)
        .sort(),
    ).toEqual(['c1@example.com', 'c2@example.com', 'c3@example.com']);
  });

  test('a peer that wants the configured identity refuses pattern identities: the reason is its notify', () => {
    const p = (pair = makePair());
    p.a.daemon.ops.startLoad({ ike: 'demo', count: 2, rate: 0, idPattern: 'c%d@example.com' });
    p.run(100, 10);
    expect(p.a.daemon.ops.loadStatus()).toMatchObject({ failed: 2, failures: { AUTHENTICATION_FAILED: 2 } });
  });

  test('validation: count, rate, pattern, pool; the pool must be bound', () => {
    const p = (pair = makePair());
    const ops = p.a.daemon.ops;
    for (const count of [0, -1, 1.5, 100_001, Number.NaN]) expect(() => ops.startLoad({ ike: 'demo', count, rate: 0 })).toThrow(OpError);
    for (const rate of [-5, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => ops.startLoad({ ike: 'demo', count: 1, rate })).toThrow(/--rate/);
    expect(() => ops.startLoad({ ike: 'demo', count: 1, rate: 0, idPattern: 'same@example.com' })).toThrow(/%d/);
    expect(() => ops.startLoad({ ike: 'demo', count: 1, rate: 0, sourcePool: '127.0.0.10-127.0.0.12' })).toThrow(/daemon.listen/);
    expect(() => ops.startLoad({ ike: 'nope', count: 1, rate: 0 })).toThrow(OpError);
    // nothing was started by the refused requests
    p.run(100, 10);
    expect(p.a.sas()).toHaveLength(0);
    // the configured address is bound: a pool of it is fine
    ops.startLoad({ ike: 'demo', count: 2, rate: 0, sourcePool: '127.0.0.1' });
    p.run(100, 10);
    expect(ops.loadStatus()).toMatchObject({ established: 2 });
  });

  test('source pools: ranges, CIDR, lists', () => {
    expect(parseSourcePool('10.98.0.10-10.98.0.12')).toEqual(['10.98.0.10', '10.98.0.11', '10.98.0.12']);
    expect(parseSourcePool('10.98.0.0/30')).toEqual(['10.98.0.1', '10.98.0.2']);
    expect(parseSourcePool('10.0.0.1/32, 10.0.0.5,2001:db8::1')).toEqual(['10.0.0.1', '10.0.0.5', '2001:db8::1']);
    for (const bad of ['10.0.0.5-10.0.0.1', '10.0.0.0/4', 'nope', '', '10.0.0.1-x']) expect(() => parseSourcePool(bad)).toThrow(OpError);
  });

  test('percentile: nearest rank', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([7], 99)).toBe(7);
  });
});

describe('control verbs and CLI checks', () => {
  test('initiate with a count replies with the run id; load-status gives progress, then the summary', async () => {
    const p = (pair = makePair());
    const ctx = { daemon: p.a.daemon.ops, log: p.a.log };
    const r = (await runCommand(CONTROL_COMMANDS, ctx, 'initiate', { ike: 'demo', count: '2', rate: '0' })) as { ok: true; result: any };
    expect(r.ok).toBe(true);
    expect(r.result).toMatchObject({ initiating: 2, run: 1 });
    p.run(100, 10);
    const s = (await runCommand(CONTROL_COMMANDS, ctx, 'load-status', { id: '1' })) as { ok: true; result: any };
    expect(s.result).toMatchObject({ id: 1, established: 2, done: true });
    const bad = await runCommand(CONTROL_COMMANDS, ctx, 'initiate', { ike: 'demo', count: '5', rate: '-5' });
    expect(bad).toEqual({ ok: false, error: expect.stringContaining("invalid --rate '-5'") });
    expect(await runCommand(CONTROL_COMMANDS, ctx, 'load-status', { id: '9' })).toMatchObject({ ok: false });
  });

  test('the CLI refuses bad --count / --rate / --id-pattern / --source-pool before asking the daemon (exit 2)', () => {
    for (const v of [
      { count: '0' },
      { count: '100001' },
      { count: '2.5' },
      { count: 'x' },
      { count: '5', rate: '-5' },
      { count: '5', rate: 'fast' },
      { count: '5', 'id-pattern': 'c@example.com' },
      { count: '5', 'source-pool': '10.0.0.9-10.0.0.1' },
      { count: '5', timeout: '-1' },
    ])
      expect(() => loadArgs(v), JSON.stringify(v)).toThrow(CliUsageError);
    expect(loadArgs({ count: '200', rate: '50', 'id-pattern': 'c%d@x', 'initial-contact': true })).toMatchObject({
      count: '200',
      rate: '50',
      'id-pattern': 'c%d@x',
      'initial-contact': true,
    });
  });
});
