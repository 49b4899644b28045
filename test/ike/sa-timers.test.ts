// Time and chance injected (src/ike/sa-timers.ts, src/util/timer-queue.ts, src/crypto/random.ts): every deadline of
// an IKE_SA and its CHILD_SAs is on the daemon's clock, every random share comes from its RandomSource. Two
// in-process peers on the shared test clock (test/helpers/peers.ts).
import { afterEach, describe, expect, test } from 'vitest';
import { randomInt, uniform } from '../../src/crypto/random.js';
import type { ChildConfig } from '../../src/config/types.js';
import { is, makePair, seededRandom, type Pair, type PairOptions, type Peer } from '../helpers/peers.js';

let pairs: Pair[] = [];
afterEach(async () => {
  for (const p of pairs) await p.stop();
  pairs = [];
});
const use = (o?: PairOptions): Pair => {
  const p = makePair(o);
  pairs.push(p);
  return p;
};

/** A's CHILD_SA config 'net' (peers.ts writes rekey_time 0s for children; the tests set their own lifetimes). */
function childConfig(peer: Peer): ChildConfig {
  return peer.config.connections.find((c) => c.name === 'demo')!.children.find((c) => c.name === 'net')!;
}

/** When A started a CHILD_SA rekey (ChildRekey logs charon's "establishing CHILD_SA net{N} reqid R"). */
const childRekeys = (p: Pair): number[] => p.a.sink.timesOf(/establishing CHILD_SA net\{\d+\} reqid/);
/** When A sent a CREATE_CHILD_SA request (IKE rekeys and CHILD rekeys alike). */
const createChildRequests = (p: Pair): number[] =>
  p.sent.filter(is.all(is.requestFrom('A'), is.exchange('CREATE_CHILD_SA'))).map((m) => m.sentAt);

describe('an IKE_SA rekey keeps the deadlines of its CHILD_SAs (RFC 7296 2.18)', () => {
  //   t=0    IKE_SA demo[1] with net{1}: CHILD rekey due at 100 s (rekey_time 100 s, rand_time 0)
  //   t=50   IKE_SA rekeyed (demo[1] -> demo[2]): net{1} moves to demo[2], its deadlines with it
  //   t=100  net{1} rekeyed, on demo[2] (before the fix: at ~150 s, its timer re-armed from scratch)
  function childLifetimes(p: Pair): void {
    const c = childConfig(p.a);
    Object.assign(c, { rekeyTime: 100, lifeTime: 110, randTime: 0 });
  }

  test('CHILD rekey_time 100 s, IKE rekey at 50 s: the CHILD_SA is still rekeyed at 100 s', () => {
    const p = use();
    childLifetimes(p);
    p.establish();
    const child = p.a.children()[0]!;
    expect(child.rekeyAt).toBe(100_000);
    expect(child.expireAt).toBe(110_000);
    const first = p.a.sa();

    p.run(50_000);
    p.a.daemon.ops.rekey('demo');
    p.deliverAll();
    const second = p.a.sa();
    expect(second).not.toBe(first);
    expect(p.a.sink.timesOf(/IKE_SA demo\[\d+\] rekeyed between/)).toEqual([50_000]);
    expect(second.children).toEqual([child]);
    // the same absolute deadlines, now on the new IKE_SA's timers
    expect(child.rekeyAt).toBe(100_000);
    expect(child.expireAt).toBe(110_000);
    expect(second.timers.get(`child-rekey-${child.uniqueId}`)?.at).toBe(100_000);
    expect(second.timers.get(`child-expire-${child.uniqueId}`)?.at).toBe(110_000);
    expect(first.timers.size).toBe(0);

    p.run(49_990);
    expect(childRekeys(p)).toEqual([]);
    p.run(70_000);
    expect(childRekeys(p)).toEqual([100_000]);
    expect(createChildRequests(p)).toEqual([50_000, 100_000]);
    expect(p.a.sink.timesOf('CHILD_SA net{1} lifetime expired')).toEqual([]);
    // rekeyed on the IKE_SA it moved to, which B knows too: the replacement is up on both peers
    const [na, nb] = [p.a.children(), p.b.children()];
    expect(na.map((c) => c.label)).toEqual(['net{2}']);
    expect(nb.length).toBe(1);
    expect(na[0]!.spiIn.equals(nb[0]!.spiOut)).toBe(true);
    expect(p.a.sa()).toBe(second);
    // and the replacement's own deadlines count from its installation at 100 s
    expect(na[0]!.rekeyAt).toBe(200_000);
  });

  test('the IKE_SA rekey started by its own timer (rekey_time 50 s, rand_time 0) moves no CHILD deadline', () => {
    const p = use({ a: { rekeyTime: 50, extraConnection: '    rand_time: 0s\n' } });
    childLifetimes(p);
    p.establish();
    const child = p.a.children()[0]!;
    expect(p.a.sink.lines()).toContain('01[IKE] scheduling rekeying in 50s');
    p.run(60_000);
    expect(p.a.sink.timesOf(/IKE_SA demo\[\d+\] rekeyed between/)).toEqual([50_000]);
    const second = p.a.sa();
    expect(second.children).toEqual([child]);
    expect(child.rekeyAt).toBe(100_000);
    expect(second.timers.get(`child-rekey-${child.uniqueId}`)?.at).toBe(100_000);
    // the new IKE_SA got fresh deadlines of its own: 50 s from its start
    expect(second.rekeyAt).toBe(100_000);
  });

  test('rand_time shares come from the RandomSource: same seed, same deadlines', () => {
    const deadlines = (seed: string): number[] => {
      const p = use({ seed, a: { rekeyTime: 3600 } });
      Object.assign(childConfig(p.a), { rekeyTime: 3600, lifeTime: 3960, randTime: 360 });
      p.establish();
      const sa = p.a.sa();
      const c = p.a.children()[0]!;
      return [sa.rekeyAt!, sa.expireAt!, c.rekeyAt!, c.expireAt!];
    };
    const one = deadlines('rand');
    expect(deadlines('rand')).toEqual(one);
    expect(deadlines('other')).not.toEqual(one);
    // within charon's bounds: IKE rekey_time - rand_time (default min(over_time, rekey_time/2) = 360 s) .. rekey_time
    expect(one[0]).toBeGreaterThanOrEqual(3240_000);
    expect(one[0]).toBeLessThanOrEqual(3600_000);
    expect(one[2]).toBeGreaterThanOrEqual(3240_000);
    expect(one[2]).toBeLessThanOrEqual(3600_000);
  });
});

describe('retransmit jitter comes from the RandomSource', () => {
  /** The times A sends its IKE_SA_INIT request (B never answers), with retransmit_jitter 20 %. */
  function sendTimes(seed: string): number[] {
    const p = use({ seed, retransmit: { timeout: 1, base: 1.4, tries: 3, jitter: 20 } });
    p.dropAlways(is.from('B'));
    p.initiate();
    p.run(20_000, 1);
    return p.sent.filter(is.all(is.requestFrom('A'), is.exchange('IKE_SA_INIT'))).map((m) => m.sentAt);
  }

  test('same seed, same retransmit times; another seed, other times; each wait within the jitter', () => {
    const one = sendTimes('jitter');
    expect(one).toHaveLength(4);
    expect(sendTimes('jitter')).toEqual(one);
    expect(sendTimes('jitter-2')).not.toEqual(one);
    // charon: each wait is timeout * base^n minus up to jitter % of it
    const waits = one.slice(1).map((t, i) => t - one[i]!);
    waits.forEach((w, n) => {
      const nominal = 1000 * 1.4 ** n;
      expect(w).toBeGreaterThanOrEqual(Math.floor(nominal * 0.8));
      expect(w).toBeLessThanOrEqual(Math.ceil(nominal));
    });
    expect(waits.some((w, n) => w < 1000 * 1.4 ** n - 1)).toBe(true); // some jitter was applied at all
  });
});

describe('a failed rekey is retried after the delay the task asked for', () => {
  test('CHILD rekey refused (PFS mismatch): "trying again in N seconds", and the next request goes out N s later', () => {
    const p = use({ a: { espProposals: ['aes256gcm16-modp2048'] }, b: { espProposals: ['aes256gcm16'] } });
    p.establish();
    const child = p.a.children()[0]!;
    p.run(1_000);
    p.a.daemon.ops.rekey(undefined, 'net');
    p.deliverAll();
    const line = p.a.sink.lines().find((l) => l.includes('CHILD_SA rekeying failed, trying again in'));
    const n = Number(/trying again in (\d+) seconds/.exec(line ?? '')?.[1]);
    expect(n).toBeGreaterThanOrEqual(6);
    expect(n).toBeLessThanOrEqual(15);
    // the deadline is on the SA (list-sas shows it; an IKE rekey now would carry it along)
    expect(child.rekeyAt).toBe(1_000 + n * 1000);
    expect(p.a.sa().timers.get(`child-rekey-${child.uniqueId}`)?.at).toBe(1_000 + n * 1000);
    p.run(n * 1000 + 500);
    expect(createChildRequests(p)).toEqual([1_000, 1_000 + n * 1000]);
    expect(childRekeys(p)).toEqual([1_000, 1_000 + n * 1000]);
  });
});

describe('RandomSource helpers', () => {
  test('uniform() and randomInt() follow the source: deterministic with a seeded one, within range', () => {
    const a = seededRandom('u');
    const b = seededRandom('u');
    const xs = Array.from({ length: 200 }, () => uniform(a));
    expect(Array.from({ length: 200 }, () => uniform(b))).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(xs).size).toBe(200);
    const r = seededRandom('i');
    const ints = Array.from({ length: 500 }, () => randomInt(r, 10));
    expect(ints.every((i) => Number.isInteger(i) && i >= 0 && i < 10)).toBe(true);
    expect(new Set(ints).size).toBe(10);
    expect(() => randomInt(r, 0)).toThrow(RangeError);
  });

  test('extremes: all-zero bytes give 0, all-one bytes stay below 1', () => {
    expect(uniform({ bytes: (n) => Buffer.alloc(n, 0) })).toBe(0);
    const top = uniform({ bytes: (n) => Buffer.alloc(n, 0xff) });
    expect(top).toBeLessThan(1);
    expect(top).toBeGreaterThan(0.9999999);
    expect(randomInt({ bytes: (n) => Buffer.alloc(n, 0xff) }, 10)).toBe(9);
  });
});
