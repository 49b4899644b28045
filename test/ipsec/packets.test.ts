// Inner packets and the virtual host, against packets other stacks made: the IPv4/ICMP packets inside the
// draft-mcgrew-gcm-test-01 vectors and the Linux kernel's echo replies in the strongSwan captures.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { EspInbound } from '../../src/ipsec/esp-sa.js';
import {
  buildEcho,
  buildUdp,
  checksum,
  ipBytes,
  onesSum,
  parseEcho,
  parseInner,
  parseIp4,
  parseIp6,
  parseUdp,
  Proto,
} from '../../src/ipsec/packets.js';
import { VirtualHost } from '../../src/ipsec/virtual-host.js';
import { KAT_DIR, katChildSas, readEspPackets } from './strongswan-kat.js';
import { Encr, Integ } from '../../src/wire/constants.js';

const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Independent RFC 1071 reference: plain loop over big-endian words of one buffer. */
function refChecksum(b: Buffer): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += b.readUInt16BE(i) ?? 0;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return ~s & 0xffff;
}

/** The 4 captured echo requests/replies of the aes256-sha256 run, decrypted. */
function capturedPings(): Buffer[] {
  const dir = 'aes256-sha256-modp2048';
  const sas = katChildSas(dir);
  return readEspPackets(join(KAT_DIR, dir, 'capture.pcap')).map((p) => {
    const sa = sas.find((x) => x.spi.equals(p.esp.subarray(0, 4)))!;
    const r = new EspInbound({
      spi: sa.spi,
      encr: Encr.AES_CBC,
      encrKeyBits: 256,
      integ: Integ.HMAC_SHA2_256_128,
      encKey: sa.encKey,
      integKey: sa.integKey,
      esn: false,
      replayWindow: 32,
    }).open(p.esp);
    if (!r.ok) throw new Error('capture does not decrypt');
    return r.inner;
  });
}

describe("one's complement sum (RFC 1071)", () => {
  it('agrees with a plain big-endian word loop for every offset parity, length and range', () => {
    const ref = (b: Buffer, from: number, to: number) => {
      let s = 0;
      for (let i = from; i < to; i += 2) s += (b[i]! << 8) | (i + 1 < to ? b[i + 1]! : 0);
      while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
      return s;
    };
    const fold = (s: number) => {
      while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
      return s;
    };
    const big = randomBytes(3000);
    for (const at of [0, 1, 2, 3]) {
      for (const len of [0, 1, 20, 63, 64, 65, 1372, 1373, 2999 - at]) {
        const b = big.subarray(at, at + len); // odd and even byteOffsets: the word path and the byte path
        expect(fold(onesSum(b)), `at ${at} len ${len}`).toBe(ref(b, 0, len));
        if (len > 10) expect(fold(onesSum(b, 7, 3, len - 2))).toBe(fold(ref(b, 3, len - 2) + 7));
      }
    }
    expect(fold(onesSum(Buffer.alloc(1400, 0xff)))).toBe(0xffff);
  });
});

describe('IPv4 and ICMP', () => {
  // draft-mcgrew-gcm-test-01 case 4: an ICMP echo request 64.103.147.24 -> 1.1.1.1 built by someone else.
  const pkt = h(
    `4500003c99c500008001cb7a40679318 010101010800075c0200440061626364 65666768696a6b6c6d6e6f7071727374 757677616263646566676869`,
  );

  it('parses a foreign packet and verifies its header and ICMP checksums', () => {
    const ip = parseIp4(pkt)!;
    expect(ip).toMatchObject({ version: 4, protocol: Proto.ICMP, ttl: 128 });
    expect(ip.src.join('.')).toBe('64.103.147.24');
    expect(parseEcho(ip)).toMatchObject({ request: true, id: 0x0200, seq: 0x4400 });
    expect(checksum(pkt.subarray(0, 20))).toBe(0);
  });

  it('builds the same ICMP bytes (checksum included) as the original sender', () => {
    const ip = parseIp4(pkt)!;
    const e = parseEcho(ip)!;
    const ours = buildEcho(ip.src, ip.dst, e, 128);
    expect(ours.subarray(20).toString('hex')).toBe(pkt.subarray(20).toString('hex'));
    expect(ours.readUInt16BE(10)).toBe(refChecksum(Buffer.concat([ours.subarray(0, 10), Buffer.alloc(2), ours.subarray(12, 20)])));
  });

  it('refuses a bad header checksum, a bad ICMP checksum, truncation, fragments', () => {
    const bad = Buffer.from(pkt);
    bad[10]! ^= 1;
    expect(parseIp4(bad)).toBeUndefined();
    const badIcmp = Buffer.from(pkt);
    badIcmp[30]! ^= 1;
    expect(parseEcho(parseIp4(badIcmp)!)).toBeUndefined();
    expect(parseIp4(pkt.subarray(0, 40))).toBeUndefined();
    const frag = Buffer.from(pkt);
    frag.writeUInt16BE(0x2000, 6); // more fragments
    frag.writeUInt16BE(0, 10);
    frag.writeUInt16BE(checksum(frag.subarray(0, 20)), 10);
    expect(parseIp4(frag)).toBeUndefined();
    expect(parseInner(pkt, 41)).toBeUndefined(); // next header says IPv6
  });
});

describe('virtual host', () => {
  it("answers the captured echo requests with the Linux kernel's exact ICMP replies", () => {
    const [req1, rep1, req2, rep2] = capturedPings();
    const host = new VirtualHost(['10.11.0.1']);
    for (const [req, rep] of [
      [req1!, rep1!],
      [req2!, rep2!],
    ] as const) {
      const answer = host.answer(parseIp4(req)!)!;
      const ip = parseIp4(answer)!;
      expect(ip.src.join('.')).toBe('10.11.0.1');
      expect(ip.dst.join('.')).toBe('10.12.0.1');
      expect(answer.subarray(20).toString('hex')).toBe(rep.subarray(20).toString('hex'));
    }
    expect(host.counters.echoReplies).toBe(2);
    expect(host.answer(parseIp4(rep1!)!)).toBeUndefined(); // replies are not answered
    expect(new VirtualHost(['10.11.0.2']).answer(parseIp4(req1!)!)).toBeUndefined(); // not our address
  });

  it('echoes UDP port 7 with ports swapped and a valid checksum, ignores other ports', () => {
    const host = new VirtualHost(['10.11.0.1']);
    const q = buildUdp(ipBytes('10.12.0.9'), ipBytes('10.11.0.1'), { srcPort: 40000, dstPort: 7, data: Buffer.from('hello') });
    const udp = q.subarray(20);
    // UDP checksum against the reference sum over pseudo header + segment
    expect(refChecksum(Buffer.concat([h('0a0c0009 0a0b0001 0011'), Buffer.from([0, udp.length]), udp, Buffer.alloc(1)]))).toBe(0);
    const a = parseIp4(host.answer(parseIp4(q)!)!)!;
    expect(parseUdp(a)).toEqual({ srcPort: 7, dstPort: 40000, data: Buffer.from('hello') });
    const other = buildUdp(ipBytes('10.12.0.9'), ipBytes('10.11.0.1'), { srcPort: 40000, dstPort: 9, data: Buffer.alloc(3) });
    expect(host.answer(parseIp4(other)!)).toBeUndefined();
  });

  it("in place, turns the captured requests into the Linux kernel's exact ICMP replies in the requests' own bytes", () => {
    const [req1, rep1, req2, rep2] = capturedPings();
    const host = new VirtualHost(['10.11.0.1']);
    for (const [req, rep] of [
      [req1!, rep1!],
      [req2!, rep2!],
    ] as const) {
      const mine = Buffer.from(req);
      const answer = host.answer(parseIp4(mine)!, true)!;
      expect(answer).toBe(mine); // the very buffer, no copy
      const ip = parseIp4(answer)!; // header checksum and fields rewritten
      expect([ip.src.join('.'), ip.dst.join('.'), ip.ttl]).toEqual(['10.11.0.1', '10.12.0.1', 64]);
      expect(answer.subarray(20).toString('hex')).toBe(rep.subarray(20).toString('hex'));
    }
  });

  it('in place and built replies are the same packets for UDP and ICMPv6, and an IPv4 header with options is left alone', () => {
    const host = new VirtualHost(['10.11.0.1', 'FD00:11:0:0::1']); // any spelling of an address matches
    const udp4 = buildUdp(ipBytes('10.12.0.9'), ipBytes('10.11.0.1'), { srcPort: 40000, dstPort: 7, data: randomBytes(333) });
    const udp6 = buildUdp(ipBytes('fd00:12::5'), ipBytes('fd00:11::1'), { srcPort: 40001, dstPort: 7, data: randomBytes(64) });
    const icmp6 = buildEcho(ipBytes('fd00:12::5'), ipBytes('fd00:11::1'), { request: true, id: 7, seq: 9, data: randomBytes(99) });
    const noSum = Buffer.from(udp4);
    noSum.writeUInt16BE(0, 26); // IPv4 UDP without checksum (RFC 768): the reply has none either
    for (const req of [udp4, udp6, icmp6, noSum]) {
      const parse = (b: Buffer) => (b[0]! >> 4 === 4 ? parseIp4(b)! : parseIp6(b)!);
      const built = host.answer(parse(Buffer.from(req)))!;
      const inPlace = host.answer(parse(Buffer.from(req)), true)!;
      const skipId = (b: Buffer) => (b[0]! >> 4 === 4 ? Buffer.concat([b.subarray(0, 4), b.subarray(6, 10), b.subarray(12)]) : b);
      if (req === noSum) {
        expect(inPlace.readUInt16BE(26)).toBe(0);
        expect(parseUdp(parse(inPlace))).toMatchObject({ srcPort: 7, dstPort: 40000 });
      } else expect(skipId(inPlace).toString('hex')).toBe(skipId(built).toString('hex')); // IPv4 ids differ by one
      const again = parse(inPlace); // IPv4 header checksum verified
      expect(again.protocol === Proto.UDP ? parseUdp(again) : parseEcho(again)).toBeDefined(); // transport checksum too
    }
    // IPv4 options (IHL 6): a reply built from scratch, the request as it was
    const opt = Buffer.concat([Buffer.from([0x46]), udp4.subarray(1, 20), Buffer.from([1, 1, 1, 0]), udp4.subarray(20)]);
    opt.writeUInt16BE(opt.length, 2);
    opt.writeUInt16BE(0, 10);
    opt.writeUInt16BE(checksum(opt.subarray(0, 24)), 10);
    const before = Buffer.from(opt);
    const reply = host.answer(parseIp4(opt)!, true)!;
    expect(reply).not.toBe(opt);
    expect(opt.equals(before)).toBe(true);
    expect(parseUdp(parseIp4(reply)!)).toMatchObject({ srcPort: 7, dstPort: 40000 });
  });

  it('answers ICMPv6 echo, checksummed over the IPv6 pseudo header (RFC 8200 8.1)', () => {
    const host = new VirtualHost(['fd00:11::1']);
    const req = buildEcho(ipBytes('fd00:12::5'), ipBytes('fd00:11::1'), { request: true, id: 7, seq: 9, data: Buffer.from('abcdefgh') });
    const m = req.subarray(40);
    expect(m[0]).toBe(128);
    const pseudo = Buffer.concat([req.subarray(8, 40), Buffer.from([0, 0, 0, m.length, 0, 0, 0, 58])]);
    expect(refChecksum(Buffer.concat([pseudo, m]))).toBe(0);
    const rep = parseIp6(host.answer(parseIp6(req)!)!)!;
    expect(rep.payload[0]).toBe(129);
    expect(parseEcho(rep)).toEqual({ request: false, id: 7, seq: 9, data: Buffer.from('abcdefgh') });
  });
});
