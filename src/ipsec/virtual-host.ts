// A host inside the tunnel: ikelab answers ICMP / ICMPv6 echo requests and UDP echo (port 7, RFC 862) sent
// to its configured addresses (`host_addrs`, inside the CHILD_SA's local traffic selectors), so a peer can
// ping through the tunnel with nothing else running on this side.
import { buildEcho, buildUdp, formatIp, parseEcho, parseUdp, Proto, type IpPacket } from './packets.js';

export const UDP_ECHO_PORT = 7;

export interface VirtualHostCounters {
  echoReplies: number;
  udpEchoes: number;
  /** Addressed to us but neither an echo request nor UDP echo. */
  ignored: number;
}

export class VirtualHost {
  private readonly addrs = new Set<string>();
  readonly counters: VirtualHostCounters = { echoReplies: 0, udpEchoes: 0, ignored: 0 };

  constructor(
    addrs: Iterable<string> = [],
    private readonly udpEcho = true,
  ) {
    for (const a of addrs) this.add(a);
  }

  add(addr: string): void {
    this.addrs.add(addr);
  }

  has(addr: Buffer): boolean {
    return this.addrs.size > 0 && this.addrs.has(formatIp(addr));
  }

  /** The reply to a packet addressed to one of our addresses, or undefined when there is nothing to answer. */
  answer(ip: IpPacket): Buffer | undefined {
    if (!this.has(ip.dst)) return undefined;
    if (ip.protocol === Proto.ICMP || ip.protocol === Proto.ICMPV6) {
      const e = parseEcho(ip);
      if (e?.request) {
        this.counters.echoReplies++;
        // RFC 792: the reply carries the request's identifier, sequence number and data back.
        return buildEcho(ip.dst, ip.src, { request: false, id: e.id, seq: e.seq, data: e.data });
      }
    } else if (ip.protocol === Proto.UDP && this.udpEcho) {
      const u = parseUdp(ip);
      if (u && u.dstPort === UDP_ECHO_PORT) {
        this.counters.udpEchoes++;
        return buildUdp(ip.dst, ip.src, { srcPort: UDP_ECHO_PORT, dstPort: u.srcPort, data: u.data });
      }
    }
    this.counters.ignored++;
    return undefined;
  }
}
