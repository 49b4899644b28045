// The explicit collide step (src/ike/task.ts Task.collide, TaskManager.collide; charon's handle_collisions): when a
// rekey the peer started has been answered while our own rekey of the same SA is in flight, the manager hands it to
// our task, which decides when its response arrives. One deterministic in-process test per case of RFC 7296 2.8.1
// (CHILD_SA) and 2.8.2 (IKE_SA), each outcome (our exchange made the redundant SA, or the peer's): the seeds fix the
// nonces, and the nonces decide; and the peer's DELETE crossing our rekey (2.25.1), which goes through the same step
// (collisions.test.ts has more 2.25.1 cases).
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { ChildSa } from '../../src/ike/child-sa.js';
import type { IkeSa } from '../../src/ike/ike-sa.js';
import type { Task } from '../../src/ike/task.js';
import { ChildCreate } from '../../src/ike/tasks/child-create.js';
import { ChildDelete } from '../../src/ike/tasks/child-delete.js';
import { ChildRekey } from '../../src/ike/tasks/child-rekey.js';
import { IkeRekey } from '../../src/ike/tasks/ike-rekey.js';
import { makePair, type Pair } from '../helpers/peers.js';

let pair: Pair | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await pair?.stop();
  pair = undefined;
});

const pfs = { a: { espProposals: ['aes256gcm16-ecp256'] }, b: { espProposals: ['aes256gcm16-ecp256'] } };
const lower = (a: Buffer, b: Buffer): Buffer => (Buffer.compare(a, b) <= 0 ? a : b);

/** Every call of collide() on `cls`: which task was asked, about which, and whether it took it. */
function spyCollide(cls: typeof ChildRekey | typeof IkeRekey): { active: Task; passive: Task; took: boolean }[] {
  const calls: { active: Task; passive: Task; took: boolean }[] = [];
  const original = cls.prototype.collide;
  vi.spyOn(cls.prototype, 'collide').mockImplementation(function (this: Task, other: Task) {
    const took = original.call(this as never, other);
    calls.push({ active: this, passive: other, took });
    return took;
  });
  return calls;
}

/** The new SA a rekey task made (private state, read for the nonce rule). */
const freshChild = (t: Task): ChildSa => (t as unknown as { fresh: ChildSa }).fresh;
const freshIke = (t: Task): IkeSa => (t as unknown as { fresh: IkeSa }).fresh;
const ownerOf = (t: Task): IkeSa => (t as unknown as { sa: IkeSa }).sa;

describe('RFC 7296 2.8.1: both peers rekey the same CHILD_SA at once', () => {
  //   A                                       B
  //   |--- CREATE_CHILD_SA(REKEY net{1}) ---->|  both requests cross
  //   |<--- CREATE_CHILD_SA(REKEY net{1}) ----|
  //   each answers the other's request: "detected rekey collision"; the manager hands that passive task to its own
  //   rekey in flight (collide); when the own response arrives, the exchange holding the lowest of the four nonces
  //   made the redundant CHILD_SA, and its initiator deletes it; the other initiator deletes the old one.
  const cases = [
    { seed: 'one', loser: 'b' as const },
    { seed: 'two', loser: 'a' as const },
  ];
  for (const { seed, loser } of cases) {
    const winner = loser === 'a' ? 'b' : 'a';
    test(`seed ${seed}: ${loser.toUpperCase()}'s exchange holds the lowest nonce, so ${loser.toUpperCase()} deletes its redundant CHILD_SA`, () => {
      const calls = spyCollide(ChildRekey);
      const p = (pair = makePair({ ...pfs, seed }));
      p.establish();
      const old = { a: p.a.children()[0]!, b: p.b.children()[0]! };
      p.a.daemon.ops.rekey(undefined, 'net');
      p.b.daemon.ops.rekey(undefined, 'net');
      expect(p.describe()).toEqual(['A->B CREATE_CHILD_SA request 2', 'B->A CREATE_CHILD_SA request 0']);
      p.deliverAll();

      // the collide step: on each peer, its rekey in flight was handed the peer's rekey of the same CHILD_SA
      expect(calls.map((c) => c.took)).toEqual([true, true]);
      for (const c of calls) {
        expect(c.active.initiator).toBe(true);
        expect(c.passive.initiator).toBe(false);
      }
      // the nonce rule, checked on the real nonces: the loser's own exchange has the lower nonce
      const [first, second] = calls;
      const mine = (c: (typeof calls)[number]): Buffer => freshChild(c.active).lowerNonce!;
      const theirs = (c: (typeof calls)[number]): Buffer => freshChild(c.passive).lowerNonce!;
      expect(mine(first!).equals(theirs(second!))).toBe(true); // the same exchange seen from both ends
      const lowest = lower(lower(mine(first!), theirs(first!)), lower(mine(second!), theirs(second!)));
      const loserActive = calls.find((c) => mine(c).equals(lowest))!;
      expect(ownerOf(loserActive.active)).toBe(p[loser].sa());
      expect(freshChild(loserActive.active).state).toBe('DESTROYING'); // deleted as the redundant one

      const log = (w: 'a' | 'b'): string => p[w].sink.lines().join('\n');
      expect(log('a')).toContain('detected rekey collision for CHILD_SA net{1}');
      expect(log('b')).toContain('detected rekey collision for CHILD_SA net{1}');
      expect(log(loser)).toMatch(/CHILD_SA rekey collision lost, deleting redundant child net\{\d+\}/);
      expect(log(loser)).not.toContain('collision won');
      expect(log(winner)).toContain('CHILD_SA rekey collision won, deleting old child net{1}');
      expect(log(winner)).not.toContain('collision lost');
      // one survivor, the same pair of SPIs on both, the winner's exchange's; the old SA gone on both
      const [ca, cb] = [p.a.children(), p.b.children()];
      expect(ca.length).toBe(1);
      expect(cb.length).toBe(1);
      expect(ca[0]!.spiIn.equals(cb[0]!.spiOut) && ca[0]!.spiOut.equals(cb[0]!.spiIn)).toBe(true);
      expect(ca.includes(old.a) || cb.includes(old.b)).toBe(false);
      const survivorOnLoser = p[loser].children()[0]!;
      expect(survivorOnLoser).toBe(freshChild(loserActive.passive)); // the loser keeps the SA it made as responder
      expect(survivorOnLoser.lowerNonce!.equals(lowest)).toBe(false);
      expect(ca[0]!.outboundActive && cb[0]!.outboundActive).toBe(true);
      expect(p.a.sa().state).toBe('ESTABLISHED');
      expect(p.b.sa().state).toBe('ESTABLISHED');
    });
  }

  test('crossing rekeys of two different CHILD_SAs are no collision: collide() declines, both rekeys complete', () => {
    const calls = spyCollide(ChildRekey);
    const p = (pair = makePair({ ...pfs, seed: 'one' }));
    p.establish();
    // a second CHILD_SA of the same config
    const a = p.a.sa();
    a.manager.queue(new ChildCreate(a, true, a.config.children[0]!));
    a.manager.initiate();
    p.deliverAll();
    const [one, two] = p.a.children();
    expect(p.b.children().length).toBe(2);
    p.a.daemon.ops.rekey(undefined, `${one!.uniqueId}`);
    const twoOnB = p.b.children().find((c) => c.spiOut.equals(two!.spiIn))!;
    p.b.daemon.ops.rekey(undefined, `${twoOnB.uniqueId}`);
    expect(p.describe()).toEqual(['A->B CREATE_CHILD_SA request 3', 'B->A CREATE_CHILD_SA request 0']);
    p.deliverAll();
    expect(calls.map((c) => c.took)).toEqual([false, false]);
    const all = p.a.sink.lines().join('\n') + p.b.sink.lines().join('\n');
    expect(all).not.toMatch(/collision/);
    const [ca, cb] = [p.a.children(), p.b.children()];
    expect(ca.length).toBe(2);
    expect(cb.length).toBe(2);
    expect(ca.includes(one!) || ca.includes(two!)).toBe(false);
    for (const c of ca) expect(cb.some((d) => d.spiOut.equals(c.spiIn) && d.spiIn.equals(c.spiOut))).toBe(true);
  });
});

describe('RFC 7296 2.25.1: the peer deletes the CHILD_SA we are rekeying', () => {
  //   A                                    B
  //   |--- CREATE_CHILD_SA(REKEY net{1}) --->|  B answers (net{2} on B)
  //   |<-- INFORMATIONAL(D net{1}) ----------|  A answers the delete: handed to A's rekey in flight (collide)
  //   |<-- CREATE_CHILD_SA response ---------|  A installs net{2} and closes it at once: its predecessor is gone
  test("the peer's delete is handed to our rekey (collide), which closes the replacement when its response arrives", () => {
    const calls = spyCollide(ChildRekey);
    const p = (pair = makePair(pfs));
    p.establish();
    const old = p.b.children()[0]!;
    p.a.daemon.ops.rekey(undefined, 'net');
    p.deliverNext(); // B answers the rekey
    const response = p.hold((m) => m.header.response)[0]!;
    p.b.daemon.ops.terminate(undefined, `${old.uniqueId}`);
    p.deliverAll(); // A answers B's delete of net{1}
    expect(calls).toHaveLength(1);
    expect(calls[0]!.passive).toBeInstanceOf(ChildDelete);
    expect(calls[0]!.took).toBe(true);
    p.inject(response);
    p.deliverAll();
    expect(p.a.sink.lines().join('\n')).toMatch(/closing CHILD_SA net\{\d+\} we tried to rekey because the peer deleted net\{1\}/);
    expect(p.a.children()).toEqual([]);
    expect(p.b.children()).toEqual([]);
    expect(p.a.sa().state).toBe('ESTABLISHED');
  });
});

describe('RFC 7296 2.8.2: both peers rekey the IKE_SA at once', () => {
  //   both CREATE_CHILD_SA(IKE proposal) requests cross; each peer makes a new IKE_SA as responder ("detected
  //   IKE_REKEY collision with IKE_REKEY"), keeping the CHILD_SAs where they are, and the manager hands that task
  //   to its own rekey (collide). The exchange with the lowest nonce made the redundant IKE_SA: its initiator
  //   deletes it and moves the CHILD_SAs to the other; the winner waits for the peer to delete the old IKE_SA.
  const cases = [
    { seed: 'one', loser: 'b' as const },
    { seed: 'two', loser: 'a' as const },
  ];
  for (const { seed, loser } of cases) {
    const winner = loser === 'a' ? 'b' : 'a';
    test(`seed ${seed}: ${loser.toUpperCase()}'s new IKE_SA is the redundant one`, () => {
      const calls = spyCollide(IkeRekey);
      const p = (pair = makePair({ seed }));
      p.establish();
      const child = { a: p.a.children()[0]!, b: p.b.children()[0]! };
      const old = { a: p.a.sa(), b: p.b.sa() };
      p.a.daemon.ops.rekey('demo');
      p.b.daemon.ops.rekey('demo');
      expect(p.describe()).toEqual(['A->B CREATE_CHILD_SA request 2', 'B->A CREATE_CHILD_SA request 0']);
      p.deliverAll();

      expect(calls.map((c) => c.took)).toEqual([true, true]);
      const lowerOf = (sa: IkeSa): Buffer => lower(sa.ni, sa.nr);
      const [first, second] = calls;
      expect(lowerOf(freshIke(first!.active)).equals(lowerOf(freshIke(second!.passive)))).toBe(true);
      const exchanges = calls.map((c) => ({ c, n: lowerOf(freshIke(c.active)) }));
      const lowest = exchanges.reduce((m, e) => (Buffer.compare(e.n, m.n) < 0 ? e : m));
      // the loser's own new IKE_SA is the redundant one and is gone; the survivor is the one it made as responder
      const redundant = freshIke(lowest.c.active);
      expect(ownerOf(lowest.c.active)).toBe(old[loser]);
      expect(redundant.state).toBe('DESTROYING');
      expect(p[loser].sa()).toBe(freshIke(lowest.c.passive));

      const log = (w: 'a' | 'b'): string => p[w].sink.lines().join('\n');
      expect(log('a')).toContain('detected IKE_REKEY collision with IKE_REKEY');
      expect(log('b')).toContain('detected IKE_REKEY collision with IKE_REKEY');
      expect(log(loser)).toContain(`IKE_SA rekey collision lost, deleting redundant IKE_SA ${redundant.label}`);
      expect(log(winner)).toMatch(/IKE_SA rekey collision won, waiting for delete for redundant IKE_SA demo\[\d+\]/);
      const [a, b] = [p.a.sa(), p.b.sa()];
      expect(a).not.toBe(old.a);
      expect(b).not.toBe(old.b);
      expect(a.spiI.equals(b.spiI) && a.spiR.equals(b.spiR)).toBe(true);
      expect(a.keys!.skD.equals(b.keys!.skD)).toBe(true);
      expect(a.children).toEqual([child.a]);
      expect(b.children).toEqual([child.b]);
      expect(old.a.state).toBe('DESTROYING');
      expect(old.b.state).toBe('DESTROYING');
    });
  }
});
