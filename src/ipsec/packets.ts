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
  /** The whole IP packet, header included, as long as the header says (the parsed buffer itself when it fits). */
  bytes: Buffer;
}

/**
 * One's complement sum of the 16-bit words of b[from, to) (RFC 1071), continuing from `sum`; not yet folded or
 * inverted. A range instead of a subarray: the receive path sums headers and payloads without making views.
 */
export function onesSum(b: Buffer, sum = 0, from = 0, to = b.length): number {
  if (to - from >= WORDS_FROM && LITTLE_ENDIAN && ((b.byteOffset + from) & 1) === 0) return onesSumWords(b, sum, from, to);
  const even = from + ((to - from) & ~1);
  for (let i = from; i < even; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (even < to) sum += b[even]! << 8;
  return sum;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Below this many bytes the byte loop wins over making a Uint16Array view. */
const WORDS_FROM = 64;

/**
 * onesSum over an even-aligned range read as native 16-bit words: about twice as fast as the byte loop over a
 * 1400-byte datagram (2.3-3.4 against 4.2-6.7 us on the project's VM), and every echo is summed once. On a little-endian host every word comes in byte-swapped; the one's
 * complement sum of swapped words is the swapped sum (RFC 1071 2(B)), so the folded sum is swapped back once.
 */
function onesSumWords(b: Buffer, sum: number, from: number, to: number): number {
  const n = (to - from) >>> 1;
  const w = new Uint16Array(b.buffer, b.byteOffset + from, n);
  let s = 0;
  for (let i = 0; i < n; i++) s += w[i]!;
  s = fold(s);
  sum += ((s & 0xff) << 8) | (s >>> 8);
  if ((to - from) & 1) sum += b[to - 1]! << 8;
  return sum;
}

/** A sum folded to 16 bits with end-around carry. */
function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The checksum field for a sum (RFC 1071): 0 when the summed data already contains a correct checksum. */
const finish = (sum: number): number => ~fold(sum) & 0xffff;

/** The Internet checksum of the given parts (RFC 1071): 0 over data that includes a correct checksum. */
export function checksum(...parts: Buffer[]): number {
  let sum = 0;
  let odd = false;
  for (const p of parts) {
    if (odd) throw new RangeError('only the last part may have an odd length');
    sum = onesSum(p, sum);
    odd = (p.length & 1) === 1;
  }
  return finish(sum);
}

/** The sum of the TCP/UDP/ICMPv6 pseudo header (RFC 768, RFC 8200 8.1), without building it. */
function pseudoSum(src: Buffer, dst: Buffer, protocol: number, length: number): number {
  return onesSum(dst, onesSum(src)) + protocol + (length >>> 16) + (length & 0xffff);
}

export function parseIp4(b: Buffer): IpPacket | undefined {
  if (b.length < 20 || b[0]! >> 4 !== 4) return undefined;
  const ihl = (b[0]! & 0x0f) * 4;
  const total = b.readUInt16BE(2);
  if (ihl < 20 || total < ihl || total > b.length) return undefined;
  if (finish(onesSum(b, 0, 0, ihl)) !== 0) return undefined;
  if ((b.readUInt16BE(6) & 0x3fff) !== 0) return undefined; // fragments are not reassembled here
  const bytes = total === b.length ? b : b.subarray(0, total);
  return {
    version: 4,
    src: b.subarray(12, 16),
    dst: b.subarray(16, 20),
    protocol: b[9]!,
    ttl: b[8]!,
    payload: b.subarray(ihl, total),
    bytes,
  };
}

export function parseIp6(b: Buffer): IpPacket | undefined {
  if (b.length < 40 || b[0]! >> 4 !== 6) return undefined;
  const len = b.readUInt16BE(4);
  if (40 + len > b.length) return undefined;
  const bytes = 40 + len === b.length ? b : b.subarray(0, 40 + len);
  // Extension headers are not walked: echo traffic has none.
  return {
    version: 6,
    src: b.subarray(8, 24),
    dst: b.subarray(24, 40),
    protocol: b[6]!,
    ttl: b[7]!,
    payload: b.subarray(40, 40 + len),
    bytes,
  };
}

/** An inner packet as delivered by ESP: next header says which IP version it claims to be. */
export function parseInner(b: Buffer, nextHeader: number): IpPacket | undefined {
  if (nextHeader === NextHeader.IPV4) return parseIp4(b);
  if (nextHeader === NextHeader.IPV6) return parseIp6(b);
  return undefined;
}

let ipId = 1;

/**
 * Every field but the addresses of the IP header of a packet we send, at the start of b (20 bytes IPv4, 40 bytes
 * IPv6) before a payload of the rest of b: TOS / traffic class 0, no fragment bits, a fresh IPv4 id and, the
 * addresses being in place, the IPv4 header checksum.
 */
function finishIpHeader(b: Buffer, protocol: number, ttl: number): void {
  if (b[0]! >> 4 === 4) {
    b[1] = 0;
    b.writeUInt16BE(b.length, 2);
    b.writeUInt16BE((ipId = (ipId + 1) & 0xffff), 4);
    b.writeUInt16BE(0, 6);
    b[8] = ttl;
    b[9] = protocol;
    b.writeUInt16BE(0, 10);
    b.writeUInt16BE(finish(onesSum(b, 0, 0, 20)), 10);
    return;
  }
  b.writeUInt32BE(0x6000_0000, 0);
  b.writeUInt16BE(b.length - 40, 4);
  b[6] = protocol;
  b[7] = ttl;
}

/** A complete IP packet around a transport payload, with header checksum for IPv4. */
export function buildIp(src: Buffer, dst: Buffer, protocol: number, payload: Buffer, ttl = 64): Buffer {
  if (src.length !== dst.length) throw new RangeError('source and destination of different IP versions');
  const v4 = src.length === 4;
  const b = Buffer.allocUnsafe((v4 ? 20 : 40) + payload.length);
  b[0] = v4 ? 0x45 : 0x60;
  src.copy(b, v4 ? 12 : 8);
  dst.copy(b, v4 ? 16 : 24);
  payload.copy(b, v4 ? 20 : 40);
  finishIpHeader(b, protocol, ttl);
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
  const sum = onesSum(m, ip.version === 4 ? 0 : pseudoSum(ip.src, ip.dst, icmpProto, m.length));
  if (finish(sum) !== 0) return undefined;
  return { request: m[0] === types.request, id: m.readUInt16BE(4), seq: m.readUInt16BE(6), data: m.subarray(8) };
}

/** An ICMP echo request/reply as a complete IP packet (ICMPv6 when the addresses are IPv6). */
export function buildEcho(src: Buffer, dst: Buffer, e: Echo, ttl = 64): Buffer {
  const v6 = src.length === 16;
  const proto = v6 ? Proto.ICMPV6 : Proto.ICMP;
  const b = buildIp(src, dst, proto, Buffer.alloc(8 + e.data.length), ttl);
  const at = v6 ? 40 : 20;
  b[at] = e.request ? ECHO_TYPES[v6 ? 6 : 4].request : ECHO_TYPES[v6 ? 6 : 4].reply;
  b.writeUInt16BE(e.id, at + 4);
  b.writeUInt16BE(e.seq, at + 6);
  e.data.copy(b, at + 8);
  b.writeUInt16BE(finish(onesSum(b, v6 ? pseudoSum(src, dst, proto, b.length - at) : 0, at)), at + 2);
  return b;
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
  // A zero checksum means "none" on IPv4 only (RFC 768; mandatory on IPv6, RFC 8200 8.1).
  if ((u.readUInt16BE(6) !== 0 || ip.version === 6) && finish(onesSum(u, pseudoSum(ip.src, ip.dst, Proto.UDP, len), 0, len)) !== 0)
    return undefined;
  return { srcPort: u.readUInt16BE(0), dstPort: u.readUInt16BE(2), data: u.subarray(8, len) };
}

export function buildUdp(src: Buffer, dst: Buffer, u: Udp, ttl = 64): Buffer {
  const b = buildIp(src, dst, Proto.UDP, Buffer.alloc(8 + u.data.length), ttl);
  const at = src.length === 4 ? 20 : 40;
  b.writeUInt16BE(u.srcPort, at);
  b.writeUInt16BE(u.dstPort, at + 2);
  b.writeUInt16BE(b.length - at, at + 4);
  u.data.copy(b, at + 8);
  const sum = finish(onesSum(b, pseudoSum(src, dst, Proto.UDP, b.length - at), at));
  b.writeUInt16BE(sum === 0 ? 0xffff : sum, at + 6); // RFC 768: a computed 0 is sent as all ones
  return b;
}

// ----------------------------------------------------------------------------------- replies in place
// The userspace engine answers echo requests in the request's own bytes: the decrypted plaintext is a buffer
// only it holds, so the reply costs no allocation and no copy of the data. Only what a reply built from scratch
// would look like is done in place (an IPv4 header without options, a UDP datagram filling the IP payload);
// anything else returns undefined before a byte is changed, and the caller builds the reply.

/** Swap n bytes at a and b of buf. */
function swapBytes(buf: Buffer, a: number, b: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const t = buf[a + i]!;
    buf[a + i] = buf[b + i]!;
    buf[b + i] = t;
  }
}

/** Addresses swapped and the header rewritten as buildIp writes it; false (nothing changed) for IPv4 options. */
function turnIpAround(ip: IpPacket, ttl: number): boolean {
  const b = ip.bytes;
  if (ip.version === 4) {
    if (b[0] !== 0x45) return false;
    swapBytes(b, 12, 16, 4);
  } else swapBytes(b, 8, 24, 16);
  finishIpHeader(b, ip.protocol, ttl);
  return true;
}

/**
 * An ICMP(v6) echo request (already checked by parseEcho) turned into its reply. Swapping the addresses leaves
 * every checksum sum unchanged (the pseudo header's words are only reordered); the type change is folded into the
 * ICMP checksum incrementally (RFC 1624 eqn. 3), which gives the same bytes as summing the message again.
 */
export function echoReplyInPlace(ip: IpPacket, ttl = 64): Buffer | undefined {
  const m = ip.payload;
  const reply = ECHO_TYPES[ip.version].reply;
  const was = m.readUInt16BE(0);
  const now = (reply << 8) | m[1]!;
  if (!turnIpAround(ip, ttl)) return undefined;
  m[0] = reply;
  m.writeUInt16BE(~fold((~m.readUInt16BE(2) & 0xffff) + (~was & 0xffff) + now) & 0xffff, 2);
  return ip.bytes;
}

/** A UDP echo request (already checked by parseUdp) turned into its reply: ports and addresses swapped, same checksum. */
export function udpEchoReplyInPlace(ip: IpPacket, ttl = 64): Buffer | undefined {
  const u = ip.payload;
  if (u.readUInt16BE(4) !== u.length || !turnIpAround(ip, ttl)) return undefined;
  swapBytes(u, 0, 2, 2);
  return ip.bytes;
}

/** Address bytes from text, throwing on garbage (configuration and API input, not packets). */
export function ipBytes(text: string): Buffer {
  const b = parseIp(text);
  if (!b) throw new Error(`not an IP address: ${text}`);
  return b;
}

export { formatIp };
