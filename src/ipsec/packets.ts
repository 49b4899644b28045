// The inner packets of a tunnel, as far as the virtual host and the ping client need them: IPv4 (RFC 791) and
// IPv6 (RFC 8200) headers, ICMP / ICMPv6 echo (RFC 792, RFC 4443 4.1-4.2), UDP (RFC 768), and the Internet
// checksum (RFC 1071). Parsers return undefined for anything malformed: inner packets come from the peer.
import { formatIp, parseIp } from '../config/ip.js';

export const Proto = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58 } as const;
/** ESP next header of a tunnelled packet (RFC 4303 2.6: IP protocol numbers of IP-in-IP). */
export const NextHeader = { IPV4: 4, IPV6: 41, NO_NEXT: 59 } as const;

export interface IpPacket {
  version: 4 | 6;
  src: Buffer;
  dst: Buffer;
  protocol: number;
  ttl: number;
  /** Transport header and data (exactly as long as the IP header says). */
  payload: Buffer;
}

/** One's complement sum of 16-bit words (RFC 1071), continuing from `sum`; not yet folded or inverted. */
export function onesSum(b: Buffer, sum = 0): number {
  const even = b.length & ~1;
  for (let i = 0; i < even; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (b.length & 1) sum += b[b.length - 1]! << 8;
  return sum;
}

/** The Internet checksum of the given parts (RFC 1071): 0 over data that includes a correct checksum. */
export function checksum(...parts: Buffer[]): number {
  let sum = 0;
  let odd = false;
  for (const p of parts) {
    if (odd) throw new RangeError('only the last part may have an odd length');
    sum = onesSum(p, sum);
    odd = (p.length & 1) === 1;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** TCP/UDP/ICMPv6 pseudo header (RFC 768, RFC 8200 8.1). */
function pseudoHeader(src: Buffer, dst: Buffer, protocol: number, length: number): Buffer {
  const h = Buffer.alloc(src.length === 4 ? 12 : 40);
  if (src.length === 4) {
    src.copy(h, 0);
    dst.copy(h, 4);
    h[9] = protocol;
    h.writeUInt16BE(length, 10);
  } else {
    src.copy(h, 0);
    dst.copy(h, 16);
    h.writeUInt32BE(length, 32);
    h[39] = protocol;
  }
  return h;
}

export function parseIp4(b: Buffer): IpPacket | undefined {
  if (b.length < 20 || b[0]! >> 4 !== 4) return undefined;
  const ihl = (b[0]! & 0x0f) * 4;
  const total = b.readUInt16BE(2);
  if (ihl < 20 || total < ihl || total > b.length) return undefined;
  if (checksum(b.subarray(0, ihl)) !== 0) return undefined;
  if ((b.readUInt16BE(6) & 0x3fff) !== 0) return undefined; // fragments are not reassembled here
  return { version: 4, src: b.subarray(12, 16), dst: b.subarray(16, 20), protocol: b[9]!, ttl: b[8]!, payload: b.subarray(ihl, total) };
}

export function parseIp6(b: Buffer): IpPacket | undefined {
  if (b.length < 40 || b[0]! >> 4 !== 6) return undefined;
  const len = b.readUInt16BE(4);
  if (40 + len > b.length) return undefined;
  // Extension headers are not walked: echo traffic has none.
  return { version: 6, src: b.subarray(8, 24), dst: b.subarray(24, 40), protocol: b[6]!, ttl: b[7]!, payload: b.subarray(40, 40 + len) };
}

/** An inner packet as delivered by ESP: next header says which IP version it claims to be. */
export function parseInner(b: Buffer, nextHeader: number): IpPacket | undefined {
  if (nextHeader === NextHeader.IPV4) return parseIp4(b);
  if (nextHeader === NextHeader.IPV6) return parseIp6(b);
  return undefined;
}

let ipId = 1;

/** A complete IP packet around a transport payload, with header checksum for IPv4. */
export function buildIp(src: Buffer, dst: Buffer, protocol: number, payload: Buffer, ttl = 64): Buffer {
  if (src.length !== dst.length) throw new RangeError('source and destination of different IP versions');
  if (src.length === 4) {
    const b = Buffer.alloc(20 + payload.length);
    b[0] = 0x45;
    b.writeUInt16BE(b.length, 2);
    b.writeUInt16BE((ipId = (ipId + 1) & 0xffff), 4);
    b[8] = ttl;
    b[9] = protocol;
    src.copy(b, 12);
    dst.copy(b, 16);
    b.writeUInt16BE(checksum(b.subarray(0, 20)), 10);
    payload.copy(b, 20);
    return b;
  }
  const b = Buffer.alloc(40 + payload.length);
  b[0] = 0x60;
  b.writeUInt16BE(payload.length, 4);
  b[6] = protocol;
  b[7] = ttl;
  src.copy(b, 8);
  dst.copy(b, 24);
  payload.copy(b, 40);
  return b;
}

/** ESP next header for an IP packet we built. */
export const nextHeaderOf = (ip: Buffer): number => (ip[0]! >> 4 === 6 ? NextHeader.IPV6 : NextHeader.IPV4);

export interface Echo {
  request: boolean;
  id: number;
  seq: number;
  data: Buffer;
}

const ECHO_TYPES = { 4: { request: 8, reply: 0 }, 6: { request: 128, reply: 129 } } as const;

/** An ICMP(v6) echo request or reply with a correct checksum, else undefined. */
export function parseEcho(ip: IpPacket): Echo | undefined {
  const icmpProto = ip.version === 4 ? Proto.ICMP : Proto.ICMPV6;
  const m = ip.payload;
  if (ip.protocol !== icmpProto || m.length < 8 || m[1] !== 0) return undefined;
  const types = ECHO_TYPES[ip.version];
  if (m[0] !== types.request && m[0] !== types.reply) return undefined;
  const sum = ip.version === 4 ? checksum(m) : checksum(pseudoHeader(ip.src, ip.dst, icmpProto, m.length), m);
  if (sum !== 0) return undefined;
  return { request: m[0] === types.request, id: m.readUInt16BE(4), seq: m.readUInt16BE(6), data: m.subarray(8) };
}

/** An ICMP echo request/reply as a complete IP packet (ICMPv6 when the addresses are IPv6). */
export function buildEcho(src: Buffer, dst: Buffer, e: Echo, ttl = 64): Buffer {
  const v6 = src.length === 16;
  const m = Buffer.alloc(8 + e.data.length);
  m[0] = e.request ? ECHO_TYPES[v6 ? 6 : 4].request : ECHO_TYPES[v6 ? 6 : 4].reply;
  m.writeUInt16BE(e.id, 4);
  m.writeUInt16BE(e.seq, 6);
  e.data.copy(m, 8);
  const proto = v6 ? Proto.ICMPV6 : Proto.ICMP;
  m.writeUInt16BE(v6 ? checksum(pseudoHeader(src, dst, proto, m.length), m) : checksum(m), 2);
  return buildIp(src, dst, proto, m, ttl);
}

export interface Udp {
  srcPort: number;
  dstPort: number;
  data: Buffer;
}

/** A UDP datagram whose length and (when present) checksum are right, else undefined. */
export function parseUdp(ip: IpPacket): Udp | undefined {
  const u = ip.payload;
  if (ip.protocol !== Proto.UDP || u.length < 8) return undefined;
  const len = u.readUInt16BE(4);
  if (len < 8 || len > u.length) return undefined;
  const seg = u.subarray(0, len);
  // A zero checksum means "none" on IPv4 only (RFC 768; mandatory on IPv6, RFC 8200 8.1).
  if ((seg.readUInt16BE(6) !== 0 || ip.version === 6) && checksum(pseudoHeader(ip.src, ip.dst, Proto.UDP, len), seg) !== 0)
    return undefined;
  return { srcPort: u.readUInt16BE(0), dstPort: u.readUInt16BE(2), data: u.subarray(8, len) };
}

export function buildUdp(src: Buffer, dst: Buffer, u: Udp, ttl = 64): Buffer {
  const seg = Buffer.alloc(8 + u.data.length);
  seg.writeUInt16BE(u.srcPort, 0);
  seg.writeUInt16BE(u.dstPort, 2);
  seg.writeUInt16BE(seg.length, 4);
  u.data.copy(seg, 8);
  const sum = checksum(pseudoHeader(src, dst, Proto.UDP, seg.length), seg);
  seg.writeUInt16BE(sum === 0 ? 0xffff : sum, 6); // RFC 768: a computed 0 is sent as all ones
  return buildIp(src, dst, Proto.UDP, seg, ttl);
}

/** Address bytes from text, throwing on garbage (configuration and API input, not packets). */
export function ipBytes(text: string): Buffer {
  const b = parseIp(text);
  if (!b) throw new Error(`not an IP address: ${text}`);
  return b;
}

export { formatIp };
