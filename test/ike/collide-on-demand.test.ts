// The fault action `collide` between two in-process peers: A stands for a peer that cannot be scripted (it rekeys
// net{1} on its own), B runs the rule. When A's CREATE_CHILD_SA(REKEY_SA) arrives, B starts its own rekey of the
// same CHILD_SA and sends it before processing A's, so the two cross (RFC 7296 2.8.1); B's nonces decide the
// outcome, whatever the seeds make of A's: `win` keeps B's new CHILD_SA, `lose` keeps A's. Both peers must agree on
// the survivor (SPIs and keys), the loser deletes its redundant CHILD_SA, the winner the old one.
import { afterEach, describe, expect, test } from 'vitest';
import type { ChildSa } from '../../src/ike/child-sa.js';
import { IkeDpd } from '../../src/ike/tasks/ike-dpd.js';
import type { IkelabEvent } from '../../src/log/events.js';
import { is, makePair, type Pair, type Peer } from '../helpers/peers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});

const pfs = { a: { espProposals: ['aes256gcm16-ecp256'] }, b: { espProposals: ['aes256gcm16-ecp256'] } };
const log = (peer: Peer): string => peer.sink.lines().join('\n');

function events(peer: Peer): IkelabEvent[] {
  const all: IkelabEvent[] = [];
  peer.log.onEvent((e) => all.push(e));
  return all;
}

const spis = (c: ChildSa): string => `${c.spiIn.toString('hex')}/${c.spiOut.toString('hex')}`;

function setUp(seed: string, outcome: 'win' | 'lose', opts = pfs) {
  const p = (pair = makePair({ ...opts, seed }));
  p.establish();
  const evA = events(p.a);
  const evB = events(p.b);
  p.b.daemon.faults.add({ name: 'coll', match: 'exchange=CREATE_CHILD_SA', action: `collide=${outcome}` });
  const old = { a: p.a.children()[0]!, b: p.b.children()[0]! };
  return { p, evA, evB, old };
}

describe('collide=win|lose: the outcome is chosen, not drawn', () => {
  for (const outcome of ['win', 'lose'] as const) {
    for (const seed of ['one', 'two', 'three', 'four', 'five']) {
      test(`${outcome}, seed ${seed}: ${outcome === 'win' ? "B's" : "A's"} rekey survives on both peers`, () => {
        const { p, evA, evB, old } = setUp(seed, outcome);
        p.a.daemon.ops.rekey(undefined, 'net');
        expect(p.describe()).toEqual(['A->B CREATE_CHILD_SA request 2']);
        p.deliverNext();
        // B sent its own rekey first, then its answer to A's: the two exchanges cross
        expect(p.describe()).toEqual(['B->A CREATE_CHILD_SA request 0', 'B->A CREATE_CHILD_SA response 2']);
        expect(log(p.b)).toContain(
          `fault 'coll': starting a rekey of CHILD_SA net{1} to collide with the peer's (${outcome === 'win' ? "ikelab's" : "the peer's"} will win)`,
        );
        const fired = evB.filter((e) => e.event === 'fault.fired');
        expect(fired).toMatchObject([
          { rule: 'coll', action: `collide=${outcome}`, child: 'net', exchange: 'CREATE_CHILD_SA', messageId: 2 },
        ]);
        p.deliverAll();

        const [winner, loser] = outcome === 'win' ? [p.b, p.a] : [p.a, p.b];
        for (const peer of [p.a, p.b]) expect(log(peer)).toContain('detected rekey collision for CHILD_SA net{1}');
        expect(log(winner)).toContain('CHILD_SA rekey collision won, deleting old child net{1}');
        expect(log(winner)).not.toContain('collision lost');
        expect(log(loser)).toMatch(/CHILD_SA rekey collision lost, deleting redundant child net\{\d+\}/);
        expect(log(loser)).not.toContain('collision won');

        // one survivor, the same on both, made by the winner's exchange (the winner initiated it)
        const [ca, cb] = [p.a.children(), p.b.children()];
        expect(ca).toHaveLength(1);
        expect(cb).toHaveLength(1);
        expect(ca[0]!.spiIn.equals(cb[0]!.spiOut) && ca[0]!.spiOut.equals(cb[0]!.spiIn)).toBe(true);
        expect(ca.includes(old.a) || cb.includes(old.b)).toBe(false);
        const survivorOnWinner = winner.children()[0]!;
        const rekeyedOnWinner = (outcome === 'win' ? evB : evA).filter((e) => e.event === 'child.rekeyed');
        expect(rekeyedOnWinner).toMatchObject([{ childId: survivorOnWinner.uniqueId, oldChildId: 1, collision: 'win' }]);
        // B's own view of it, whichever side won: the outcome the rule asked for
        expect(evB.filter((e) => e.event === 'child.rekeyed')).toMatchObject([{ collision: outcome }]);
        // traffic keys: what one seals the other opens
        expect(ca[0]!.keys!.encrOut.equals(cb[0]!.keys!.encrIn)).toBe(true);
        expect(ca[0]!.keys!.encrIn.equals(cb[0]!.keys!.encrOut)).toBe(true);
        expect(ca[0]!.outboundActive && cb[0]!.outboundActive).toBe(true);

        // who deleted what, seen from B (ikelab): win -> B deletes the old SA, A deletes its redundant one
        const deleted = evB.filter((e) => e.event === 'child.deleted').map((e) => `${e.direction} ${e.childId === 1 ? 'old' : 'new'}`);
        expect(deleted.sort()).toEqual(outcome === 'win' ? ['in new', 'out old'] : ['in old', 'out new']);
        expect(p.a.sa().state).toBe('ESTABLISHED');
        expect(p.b.sa().state).toBe('ESTABLISHED');
        expect(spis(ca[0]!)).not.toBe(spis(old.a));
      });
    }
  }

  test('without PFS too (no KE): the nonces alone decide', () => {
    const noPfs = { a: { espProposals: ['aes256gcm16'] }, b: { espProposals: ['aes256gcm16'] } };
    for (const outcome of ['win', 'lose'] as const) {
      const { p } = setUp('nopfs', outcome, noPfs);
      p.a.daemon.ops.rekey(undefined, 'net');
      p.deliverAll();
      const winner = outcome === 'win' ? p.b : p.a;
      expect(log(winner)).toContain('CHILD_SA rekey collision won, deleting old child net{1}');
      expect(p.a.children()[0]!.keys!.encrOut.equals(p.b.children()[0]!.keys!.encrIn)).toBe(true);
      void p.stop();
    }
  });

  test('the rule fires on every rekey of the peer until cleared; --count 1 once, the next rekey goes alone', () => {
    const p = (pair = makePair({ ...pfs, seed: 'count' }));
    p.establish();
    p.b.daemon.faults.add({ name: 'once', match: 'exchange=CREATE_CHILD_SA', action: 'collide=lose', count: 1 });
    p.a.daemon.ops.rekey(undefined, 'net');
    p.deliverAll();
    expect(log(p.b)).toMatch(/collision lost/);
    p.b.sink.clear();
    p.a.sink.clear();
    p.a.daemon.ops.rekey(undefined, 'net');
    p.deliverNext();
    expect(p.describe()).toEqual([expect.stringMatching(/^B->A CREATE_CHILD_SA response \d+$/)]); // nothing of B's own
    p.deliverAll();
    expect(log(p.b)).not.toMatch(/collision|fault 'once'/);
    // the plan did not outlive its collision: B's nonce in that answer is a random one, not 00.. or ff..
    const c = p.b.children()[0]!;
    expect(p.b.children()).toHaveLength(1);
    expect(c.lowerNonce!.equals(Buffer.alloc(32, 0))).toBe(false);
    expect(c.lowerNonce!.equals(Buffer.alloc(32, 0xff))).toBe(false);
  });

  test("B busy with an exchange of its own: the peer's rekey goes alone and is not counted; the rule collides with the next", () => {
    const p = (pair = makePair({ ...pfs, seed: 'busy', levels: { default: 1, ike: 2 } }));
    p.establish();
    const evB = events(p.b);
    p.b.daemon.faults.add({ name: 'coll', match: 'exchange=CREATE_CHILD_SA', action: 'collide=win', count: 1 });
    const b = p.b.sa();
    b.manager.queue(new IkeDpd(b, true)); // B's liveness check in flight, held back
    b.manager.initiate();
    const held = p.hold(is.from('B'));
    p.a.daemon.ops.rekey(undefined, 'net');
    p.deliverNext();
    // nothing fired: the rule is still armed, and the debug line says why it let this rekey pass
    expect(p.b.daemon.faults.list()[0]).toMatchObject({ seen: 0, fired: 0, state: 'active' });
    expect(evB.filter((e) => e.event === 'fault.fired')).toEqual([]);
    expect(log(p.b)).toContain(
      "fault rules: the peer's rekey of CHILD_SA net{1} came while an exchange of ours is in flight: collide waits for its next one",
    );
    expect(log(p.b)).not.toContain('to collide with');
    for (const m of held) p.inject(m);
    p.deliverAll();
    expect(log(p.a) + log(p.b)).not.toMatch(/rekey collision (won|lost)/);
    expect(p.a.children()).toHaveLength(1);
    expect(p.b.children()).toHaveLength(1);

    // B idle now: A's next rekey meets the rule, which makes its collision and is spent
    p.a.daemon.ops.rekey(undefined, 'net');
    p.deliverAll();
    expect(evB.filter((e) => e.event === 'fault.fired')).toMatchObject([{ rule: 'coll', action: 'collide=win' }]);
    expect(log(p.b)).toMatch(/CHILD_SA rekey collision won, deleting old child net\{\d+\}/);
    expect(log(p.a)).toMatch(/CHILD_SA rekey collision lost, deleting redundant child net\{\d+\}/);
    expect(p.b.daemon.faults.list()[0]).toMatchObject({ fired: 1, state: 'spent' });
    expect(spis(p.a.children()[0]!)).toBe(`${p.b.children()[0]!.spiOut.toString('hex')}/${p.b.children()[0]!.spiIn.toString('hex')}`);
  });

  test('a CHILD_SA create (no REKEY_SA) is left alone', () => {
    const p = (pair = makePair({ ...pfs, seed: 'create' }));
    p.establish();
    p.b.daemon.faults.add({ name: 'coll', action: 'collide=win' });
    const a = p.a.sa();
    p.a.daemon.ops.rekey('demo'); // an IKE_SA rekey: CREATE_CHILD_SA without REKEY_SA
    p.deliverAll();
    expect(p.b.daemon.faults.list()[0]!.seen).toBe(0);
    expect(p.a.sas()).not.toContain(a);
  });
});
