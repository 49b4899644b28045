// daemon.pcap: every IKE and ESP-in-UDP datagram ikelab sends and receives, as a classic libpcap file that
// Wireshark/tshark read directly (with daemon.save_keys' tables it decrypts them). ikelab sees UDP payloads only, so
// each record is an IP + UDP header synthesized from the datagram's endpoints around the payload exactly as it was
// on the wire (non-ESP marker included on the NAT-T port), link type RAW (IPv4 or IPv6 chosen per packet).
// Written synchronously, one write per record: a crash loses nothing and the file is readable while the daemon runs.
import { closeSync, fchmodSync, openSync, writeSync } from 'node:fs';
import { isIPv6 } from 'node:net';

/** An address and UDP port (structural: src/net's Endpoint). */
export interface PcapEndpoint {
  address: string;
  port: number;
}

const LINKTYPE_RAW = 101;
const SNAPLEN = 65535;

/** The 24-byte pcap file header: microsecond timestamps, host-independent little endian. */
export function pcapFileHeader(): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeInt32LE(0, 8); // thiszone
  h.writeUInt32LE(0, 12); // sigfigs
  h.writeUInt32LE(SNAPLEN, 16);
  h.writeUInt32LE(LINKTYPE_RAW, 20);
  return h;
}

function ipv4Bytes(a: string): Buffer {
  return Buffer.from(a.split('.').map((x) => Number(x)));
}

function ipv6Bytes(a: string): Buffer {
  // expand "::" and an embedded IPv4 tail into 8 groups
  let s = a.replace(/%.*$/, '');
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const b = ipv4Bytes(v4[1]!);
    s = `${s.slice(0, -v4[1]!.length)}${b.readUInt16BE(0).toString(16)}:${b.readUInt16BE(2).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(Number.parseInt(g || '0', 16), i * 2));
  return out;
}

/** One's complement sum of 16-bit words (RFC 1071), folded, not yet inverted. */
function sum16(bufs: Buffer[]): number {
  let s = 0;
  for (const b of bufs) {
    for (let i = 0; i + 1 < b.length; i += 2) s += b.readUInt16BE(i);
    if (b.length % 2) s += b[b.length - 1]! << 8;
  }
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

const checksum = (bufs: Buffer[]): number => ~sum16(bufs) & 0xffff;

/** IP + UDP header + payload of one datagram (checksums filled in, so Wireshark flags nothing). */
export function ipUdpPacket(payload: Buffer, from: PcapEndpoint, to: PcapEndpoint): Buffer {
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(from.port, 0);
  udp.writeUInt16BE(to.port, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  if (isIPv6(from.address)) {
    const src = ipv6Bytes(from.address);
    const dst = ipv6Bytes(to.address);
    const pseudo = Buffer.alloc(8);
    pseudo.writeUInt32BE(8 + payload.length, 0);
    pseudo[7] = 17;
    udp.writeUInt16BE(checksum([src, dst, pseudo, udp, payload]) || 0xffff, 6);
    const ip = Buffer.alloc(8);
    ip.writeUInt32BE(0x60000000, 0);
    ip.writeUInt16BE(8 + payload.length, 4);
    ip[6] = 17; // next header: UDP
    ip[7] = 64; // hop limit
    return Buffer.concat([ip, src, dst, udp, payload]);
  }
  const src = ipv4Bytes(from.address);
  const dst = ipv4Bytes(to.address);
  const pseudo = Buffer.from([0, 17, 0, 0]);
  pseudo.writeUInt16BE(8 + payload.length, 2);
  udp.writeUInt16BE(checksum([src, dst, pseudo, udp, payload]) || 0xffff, 6);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + payload.length, 2);
  ip.writeUInt16BE(0x4000, 6); // DF, no fragments
  ip[8] = 64; // TTL
  ip[9] = 17; // UDP
  src.copy(ip, 12);
  dst.copy(ip, 16);
  ip.writeUInt16BE(checksum([ip]), 10);
  return Buffer.concat([ip, udp, payload]);
}

/** One pcap record: 16-byte record header (time of `wallMs`) + the packet. */
export function pcapRecord(packet: Buffer, wallMs: number): Buffer {
  const h = Buffer.alloc(16);
  const sec = Math.floor(wallMs / 1000);
  h.writeUInt32LE(sec >>> 0, 0);
  h.writeUInt32LE(Math.floor((wallMs - sec * 1000) * 1000), 4);
  const len = Math.min(packet.length, SNAPLEN);
  h.writeUInt32LE(len, 8);
  h.writeUInt32LE(packet.length, 12);
  return Buffer.concat([h, packet.subarray(0, len)]);
}

/** The capture file: created (truncated) 0600 at start-up; a failed write is reported once, then capture stops. */
export class PcapWriter {
  private fd?: number;

  constructor(
    readonly path: string,
    /** Wall-clock milliseconds for the timestamps (the daemon's clock, so test time in tests). */
    private readonly now: () => number,
    private readonly report: (msg: string) => void,
  ) {
    this.fd = openSync(path, 'w', 0o600);
    // a file that existed keeps its mode on open; encrypted or not, traffic is nobody else's business
    fchmodSync(this.fd, 0o600);
    writeSync(this.fd, pcapFileHeader());
  }

  /** A UDP datagram as it went over the wire, from -> to. */
  datagram(payload: Buffer, from: PcapEndpoint, to: PcapEndpoint): void {
    if (this.fd === undefined) return;
    try {
      writeSync(this.fd, pcapRecord(ipUdpPacket(payload, from, to), this.now()));
    } catch (e) {
      this.report(`pcap: writing ${this.path} failed, capture stopped: ${(e as Error).message}`);
      this.close();
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      closeSync(fd);
    } catch {
      // already gone: nothing left to flush (writes were synchronous)
    }
  }
}
