// A host inside the tunnel: ikelab answers ICMP / ICMPv6 echo requests and UDP echo (port 7, RFC 862) sent
// to its configured addresses (`host_addrs`, inside the CHILD_SA's local traffic selectors), so a peer can
// ping through the tunnel with nothing else running on this side.
import { parseIp } from '../config/ip.js';
import { buildEcho, buildUdp, echoReplyInPlace, parseEcho, parseUdp, Proto, udpEchoReplyInPlace, type IpPacket } from './packets.js';

export const UDP_ECHO_PORT = 7;

export interface VirtualHostCounters {
  echoReplies: number;
  udpEchoes: number;
  /** Addressed to us but neither an echo request nor UDP echo. */
  ignored: number;
}

export class VirtualHost {
  /** IPv4 addresses as 32-bit numbers, IPv6 ones as hex: a lookup per packet that formats no text. */
  private readonly v4 = new Set<number>();
  private readonly v6 = new Set<string>();
  readonly counters: VirtualHostCounters = { echoReplies: 0, udpEchoes: 0, ignored: 0 };

  constructor(
    addrs: Iterable<string> = [],
    private readonly udpEcho = true,
  ) {
    for (const a of addrs) this.add(a);
  }

  /** An address in any IPv4/IPv6 spelling; text that is no address could never match a packet and is ignored. */
  add(addr: string): void {
    const b = parseIp(addr);
    if (b?.length === 4) this.v4.add(b.readUInt32BE(0));
    else if (b) this.v6.add(b.toString('hex'));
  }

  has(addr: Buffer): boolean {
    if (addr.length === 4) return this.v4.size > 0 && this.v4.has(addr.readUInt32BE(0));
    return this.v6.size > 0 && this.v6.has(addr.toString('hex'));
  }

  /**
   * The reply to a packet addressed to one of our addresses, or undefined when there is nothing to answer.
   * inPlace: the request's bytes may become the reply (the engine's own decrypted plaintext; see packets.ts).
   */
  answer(ip: IpPacket, inPlace = false): Buffer | undefined {
    if (!this.has(ip.dst)) return undefined;
    if (ip.protocol === Proto.ICMP || ip.protocol === Proto.ICMPV6) {
      const e = parseEcho(ip);
      if (e?.request) {
        this.counters.echoReplies++;
        // RFC 792: the reply carries the request's identifier, sequence number and data back.
        return (inPlace && echoReplyInPlace(ip)) || buildEcho(ip.dst, ip.src, { request: false, id: e.id, seq: e.seq, data: e.data });
      }
    } else if (ip.protocol === Proto.UDP && this.udpEcho) {
      const u = parseUdp(ip);
      if (u && u.dstPort === UDP_ECHO_PORT) {
        this.counters.udpEchoes++;
        return (
          (inPlace && udpEchoReplyInPlace(ip)) || buildUdp(ip.dst, ip.src, { srcPort: UDP_ECHO_PORT, dstPort: u.srcPort, data: u.data })
        );
      }
    }
    this.counters.ignored++;
    return undefined;
  }
}
