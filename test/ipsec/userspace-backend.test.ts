// Two userspace engines back to back, each with the other's CHILD_SAs (built by hand as the IKE layer would):
// pings through the tunnel, counters, drops, rekey overlap and the IOS-style view.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { ChildSa } from '../../src/ike/child-sa.js';
import type { IkeSa } from '../../src/ike/ike-sa.js';
import type { ChildConfig } from '../../src/config/types.js';
import { Logger } from '../../src/log/logger.js';
import type { Endpoint } from '../../src/net/endpoint.js';
import { UserspaceBackend } from '../../src/ipsec/userspace-backend.js';
import { buildEcho, buildUdp, ipBytes } from '../../src/ipsec/packets.js';
import { Encr, Integ } from '../../src/wire/constants.js';
import type { TrafficSelector } from '../../src/wire/types.js';

const net = (a: string, b: string): TrafficSelector => ({ tsType: 7, ipProtocol: 0, startPort: 0, endPort: 0xffff, startAddr: ipBytes(a), endAddr: ipBytes(b) });
const A_NET = net('10.12.0.0', '10.12.0.255');
const B_NET = net('10.11.0.0', '10.11.0.255');
const A_EP: Endpoint = { address: '10.98.0.2', port: 4500 };
const B_EP: Endpoint = { address: '10.98.0.1', port: 4500 };

const fakeIke = (local: Endpoint, remote: Endpoint): IkeSa => ({ name: 'bar', uniqueId: 1, local, remote, svc: { nattPort: 4500, timers: { now: () => performance.now() } } }) as unknown as IkeSa;

type Suite = { encr: number; encrKeyBits?: number; integ?: number; esn: boolean; encLen: number; intLen: number };
const CBC: Suite = { encr: Encr.AES_CBC, encrKeyBits: 256, integ: Integ.HMAC_SHA2_256_128, esn: false, encLen: 32, intLen: 32 };
const GCM_ESN: Suite = { encr: Encr.AES_GCM_16, encrKeyBits: 128, esn: true, encLen: 20, intLen: 0 };

let nextId = 1;
/** The CHILD_SA pair one negotiation produces: A's view and B's view, mirrored SPIs and keys. */
function childPair(s: Suite, opts: { window?: number; reqid?: number } = {}): [ChildSa, ChildSa] {
  const spiA = randomBytes(4);
  const spiB = randomBytes(4);
  const kAB = { e: randomBytes(s.encLen), i: randomBytes(s.intLen) }; // protects A -> B
  const kBA = { e: randomBytes(s.encLen), i: randomBytes(s.intLen) };
  const mk = (hostAddrs: string[], local: TrafficSelector, remote: TrafficSelector, spiIn: Buffer, spiOut: Buffer, kin: typeof kAB, kout: typeof kAB) => {
    const c = new ChildSa('net', nextId++, { name: 'net', replayWindow: opts.window ?? 32, hostAddrs } as unknown as ChildConfig);
    Object.assign(c, { state: 'INSTALLED', spiIn, spiOut, localTs: [local], remoteTs: [remote], reqid: opts.reqid ?? 1 });
    c.suite = { encr: s.encr, encrKeyBits: s.encrKeyBits, integ: s.integ, esn: s.esn };
    c.keys = { encrIn: kin.e, integIn: kin.i, encrOut: kout.e, integOut: kout.i };
    return c;
  };
  return [mk(['10.12.0.1'], A_NET, B_NET, spiA, spiB, kBA, kAB), mk(['10.11.0.1'], B_NET, A_NET, spiB, spiA, kAB, kBA)];
}

/** Two engines wired back to back; `wire` can drop, corrupt or duplicate what goes over the "network". */
function lab(wire: (pkt: Buffer, deliver: (p: Buffer) => void) => void = (p, d) => d(p)) {
  const log = new Logger({ default: -1 });
  const sent: Buffer[] = [];
  const a: UserspaceBackend = new UserspaceBackend({ sendEsp: (p, from, to) => { sent.push(p); expect([from, to]).toEqual([A_EP, B_EP]); setImmediate(() => wire(p, (x) => b.receive(x, B_EP, A_EP))); } }, log);
  const b: UserspaceBackend = new UserspaceBackend({ sendEsp: (p, from, to) => { expect([from, to]).toEqual([B_EP, A_EP]); setImmediate(() => wire(p, (x) => a.receive(x, A_EP, B_EP))); } }, log);
  const ikeA = fakeIke(A_EP, B_EP);
  const ikeB = fakeIke(B_EP, A_EP);
  return { a, b, ikeA, ikeB, sent };
}

describe('UserspaceBackend end to end', () => {
  it.each([['aes256-sha256', CBC], ['aes128gcm16 with ESN', GCM_ESN]])('%s: ping through the tunnel, counters match', async (_n, suite) => {
    const { a, b, ikeA, ikeB } = lab();
    const [ca, cb] = childPair(suite);
    a.install(ikeA, ca);
    b.install(ikeB, cb);
    const r = await a.ping({ child: 'net', dst: '10.11.0.1', count: 5, intervalMs: 1, timeoutMs: 500 });
    expect(r.sent).toBe(5);
    expect(r.received).toBe(5);
    expect(r.rttsMs).toHaveLength(5);
    for (const t of r.rttsMs) expect(t).toBeGreaterThanOrEqual(0);
    const ipLen = 20 + 8 + 56;
    expect(ca.counters).toMatchObject({ packetsOut: 5, packetsIn: 5, bytesOut: 5 * ipLen, bytesIn: 5 * ipLen, integrityFailures: 0, replayDrops: 0 });
    expect(cb.counters).toMatchObject({ packetsOut: 5, packetsIn: 5, bytesOut: 5 * ipLen, bytesIn: 5 * ipLen });
    expect(b.host.counters.echoReplies).toBe(5);
  });

  it('a ping nobody answers times out with what was received', async () => {
    const { a, b, ikeA, ikeB } = lab();
    const [ca, cb] = childPair(CBC);
    a.install(ikeA, ca);
    b.install(ikeB, cb);
    const r = await a.ping({ child: 'net', dst: '10.11.0.77', count: 2, intervalMs: 1, timeoutMs: 30 });
    expect(r).toEqual({ sent: 2, received: 0, rttsMs: [] });
    expect(b.counters.undeliverable).toBe(2);
    await expect(a.ping({ child: 'nope', dst: '10.11.0.1', count: 1 })).rejects.toThrow(/no CHILD_SA/);
  });

  it('counts integrity failures, replays and unknown SPIs, and never throws on garbage', async () => {
    const [ca, cb] = childPair(CBC, { window: 64 });
    let corrupted = false;
    // Corrupt B's first reply, send every other packet twice.
    const { a, b, ikeA, ikeB } = lab((p, deliver) => {
      if (!corrupted && p.subarray(0, 4).equals(ca.spiIn)) {
        corrupted = true;
        const bad = Buffer.from(p);
        bad[bad.length - 1] ^= 1;
        deliver(bad);
        return;
      }
      deliver(p);
      deliver(p);
    });
    a.install(ikeA, ca);
    b.install(ikeB, cb);
    const r = await a.ping({ child: 'net', dst: '10.11.0.1', count: 3, intervalMs: 5, timeoutMs: 100 });
    // wire: request 1 (+dup), reply 1 corrupted, request 2 (+dup), reply 2 (+dup), request 3 (+dup), reply 3 (+dup)
    expect(r.received).toBe(2);
    expect(cb.counters).toMatchObject({ packetsIn: 3, replayDrops: 3, integrityFailures: 0, packetsOut: 3 });
    expect(ca.counters).toMatchObject({ packetsIn: 2, replayDrops: 2, integrityFailures: 1, packetsOut: 3 });
    a.receive(Buffer.from('deadbeef00000001' + '00'.repeat(40), 'hex'), A_EP, B_EP);
    a.receive(Buffer.alloc(3), A_EP, B_EP);
    expect(a.counters.invalidSpi).toBe(2);
    expect(ca.counters.invalidSpi).toBe(1);
    for (let i = 0; i < 200; i++) expect(() => a.receive(Buffer.concat([ca.spiIn, randomBytes(i)]), A_EP, B_EP)).not.toThrow();
    expect(a.ipsecSaView()).toMatch(/#pkts replay failed \(rcv\): \d+/);
  });

  it('drops decapsulated packets outside the traffic selectors (RFC 4301 5.2)', async () => {
    const { a, b, ikeA, ikeB } = lab();
    const [ca, cb] = childPair(CBC);
    a.install(ikeA, ca);
    b.install(ikeB, cb);
    // A seals a packet whose source is outside A's local selector, bypassing A's own SPD check.
    const rogue = buildEcho(ipBytes('192.168.1.1'), ipBytes('10.11.0.1'), { request: true, id: 1, seq: 1, data: Buffer.alloc(8) });
    const esp = (a as any).sad.get(ca).outbound.seal(rogue, 4);
    b.receive(esp, B_EP, A_EP);
    expect(b.counters.policyDrops).toBe(1);
    expect(b.host.counters.echoReplies).toBe(0);
    expect(a.sendInner(rogue)).toBe(false); // and A's SPD has no route for it
    expect(a.counters.noRoute).toBe(1);
  });

  it('UDP echo through the tunnel', async () => {
    const { a, b, ikeA, ikeB } = lab();
    const [ca, cb] = childPair(CBC);
    a.install(ikeA, ca);
    b.install(ikeB, cb);
    expect(a.sendInner(buildUdp(ipBytes('10.12.0.1'), ipBytes('10.11.0.1'), { srcPort: 5555, dstPort: 7, data: Buffer.from('x') }))).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(b.host.counters.udpEchoes).toBe(1);
    expect(ca.counters.packetsIn).toBe(1); // the echo came back
  });

  it('rekey without loss: old inbound accepted until removed, outbound on the newest active SA', async () => {
    const { a, b, ikeA, ikeB, sent } = lab();
    const [oldA, oldB] = childPair(CBC);
    a.install(ikeA, oldA);
    b.install(ikeB, oldB);
    expect((await a.ping({ child: 'net', dst: '10.11.0.1', count: 1, intervalMs: 1, timeoutMs: 200 })).received).toBe(1);
    // A packet A sealed on the old SA, still in flight while the rekey completes.
    const inFlight = (a as any).sad.get(oldA).outbound.seal(buildEcho(ipBytes('10.12.0.1'), ipBytes('10.11.0.1'), { request: true, id: 9, seq: 9, data: Buffer.alloc(4) }), 4);

    const [newA, newB] = childPair(GCM_ESN);
    a.install(ikeA, newA); // rekey initiator: both directions at once
    newB.outboundActive = false; // rekey responder: outbound waits for the old SA's delete (charon's order)
    b.install(ikeB, newB);
    const before = sent.length;
    const r = await a.ping({ child: 'net', dst: '10.11.0.1', count: 2, intervalMs: 1, timeoutMs: 200 });
    expect(r.received).toBe(2);
    expect(sent.slice(before).every((p) => p.subarray(0, 4).equals(newA.spiOut))).toBe(true);
    expect(newB.counters.packetsIn).toBe(2);
    expect(oldB.counters.packetsOut).toBe(3); // B still answered on the old SA...
    expect(oldA.counters.packetsIn).toBe(3); // ...and A accepted it there
    b.receive(inFlight, B_EP, A_EP);
    expect(oldB.counters.packetsIn).toBe(2); // the late packet on the old SA got in

    a.remove(ikeA, oldA);
    b.remove(ikeB, oldB);
    newB.outboundActive = true;
    b.install(ikeB, newB); // activateOutbound re-installs
    expect((await a.ping({ child: 'net', dst: '10.11.0.1', count: 2, intervalMs: 1, timeoutMs: 200 })).received).toBe(2);
    expect(newB.counters.packetsOut).toBe(2);
    expect(newA.counters.packetsIn).toBe(2);
    b.receive(inFlight, B_EP, A_EP); // old SA gone now
    expect(b.counters.invalidSpi).toBe(1);
    // IOS keeps flow counters across rekeys: 1 + 1 (in flight) + 2 + 2 decaps on B.
    const view = b.ipsecSaView();
    expect(view).toContain('#pkts decaps: 6');
    expect(view).toContain('#pkts encaps: 6'); // B also answered the late request
    expect(view).toContain(`current outbound spi: 0x${newB.spiOut.toString('hex').toUpperCase()}`);
    expect(view).toContain('esp-gcm');
    expect(view).not.toContain(oldB.spiIn.toString('hex').toUpperCase());
  });
});
