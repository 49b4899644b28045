// The userspace ESP engine as a ChildSaBackend: CHILD_SAs become ESP SAs carried in UDP on the NAT-T port
// (RFC 3948; the transport already split ESP from IKE by the non-ESP marker), decapsulated packets go to the
// virtual host (host_addrs) or the ping client, and their answers go back through the matching CHILD_SA.
import type { Logger } from '../log/logger.js';
import type { Endpoint } from '../net/endpoint.js';
import { fmtEndpoint } from '../net/endpoint.js';
import {
  specLabel,
  type ChildSaBackend,
  type ChildSaEvents,
  type ChildSaSpec,
  type EspFaultDecision,
  type EspFaultHooks,
} from './backend.js';
import { EspSequenceExhausted } from './esp-sa.js';
import { formatIp, ipBytes, nextHeaderOf, NextHeader, parseEcho, parseInner, parseIp4, parseIp6, Proto } from './packets.js';
import { Pinger, type PingOptions, type PingResult } from './ping.js';
import { Sad, type SaEntry } from './sad.js';
import { addCounters, flowKey, type FlowTotals, type IpsecSaFlowJson, ipsecSaFlows, renderIpsecSa, zeroTotals } from './sa-view.js';
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

export interface UserspaceOptions {
  /** The NAT-T port ESP-in-UDP uses (read per packet: a config reload may change it). */
  nattPort(): number;
  /**
   * Milliseconds on the daemon's timer clock (lastInbound, ping round trips), so the engine reads no clock of its
   * own; absent (the engine used on its own, in tests) the process's monotonic clock.
   */
  now?(): number;
}

export class UserspaceBackend implements ChildSaBackend {
  readonly sad = new Sad();
  readonly host = new VirtualHost();
  readonly counters: EngineCounters = { invalidSpi: 0, policyDrops: 0, undeliverable: 0, noRoute: 0, sendErrors: 0 };
  private readonly pinger: Pinger;
  private readonly now: () => number;
  /** Counters of removed SAs per flow, so `show crypto ipsec sa` totals survive rekeys as in IOS. */
  private readonly removedTotals = new Map<string, FlowTotals>();
  /**
   * Installed SAs per flow (flowKey) and the flow each SA id was counted under: remove() asks "is another SA of this
   * flow left?" in O(1) instead of scanning the SAD (stopping 10,000 SAs was quadratic).
   */
  private readonly flowSize = new Map<string, number>();
  private readonly flowOf = new Map<number, string>();
  /** Fault injection at the seal and open points (set by the daemon); absent: every packet as it is. */
  faults?: EspFaultHooks;
  /** The last packets sent / received per SA id, kept while esp-replay rules exist (which send them again). */
  private readonly rings = { in: new Map<number, Buffer[]>(), out: new Map<number, Buffer[]>() };

  constructor(
    private readonly sink: EspSink,
    private readonly log: Logger,
    private readonly opts: UserspaceOptions,
  ) {
    this.now = opts.now ? () => opts.now!() : () => performance.now();
    this.pinger = new Pinger(this.now);
  }

  install(spec: ChildSaSpec, events?: ChildSaEvents): void {
    const fresh = !this.sad.get(spec.id);
    const label = specLabel(spec);
    try {
      this.sad.install(spec, events);
    } catch (err) {
      // An ESP transform we cannot run (e.g. AES-XCBC) must not break the IKE exchange that installs it.
      this.log.log('ESP', 1, `unable to install ESP SAs ${label}: ${(err as Error).message}`, spec.logCtx);
      return;
    }
    this.countFlow(spec.id);
    for (const a of spec.hostAddrs) this.host.add(a);
    if (fresh) {
      this.log.log(
        'ESP',
        1,
        `installed ESP SAs ${label}: in ${spec.spiIn.toString('hex')}, out ${spec.spiOut.toString('hex')}${spec.outboundActive ? '' : ' (outbound pending)'}`,
        spec.logCtx,
      );
    } else {
      this.log.log('ESP', 2, `updated ESP SAs ${label}${spec.outboundActive ? ', outbound active' : ''}`, spec.logCtx);
    }
  }

  /** (Re-)count an installed SA under its flow; a refreshed spec may in principle name another flow. */
  private countFlow(id: number): void {
    const e = this.sad.get(id);
    if (!e) return;
    const k = flowKey(e);
    const old = this.flowOf.get(id);
    if (old === k) return;
    if (old !== undefined) this.uncountFlow(id);
    this.flowOf.set(id, k);
    this.flowSize.set(k, (this.flowSize.get(k) ?? 0) + 1);
  }

  private uncountFlow(id: number): void {
    const k = this.flowOf.get(id);
    if (k === undefined) return;
    this.flowOf.delete(id);
    const n = (this.flowSize.get(k) ?? 1) - 1;
    if (n > 0) this.flowSize.set(k, n);
    else this.flowSize.delete(k);
  }

  remove(id: number): void {
    const e = this.sad.remove(id);
    this.rings.in.delete(id);
    this.rings.out.delete(id);
    this.uncountFlow(id);
    if (!e) return;
    const k = flowKey(e);
    const t = this.removedTotals.get(k) ?? zeroTotals();
    addCounters(t, e.spec.counters);
    // Drop the history once no SA of the flow is left, so a re-established flow starts from zero.
    if (this.flowSize.has(k)) this.removedTotals.set(k, t);
    else this.removedTotals.delete(k);
    this.log.log('ESP', 1, `removed ESP SAs ${specLabel(e.spec)}`, e.spec.logCtx);
  }

  /** One ESP packet from UDP on the NAT-T port. Every outcome is counted; nothing throws. */
  receive(packet: Buffer, _local: Endpoint, remote: Endpoint): void {
    const f = this.faults;
    const e = f?.active('in') && packet.length >= 8 ? this.sad.inbound(packet.readUInt32BE(0)) : undefined;
    if (!f || !e) return this.receiveNow(packet, remote);
    // fault point, before the packet is opened
    const d = f.decide('in', e.spec, packet.readUInt32BE(0), BigInt(packet.readUInt32BE(4)));
    if (d.kind === 'dead') return f.carry(e.spec, d, packet, () => {});
    const ring = f.records('in') ? this.remember('in', e.spec.id, packet) : this.forget('in', e.spec.id);
    const open = (b: Buffer) => this.receiveNow(b, remote);
    if (d.kind === 'esp-replay') {
      f.carry(e.spec, d, packet, open);
      for (const old of ring.slice(-1 - d.count, -1)) open(old);
      return;
    }
    f.carry(e.spec, d, changeEspBytes(packet, d), open);
  }

  /** Keep the last ESP_RING packets of an SA and direction (only while esp-replay rules exist). */
  private remember(dir: 'in' | 'out', id: number, packet: Buffer): Buffer[] {
    let ring = this.rings[dir].get(id);
    if (!ring) this.rings[dir].set(id, (ring = []));
    ring.push(packet);
    if (ring.length > ESP_RING) ring.shift();
    return ring;
  }

  private forget(dir: 'in' | 'out', id: number): Buffer[] {
    this.rings[dir].delete(id);
    return [];
  }

  private receiveNow(packet: Buffer, remote: Endpoint): void {
    if (packet.length < 8) {
      this.counters.invalidSpi++;
      return;
    }
    const e = this.sad.inbound(packet.readUInt32BE(0));
    if (!e) {
      this.counters.invalidSpi++;
      const peer = this.sad.newestForPeer(remote.address);
      if (peer) peer.spec.counters.invalidSpi = (peer.spec.counters.invalidSpi ?? 0) + 1;
      this.log.log(
        'ESP',
        2,
        () => `received ESP packet with unknown SPI ${packet.subarray(0, 4).toString('hex')} from ${fmtEndpoint(remote)}`,
      );
      return;
    }
    const c = e.spec.counters;
    const r = e.inbound.open(packet);
    if (!r.ok) {
      if (r.reason === 'INTEGRITY') c.integrityFailures++;
      else if (r.reason === 'REPLAY') c.replayDrops++;
      else c.malformed = (c.malformed ?? 0) + 1;
      this.log.log('ESP', 2, () => `${specLabel(e.spec)}: dropped ESP packet from ${fmtEndpoint(remote)}: ${r.reason}`, e.spec.logCtx);
      return;
    }
    c.packetsIn++;
    c.bytesIn += r.inner.length;
    c.lastInbound = this.now();
    // RFC 7296 2.4: authenticated ESP is proof of liveness too; DPD only probes a quiet peer (as charon uses
    // the kernel's SA use time). The owner of the SA keeps that bookkeeping.
    e.events?.inbound?.();
    if (r.nextHeader === NextHeader.NO_NEXT) return; // dummy packet (RFC 4303 2.6): discard silently
    this.deliver(e, r.inner, r.nextHeader);
  }

  private deliver(e: SaEntry, inner: Buffer, nextHeader: number): void {
    const ip = parseInner(inner, nextHeader);
    if (!ip) {
      e.spec.counters.malformed = (e.spec.counters.malformed ?? 0) + 1;
      return;
    }
    if (!Sad.allowsInbound(e, ip.src, ip.dst, ip.protocol)) {
      this.counters.policyDrops++;
      this.log.log(
        'ESP',
        2,
        () => `${specLabel(e.spec)}: inner packet ${formatIp(ip.src)} -> ${formatIp(ip.dst)} outside the traffic selectors, dropped`,
        e.spec.logCtx,
      );
      return;
    }
    if (ip.protocol === Proto.ICMP || ip.protocol === Proto.ICMPV6) {
      const echo = parseEcho(ip);
      if (echo && !echo.request && this.pinger.deliver(ip, echo)) return;
    }
    // In place: `inner` is the decrypted plaintext, which only this call holds (esp-sa.ts OpenedPacket).
    const reply = this.host.answer(ip, true);
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
    const f = this.faults?.active('out') ? this.faults : undefined;
    const d = f?.decide('out', e.spec, e.spec.spiOut.readUInt32BE(0), e.outbound.seq + 1n);
    if (d?.kind === 'dead') {
      f!.carry(e.spec, d, Buffer.alloc(0), () => {});
      return false;
    }
    // esp-seq-jump: the numbers skipped are never sent (the peer sees a gap); never past the last usable one
    if (d?.kind === 'esp-seq-jump') e.outbound.seq = minBig(e.outbound.seq + BigInt(d.by), e.outbound.maxSeq);
    let esp: Buffer;
    try {
      esp = e.outbound.seal(inner, nextHeaderOf(inner), d?.kind === 'wrong-spi' ? d.spi : undefined);
    } catch (err) {
      if (!(err instanceof EspSequenceExhausted)) throw err;
      this.counters.sendErrors++;
      this.log.log('ESP', 1, `${specLabel(e.spec)}: ${err.message}`, e.spec.logCtx);
      return false;
    }
    e.spec.counters.packetsOut++;
    e.spec.counters.bytesOut += inner.length;
    if (!f || !d) {
      this.sendEsp(e.spec, esp);
      return true;
    }
    // fault point, after sealing: bytes, timing, and the ring esp-replay takes from
    const send = (b: Buffer) => this.sendEsp(e.spec, b);
    const ring = f.records('out') ? this.remember('out', e.spec.id, esp) : this.forget('out', e.spec.id);
    if (d.kind === 'esp-replay') {
      f.carry(e.spec, d, esp, send);
      for (const old of ring.slice(-1 - d.count, -1)) send(old);
    } else f.carry(e.spec, d, changeEspBytes(esp, d), send);
    return true;
  }

  /** To the peer on the NAT-T port (see espEndpoints), read when it leaves: a delayed packet follows a float. */
  private sendEsp(spec: ChildSaSpec, packet: Buffer): void {
    const natt = this.opts.nattPort();
    if (spec.local.port === natt) this.sink.sendEsp(packet, spec.local, spec.remote);
    else {
      const [from, to] = espEndpoints(spec, natt);
      this.sink.sendEsp(packet, from, to);
    }
  }

  /** ICMP echo through a CHILD_SA; see PingOptions. Rejects when no such CHILD_SA is installed. */
  ping(o: PingOptions): Promise<PingResult> {
    const candidates = this.sad.entries().filter((e) => e.spec.name === o.child || specLabel(e.spec) === o.child);
    if (!candidates.length) return Promise.reject(new Error(`no CHILD_SA '${o.child}' installed`));
    const newest = candidates.reduce((a, b) => (b.order > a.order ? b : a));
    const src = o.src ?? newest.spec.hostAddrs[0] ?? defaultSource(newest.spec);
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

  /** The same view's data (`ikelab ipsec-sa --json`). */
  ipsecSaFlows(): IpsecSaFlowJson[] {
    return ipsecSaFlows(this.sad.entries(), this.removedTotals);
  }
}

/**
 * ESP-in-UDP always runs on the NAT-T port (RFC 3948): the IKE_SA's endpoints once it floated there, else
 * the same addresses on the NAT-T port. Read per packet from the newest spec, so a NAT mapping update (the
 * IKE side installs the SA again with the new endpoints) moves the traffic along.
 */
export function espEndpoints(spec: Pick<ChildSaSpec, 'local' | 'remote'>, nattPort: number): [Endpoint, Endpoint] {
  if (spec.local.port === nattPort) return [spec.local, spec.remote];
  return [
    { address: spec.local.address, port: nattPort },
    { address: spec.remote.address, port: nattPort },
  ];
}

/** First host address of the first local selector (skipping a subnet's network address). */
function defaultSource(spec: ChildSaSpec): string | undefined {
  const ts = spec.localTs[0];
  if (!ts || ts.raw) return undefined;
  const a = Buffer.from(ts.startAddr);
  if (Buffer.compare(a, ts.endAddr) < 0 && a[a.length - 1] === 0) a[a.length - 1] = 1;
  return formatIp(a);
}

/** Packets kept per SA and direction for esp-replay. */
export const ESP_RING = 64;

const minBig = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** corrupt / truncate on an ESP packet (a copy). corrupt=iv flips the first byte after the 8-byte header, icv the last. */
function changeEspBytes(packet: Buffer, d: EspFaultDecision): Buffer {
  if (d.kind === 'truncate') return Buffer.from(packet.subarray(0, d.keep));
  if (d.kind !== 'corrupt') return packet;
  const b = Buffer.from(packet);
  const at = d.where === 'iv' ? 8 : b.length - 1;
  if (at < b.length) b[at] = b[at]! ^ 0xff;
  return b;
}
