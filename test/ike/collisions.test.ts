// Rekey collisions (RFC 7296 2.8.1) and a DELETE crossing a rekey (2.25.1), between two in-process peers with a
// message queue, so every crossing is exact and repeatable. strongSwan interop for the same cases lives in
// test/interop/collision.test.ts.
import { afterEach, describe, expect, test } from 'vitest';
import { ChildDelete } from '../../src/ike/tasks/child-delete.js';
import { makePair, type Pair } from '../helpers/peers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});

const lines = (p: Pair, who: 'a' | 'b') => p[who].sink.lines().join('\n');
const pfs = { a: { espProposals: ['aes256gcm16-ecp256'] }, b: { espProposals: ['aes256gcm16-ecp256'] } };

describe('CHILD_SA rekey collision', () => {
  //   A                                B
  //   |--- CREATE_CHILD_SA(REKEY net{1}) -->|   both requests are sent before either is answered
  //   |<-- CREATE_CHILD_SA(REKEY net{1}) ---|
  //   |  each answers the other's request (passive rekey), then gets its own response:
  //   |  the exchange holding the lowest of the four nonces made the redundant CHILD_SA; its initiator
  //   |  deletes that one, the winner deletes the old net{1}.
  for (const seed of ['one', 'two', 'three', 'four']) {
    test(`both peers rekey net{1} at once (seed ${seed}): one survivor, the same on both`, () => {
      const p = (pair = makePair({ ...pfs, seed }));
      p.establish();
      const old = p.a.children()[0]!;
      p.a.daemon.ops.rekey(undefined, 'net');
      p.b.daemon.ops.rekey(undefined, 'net');
      expect(p.describe()).toEqual(['A->B CREATE_CHILD_SA request 2', 'B->A CREATE_CHILD_SA request 0']);
      p.deliverAll();
      const [ca, cb] = [p.a.children(), p.b.children()];
      expect(ca.length).toBe(1);
      expect(cb.length).toBe(1);
      expect(ca[0]!.spiIn.equals(cb[0]!.spiOut)).toBe(true);
      expect(ca[0]!.spiOut.equals(cb[0]!.spiIn)).toBe(true);
      expect(ca[0]!.spiIn.equals(old.spiIn)).toBe(false);
      expect(ca[0]!.keys!.encrOut.equals(cb[0]!.keys!.encrIn)).toBe(true);
      expect(ca[0]!.outboundActive && cb[0]!.outboundActive).toBe(true);
      const all = `${lines(p, 'a')}\n${lines(p, 'b')}`;
      expect(all).toContain('detected rekey collision for CHILD_SA net{1}');
      expect(all.match(/CHILD_SA rekey collision won, deleting old child net\{1\}/g)?.length).toBe(1);
      expect(all.match(/CHILD_SA rekey collision lost, deleting redundant child net\{\d+\}/g)?.length).toBe(1);
      expect(p.a.sa().state).toBe('ESTABLISHED');
      expect(p.b.sa().state).toBe('ESTABLISHED');
    });
  }
});

describe('IKE_SA rekey collision', () => {
  for (const seed of ['one', 'two', 'three']) {
    test(`both peers rekey the IKE_SA at once (seed ${seed}): one new IKE_SA on both, CHILD_SA moved`, () => {
      const p = (pair = makePair({ seed }));
      p.establish();
      const child = p.a.children()[0]!;
      p.a.daemon.ops.rekey('demo');
      p.b.daemon.ops.rekey('demo');
      p.deliverAll();
      const [a, b] = [p.a.sas(), p.b.sas()];
      expect(a.length).toBe(1);
      expect(b.length).toBe(1);
      expect(a[0]!.spiI.equals(b[0]!.spiI) && a[0]!.spiR.equals(b[0]!.spiR)).toBe(true);
      expect(a[0]!.keys!.skD.equals(b[0]!.keys!.skD)).toBe(true);
      expect(a[0]!.state).toBe('ESTABLISHED');
      expect(a[0]!.children.map((c) => c.label)).toEqual([child.label]);
      expect(b[0]!.children.length).toBe(1);
      const all = `${lines(p, 'a')}\n${lines(p, 'b')}`;
      expect(all).toContain('detected IKE_REKEY collision with IKE_REKEY');
      expect(all.match(/IKE_SA rekey collision won/g)?.length).toBe(1);
      expect(all.match(/IKE_SA rekey collision lost, deleting redundant IKE_SA demo\[\d+\]/g)?.length).toBe(1);
      // the survivor works: a CHILD_SA rekey over it
      p.a.daemon.ops.rekey(undefined, 'net');
      p.deliverAll();
      expect(p.a.children()[0]!.spiIn.equals(child.spiIn)).toBe(false);
      expect(p.b.children()[0]!.spiOut.equals(p.a.children()[0]!.spiIn)).toBe(true);
    });
  }
});

describe('DELETE crossing a CHILD_SA rekey (RFC 7296 2.25.1)', () => {
  //   A                                    B
  //   |--- CREATE_CHILD_SA(REKEY net{1}) --->|  B is deleting net{1}: TEMPORARY_FAILURE
  //   |<-- INFORMATIONAL(D net{1}) ----------|  A answers the delete, net{1} is gone
  //   A does not retry the rekey of an SA that no longer exists; the IKE_SA stays.
  test('the peer deletes the CHILD_SA we are rekeying', () => {
    const p = (pair = makePair(pfs));
    p.establish();
    p.a.daemon.ops.rekey(undefined, 'net');
    p.b.daemon.ops.terminate(undefined, 'net');
    expect(p.describe()).toEqual(['A->B CREATE_CHILD_SA request 2', 'B->A INFORMATIONAL request 0']);
    p.deliverAll();
    expect(p.a.children()).toEqual([]);
    expect(p.b.children()).toEqual([]);
    expect(lines(p, 'b')).toContain('unable to rekey CHILD_SA net{1}, we are deleting it');
    expect(lines(p, 'a')).toContain('received TEMPORARY_FAILURE notify, no CHILD_SA built');
    expect(lines(p, 'a')).not.toMatch(/trying again in/);
    expect(p.a.sa().state).toBe('ESTABLISHED');
    expect(p.b.sa().state).toBe('ESTABLISHED');
  });

  //   A                                    B
  //   |--- CREATE_CHILD_SA(REKEY net{1}) --->|  B rekeys (net{2} on B, outbound pending)
  //   |<-- INFORMATIONAL(D net{1}) ----------|  B deleted net{1} after answering (its delete was queued behind)
  //   |<-- CREATE_CHILD_SA response ---------|  A installs net{2} but its predecessor is gone: A closes it too
  test('the peer answers our rekey and then deletes the old CHILD_SA itself', () => {
    const p = (pair = makePair(pfs));
    p.establish();
    const old = p.b.children()[0]!;
    p.a.daemon.ops.rekey(undefined, 'net');
    p.deliverNext(); // B answers the rekey
    const response = p.hold((m) => m.header.response)[0]!;
    // B now deletes the old SA explicitly (as an operator would with swanctl --terminate --child)
    const b = p.b.sa();
    b.manager.queue(new ChildDelete(b, true, [old]));
    b.manager.initiate();
    p.deliverAll(); // A handles B's delete of net{1}
    p.inject(response);
    p.deliverAll();
    expect(lines(p, 'a')).toMatch(/closing CHILD_SA net\{\d+\} we tried to rekey because the peer deleted net\{1\}/);
    expect(p.a.children()).toEqual([]);
    expect(p.b.children()).toEqual([]);
    expect(p.a.sa().state).toBe('ESTABLISHED');
  });
});
