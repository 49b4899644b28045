// Which sockets get UDP_ENCAP: only the NAT-T ones, only with ipsec_backend xfrm, before start() resolves; a failure
// is a log line naming the socket and what is lost, not a dead daemon. With the real option on the transport's
// NAT-T socket, the kernel keeps keepalives (the transport never counts them) while IKE still arrives.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';
import { Logger, MemorySink } from '../../src/log/logger.js';
import type { Endpoint } from '../../src/net/endpoint.js';
import { type EncapSocketConfigurator, SockoptEncapConfigurator } from '../../src/net/udp-encap.js';
import { UdpTransport } from '../../src/net/udp-transport.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** Two distinct free UDP ports on 127.0.0.1 (bound to port 0, then released). */
async function freePorts(): Promise<[number, number]> {
  const socks = [dgram.createSocket('udp4'), dgram.createSocket('udp4')];
  const ports = await Promise.all(socks.map((s) => new Promise<number>((r) => s.bind(0, '127.0.0.1', () => r(s.address().port)))));
  await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return [ports[0]!, ports[1]!];
}

class Recording implements EncapSocketConfigurator {
  calls: { at: Endpoint; localPort: number }[] = [];
  constructor(private readonly fail?: string) {}
  async enableEspInUdp(socket: dgram.Socket, at: Endpoint): Promise<void> {
    this.calls.push({ at, localPort: socket.address().port });
    if (this.fail) throw new Error(this.fail);
  }
}

async function transport(encap: EncapSocketConfigurator | undefined, onIke: (d: Buffer) => void = () => {}) {
  const [port, nattPort] = await freePorts();
  const errors: string[] = [];
  const notices: string[] = [];
  const t = new UdpTransport(
    { listen: ['127.0.0.1'], port, nattPort, encap },
    { ike: (d) => onIke(d.data), error: (m) => errors.push(m), notice: (m) => notices.push(m) },
  );
  await t.start();
  cleanup.push(() => t.close());
  return { t, port, nattPort, errors, notices };
}

describe('UdpTransport with an EncapSocketConfigurator', () => {
  it('configures the NAT-T socket only, with its own endpoint, and says so', async () => {
    const rec = new Recording();
    const { nattPort, errors, notices } = await transport(rec);
    expect(rec.calls).toEqual([{ at: { address: '127.0.0.1', port: nattPort }, localPort: nattPort }]);
    expect(errors).toEqual([]);
    expect(notices).toContain(
      `socket 127.0.0.1[${nattPort}]: UDP decapsulation enabled (UDP_ENCAP_ESPINUDP): the kernel takes ESP-in-UDP here`,
    );
  });

  it('a failure is logged with the socket and the consequence; the transport still runs', async () => {
    const got: Buffer[] = [];
    const { t, nattPort, errors } = await transport(new Recording("'perl' not found"), (d) => got.push(d));
    expect(errors).toEqual([
      `socket 127.0.0.1[${nattPort}]: enabling UDP decapsulation failed, ESP-in-UDP of NAT-T CHILD_SAs will not reach the kernel's xfrm states: 'perl' not found`,
    ]);
    const peer = dgram.createSocket('udp4');
    cleanup.push(() => new Promise((r) => peer.close(() => r())));
    peer.send(Buffer.from('00000000abcd', 'hex'), nattPort, '127.0.0.1');
    await expect.poll(() => got.map((d) => d.toString('hex'))).toEqual(['abcd']);
    expect(t.counters.rxIke).toBe(1);
  });

  it('with the real option, keepalives to the NAT-T port stop reaching the transport; IKE still does', async () => {
    const counts = async (encap?: EncapSocketConfigurator) => {
      const got: string[] = [];
      const { t, nattPort, errors } = await transport(encap, (d) => got.push(d.toString('hex')));
      expect(errors).toEqual([]);
      const peer = dgram.createSocket('udp4');
      cleanup.push(() => new Promise((r) => peer.close(() => r())));
      peer.send(Buffer.from([0xff]), nattPort, '127.0.0.1');
      peer.send(Buffer.from('0000000001020304', 'hex'), nattPort, '127.0.0.1');
      await expect.poll(() => got).toEqual(['01020304']); // in order on loopback: the keepalive came first, or never
      return { keepalives: t.counters.rxKeepalive, ike: t.counters.rxIke };
    };
    expect(await counts()).toEqual({ keepalives: 1, ike: 1 });
    expect(await counts(new SockoptEncapConfigurator())).toEqual({ keepalives: 0, ike: 1 });
  });
});

describe('Daemon: UDP_ENCAP follows daemon.ipsec_backend', () => {
  const start = async (backend: string) => {
    const [port, nattPort] = await freePorts();
    const yaml = `daemon:\n  listen: [127.0.0.1]\n  port: ${port}\n  natt_port: ${nattPort}\n  ipsec_backend: ${backend}\n  log: { stdout: false }\n`;
    const rec = new Recording();
    const daemon = new Daemon(parseConfig(yaml, 'ikelab.yaml'), { log: new Logger({}, [new MemorySink()]), encapSockets: rec });
    await daemon.start();
    cleanup.push(() => daemon.stop());
    return { rec, nattPort };
  };

  it('xfrm: the NAT-T socket is configured before start() resolves', async () => {
    const { rec, nattPort } = await start('xfrm');
    expect(rec.calls.map((c) => c.at)).toEqual([{ address: '127.0.0.1', port: nattPort }]);
  });

  it.each(['userspace', 'none'])('%s: nothing is issued (the engine reads ESP-in-UDP from the socket itself)', async (backend) => {
    const { rec } = await start(backend);
    expect(rec.calls).toEqual([]);
  });
});
