// The IKE bypass policies of the xfrm backend (src/net/udp-bypass.ts): the struct xfrm_userpolicy_info bytes against
// a hand-computed layout; the exact setsockopt calls; on real sockets, the kernel accepting both policies, seen
// from outside in its count of socket policies (`ip -s xfrm policy count`, since no getsockopt reads them back),
// and refusing a struct one padding word short; which sockets the transport and the daemon give them, and a failure
// that is a log line, not a dead daemon. That they make the kernel's 0.0.0.0/0 policies pass IKE by is shown against
// strongSwan in test/interop/xfrm-bypass.test.ts (loopback has disable_policy=1, so it cannot show it).
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';
import { Logger, MemorySink } from '../../src/log/logger.js';
import type { Endpoint } from '../../src/net/endpoint.js';
import {
  AF_INET,
  AF_INET6,
  type BypassSocketConfigurator,
  bypassPolicies,
  packXfrmUserpolicyInfo,
  perlSetsockopt,
  type SetsockoptRequest,
  SockoptBypassConfigurator,
} from '../../src/net/udp-bypass.js';
import { type EncapSocketConfigurator, socketFd } from '../../src/net/udp-encap.js';
import { UdpTransport } from '../../src/net/udp-transport.js';

const IS_ROOT = process.getuid?.() === 0;
const HAS_IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].some(existsSync);
const HAS_SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].some(existsSync);

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function bound(type: 'udp4' | 'udp6', address: string): Promise<{ s: dgram.Socket; port: number }> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(type);
    s.once('error', reject);
    s.bind(0, address, () => {
      cleanup.push(() => new Promise<void>((r) => s.close(() => r())));
      resolve({ s, port: s.address().port });
    });
  });
}

const hex = (b: Buffer) => b.toString('hex');
const zeros = (n: number) => '00'.repeat(n);

describe('struct xfrm_userpolicy_info', () => {
  // Every field gets the bytes of its own offsets plus one (byte i holds i+1), so a field at the wrong offset, of
  // the wrong width or in the wrong byte order breaks the run; padding stays 0. Offsets by hand from
  // include/uapi/linux/xfrm.h (x86_64): selector 0-55 (daddr 0, saddr 16, dport 32, dport_mask 34, sport 36,
  // sport_mask 38, family 40, prefixlen_d 42, prefixlen_s 43, proto 44, 3 padding, ifindex 48, user 52), lft 56-119
  // (8 x u64), curlft 120-151 (4 x u64), priority 152, index 156, dir 160, action 161, flags 162, share 163,
  // 4 bytes of tail padding to 168 (u64 alignment). gcc's offsetof/sizeof on this machine agree.
  const everyField = {
    sel: {
      daddr: Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex'),
      saddr: Buffer.from('1112131415161718191a1b1c1d1e1f20', 'hex'),
      dport: 0x2122, // network order
      dportMask: 0x2324,
      sport: 0x2526,
      sportMask: 0x2728,
      family: 0x2a29, // host order (little-endian)
      prefixlenD: 0x2b,
      prefixlenS: 0x2c,
      proto: 0x2d,
      ifindex: 0x34333231,
      user: 0x38373635,
    },
    lft: [
      0x403f3e3d3c3b3a39n,
      0x4847464544434241n,
      0x504f4e4d4c4b4a49n,
      0x5857565554535251n,
      0x605f5e5d5c5b5a59n,
      0x6867666564636261n,
      0x706f6e6d6c6b6a69n,
      0x7877767574737271n,
    ],
    curlft: [0x807f7e7d7c7b7a79n, 0x8887868584838281n, 0x908f8e8d8c8b8a89n, 0x9897969594939291n],
    priority: 0x9c9b9a99,
    index: 0xa09f9e9d,
    dir: 0xa1,
    action: 0xa2,
    flags: 0xa3,
    share: 0xa4,
  };

  it('x86_64 layout: 168 bytes, each field at its offset, padding zero', () => {
    const b = packXfrmUserpolicyInfo(everyField, true);
    const padding = new Set([45, 46, 47, 164, 165, 166, 167]);
    expect(b.length).toBe(168);
    expect([...b]).toEqual([...Array(168).keys()].map((i) => (padding.has(i) ? 0 : i + 1)));
  });

  it('big-endian hosts: host-order fields swap, ports and addresses do not', () => {
    const b = packXfrmUserpolicyInfo(everyField, false);
    expect(hex(b.subarray(32, 56))).toBe('2122232425262728' + '2a292b2c2d000000' + '3433323138373635');
    expect(hex(b.subarray(56, 64))).toBe('403f3e3d3c3b3a39');
    expect(hex(b.subarray(152, 164))).toBe('9c9b9a99a09f9e9da1a2a3a4');
  });

  it("charon's bypass policies: zero selector but the family, action ALLOW (0), out (1) then in (0)", () => {
    expect(bypassPolicies(AF_INET).map(hex)).toEqual([
      `${zeros(40)}0200${zeros(118)}01${zeros(7)}`,
      `${zeros(40)}0200${zeros(118)}00${zeros(7)}`,
    ]);
    expect(bypassPolicies(AF_INET6).map(hex)).toEqual([
      `${zeros(40)}0a00${zeros(118)}01${zeros(7)}`,
      `${zeros(40)}0a00${zeros(118)}00${zeros(7)}`,
    ]);
  });

  it('an address longer than xfrm_address_t is refused', () => {
    expect(() => packXfrmUserpolicyInfo({ sel: { family: 2, daddr: Buffer.alloc(17) }, dir: 0, action: 0 })).toThrow(
      'an xfrm_address_t holds 16 bytes, not 17',
    );
  });
});

describe('SockoptBypassConfigurator: the calls', () => {
  const recording = (fail?: string) => {
    const issued: SetsockoptRequest[] = [];
    const c = new SockoptBypassConfigurator(
      async (req) => {
        issued.push(req);
        if (fail) throw new Error(fail);
      },
      () => 41,
    );
    return { c, issued };
  };

  it('IPv4: setsockopt(fd, SOL_IP 0, IP_XFRM_POLICY 17) with the out policy, then the in policy', async () => {
    const { c, issued } = recording();
    await c.bypassIpsec({} as dgram.Socket, { address: '192.0.2.10', port: 500 });
    expect(issued).toEqual([{ fd: 41, port: 500, family: 2, level: 0, name: 17, values: bypassPolicies(AF_INET) }]);
  });

  it('IPv6: setsockopt(fd, SOL_IPV6 41, IPV6_XFRM_POLICY 35), AF_INET6 selectors', async () => {
    const { c, issued } = recording();
    await c.bypassIpsec({} as dgram.Socket, { address: '2001:db8::10', port: 4500 });
    expect(issued).toEqual([{ fd: 41, port: 4500, family: 10, level: 41, name: 35, values: bypassPolicies(AF_INET6) }]);
  });

  it("a refusal comes back in charon's words", async () => {
    const { c } = recording('Operation not permitted (1)');
    await expect(c.bypassIpsec({} as dgram.Socket, { address: '192.0.2.10', port: 500 })).rejects.toThrow(
      'unable to set IPSEC_POLICY on socket: Operation not permitted (1)',
    );
  });
});

/** The kernel's count of socket policies in this network namespace: `SPD ... (Sock: IN n OUT n FWD n)`. */
function sockPolicies(): { in: number; out: number } {
  const out = execFileSync('ip', ['-s', 'xfrm', 'policy', 'count'], { encoding: 'utf8' });
  const m = /Sock: IN (\d+) OUT (\d+)/.exec(out);
  if (!m) throw new Error(`no socket policy count in: ${out}`);
  return { in: Number(m[1]), out: Number(m[2]) };
}

/**
 * How `act` changes the count. The count is the whole namespace's: another test's daemon may open or close a
 * socket meanwhile, so an attempt that does not show `expected` is repeated (each with fresh sockets) a few times;
 * code that does not do its part shows the wrong change every time.
 */
async function countChange(expected: number[], act: () => Promise<number[][]>): Promise<number[]> {
  let last: number[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const counts = await act();
    last = counts.slice(1).flatMap((c, i) => [c[0]! - counts[i]![0]!, c[1]! - counts[i]![1]!]);
    if (last.every((d, i) => d === expected[i])) break;
  }
  return last;
}

const counted = () => {
  const c = sockPolicies();
  return [c.in, c.out];
};

describe.skipIf(!IS_ROOT || !HAS_IP)('on real sockets (root: IP_XFRM_POLICY needs CAP_NET_ADMIN)', () => {
  it.each([
    ['udp4', '127.0.0.1'],
    ['udp6', '::1'],
  ] as const)('%s: the kernel takes both policies (socket policy count +1 in, +1 out) and drops them on close', async (type, address) => {
    const change = await countChange([1, 1, -1, -1], async () => {
      const { s, port } = await bound(type, address);
      const before = counted();
      await new SockoptBypassConfigurator().bypassIpsec(s, { address, port });
      const set = counted();
      await Promise.all(cleanup.splice(-1).map((c) => c()));
      return [before, set, counted()];
    });
    expect(change).toEqual([1, 1, -1, -1]);
  });

  it('the kernel checks the length: the struct without its tail padding (164 bytes) is refused with EINVAL', async () => {
    const { s, port } = await bound('udp4', '127.0.0.1');
    const short = bypassPolicies(AF_INET).map((b) => b.subarray(0, 164));
    const req = { fd: socketFd(s), port, family: AF_INET, level: 0, name: 17 };
    await expect(perlSetsockopt()({ ...req, values: short })).rejects.toThrow('Invalid argument (22)');
    // and the family must match the socket's: IP_XFRM_POLICY on an IPv6 socket is not supported
    const v6 = await bound('udp6', '::1');
    await expect(
      perlSetsockopt()({ fd: socketFd(v6.s), port: v6.port, family: AF_INET6, level: 0, name: 17, values: bypassPolicies(AF_INET6) }),
    ).rejects.toThrow('Operation not supported (95)');
  });

  it('an fd of another port or family is refused before any change', async () => {
    const a = await bound('udp4', '127.0.0.1');
    const b = await bound('udp4', '127.0.0.1');
    const tool = perlSetsockopt();
    const req = { fd: socketFd(a.s), level: 0, name: 17, values: bypassPolicies(AF_INET) };
    let err: unknown;
    const change = await countChange([0, 0], async () => {
      const before = counted();
      err = await tool({ ...req, port: b.port, family: AF_INET }).catch((e: Error) => e);
      return [before, counted()];
    });
    expect(change).toEqual([0, 0]);
    expect((err as Error).message).toBe(`fd 3 is bound to port ${a.port} of family 2, not port ${b.port} of family 2: left unchanged`);
    await expect(tool({ ...req, port: a.port, family: AF_INET6 })).rejects.toThrow(
      `fd 3 is bound to port ${a.port} of family 2, not port ${a.port} of family 10: left unchanged`,
    );
  });

  it.skipIf(!HAS_SETPRIV)('without CAP_NET_ADMIN the kernel says EPERM, in charon words', async () => {
    // perl run as nobody (setpriv drops every capability with the uid), the socket still inherited as fd 3
    const dir = mkdtempSync(join(tmpdir(), 'ikelab-bypass-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const perl = join(dir, 'perl-as-nobody');
    writeFileSync(perl, '#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups -- perl "$@"\n', { mode: 0o755 });
    const { s, port } = await bound('udp4', '127.0.0.1');
    await expect(new SockoptBypassConfigurator(perlSetsockopt(perl)).bypassIpsec(s, { address: '127.0.0.1', port })).rejects.toThrow(
      'unable to set IPSEC_POLICY on socket: Operation not permitted (1)',
    );
  });
});

class RecordingBypass implements BypassSocketConfigurator {
  calls: Endpoint[] = [];
  constructor(
    private readonly order: string[] = [],
    private readonly fail?: string,
  ) {}
  async bypassIpsec(socket: dgram.Socket, at: Endpoint): Promise<void> {
    expect(socket.address().port).toBe(at.port);
    this.calls.push(at);
    this.order.push(`bypass ${at.address}[${at.port}]`);
    if (this.fail) throw new Error(this.fail);
  }
}

class RecordingEncap implements EncapSocketConfigurator {
  constructor(private readonly order: string[]) {}
  async enableEspInUdp(_s: dgram.Socket, at: Endpoint): Promise<void> {
    this.order.push(`encap ${at.address}[${at.port}]`);
  }
}

async function freePorts(): Promise<[number, number]> {
  const a = await bound('udp4', '127.0.0.1');
  const b = await bound('udp4', '127.0.0.1');
  await Promise.all(cleanup.splice(-2).map((c) => c()));
  return [a.port, b.port];
}

describe('UdpTransport with a BypassSocketConfigurator', () => {
  it('every socket, IKE and NAT-T port, IPv4 and IPv6, before start() resolves; the bypass before UDP_ENCAP', async () => {
    const [port, nattPort] = await freePorts();
    const order: string[] = [];
    const notices: string[] = [];
    const t = new UdpTransport(
      { listen: ['127.0.0.1', '::1'], port, nattPort, bypass: new RecordingBypass(order), encap: new RecordingEncap(order) },
      { ike: () => {}, notice: (m) => notices.push(m) },
    );
    await t.start();
    cleanup.push(() => t.close());
    expect(order).toEqual([
      `bypass 127.0.0.1[${port}]`,
      `bypass 127.0.0.1[${nattPort}]`,
      `encap 127.0.0.1[${nattPort}]`,
      `bypass ::1[${port}]`,
      `bypass ::1[${nattPort}]`,
      `encap ::1[${nattPort}]`,
    ]);
    expect(notices).toContain(`socket ::1[${port}]: IKE bypass policies installed (socket policies in and out, action allow)`);
  });

  it('a failure is one NET line per socket naming what is at stake; IKE still arrives', async () => {
    const [port, nattPort] = await freePorts();
    const errors: string[] = [];
    const got: string[] = [];
    const t = new UdpTransport(
      {
        listen: ['127.0.0.1'],
        port,
        nattPort,
        bypass: new RecordingBypass([], 'unable to set IPSEC_POLICY on socket: Operation not permitted (1)'),
      },
      { ike: (d) => got.push(hex(d.data)), error: (m) => errors.push(m) },
    );
    await t.start();
    cleanup.push(() => t.close());
    expect(errors).toEqual(
      [port, nattPort].map(
        (p) =>
          `socket 127.0.0.1[${p}]: installing IKE bypass policy failed, CHILD_SA policies covering this address (0.0.0.0/0 traffic selectors) would catch IKE itself: unable to set IPSEC_POLICY on socket: Operation not permitted (1)`,
      ),
    );
    const peer = await bound('udp4', '127.0.0.1');
    peer.s.send(Buffer.from('abcd', 'hex'), port, '127.0.0.1');
    await expect.poll(() => got).toEqual(['abcd']);
  });
});

describe('Daemon: the bypass follows daemon.ipsec_backend', () => {
  const start = async (backend: string) => {
    const [port, nattPort] = await freePorts();
    const yaml = `daemon:\n  listen: [127.0.0.1, "::1"]\n  port: ${port}\n  natt_port: ${nattPort}\n  ipsec_backend: ${backend}\n  log: { stdout: false }\n`;
    const rec = new RecordingBypass();
    const daemon = new Daemon(parseConfig(yaml, 'ikelab.yaml'), {
      log: new Logger({}, [new MemorySink()]),
      bypassSockets: rec,
      encapSockets: new RecordingEncap([]),
    });
    await daemon.start();
    cleanup.push(() => daemon.stop());
    return { rec, port, nattPort };
  };

  it('xfrm: all four sockets', async () => {
    const { rec, port, nattPort } = await start('xfrm');
    expect(rec.calls).toEqual([
      { address: '127.0.0.1', port },
      { address: '127.0.0.1', port: nattPort },
      { address: '::1', port },
      { address: '::1', port: nattPort },
    ]);
  });

  it.each(['userspace', 'none'])('%s: none (no kernel policy can catch IKE)', async (backend) => {
    expect((await start(backend)).rec.calls).toEqual([]);
  });
});
