// The userspace ESP engine as a ChildSaBackend: CHILD_SAs become ESP SAs carried in UDP on the NAT-T port
// (RFC 3948; the transport already split ESP from IKE by the non-ESP marker), decapsulated packets go to the
// virtual host (host_addrs) or the ping client, and their answers go back through the matching CHILD_SA.
import type { ChildSaBackend } from '../ike/services.js';
import type { ChildSa } from '../ike/child-sa.js';
import type { IkeSa } from '../ike/ike-sa.js';
import type { Logger } from '../log/logger.js';
import type { Endpoint } from '../net/endpoint.js';
import { fmtEndpoint } from '../net/endpoint.js';
import { EspSequenceExhausted } from './esp-sa.js';
import { formatIp, ipBytes, nextHeaderOf, NextHeader, parseEcho, parseInner, parseIp4, parseIp6, Proto } from './packets.js';
import { Pinger, type PingOptions, type PingResult } from './ping.js';
import { Sad, type SaEntry } from './sad.js';
import { addCounters, flowKey, renderIpsecSa, zeroTotals, type FlowTotals } from './sa-view.js';
import { VirtualHost } from './virtual-host.js';

export interface EspSink {
  sendEsp(packet: Buffer, from: Endpoint, to: Endpoint): void;
}

/** Engine-wide drops that belong to no CHILD_SA. */
export interface EngineCounters {
  invalidSpi: number;
  /** Decapsulated packets outside the SA's traffic selectors (RFC 4301 5.2). */
  policyDrops: number;
  /** Authentic packets for no one here (not a host address, not a ping reply). */
  undeliverable: number;
  /** Packets to send with no CHILD_SA covering them. */
  noRoute: number;
  sendErrors: number;
}

export class UserspaceBackend implements ChildSaBackend {
  readonly sad = new Sad();
  readonly host = new VirtualHost();
  readonly counters: EngineCounters = { invalidSpi: 0, policyDrops: 0, undeliverable: 0, noRoute: 0, sendErrors: 0 };
  private readonly pinger = new Pinger();
  /** Counters of removed SAs per flow, so `show crypto ipsec sa` totals survive rekeys as in IOS. */
  private readonly removedTotals = new Map<string, FlowTotals>();

  constructor(private readonly sink: EspSink, private readonly log: Logger) {}

  install(ike: IkeSa, child: ChildSa): void {
    const fresh = !this.sad.get(child);
    let e: SaEntry;
    try {
      e = this.sad.install(ike, child);
    } catch (err) {
      // An ESP transform we cannot run (e.g. AES-XCBC) must not break the IKE exchange that installs it.
      this.log.log('ESP', 1, `unable to install ESP SAs ${child.label}: ${(err as Error).message}`, ike.log?.ctx);
      return;
    }
    for (const a of child.config.hostAddrs) this.host.add(a);
    if (fresh) {
      this.log.log('ESP', 1, `installed ESP SAs ${child.label}: in ${child.spiIn.toString('hex')}, out ${child.spiOut.toString('hex')}${child.outboundActive ? '' : ' (outbound pending)'}`, ike.log?.ctx);
    } else {
      this.log.log('ESP', 2, `updated ESP SAs ${e.child.label}${child.outboundActive ? ', outbound active' : ''}`, ike.log?.ctx);
    }
  }

  remove(ike: IkeSa, child: ChildSa): void {
    const e = this.sad.remove(child);
    if (!e) return;
    const k = flowKey(e);
    const t = this.removedTotals.get(k) ?? zeroTotals();
    addCounters(t, child.counters);
    // Drop the history once no SA of the flow is left, so a re-established flow starts from zero.
    if (this.sad.entries().some((x) => flowKey(x) === k)) this.removedTotals.set(k, t);
    else this.removedTotals.delete(k);
    this.log.log('ESP', 1, `removed ESP SAs ${child.label}`, ike.log?.ctx);
  }

  /** One ESP packet from UDP on the NAT-T port. Every outcome is counted; nothing throws. */
  receive(packet: Buffer, local: Endpoint, remote: Endpoint): void {
    if (packet.length < 8) {
      this.counters.invalidSpi++;
      return;
    }
    const e = this.sad.inbound(packet.readUInt32BE(0));
    if (!e) {
      this.counters.invalidSpi++;
      const peer = this.sad.newestForPeer(remote.address);
      if (peer) peer.child.counters.invalidSpi = (peer.child.counters.invalidSpi ?? 0) + 1;
      this.log.log('ESP', 2, () => `received ESP packet with unknown SPI ${packet.subarray(0, 4).toString('hex')} from ${fmtEndpoint(remote)}`);
      return;
    }
    const c = e.child.counters;
    const r = e.inbound.open(packet);
    if (!r.ok) {
      if (r.reason === 'INTEGRITY') c.integrityFailures++;
      else if (r.reason === 'REPLAY') c.replayDrops++;
      else c.malformed = (c.malformed ?? 0) + 1;
      this.log.log('ESP', 2, () => `${e.child.label}: dropped ESP packet from ${fmtEndpoint(remote)}: ${r.reason}`, e.ike.log?.ctx);
      return;
    }
    c.packetsIn++;
    c.bytesIn += r.inner.length;
    c.lastInbound = Date.now();
    // RFC 7296 2.4: authenticated ESP is proof of liveness too; DPD only probes a quiet peer (as charon uses
    // the kernel's SA use time).
    e.ike.lastInbound = e.ike.svc.timers.now();
    if (r.nextHeader === NextHeader.NO_NEXT) return; // dummy packet (RFC 4303 2.6): discard silently
    this.deliver(e, r.inner, r.nextHeader);
  }

  private deliver(e: SaEntry, inner: Buffer, nextHeader: number): void {
    const ip = parseInner(inner, nextHeader);
    if (!ip) {
      e.child.counters.malformed = (e.child.counters.malformed ?? 0) + 1;
      return;
    }
    if (!Sad.allowsInbound(e, ip.src, ip.dst, ip.protocol)) {
      this.counters.policyDrops++;
      this.log.log('ESP', 2, () => `${e.child.label}: inner packet ${formatIp(ip.src)} -> ${formatIp(ip.dst)} outside the traffic selectors, dropped`, e.ike.log?.ctx);
      return;
    }
    if (ip.protocol === Proto.ICMP || ip.protocol === Proto.ICMPV6) {
      const echo = parseEcho(ip);
      if (echo && !echo.request && this.pinger.deliver(ip, echo)) return;
    }
    const reply = this.host.answer(ip);
    if (reply) this.sendInner(reply);
    else this.counters.undeliverable++;
  }

  /** Encapsulate an inner IP packet on the newest CHILD_SA covering it (optionally of one child name). */
  sendInner(inner: Buffer, childName?: string): boolean {
    const ip = inner[0]! >> 4 === 6 ? parseIp6(inner) : parseIp4(inner);
    if (!ip) throw new Error('sendInner: not an IP packet');
    const e = this.sad.route(ip.src, ip.dst, ip.protocol, undefined, childName);
    if (!e) {
      this.counters.noRoute++;
      return false;
    }
    let esp: Buffer;
    try {
      esp = e.outbound.seal(inner, nextHeaderOf(inner));
    } catch (err) {
      if (!(err instanceof EspSequenceExhausted)) throw err;
      this.counters.sendErrors++;
      this.log.log('ESP', 1, `${e.child.label}: ${err.message}`, e.ike.log?.ctx);
      return false;
    }
    e.child.counters.packetsOut++;
    e.child.counters.bytesOut += inner.length;
    const [from, to] = espEndpoints(e.ike);
    this.sink.sendEsp(esp, from, to);
    return true;
  }

  /** ICMP echo through a CHILD_SA; see PingOptions. Rejects when no such CHILD_SA is installed. */
  ping(o: PingOptions): Promise<PingResult> {
    const candidates = this.sad.entries().filter((e) => e.child.name === o.child || e.child.label === o.child);
    if (!candidates.length) return Promise.reject(new Error(`no CHILD_SA '${o.child}' installed`));
    const newest = candidates.reduce((a, b) => (b.order > a.order ? b : a));
    const src = o.src ?? newest.child.config.hostAddrs[0] ?? defaultSource(newest.child);
    if (!src) return Promise.reject(new Error(`CHILD_SA '${o.child}': no source address, configure host_addrs or pass src`));
    const srcBytes = ipBytes(src);
    const dstBytes = ipBytes(o.dst);
    // The source answers nothing itself unless it is a host address, but replies to it must be accepted.
    return this.pinger.run({ ...o, srcBytes, dstBytes }, (pkt) => this.sendInner(pkt, o.child));
  }

  /** IOS-like `show crypto ipsec sa`. */
  ipsecSaView(): string {
    return renderIpsecSa(this.sad.entries(), this.removedTotals);
  }
}

/**
 * ESP-in-UDP always runs on the NAT-T port (RFC 3948): the IKE_SA's endpoints once it floated there, else
 * the same addresses on the NAT-T port. Read per packet, so a NAT mapping update moves the traffic along.
 */
export function espEndpoints(ike: IkeSa): [Endpoint, Endpoint] {
  const natt = ike.svc.nattPort;
  if (ike.local.port === natt) return [ike.local, ike.remote];
  return [
    { address: ike.local.address, port: natt },
    { address: ike.remote.address, port: natt },
  ];
}

/** First host address of the first local selector (skipping a subnet's network address). */
function defaultSource(child: ChildSa): string | undefined {
  const ts = child.localTs[0];
  if (!ts || ts.raw) return undefined;
  const a = Buffer.from(ts.startAddr);
  if (Buffer.compare(a, ts.endAddr) < 0 && a[a.length - 1] === 0) a[a.length - 1] = 1;
  return formatIp(a);
}
