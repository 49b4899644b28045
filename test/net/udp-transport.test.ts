// The transport's send and receive paths over real loopback sockets: what leaves which socket with which bytes
// (a single buffer or the non-ESP marker gathered in front of IKE), how the NAT-T port is demultiplexed on the way
// in, and that a send failure is counted and named, not thrown.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { Endpoint } from '../../src/net/endpoint.js';
import { UdpTransport } from '../../src/net/udp-transport.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A plain socket on 127.0.0.1 recording what it receives. */
async function peer() {
  const s = dgram.createSocket('udp4');
  const got: { data: Buffer; from: number }[] = [];
  let wake: (() => void) | undefined;
  s.on('message', (data, r) => {
    got.push({ data, from: r.port });
    wake?.();
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  cleanup.push(() => new Promise<void>((r) => s.close(() => r())));
  const waitFor = async (n: number) => {
    const until = Date.now() + 2000;
    while (got.length < n && Date.now() < until) await new Promise<void>((r) => ((wake = r), setTimeout(r, 50)));
    return got;
  };
  return { s, port: s.address().port, got, waitFor };
}

/** Two distinct free UDP ports on 127.0.0.1 (bound to port 0, then released). */
async function freePorts(): Promise<[number, number]> {
  const socks = [dgram.createSocket('udp4'), dgram.createSocket('udp4')];
  const ports = await Promise.all(socks.map((s) => new Promise<number>((r) => s.bind(0, '127.0.0.1', () => r(s.address().port)))));
  await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return [ports[0]!, ports[1]!];
}

async function transport() {
  const [port, nattPort] = await freePorts();
  const ike: { data: Buffer; local: Endpoint; remote: Endpoint }[] = [];
  const esp: { data: Buffer; local: Endpoint; remote: Endpoint }[] = [];
  const errors: string[] = [];
  const t = new UdpTransport(
    { listen: ['127.0.0.1'], port, nattPort },
    { ike: (d) => ike.push(d), esp: (data, local, remote) => esp.push({ data, local, remote }), error: (m) => errors.push(m) },
  );
  await t.start();
  cleanup.push(() => t.close());
  return { t, port, nattPort, ike, esp, errors, local: { address: '127.0.0.1', port: nattPort } };
}

const settle = () => new Promise((r) => setTimeout(r, 50));

describe('UdpTransport send and receive paths', () => {
  it('ESP and keepalives leave the NAT-T socket as they are, IKE there behind the non-ESP marker, IKE on 500 bare', async () => {
    const { t, port, nattPort, local } = await transport();
    const p = await peer();
    const to = { address: '127.0.0.1', port: p.port };
    const esp = Buffer.from('c0ffee0100000001aabbccdd', 'hex');
    t.sendEsp(esp, local, to);
    t.sendIke(Buffer.from('1122', 'hex'), local, to);
    t.sendKeepalive(local, to);
    t.sendIke(Buffer.from('3344', 'hex'), { address: '127.0.0.1', port }, to);
    const got = await p.waitFor(4);
    expect(got.map((g) => [g.data.toString('hex'), g.from])).toEqual([
      ['c0ffee0100000001aabbccdd', nattPort],
      ['000000001122', nattPort],
      ['ff', nattPort],
      ['3344', port],
    ]);
    expect(t.counters).toMatchObject({ tx: 4, txErrors: 0 });
  });

  it('demultiplexes the NAT-T port (RFC 3948): ESP with its endpoints, IKE without the marker, keepalives and runts counted', async () => {
    const { t, nattPort, ike, esp } = await transport();
    const p = await peer();
    for (const hex of ['c0ffee0100000001aabb', `00000000${'55'.repeat(28)}`, 'ff', '0102'])
      p.s.send(Buffer.from(hex, 'hex'), nattPort, '127.0.0.1');
    await settle();
    await settle();
    expect(esp.map((e) => [e.data.toString('hex'), e.local, e.remote.address, e.remote.port])).toEqual([
      ['c0ffee0100000001aabb', { address: '127.0.0.1', port: nattPort }, '127.0.0.1', p.port],
    ]);
    expect(ike.map((d) => [d.data.toString('hex'), d.remote])).toEqual([['55'.repeat(28), { address: '127.0.0.1', port: p.port }]]);
    expect(t.counters).toMatchObject({ rxEsp: 1, rxIke: 1, rxKeepalive: 1, rxRunt: 1 });
  });

  it('a send the kernel refuses is counted and named, and the next send still goes out', async () => {
    const { t, local, errors } = await transport();
    const p = await peer();
    t.sendEsp(Buffer.alloc(12, 1), local, { address: '::1', port: 4500 }); // IPv6 destination from an IPv4 socket
    t.sendEsp(Buffer.alloc(12, 2), { address: '127.0.0.9', port: 1 }, { address: '127.0.0.1', port: p.port }); // no such socket
    t.sendEsp(Buffer.alloc(12, 3), local, { address: '127.0.0.1', port: p.port });
    const got = await p.waitFor(1);
    await settle();
    expect(got.map((g) => g.data[0])).toEqual([3]);
    expect(t.counters.txErrors).toBe(2);
    // the refused send is reported a tick later (dgram's callback), the missing socket at once
    expect(errors).toEqual(['no socket bound to 127.0.0.9[1]', expect.stringMatching(/^sending to ::1\[4500\] failed: send E\w+/)]);
  });
});
