// UDP_ENCAP_ESPINUDP on a real UDP socket through the perl helper, read back by a second, independent process, and
// what the kernel does with the option set: IKE (non-ESP marker) still reaches the socket, ESP and keepalives do not.
// This needs no kernel ESP (esp4): the option lives in the UDP layer (CONFIG_XFRM), which this machine's kernel has.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import {
  perlSockopt,
  SOL_UDP,
  type SockoptRequest,
  SockoptEncapConfigurator,
  socketFd,
  UDP_ENCAP,
  UDP_ENCAP_ESPINUDP,
} from '../../src/net/udp-encap.js';

const open: dgram.Socket[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

function bound(type: 'udp4' | 'udp6', address: string): Promise<{ s: dgram.Socket; port: number }> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(type);
    open.push(s);
    s.once('error', reject);
    s.bind(0, address, () => resolve({ s, port: s.address().port }));
  });
}

const tool = perlSockopt();
const readEncap = (s: dgram.Socket, port: number) => tool({ fd: socketFd(s), port, level: SOL_UDP, name: UDP_ENCAP });

describe('UDP_ENCAP on a real socket', () => {
  it.each([
    ['udp4', '127.0.0.1'],
    ['udp6', '::1'],
  ] as const)('%s: 0 before, 2 after enableEspInUdp, read back by a separate process', async (type, address) => {
    const { s, port } = await bound(type, address);
    expect(await readEncap(s, port)).toEqual({ before: 0, after: 0 });
    await new SockoptEncapConfigurator().enableEspInUdp(s, { address, port });
    expect(await readEncap(s, port)).toEqual({ before: UDP_ENCAP_ESPINUDP, after: UDP_ENCAP_ESPINUDP });
  });

  it('with the option set, the kernel keeps ESP and keepalives; IKE with its non-ESP marker still arrives', async () => {
    const heard = async (encap: boolean): Promise<string[]> => {
      const { s, port } = await bound('udp4', '127.0.0.1');
      const { s: peer } = await bound('udp4', '127.0.0.1');
      if (encap) await new SockoptEncapConfigurator().enableEspInUdp(s, { address: '127.0.0.1', port });
      const got: string[] = [];
      const last = Buffer.from('00000000ffffffff', 'hex');
      const done = new Promise<void>((r) =>
        s.on('message', (m) => {
          got.push(m.toString('hex'));
          if (m.equals(last)) r();
        }),
      );
      // loopback keeps the order: once the last IKE datagram is in, anything before it that was coming has come
      const esp = Buffer.concat([Buffer.from('c1000001000000011122334455667788', 'hex'), Buffer.alloc(32, 0xab)]);
      for (const d of [Buffer.from('00000000aabbccdd', 'hex'), Buffer.from([0xff]), esp, last]) peer.send(d, port, '127.0.0.1');
      await done;
      return got;
    };
    expect(await heard(false)).toEqual(['00000000aabbccdd', 'ff', expect.stringMatching(/^c1000001/), '00000000ffffffff']);
    expect(await heard(true)).toEqual(['00000000aabbccdd', '00000000ffffffff']);
  });

  it('an fd bound to another port is refused and left unchanged', async () => {
    const a = await bound('udp4', '127.0.0.1');
    const b = await bound('udp4', '127.0.0.1');
    const req: SockoptRequest = { fd: socketFd(a.s), port: b.port, level: SOL_UDP, name: UDP_ENCAP, set: UDP_ENCAP_ESPINUDP };
    await expect(tool(req)).rejects.toThrow(`fd 3 is bound to port ${a.port}, not ${b.port}: left unchanged`);
    expect(await readEncap(a.s, a.port)).toEqual({ before: 0, after: 0 });
  });

  it('the errors say what is missing: no perl, an unbound socket, a refused option', async () => {
    const { s, port } = await bound('udp4', '127.0.0.1');
    await expect(perlSockopt('ikelab-no-such-perl')({ fd: socketFd(s), port, level: SOL_UDP, name: UDP_ENCAP })).rejects.toThrow(
      "'ikelab-no-such-perl' not found: setting a socket option needs perl (Debian's Essential perl-base package)",
    );
    const unbound = dgram.createSocket('udp4');
    expect(() => socketFd(unbound)).toThrow(/cannot find the file descriptor of a node:dgram socket in Node v\d+/);
    unbound.close();
    // UDP_ENCAP type 77 does not exist: the kernel's errno comes back as the message
    await expect(tool({ fd: socketFd(s), port, level: SOL_UDP, name: UDP_ENCAP, set: 77 })).rejects.toThrow(/^setsockopt: \S/);
  });
});

describe('SockoptEncapConfigurator', () => {
  it('issues setsockopt(fd, SOL_UDP 17, UDP_ENCAP 100, UDP_ENCAP_ESPINUDP 2) on the fd of the socket given', async () => {
    const issued: SockoptRequest[] = [];
    const fake = { tag: 'socket' } as unknown as dgram.Socket;
    const c = new SockoptEncapConfigurator(
      async (req) => {
        issued.push(req);
        return { before: 0, after: 2 };
      },
      (s) => (s === fake ? 41 : -1),
    );
    await c.enableEspInUdp(fake, { address: '192.0.2.10', port: 4500 });
    expect(issued).toEqual([{ fd: 41, port: 4500, level: 17, name: 100, set: 2 }]);
  });

  it('rejects when the option does not read back as set', async () => {
    const c = new SockoptEncapConfigurator(
      async () => ({ before: 0, after: 0 }),
      () => 41,
    );
    await expect(c.enableEspInUdp({} as dgram.Socket, { address: '192.0.2.10', port: 4500 })).rejects.toThrow(
      'UDP_ENCAP on 192.0.2.10[4500] reads back 0 after setting 2',
    );
  });
});
