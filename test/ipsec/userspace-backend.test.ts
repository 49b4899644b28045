// Two userspace engines back to back, each with the other's CHILD_SAs (built by hand as the IKE layer would):
// pings through the tunnel, counters, drops, rekey overlap and the IOS-style view.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Logger } from '../../src/log/logger.js';
import type { Endpoint } from '../../src/net/endpoint.js';
import { zeroCounters, type ChildSaSpec } from '../../src/ipsec/backend.js';
import { UserspaceBackend } from '../../src/ipsec/userspace-backend.js';
import { EspInbound } from '../../src/ipsec/esp-sa.js';
import { buildEcho, buildUdp, ipBytes, parseIp4, parseUdp } from '../../src/ipsec/packets.js';
import { saParams } from '../../src/ipsec/sad.js';
import { Encr, Integ } from '../../src/wire/constants.js';
import type { TrafficSelector } from '../../src/wire/types.js';

const net = (a: string, b: string): TrafficSelector => ({
  tsType: 7,
  ipProtocol: 0,
  startPort: 0,
  endPort: 0xffff,
  startAddr: ipBytes(a),
  endAddr: ipBytes(b),
});
const A_NET = net('10.12.0.0', '10.12.0.255');
const B_NET = net('10.11.0.0', '10.11.0.255');
const A_EP: Endpoint = { address: '10.98.0.2', port: 4500 };
const B_EP: Endpoint = { address: '10.98.0.1', port: 4500 };

type Suite = { encr: number; encrKeyBits?: number; integ?: number; esn: boolean; encLen: number; intLen: number };
const CBC: Suite = { encr: Encr.AES_CBC, encrKeyBits: 256, integ: Integ.HMAC_SHA2_256_128, esn: false, encLen: 32, intLen: 32 };
const GCM_ESN: Suite = { encr: Encr.AES_GCM_16, encrKeyBits: 128, esn: true, encLen: 20, intLen: 0 };

let nextId = 1;
/** The CHILD_SA pair one negotiation produces, as the IKE layer would hand it over: A's and B's spec, mirrored SPIs and keys. */
function childPair(s: Suite, opts: { window?: number; reqid?: number } = {}): [ChildSaSpec, ChildSaSpec] {
  const spiA = randomBytes(4);
  const spiB = randomBytes(4);
  const kAB = { e: randomBytes(s.encLen), i: randomBytes(s.intLen) }; // protects A -> B
  const kBA = { e: randomBytes(s.encLen), i: randomBytes(s.intLen) };
  const mk = (
    hostAddrs: string[],
    local: TrafficSelector,
    remote: TrafficSelector,
    spiIn: Buffer,
    spiOut: Buffer,
    kin: typeof kAB,
    kout: typeof kAB,
    ends: [Endpoint, Endpoint],
  ): ChildSaSpec => ({
    id: nextId++,
    reqid: opts.reqid ?? 1,
    name: 'net',
    connection: 'bar',
    spiIn,
    spiOut,
    suite: { encr: s.encr, encrKeyBits: s.encrKeyBits, integ: s.integ, esn: s.esn },
    keys: { encrIn: kin.e, integIn: kin.i, encrOut: kout.e, integOut: kout.i },
    dhGroup: 0,
    localTs: [local],
    remoteTs: [remote],
    local: ends[0],
    remote: ends[1],
    encap: true,
    outboundActive: true,
    replayWindow: opts.window ?? 32,
    hostAddrs,
    counters: zeroCounters(),
  });
  return [
    mk(['10.12.0.1'], A_NET, B_NET, spiA, spiB, kBA, kAB, [A_EP, B_EP]),
    mk(['10.11.0.1'], B_NET, A_NET, spiB, spiA, kAB, kBA, [B_EP, A_EP]),
  ];
}

/** Two engines wired back to back; `wire` can drop, corrupt or duplicate what goes over the "network". */
function lab(wire: (pkt: Buffer, deliver: (p: Buffer) => void) => void = (p, d) => d(p)) {
  const log = new Logger({ default: -1 });
  const sent: Buffer[] = [];
  const nattPort = () => 4500;
  const a: UserspaceBackend = new UserspaceBackend(
    {
      sendEsp: (p, from, to) => {
        sent.push(p);
        expect([from, to]).toEqual([A_EP, B_EP]);
        setImmediate(() => wire(p, (x) => b.receive(x, B_EP, A_EP)));
      },
    },
    log,
    { nattPort },
  );
  const b: UserspaceBackend = new UserspaceBackend(
    {
      sendEsp: (p, from, to) => {
        expect([from, to]).toEqual([B_EP, A_EP]);
        setImmediate(() => wire(p, (x) => a.receive(x, A_EP, B_EP)));
      },
    },
    log,
    { nattPort },
  );
  return { a, b, sent };
}

describe('UserspaceBackend end to end', () => {
  it.each([
    ['aes256-sha256', CBC],
    ['aes128gcm16 with ESN', GCM_ESN],
  ])('%s: ping through the tunnel, counters match', async (_n, suite) => {
    const { a, b } = lab();
    const [ca, cb] = childPair(suite);
    a.install(ca);
    b.install(cb);
    const r = await a.ping({ child: 'net', dst: '10.11.0.1', count: 5, intervalMs: 1, timeoutMs: 500 });
    expect(r.sent).toBe(5);
    expect(r.received).toBe(5);
    expect(r.rttsMs).toHaveLength(5);
    for (const t of r.rttsMs) expect(t).toBeGreaterThanOrEqual(0);
    const ipLen = 20 + 8 + 56;
    expect(ca.counters).toMatchObject({
      packetsOut: 5,
      packetsIn: 5,
      bytesOut: 5 * ipLen,
      bytesIn: 5 * ipLen,
      integrityFailures: 0,
      replayDrops: 0,
    });
    expect(cb.counters).toMatchObject({ packetsOut: 5, packetsIn: 5, bytesOut: 5 * ipLen, bytesIn: 5 * ipLen });
    expect(b.host.counters.echoReplies).toBe(5);
  });

  it('a ping nobody answers times out with what was received', async () => {
    const { a, b } = lab();
    const [ca, cb] = childPair(CBC);
    a.install(ca);
    b.install(cb);
    const r = await a.ping({ child: 'net', dst: '10.11.0.77', count: 2, intervalMs: 1, timeoutMs: 30 });
    expect(r).toEqual({ sent: 2, received: 0, rttsMs: [] });
    expect(b.counters.undeliverable).toBe(2);
    await expect(a.ping({ child: 'nope', dst: '10.11.0.1', count: 1 })).rejects.toThrow(/no CHILD_SA/);
  });

  it('counts integrity failures, replays and unknown SPIs, and never throws on garbage', async () => {
    const [ca, cb] = childPair(CBC, { window: 64 });
    let corrupted = false;
    // Corrupt B's first reply, send every other packet twice.
    const { a, b } = lab((p, deliver) => {
      if (!corrupted && p.subarray(0, 4).equals(ca.spiIn)) {
        corrupted = true;
        const bad = Buffer.from(p);
        bad[bad.length - 1]! ^= 1;
        deliver(bad);
        return;
      }
      deliver(p);
      deliver(p);
    });
    a.install(ca);
    b.install(cb);
    const r = await a.ping({ child: 'net', dst: '10.11.0.1', count: 3, intervalMs: 5, timeoutMs: 100 });
    // wire: request 1 (+dup), reply 1 corrupted, request 2 (+dup), reply 2 (+dup), request 3 (+dup), reply 3 (+dup)
    expect(r.received).toBe(2);
    expect(cb.counters).toMatchObject({ packetsIn: 3, replayDrops: 3, integrityFailures: 0, packetsOut: 3 });
    expect(ca.counters).toMatchObject({ packetsIn: 2, replayDrops: 2, integrityFailures: 1, packetsOut: 3 });
    a.receive(Buffer.from(`deadbeef00000001${'00'.repeat(40)}`, 'hex'), A_EP, B_EP);
    a.receive(Buffer.alloc(3), A_EP, B_EP);
    expect(a.counters.invalidSpi).toBe(2);
    expect(ca.counters.invalidSpi).toBe(1);
    for (let i = 0; i < 200; i++) expect(() => a.receive(Buffer.concat([ca.spiIn, randomBytes(i)]), A_EP, B_EP)).not.toThrow();
    expect(a.ipsecSaView()).toMatch(/#pkts replay failed \(rcv\): \d+/);
  });

  it('drops decapsulated packets outside the traffic selectors (RFC 4301 5.2)', async () => {
    const { a, b } = lab();
    const [ca, cb] = childPair(CBC);
    a.install(ca);
    b.install(cb);
    // A seals a packet whose source is outside A's local selector, bypassing A's own SPD check.
    const rogue = buildEcho(ipBytes('192.168.1.1'), ipBytes('10.11.0.1'), { request: true, id: 1, seq: 1, data: Buffer.alloc(8) });
    const esp = (a as any).sad.get(ca.id).outbound.seal(rogue, 4);
    b.receive(esp, B_EP, A_EP);
    expect(b.counters.policyDrops).toBe(1);
    expect(b.host.counters.echoReplies).toBe(0);
    expect(a.sendInner(rogue)).toBe(false); // and A's SPD has no route for it
    expect(a.counters.noRoute).toBe(1);
  });

  it('UDP echo through the tunnel', async () => {
    const { a, b } = lab();
    const [ca, cb] = childPair(CBC);
    a.install(ca);
    b.install(cb);
    expect(a.sendInner(buildUdp(ipBytes('10.12.0.1'), ipBytes('10.11.0.1'), { srcPort: 5555, dstPort: 7, data: Buffer.from('x') }))).toBe(
      true,
    );
    // two setImmediate hops; a fixed 20 ms timer could fire between them on a starved machine (timers run before
    // the next check phase), so wait for the echo, bounded
    for (let i = 0; i < 200 && ca.counters.packetsIn === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(b.host.counters.udpEchoes).toBe(1);
    expect(ca.counters.packetsIn).toBe(1); // the echo came back
  });

  it("the echo is answered from the decrypted request's own bytes: the data comes back, the sender's buffer is untouched", () => {
    const log = new Logger({ default: -1 });
    const [ca, cb] = childPair(GCM_ESN);
    const toB: Buffer[] = [];
    const toA: Buffer[] = [];
    const a = new UserspaceBackend({ sendEsp: (p) => void toB.push(p) }, log, { nattPort: () => 4500 });
    const b = new UserspaceBackend({ sendEsp: (p) => void toA.push(p) }, log, { nattPort: () => 4500 });
    a.install(ca);
    b.install(cb);
    const data = randomBytes(1372);
    const request = buildUdp(ipBytes('10.12.0.1'), ipBytes('10.11.0.1'), { srcPort: 5555, dstPort: 7, data });
    const kept = Buffer.from(request);
    for (let i = 0; i < 3; i++) {
      expect(a.sendInner(request)).toBe(true);
      b.receive(toB[i]!, B_EP, A_EP);
    }
    expect(request.equals(kept)).toBe(true);
    const open = new EspInbound(saParams(ca).inbound);
    for (const esp of toA) {
      const r = open.open(esp);
      if (!r.ok) throw new Error(`reply did not open: ${r.reason}`);
      const ip = parseIp4(r.inner)!;
      expect([ip.src.join('.'), ip.dst.join('.')]).toEqual(['10.11.0.1', '10.12.0.1']);
      expect(parseUdp(ip)).toEqual({ srcPort: 7, dstPort: 5555, data });
    }
    expect(b.host.counters.udpEchoes).toBe(3);
  });

  it('rekey without loss: old inbound accepted until removed, outbound on the newest active SA', async () => {
    const { a, b, sent } = lab();
    const [oldA, oldB] = childPair(CBC);
    a.install(oldA);
    b.install(oldB);
    expect((await a.ping({ child: 'net', dst: '10.11.0.1', count: 1, intervalMs: 1, timeoutMs: 200 })).received).toBe(1);
    // A packet A sealed on the old SA, still in flight while the rekey completes.
    const inFlight = (a as any).sad
      .get(oldA.id)
      .outbound.seal(buildEcho(ipBytes('10.12.0.1'), ipBytes('10.11.0.1'), { request: true, id: 9, seq: 9, data: Buffer.alloc(4) }), 4);

    const [newA, newB] = childPair(GCM_ESN);
    a.install(newA); // rekey initiator: both directions at once
    newB.outboundActive = false; // rekey responder: outbound waits for the old SA's delete (charon's order)
    b.install(newB);
    const before = sent.length;
    const r = await a.ping({ child: 'net', dst: '10.11.0.1', count: 2, intervalMs: 1, timeoutMs: 200 });
    expect(r.received).toBe(2);
    expect(sent.slice(before).every((p) => p.subarray(0, 4).equals(newA.spiOut))).toBe(true);
    expect(newB.counters.packetsIn).toBe(2);
    expect(oldB.counters.packetsOut).toBe(3); // B still answered on the old SA...
    expect(oldA.counters.packetsIn).toBe(3); // ...and A accepted it there
    b.receive(inFlight, B_EP, A_EP);
    expect(oldB.counters.packetsIn).toBe(2); // the late packet on the old SA got in

    a.remove(oldA.id);
    b.remove(oldB.id);
    newB.outboundActive = true;
    b.install(newB); // activateOutbound re-installs
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
  it('reports authentic inbound ESP to the newest installer (liveness); a re-install with moved endpoints moves the traffic', () => {
    const log = new Logger({ default: -1 });
    const out: Array<[Endpoint, Endpoint]> = [];
    const sealed: Buffer[] = [];
    const a = new UserspaceBackend({ sendEsp: (_p, from, to) => void out.push([from, to]) }, log, { nattPort: () => 4500 });
    const b = new UserspaceBackend({ sendEsp: (p) => void sealed.push(p) }, log, { nattPort: () => 4500 });
    const [ca, cb] = childPair(CBC);
    const heard = { first: 0, second: 0 };
    a.install(ca, { inbound: () => heard.first++ });
    b.install(cb);
    const request = (seq: number) =>
      buildEcho(ipBytes('10.11.0.1'), ipBytes('10.12.0.1'), { request: true, id: 7, seq, data: Buffer.alloc(8) });
    expect(b.sendInner(request(1))).toBe(true);
    a.receive(sealed[0]!, A_EP, B_EP);
    expect(heard).toEqual({ first: 1, second: 0 });
    expect(out).toEqual([[A_EP, B_EP]]); // A's virtual host answered
    const forged = Buffer.from(sealed[0]!);
    forged[forged.length - 1]! ^= 1;
    a.receive(forged, A_EP, B_EP);
    expect(heard.first).toBe(1); // not authentic: no sign of life
    expect(ca.counters.integrityFailures).toBe(1);

    // The peer's NAT mapping changed: the IKE side installs the same SA again with the new endpoints.
    const moved: Endpoint = { address: '10.98.0.1', port: 31000 };
    a.install({ ...ca, remote: moved }, { inbound: () => heard.second++ });
    expect(b.sendInner(request(2))).toBe(true);
    a.receive(sealed[1]!, A_EP, moved);
    expect(heard).toEqual({ first: 1, second: 1 });
    expect(out[1]).toEqual([A_EP, moved]);
    expect(ca.counters.packetsIn).toBe(2); // one SA all along: same counters, same replay window

    a.remove(ca.id);
    expect(b.sendInner(request(3))).toBe(true);
    a.receive(sealed[2]!, A_EP, moved);
    expect(heard.second).toBe(1);
    expect(a.counters.invalidSpi).toBe(1);
  });

  it('ESP-in-UDP leaves from the NAT-T port even when the IKE_SA did not float', () => {
    const out: Array<[Endpoint, Endpoint]> = [];
    const a = new UserspaceBackend({ sendEsp: (_p, from, to) => void out.push([from, to]) }, new Logger({ default: -1 }), {
      nattPort: () => 14501,
    });
    const [ca] = childPair(CBC);
    a.install({ ...ca, local: { address: A_EP.address, port: 500 }, remote: { address: B_EP.address, port: 500 } });
    expect(
      a.sendInner(buildEcho(ipBytes('10.12.0.1'), ipBytes('10.11.0.1'), { request: true, id: 1, seq: 1, data: Buffer.alloc(8) })),
    ).toBe(true);
    expect(out).toEqual([
      [
        { address: A_EP.address, port: 14501 },
        { address: B_EP.address, port: 14501 },
      ],
    ]);
  });
});
