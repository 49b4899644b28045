// The `ip xfrm` command lines of the kernel backend, compared with what ip-xfrm(8) and the kernel's algorithm
// names (as charon's kernel-netlink uses them) require, for every transform, with and without NAT-T and ESN.
import { describe, expect, it } from 'vitest';
import { Logger } from '../../src/log/logger.js';
import { rangeToCidrs, xfrmCommands, type XfrmChild } from '../../src/ipsec/xfrm.js';
import { XfrmBackend } from '../../src/ipsec/xfrm-backend.js';
import { zeroCounters, type ChildSaSpec } from '../../src/ipsec/backend.js';
import { ipBytes } from '../../src/ipsec/packets.js';
import { Encr, Integ } from '../../src/wire/constants.js';
import type { TrafficSelector } from '../../src/wire/types.js';

const ts = (a: string, b: string, proto = 0, port?: number): TrafficSelector => ({
  tsType: 7,
  ipProtocol: proto,
  startPort: port ?? 0,
  endPort: port ?? 0xffff,
  startAddr: ipBytes(a),
  endAddr: ipBytes(b),
});
const key = (n: number, byte: number) => Buffer.alloc(n, byte);

function child(over: Partial<XfrmChild>): XfrmChild {
  return {
    encr: Encr.AES_CBC,
    encrKeyBits: 256,
    integ: Integ.HMAC_SHA2_256_128,
    esn: false,
    local: '10.98.0.2',
    remote: '10.98.0.1',
    spiIn: Buffer.from('c1000001', 'hex'),
    spiOut: Buffer.from('c2000002', 'hex'),
    reqid: 7,
    keys: { encrIn: key(32, 0x11), integIn: key(32, 0x22), encrOut: key(32, 0x33), integOut: key(32, 0x44) },
    replayWindow: 32,
    localTs: [ts('10.12.0.0', '10.12.0.255')],
    remoteTs: [ts('10.11.0.0', '10.11.0.255')],
    ...over,
  };
}
const hex = (n: number, byte: number) => `0x${key(n, byte).toString('hex')}`;

describe('xfrmCommands', () => {
  it('aes256-sha256 without NAT-T: two states, then out/in/fwd policies', () => {
    expect(xfrmCommands('add', child({}))).toEqual([
      [
        'ip',
        'xfrm',
        'state',
        'add',
        'src',
        '10.98.0.1',
        'dst',
        '10.98.0.2',
        'proto',
        'esp',
        'spi',
        '0xc1000001',
        'reqid',
        '7',
        'mode',
        'tunnel',
        'replay-window',
        '32',
        'enc',
        'cbc(aes)',
        hex(32, 0x11),
        'auth-trunc',
        'hmac(sha256)',
        hex(32, 0x22),
        '128',
      ],
      [
        'ip',
        'xfrm',
        'state',
        'add',
        'src',
        '10.98.0.2',
        'dst',
        '10.98.0.1',
        'proto',
        'esp',
        'spi',
        '0xc2000002',
        'reqid',
        '7',
        'mode',
        'tunnel',
        'replay-window',
        '32',
        'enc',
        'cbc(aes)',
        hex(32, 0x33),
        'auth-trunc',
        'hmac(sha256)',
        hex(32, 0x44),
        '128',
      ],
      [
        'ip',
        'xfrm',
        'policy',
        'add',
        'src',
        '10.12.0.0/24',
        'dst',
        '10.11.0.0/24',
        'dir',
        'out',
        'tmpl',
        'src',
        '10.98.0.2',
        'dst',
        '10.98.0.1',
        'proto',
        'esp',
        'reqid',
        '7',
        'mode',
        'tunnel',
      ],
      [
        'ip',
        'xfrm',
        'policy',
        'add',
        'src',
        '10.11.0.0/24',
        'dst',
        '10.12.0.0/24',
        'dir',
        'in',
        'tmpl',
        'src',
        '10.98.0.1',
        'dst',
        '10.98.0.2',
        'proto',
        'esp',
        'reqid',
        '7',
        'mode',
        'tunnel',
      ],
      [
        'ip',
        'xfrm',
        'policy',
        'add',
        'src',
        '10.11.0.0/24',
        'dst',
        '10.12.0.0/24',
        'dir',
        'fwd',
        'tmpl',
        'src',
        '10.98.0.1',
        'dst',
        '10.98.0.2',
        'proto',
        'esp',
        'reqid',
        '7',
        'mode',
        'tunnel',
      ],
    ]);
  });

  it('delete: policies first, then the states by SPI', () => {
    expect(xfrmCommands('del', child({}))).toEqual([
      ['ip', 'xfrm', 'policy', 'delete', 'src', '10.12.0.0/24', 'dst', '10.11.0.0/24', 'dir', 'out'],
      ['ip', 'xfrm', 'policy', 'delete', 'src', '10.11.0.0/24', 'dst', '10.12.0.0/24', 'dir', 'in'],
      ['ip', 'xfrm', 'policy', 'delete', 'src', '10.11.0.0/24', 'dst', '10.12.0.0/24', 'dir', 'fwd'],
      ['ip', 'xfrm', 'state', 'delete', 'src', '10.98.0.1', 'dst', '10.98.0.2', 'proto', 'esp', 'spi', '0xc1000001'],
      ['ip', 'xfrm', 'state', 'delete', 'src', '10.98.0.2', 'dst', '10.98.0.1', 'proto', 'esp', 'spi', '0xc2000002'],
    ]);
  });

  const ALGOS: [string, Partial<XfrmChild>, string[]][] = [
    [
      'aes128-sha1',
      {
        encrKeyBits: 128,
        integ: Integ.HMAC_SHA1_96,
        keys: { encrIn: key(16, 1), integIn: key(20, 2), encrOut: key(16, 3), integOut: key(20, 4) },
      },
      ['enc', 'cbc(aes)', hex(16, 1), 'auth-trunc', 'hmac(sha1)', hex(20, 2), '96'],
    ],
    [
      'aes256-sha384',
      { integ: Integ.HMAC_SHA2_384_192, keys: { encrIn: key(32, 1), integIn: key(48, 2), encrOut: key(32, 3), integOut: key(48, 4) } },
      ['enc', 'cbc(aes)', hex(32, 1), 'auth-trunc', 'hmac(sha384)', hex(48, 2), '192'],
    ],
    [
      'aes128-sha512',
      {
        encrKeyBits: 128,
        integ: Integ.HMAC_SHA2_512_256,
        keys: { encrIn: key(16, 1), integIn: key(64, 2), encrOut: key(16, 3), integOut: key(64, 4) },
      },
      ['enc', 'cbc(aes)', hex(16, 1), 'auth-trunc', 'hmac(sha512)', hex(64, 2), '256'],
    ],
    [
      '3des-sha1',
      {
        encr: Encr['3DES'],
        encrKeyBits: undefined,
        integ: Integ.HMAC_SHA1_96,
        keys: { encrIn: key(24, 1), integIn: key(20, 2), encrOut: key(24, 3), integOut: key(20, 4) },
      },
      ['enc', 'cbc(des3_ede)', hex(24, 1), 'auth-trunc', 'hmac(sha1)', hex(20, 2), '96'],
    ],
    [
      'aes128gcm16',
      {
        encr: Encr.AES_GCM_16,
        encrKeyBits: 128,
        integ: undefined,
        keys: { encrIn: key(20, 1), integIn: key(0, 0), encrOut: key(20, 3), integOut: key(0, 0) },
      },
      ['aead', 'rfc4106(gcm(aes))', hex(20, 1), '128'],
    ],
    [
      'aes256gcm16',
      {
        encr: Encr.AES_GCM_16,
        encrKeyBits: 256,
        integ: undefined,
        keys: { encrIn: key(36, 1), integIn: key(0, 0), encrOut: key(36, 3), integOut: key(0, 0) },
      },
      ['aead', 'rfc4106(gcm(aes))', hex(36, 1), '128'],
    ],
    [
      'aes128gcm8',
      {
        encr: Encr.AES_GCM_8,
        encrKeyBits: 128,
        integ: undefined,
        keys: { encrIn: key(20, 1), integIn: key(0, 0), encrOut: key(20, 3), integOut: key(0, 0) },
      },
      ['aead', 'rfc4106(gcm(aes))', hex(20, 1), '64'],
    ],
    [
      'chacha20poly1305',
      {
        encr: Encr.CHACHA20_POLY1305,
        encrKeyBits: undefined,
        integ: undefined,
        keys: { encrIn: key(36, 1), integIn: key(0, 0), encrOut: key(36, 3), integOut: key(0, 0) },
      },
      ['aead', 'rfc7539esp(chacha20,poly1305)', hex(36, 1), '128'],
    ],
  ];

  it.each(ALGOS)('%s: algorithm arguments of the inbound state', (_n, over, algo) => {
    const inbound = xfrmCommands('add', child(over))[0]!;
    expect(inbound.slice(inbound.indexOf('replay-window') + 2)).toEqual(algo);
  });

  it("NAT-T: encap espinudp with each direction's ports; ESN: flag esn and the replay window", () => {
    const [inb, outb] = xfrmCommands('add', child({ encap: { localPort: 4500, remotePort: 14500 }, esn: true, replayWindow: 1024 }));
    expect(inb!.slice(16, 20)).toEqual(['replay-window', '1024', 'flag', 'esn']);
    expect(inb!.slice(-5)).toEqual(['encap', 'espinudp', '14500', '4500', '0.0.0.0']);
    expect(outb!.slice(-5)).toEqual(['encap', 'espinudp', '4500', '14500', '0.0.0.0']);
    expect(xfrmCommands('add', child({}))[0]).not.toContain('encap');
    expect(xfrmCommands('add', child({}))[0]).not.toContain('esn');
  });

  it('selectors: ranges become exact prefixes, protocol and single ports narrow the policy', () => {
    expect(rangeToCidrs(ipBytes('10.1.0.1'), ipBytes('10.1.0.6'))).toEqual(['10.1.0.1/32', '10.1.0.2/31', '10.1.0.4/31', '10.1.0.6/32']);
    expect(rangeToCidrs(ipBytes('0.0.0.0'), ipBytes('255.255.255.255'))).toEqual(['0.0.0.0/0']);
    expect(rangeToCidrs(ipBytes('fd00::'), ipBytes('fd00::ffff'))).toEqual(['fd00::/112']);
    const cmds = xfrmCommands(
      'add',
      child({ localTs: [ts('10.12.0.5', '10.12.0.5', 17, 53)], remoteTs: [ts('10.11.0.0', '10.11.0.255', 17)] }),
    );
    expect(cmds[2]!.slice(4, 14)).toEqual(['src', '10.12.0.5/32', 'dst', '10.11.0.0/24', 'proto', '17', 'sport', '53', 'dir', 'out']);
    expect(cmds[3]!.slice(4, 14)).toEqual(['src', '10.11.0.0/24', 'dst', '10.12.0.5/32', 'proto', '17', 'dport', '53', 'dir', 'in']);
    expect(() => xfrmCommands('add', child({ localTs: [{ ...ts('10.12.0.5', '10.12.0.5', 6), startPort: 1000, endPort: 2000 }] }))).toThrow(
      /port range/,
    );
  });
});

describe('XfrmBackend', () => {
  const mkChild = (id: number, spiIn: string, spiOut: string, outboundActive = true): ChildSaSpec => ({
    id,
    reqid: 3,
    name: 'net',
    connection: 'bar',
    spiIn: Buffer.from(spiIn, 'hex'),
    spiOut: Buffer.from(spiOut, 'hex'),
    suite: { encr: Encr.AES_GCM_16, encrKeyBits: 128, esn: true },
    keys: { encrIn: key(20, 1), integIn: key(0, 0), encrOut: key(20, 2), integOut: key(0, 0) },
    dhGroup: 0,
    localTs: [ts('10.12.0.0', '10.12.0.255')],
    remoteTs: [ts('10.11.0.0', '10.11.0.255')],
    local: { address: '10.98.0.2', port: 4500 },
    remote: { address: '10.98.0.1', port: 4500 },
    encap: true,
    outboundActive,
    replayWindow: 64,
    hostAddrs: [],
    counters: zeroCounters(),
  });
  const summary = (argv: string[]) =>
    `${argv[2]} ${argv[3]} ${argv.includes('spi') ? argv[argv.indexOf('spi') + 1] : argv[argv.indexOf('dir') + 1]}`;

  it('rekey: policies stay while any SA of the reqid is installed; responder outbound waits for activation', async () => {
    const ran: string[][] = [];
    const be = new XfrmBackend((argv) => void ran.push(argv), new Logger({ default: -1 }));
    const old = mkChild(1, 'a0000001', 'b0000001');
    be.install(old);
    const fresh = mkChild(2, 'a0000002', 'b0000002', false);
    be.install(fresh);
    be.remove(old.id);
    fresh.outboundActive = true;
    be.install(fresh);
    be.install(fresh); // idempotent
    be.remove(fresh.id);
    await be.flush();
    expect(ran.map(summary)).toEqual([
      'state add 0xa0000001',
      'policy add out',
      'policy add in',
      'policy add fwd',
      'state add 0xb0000001',
      'state add 0xa0000002',
      'state delete 0xb0000001',
      'state delete 0xa0000001',
      'state add 0xb0000002',
      'policy delete out',
      'policy delete in',
      'policy delete fwd',
      'state delete 0xb0000002',
      'state delete 0xa0000002',
    ]);
    expect(ran[0]).toContain('esn');
    expect(ran[0]!.slice(-5)).toEqual(['encap', 'espinudp', '4500', '4500', '0.0.0.0']);
  });

  it('a failing command is counted and later ones still run in order', async () => {
    const ran: string[] = [];
    const be = new XfrmBackend(
      async (argv) => {
        await new Promise((r) => setTimeout(r, 1));
        if (argv[3] === 'add' && argv[2] === 'state' && ran.length === 0) {
          ran.push('fail');
          throw new Error('RTNETLINK answers: File exists');
        }
        ran.push(summary(argv));
      },
      new Logger({ default: -1 }),
    );
    be.install(mkChild(5, 'a0000005', 'b0000005'));
    await be.flush();
    expect(be.failures).toBe(1);
    expect(ran).toEqual(['fail', 'policy add out', 'policy add in', 'policy add fwd', 'state add 0xb0000005']);
  });
});
