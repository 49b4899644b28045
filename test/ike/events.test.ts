// The structured lifecycle events (src/log/events.ts) as two in-process peers see them: which events, in which
// order, with which fields, for establishing, rekeying (CHILD_SA and IKE_SA), deleting, and two failed setups.
// The events come from IkeSa/ChildSa state changes and the tasks' charon lines (Logger.event): the charon text is
// covered by the other tests; here only what a listener (Logger.onEvent) receives.
import { afterEach, describe, expect, test } from 'vitest';
import { EVENT_NAMES, type IkelabEvent } from '../../src/log/events.js';
import { makePair, type Pair, type Peer } from '../helpers/peers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});

/** Every event a peer's logger delivers, in order; `life()` only the IKE_SA/CHILD_SA lifecycle ones. */
function recorder(peer: Peer) {
  const all: IkelabEvent[] = [];
  peer.log.onEvent((e) => all.push(e));
  const life = (): IkelabEvent[] => all.filter((e) => e.event.startsWith('ike.') || e.event.startsWith('child.'));
  return {
    all,
    life,
    names: (): string[] => life().map((e) => e.event),
    clear: (): void => {
      all.length = 0;
    },
    one(name: string): IkelabEvent {
      const found = life().filter((e) => e.event === name);
      expect(found, `exactly one ${name} on ${peer.name}`).toHaveLength(1);
      return found[0]!;
    },
  };
}

function start(opts: Parameters<typeof makePair>[0] = {}) {
  const p = (pair = makePair(opts));
  return { p, a: recorder(p.a), b: recorder(p.b) };
}

const HEX16 = /^[0-9a-f]{16}$/;
const HEX8 = /^[0-9a-f]{8}$/;

describe('lifecycle events', () => {
  test('establish: ike.initiating on the initiator, ike.established and child.established on both, SPIs matching', () => {
    const { p, a, b } = start();
    p.establish();
    expect(a.names()).toEqual(['ike.initiating', 'ike.established', 'child.established']);
    expect(b.names()).toEqual(['ike.established', 'child.established']);

    const sa = { a: p.a.sa(), b: p.b.sa() };
    const init = a.one('ike.initiating');
    expect(init).toMatchObject({ ike: 'demo', ikeId: sa.a.uniqueId, spiI: sa.a.spiI.toString('hex'), peer: '127.0.0.2[15000]' });

    const ea = a.one('ike.established');
    const eb = b.one('ike.established');
    expect(ea).toMatchObject({ ike: 'demo', ikeId: sa.a.uniqueId, local: '127.0.0.1[15000]', peer: '127.0.0.2[15000]' });
    expect(eb).toMatchObject({ ike: 'demo', ikeId: sa.b.uniqueId, local: '127.0.0.2[15000]', peer: '127.0.0.1[15000]' });
    expect(ea.spiI).toMatch(HEX16);
    expect(ea.spiR).toMatch(HEX16);
    expect(ea.spiR).not.toBe('0000000000000000');
    expect([eb.spiI, eb.spiR]).toEqual([ea.spiI, ea.spiR]);
    expect(ea.spiR).toBe(sa.b.spiR.toString('hex'));

    const ca = a.one('child.established');
    const cb = b.one('child.established');
    const child = { a: p.a.children()[0]!, b: p.b.children()[0]! };
    expect(ca).toMatchObject({ child: 'net', childId: child.a.uniqueId, localTs: ['10.201.0.0/24'], remoteTs: ['10.202.0.0/24'] });
    expect(cb).toMatchObject({ child: 'net', childId: child.b.uniqueId, localTs: ['10.202.0.0/24'], remoteTs: ['10.201.0.0/24'] });
    expect(ca.spiIn).toMatch(HEX8);
    expect(ca.spiOut).toMatch(HEX8);
    expect(ca.spiIn).toBe(cb.spiOut);
    expect(ca.spiOut).toBe(cb.spiIn);
    expect(ca.spiIn).toBe(child.a.spiIn.toString('hex'));
    expect(ca.proposal).toMatch(/AES_GCM_16_256/);
    expect(cb.proposal).toBe(ca.proposal);
  });

  test('CHILD_SA rekey: child.established for the new one, child.rekeyed naming the old, then child.deleted', () => {
    const { p, a, b } = start();
    p.establish();
    const old = { a: p.a.children()[0]!, b: p.b.children()[0]! };
    a.clear();
    b.clear();
    p.a.daemon.ops.rekey(undefined, 'net');
    p.deliverAll();
    const fresh = { a: p.a.children()[0]!, b: p.b.children()[0]! };
    expect(fresh.a).not.toBe(old.a);

    expect(a.names()).toEqual(['child.established', 'child.rekeyed', 'child.deleted']);
    expect(b.names()).toEqual(['child.established', 'child.rekeyed', 'child.deleted']);
    expect(a.one('child.rekeyed')).toMatchObject({ child: 'net', childId: fresh.a.uniqueId, oldChildId: old.a.uniqueId });
    expect(b.one('child.rekeyed')).toMatchObject({ child: 'net', childId: fresh.b.uniqueId, oldChildId: old.b.uniqueId });
    expect(a.one('child.rekeyed').spiIn).toBe(b.one('child.rekeyed').spiOut);
    // the initiator deletes the old CHILD_SA, the responder hears of it
    expect(a.one('child.deleted')).toMatchObject({ direction: 'out', childId: old.a.uniqueId, spiIn: old.a.spiIn.toString('hex') });
    expect(b.one('child.deleted')).toMatchObject({ direction: 'in', childId: old.b.uniqueId, spiIn: old.b.spiIn.toString('hex') });
  });

  test('IKE_SA rekey: ike.rekeyed for the new IKE_SA naming the old one, the old one deleted and destroyed', () => {
    const { p, a, b } = start();
    p.establish();
    const old = { a: p.a.sa(), b: p.b.sa() };
    a.clear();
    b.clear();
    p.a.daemon.ops.rekey('demo');
    p.deliverAll();
    const fresh = { a: p.a.sa(), b: p.b.sa() };
    expect(fresh.a).not.toBe(old.a);

    expect(a.names()).toEqual(['ike.rekeyed', 'ike.deleted', 'ike.destroyed']);
    expect(b.names()).toEqual(['ike.rekeyed', 'ike.deleted', 'ike.destroyed']);
    const ra = a.one('ike.rekeyed');
    expect(ra).toMatchObject({ ike: 'demo', ikeId: fresh.a.uniqueId, oldIkeId: old.a.uniqueId, spiI: fresh.a.spiI.toString('hex') });
    expect(b.one('ike.rekeyed')).toMatchObject({ ikeId: fresh.b.uniqueId, oldIkeId: old.b.uniqueId, spiI: ra.spiI, spiR: ra.spiR });
    expect(a.one('ike.deleted')).toMatchObject({ ikeId: old.a.uniqueId, direction: 'out' });
    expect(b.one('ike.deleted')).toMatchObject({ ikeId: old.b.uniqueId, direction: 'in' });
    expect(a.one('ike.destroyed').ikeId).toBe(old.a.uniqueId);
    expect(b.one('ike.destroyed').ikeId).toBe(old.b.uniqueId);
  });

  test('DELETE of the IKE_SA: ike.deleted out on the deleting side, in on the other, then ike.destroyed', () => {
    const { p, a, b } = start();
    p.establish();
    const sa = { a: p.a.sa(), b: p.b.sa() };
    a.clear();
    b.clear();
    p.a.daemon.ops.terminate('demo');
    p.deliverAll();
    expect(p.a.sas()).toHaveLength(0);
    expect(p.b.sas()).toHaveLength(0);

    expect(a.names()).toEqual(['ike.deleted', 'ike.destroyed']);
    expect(b.names()).toEqual(['ike.deleted', 'ike.destroyed']);
    expect(a.one('ike.deleted')).toMatchObject({ ikeId: sa.a.uniqueId, direction: 'out', spiI: sa.a.spiI.toString('hex') });
    expect(b.one('ike.deleted')).toMatchObject({ ikeId: sa.b.uniqueId, direction: 'in', spiI: sa.a.spiI.toString('hex') });
    expect(a.one('ike.destroyed')).toMatchObject({ ikeId: sa.a.uniqueId, reason: 'deleted' });
    expect(b.one('ike.destroyed')).toMatchObject({ ikeId: sa.b.uniqueId, reason: 'deleted by peer' });
  });

  test('wrong PSK: ike.failed with AUTHENTICATION_FAILED, received by the initiator, sent by the responder', () => {
    const { p, a, b } = start({ b: { psk: 'not-the-same-secret' } });
    p.initiate();
    p.deliverAll();
    expect(p.a.sas()).toHaveLength(0);

    expect(a.names()).toEqual(['ike.initiating', 'ike.failed', 'ike.destroyed']);
    expect(b.names()).toEqual(['ike.failed', 'ike.destroyed']);
    expect(a.one('ike.failed')).toMatchObject({ ike: 'demo', notify: 'AUTHENTICATION_FAILED', direction: 'in' });
    expect(a.one('ike.failed').reason).toMatch(/AUTHENTICATION_FAILED/);
    expect(b.one('ike.failed')).toMatchObject({ notify: 'AUTHENTICATION_FAILED', direction: 'out' });
    expect(b.one('ike.failed').reason).toMatch(/MAC mismatched/);
    expect(a.one('ike.destroyed').reason).toMatch(/^setup failed/);
  });

  test('CHILD_SA proposal mismatch: child.failed with NO_PROPOSAL_CHOSEN, the IKE_SA stays', () => {
    const { p, a, b } = start({ b: { espProposals: ['aes128-sha256'] } });
    p.establish();
    expect(p.a.sa().state).toBe('ESTABLISHED');
    expect(p.a.children()).toHaveLength(0);

    expect(a.names()).toEqual(['ike.initiating', 'ike.established', 'child.failed']);
    expect(b.names()).toEqual(['ike.established', 'child.failed']);
    expect(a.one('child.failed')).toMatchObject({ child: 'net', notify: 'NO_PROPOSAL_CHOSEN', direction: 'in' });
    expect(b.one('child.failed')).toMatchObject({ notify: 'NO_PROPOSAL_CHOSEN', direction: 'out' });
  });

  test('CHILD_SA rekey refused: child.rekey-failed with the notify and the retry delay charon prints', () => {
    const pfs = ['aes256gcm16-ecp256'];
    const { p, a } = start({ a: { espProposals: pfs }, b: { espProposals: pfs } });
    p.establish();
    a.clear();
    p.a.daemon.ops.rekey(undefined, 'net', 31); // curve25519 for this rekey only: B has ecp256 only
    p.deliverAll();
    const f = a.one('child.rekey-failed');
    expect(f).toMatchObject({ child: 'net', childId: p.a.children()[0]!.uniqueId, notify: 'NO_PROPOSAL_CHOSEN' });
    expect(p.a.sink.has(`CHILD_SA rekeying failed, trying again in ${f.retryIn} seconds`)).toBe(true);
  });

  test('every event emitted over a whole life (establish, rekeys, delete) has a name from EVENT_NAMES', () => {
    const { p, a, b } = start();
    p.establish();
    p.a.daemon.ops.rekey(undefined, 'net');
    p.deliverAll();
    p.b.daemon.ops.rekey('demo');
    p.deliverAll();
    p.b.daemon.ops.terminate('demo');
    p.deliverAll();
    const seen = [...a.all, ...b.all].map((e) => e.event);
    expect(seen.length).toBeGreaterThan(10);
    expect(seen.filter((n) => !(EVENT_NAMES as readonly string[]).includes(n))).toEqual([]);
    for (const e of [...a.all, ...b.all]) expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});
