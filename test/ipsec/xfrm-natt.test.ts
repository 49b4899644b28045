// The exact `ip xfrm state` lines XfrmBackend issues for a CHILD_SA with and without NAT-T: with it, each state
// carries `encap espinudp SPORT DPORT OADDR` from the packet's point of view (inbound: the peer's port to ours),
// which together with UDP_ENCAP on the NAT-T socket (src/net/udp-encap.ts) is what the kernel needs for RFC 3948.
import { describe, expect, it } from 'vitest';
import { zeroCounters, type ChildSaSpec } from '../../src/ipsec/backend.js';
import { ipBytes } from '../../src/ipsec/packets.js';
import { XfrmBackend } from '../../src/ipsec/xfrm-backend.js';
import { Logger } from '../../src/log/logger.js';
import { Encr, Integ } from '../../src/wire/constants.js';
import type { TrafficSelector } from '../../src/wire/types.js';

const ts = (a: string, b: string): TrafficSelector => ({
  tsType: a.includes(':') ? 8 : 7,
  ipProtocol: 0,
  startPort: 0,
  endPort: 0xffff,
  startAddr: ipBytes(a),
  endAddr: ipBytes(b),
});
const key = (n: number, byte: number) => Buffer.alloc(n, byte);
const hex = (n: number, byte: number) => `0x${key(n, byte).toString('hex')}`;

function spec(over: Partial<ChildSaSpec>): ChildSaSpec {
  return {
    id: 1,
    reqid: 4,
    name: 'net',
    connection: 'peer',
    spiIn: Buffer.from('c1000001', 'hex'),
    spiOut: Buffer.from('c2000002', 'hex'),
    suite: { encr: Encr.AES_CBC, encrKeyBits: 128, integ: Integ.HMAC_SHA1_96, esn: false },
    keys: { encrIn: key(16, 1), integIn: key(20, 2), encrOut: key(16, 3), integOut: key(20, 4) },
    dhGroup: 0,
    localTs: [ts('10.12.0.0', '10.12.0.255')],
    remoteTs: [ts('10.11.0.0', '10.11.0.255')],
    local: { address: '192.0.2.10', port: 500 },
    remote: { address: '192.0.2.1', port: 500 },
    encap: false,
    outboundActive: true,
    replayWindow: 32,
    hostAddrs: [],
    counters: zeroCounters(),
    ...over,
  };
}

async function stateLines(child: ChildSaSpec): Promise<string[]> {
  const ran: string[][] = [];
  const be = new XfrmBackend((argv) => void ran.push(argv), new Logger({ default: -1 }));
  be.install(child);
  await be.flush();
  return ran.filter((a) => a[2] === 'state').map((a) => a.join(' '));
}

const ALGO_IN = `enc cbc(aes) ${hex(16, 1)} auth-trunc hmac(sha1) ${hex(20, 2)} 96`;
const ALGO_OUT = `enc cbc(aes) ${hex(16, 3)} auth-trunc hmac(sha1) ${hex(20, 4)} 96`;

describe('XfrmBackend state lines and NAT-T', () => {
  it('no NAT: plain ESP states, no encap', async () => {
    expect(await stateLines(spec({}))).toEqual([
      `ip xfrm state add src 192.0.2.1 dst 192.0.2.10 proto esp spi 0xc1000001 reqid 4 mode tunnel replay-window 32 ${ALGO_IN}`,
      `ip xfrm state add src 192.0.2.10 dst 192.0.2.1 proto esp spi 0xc2000002 reqid 4 mode tunnel replay-window 32 ${ALGO_OUT}`,
    ]);
  });

  it("NAT-T, the peer behind a NAT on port 14500: encap espinudp with each direction's ports", async () => {
    const natted = spec({ encap: true, local: { address: '192.0.2.10', port: 4500 }, remote: { address: '198.51.100.7', port: 14500 } });
    expect(await stateLines(natted)).toEqual([
      `ip xfrm state add src 198.51.100.7 dst 192.0.2.10 proto esp spi 0xc1000001 reqid 4 mode tunnel replay-window 32 ${ALGO_IN} encap espinudp 14500 4500 0.0.0.0`,
      `ip xfrm state add src 192.0.2.10 dst 198.51.100.7 proto esp spi 0xc2000002 reqid 4 mode tunnel replay-window 32 ${ALGO_OUT} encap espinudp 4500 14500 0.0.0.0`,
    ]);
  });

  it('NAT-T over IPv6: the unused original address is ::', async () => {
    const v6 = spec({
      encap: true,
      local: { address: '2001:db8::10', port: 4500 },
      remote: { address: '2001:db8::1', port: 4500 },
      localTs: [ts('fd00:12::', 'fd00:12::ffff')],
      remoteTs: [ts('fd00:11::', 'fd00:11::ffff')],
    });
    expect(await stateLines(v6)).toEqual([
      `ip xfrm state add src 2001:db8::1 dst 2001:db8::10 proto esp spi 0xc1000001 reqid 4 mode tunnel replay-window 32 ${ALGO_IN} encap espinudp 4500 4500 ::`,
      `ip xfrm state add src 2001:db8::10 dst 2001:db8::1 proto esp spi 0xc2000002 reqid 4 mode tunnel replay-window 32 ${ALGO_OUT} encap espinudp 4500 4500 ::`,
    ]);
  });

  it('removal deletes the states by SPI alone (encap is not part of the state id)', async () => {
    const ran: string[][] = [];
    const be = new XfrmBackend((argv) => void ran.push(argv), new Logger({ default: -1 }));
    const natted = spec({ encap: true, local: { address: '192.0.2.10', port: 4500 }, remote: { address: '198.51.100.7', port: 14500 } });
    be.install(natted);
    be.remove(natted.id);
    await be.flush();
    expect(ran.filter((a) => a[2] === 'state' && a[3] === 'delete').map((a) => a.join(' '))).toEqual([
      'ip xfrm state delete src 192.0.2.10 dst 198.51.100.7 proto esp spi 0xc2000002',
      'ip xfrm state delete src 198.51.100.7 dst 192.0.2.10 proto esp spi 0xc1000001',
    ]);
  });
});
