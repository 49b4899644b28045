// Two ikelab daemons with their real userspace ESP engines, in one process: a negotiated CHILD_SA carries
// pings both ways (also with ESN, which strongSwan's kernel-libipsec cannot do, so this is where ESN gets an
// end-to-end check), the userspace engine forces UDP encapsulation and sends NAT-T keepalives, and a CHILD_SA
// rekey refused with INVALID_KE_PAYLOAD is retried with the requested group.
import { afterEach, describe, expect, test } from 'vitest';
import { protect } from '../../src/ike/message-protect.js';
import { invalidKe } from '../../src/ike/notifies.js';
import { makePair, type Pair } from '../helpers/peers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});

const espPair = (esp: string) =>
  (pair = makePair({
    esp: true,
    a: { espProposals: [esp], hostAddrs: ['10.201.0.1'] },
    b: { espProposals: [esp], hostAddrs: ['10.202.0.1'] },
  }));

describe('ESP between two ikelab engines', () => {
  for (const esp of ['aes256gcm16', 'aes256gcm16-esn', 'aes128-sha256-esn', 'chacha20poly1305-esn']) {
    test(`${esp}: pings both ways through the CHILD_SA, counters agree`, async () => {
      const p = espPair(esp);
      p.establish();
      const [ca, cb] = [p.a.children()[0]!, p.b.children()[0]!];
      expect(ca.suite!.esn).toBe(esp.endsWith('-esn'));
      expect(cb.suite!.esn).toBe(esp.endsWith('-esn'));
      expect(ca.encap && cb.encap).toBe(true); // userspace ESP always travels in UDP
      const ab = await p.a.daemon.ops.ping({ child: 'net', dst: '10.202.0.1', count: 3, intervalMs: 1, timeoutMs: 500 });
      const ba = await p.b.daemon.ops.ping({ child: 'net', dst: '10.201.0.1', count: 2, intervalMs: 1, timeoutMs: 500 });
      expect(ab).toMatchObject({ sent: 3, received: 3 });
      expect(ba).toMatchObject({ sent: 2, received: 2 });
      expect(ca.counters.packetsOut).toBe(5); // 3 requests + 2 replies
      expect(ca.counters.packetsIn).toBe(5);
      expect(cb.counters.packetsOut).toBe(5);
      expect(ca.counters.bytesOut).toBe(cb.counters.bytesIn);
      expect(ca.counters.integrityFailures + cb.counters.integrityFailures).toBe(0);
    });
  }

  test('NAT-T keepalives every keep_alive (20 s) from both peers while encapsulating', () => {
    const p = espPair('aes256gcm16');
    p.establish();
    const t0 = p.clock.now();
    p.run(61_000, 1000);
    const from = (who: 'A' | 'B') => p.keepalives.filter((k) => k.from === who && k.at > t0);
    expect(from('A').length).toBe(3);
    expect(from('B').length).toBe(3);
    expect(from('A')[0]!.dst.port).toBe(15001);
    expect(from('A')[1]!.at - from('A')[0]!.at).toBe(20_000);
  });
});

test('CHILD_SA rekey with INVALID_KE_PAYLOAD: retried with the group the responder wants', () => {
  const p = (pair = makePair({ a: { espProposals: ['aes256gcm16-modp2048-ecp256'] }, b: { espProposals: ['aes256gcm16-ecp256'] } }));
  p.establish();
  const old = p.a.children()[0]!;
  p.a.daemon.ops.rekey(undefined, 'net');
  p.deliverAll();
  const log = p.a.sink.lines().join('\n');
  expect(log).toContain("peer didn't accept DH group MODP_2048, it requested ECP_256");
  const [ca, cb] = [p.a.children(), p.b.children()];
  expect(ca.length).toBe(1);
  expect(cb.length).toBe(1);
  expect(ca[0]!.spiIn.equals(old.spiIn)).toBe(false);
  expect(ca[0]!.dhGroup).toBe(19);
  expect(cb[0]!.spiOut.equals(ca[0]!.spiIn)).toBe(true);
});

describe('trap policies (start_action / dpd_action = trap)', () => {
  /** Deliver IKE messages while an async call (a ping that acquires) is pending. */
  async function pumping<T>(p: Pair, fn: () => Promise<T>): Promise<T> {
    const t = setInterval(() => p.deliverAll(), 2);
    try {
      return await fn();
    } finally {
      clearInterval(t);
    }
  }

  test('start_action trap: no SA at start; a ping through the child acquires it, and the ping is answered', async () => {
    const p = (pair = makePair({ esp: true, a: { startAction: 'trap', hostAddrs: ['10.201.0.1'] }, b: { hostAddrs: ['10.202.0.1'] } }));
    p.a.daemon.ops.startActions();
    expect(p.queue.length).toBe(0);
    expect(p.a.daemon.ops.traps.has('demo/net')).toBe(true);
    const r = await pumping(p, () => p.a.daemon.ops.ping({ child: 'net', dst: '10.202.0.1', count: 2, intervalMs: 1, timeoutMs: 500 }));
    expect(r).toMatchObject({ sent: 2, received: 2 });
    expect(p.a.sink.lines().join('\n')).toContain('creating acquire job for CHILD_SA net of demo');
    expect(p.a.sa().state).toBe('ESTABLISHED');
  });

  test('dpd_action trap: after the peer died the child is routed, and traffic brings it back', async () => {
    const p = (pair = makePair({
      esp: true,
      a: { dpdDelay: 2, dpdAction: 'trap', hostAddrs: ['10.201.0.1'] },
      b: { hostAddrs: ['10.202.0.1'] },
    }));
    p.establish();
    const first = p.a.sa();
    const stop = p.dropAlways((m) => m.from === 'B');
    p.run(12_000, 500);
    stop();
    expect(p.a.sas()).toEqual([]);
    expect(p.a.daemon.ops.traps.has('demo/net')).toBe(true);
    const r = await pumping(p, () => p.a.daemon.ops.ping({ child: 'net', dst: '10.202.0.1', count: 1, intervalMs: 1, timeoutMs: 500 }));
    expect(r.received).toBe(1);
    expect(p.a.sa().uniqueId).toBeGreaterThan(first.uniqueId);
  });
});

test('DPD counts inbound ESP as liveness: no DPD request while pings flow, one once traffic stops', async () => {
  const p = (pair = makePair({ esp: true, a: { dpdDelay: 3, hostAddrs: ['10.201.0.1'] }, b: { hostAddrs: ['10.202.0.1'] } }));
  p.establish();
  const dpds = () => p.a.sink.lines().filter((l) => l.includes('sending DPD request')).length;
  for (let i = 0; i < 6; i++) {
    // B's pings reach A every second: inbound ESP on A's IKE_SA
    await p.b.daemon.ops.ping({ child: 'net', dst: '10.201.0.1', count: 1, intervalMs: 1, timeoutMs: 200 });
    p.run(1000, 250);
  }
  expect(dpds()).toBe(0);
  p.run(4000, 250);
  expect(dpds()).toBe(1);
});

describe('INVALID_KE_PAYLOAD asking for a group we never proposed (RFC 7296 1.3, 2.7)', () => {
  /** A's rekey request is answered by a forged-but-authentic response from B: N(INVALID_KE_PAYLOAD) for ECP_256. */
  function answerWithInvalidKe(p: Pair): void {
    const [req] = p.hold(() => true);
    const b = p.b.sa();
    p.deliver({
      ...req!,
      from: 'B',
      to: 'A',
      src: req!.dst,
      dst: req!.src,
      data: protect(b, req!.header.exchange, req!.header.messageId, true, [invalidKe(19)]),
    });
  }

  test('CHILD_SA rekey: no retry with an unproposed group, the old SA stays and the rekey is retried later', () => {
    const p = (pair = makePair({ a: { espProposals: ['aes256gcm16-modp2048'] }, b: { espProposals: ['aes256gcm16-modp2048'] } }));
    p.establish();
    const old = p.a.children()[0]!;
    p.a.daemon.ops.rekey(undefined, 'net');
    answerWithInvalidKe(p);
    const log = p.a.sink.lines().join('\n');
    expect(log).toContain('received INVALID_KE_PAYLOAD notify, no CHILD_SA built');
    expect(log).toMatch(/CHILD_SA rekeying failed, trying again in \d+ seconds/);
    expect(p.queue).toEqual([]);
    expect(p.a.children()).toEqual([old]);
  });

  test('IKE_SA rekey: no retry with an unproposed group, the IKE_SA stays', () => {
    const p = (pair = makePair());
    p.establish();
    const sa = p.a.sa();
    p.a.daemon.ops.rekey('demo');
    answerWithInvalidKe(p);
    expect(p.a.sink.lines().join('\n')).toContain('received INVALID_KE_PAYLOAD notify error');
    expect(p.queue).toEqual([]);
    expect(p.a.sa()).toBe(sa);
    expect(sa.state).toBe('ESTABLISHED');
  });
});
