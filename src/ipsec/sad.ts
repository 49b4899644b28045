// Security Association Database and the outbound side of the SPD for the userspace engine (RFC 4301 4.4):
// inbound SAs keyed by our SPI (one Map lookup per packet), outbound chosen by traffic selectors, newest first.
//
// Rekey without loss (RFC 7296 2.8): the old and the new CHILD_SA are both installed until the old one is
// removed, so the old inbound SA keeps accepting packets the peer sent before it switched; outbound always
// takes the newest SA whose outbound side is active (a rekey responder activates it once the old SA is gone).
import type { TrafficSelector } from '../wire/types.js';
import { specLabel, type ChildSaEvents, type ChildSaSpec } from './backend.js';
import { EspInbound, EspOutbound, type EspSaParams } from './esp-sa.js';

export interface SaEntry {
  /** The newest spec given for this SA (outboundActive, endpoints and log context may change). */
  spec: ChildSaSpec;
  events?: ChildSaEvents;
  inbound: EspInbound;
  outbound: EspOutbound;
  /** Install order: higher is newer. */
  order: number;
}

/** -1, 0, 1 comparing addresses of equal length; a loop over 4 or 16 bytes costs less than a native Buffer.compare call. */
function compareAddr(a: Buffer, b: Buffer): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}

/** An address (4 or 16 bytes) and protocol/port inside a selector; port 0 with non-port protocols. */
export function tsMatches(ts: TrafficSelector, addr: Buffer, protocol: number, port?: number): boolean {
  if (ts.raw || ts.startAddr.length !== addr.length) return false;
  if (compareAddr(addr, ts.startAddr) < 0 || compareAddr(addr, ts.endAddr) > 0) return false;
  if (ts.ipProtocol !== 0 && ts.ipProtocol !== protocol) return false;
  if (port === undefined || (ts.startPort === 0 && ts.endPort === 0xffff)) return true;
  return port >= ts.startPort && port <= ts.endPort;
}

/** A plain loop, not list.some(closure): this runs for every packet in both directions. */
function anyMatch(list: readonly TrafficSelector[], addr: Buffer, protocol: number, port?: number): boolean {
  for (let i = 0; i < list.length; i++) if (tsMatches(list[i]!, addr, protocol, port)) return true;
  return false;
}

/** Both directions' parameters of a CHILD_SA, as charon's child_sa_t hands them to the kernel. */
export function saParams(spec: ChildSaSpec): { inbound: EspSaParams; outbound: EspSaParams } {
  const { suite, keys } = spec;
  const common = { encr: suite.encr, encrKeyBits: suite.encrKeyBits, integ: suite.integ, esn: suite.esn, replayWindow: spec.replayWindow };
  return {
    // The ESP header carries the receiver's SPI: ours inbound, the peer's outbound (RFC 4303 2.1).
    inbound: { ...common, spi: spec.spiIn, encKey: keys.encrIn, integKey: keys.integIn },
    outbound: { ...common, spi: spec.spiOut, encKey: keys.encrOut, integKey: keys.integOut },
  };
}

export class Sad {
  private readonly bySpi = new Map<number, SaEntry>();
  private readonly byId = new Map<number, SaEntry>();
  /**
   * By peer address (as last installed: a NAT float re-installs with new endpoints), so an unknown SPI is charged
   * to its peer in O(SAs of that peer), not O(all SAs): junk ESP must not cost a scan of 10,000 entries each.
   */
  private readonly byPeer = new Map<string, Set<SaEntry>>();
  private readonly peerOf = new Map<SaEntry, string>();
  private nextOrder = 1;

  /** Add a CHILD_SA, or refresh an installed one (outbound activated, endpoints moved, new owner's events). */
  install(spec: ChildSaSpec, events?: ChildSaEvents): SaEntry {
    const known = this.byId.get(spec.id);
    if (known) {
      known.spec = spec;
      known.events = events;
      this.indexPeer(known);
      return known;
    }
    const p = saParams(spec);
    const spi = p.inbound.spi.readUInt32BE(0);
    if (this.bySpi.has(spi))
      throw new Error(`inbound SPI ${p.inbound.spi.toString('hex')} is already installed (${specLabel(this.bySpi.get(spi)!.spec)})`);
    const entry: SaEntry = {
      spec,
      events,
      inbound: new EspInbound(p.inbound),
      outbound: new EspOutbound(p.outbound),
      order: this.nextOrder++,
    };
    this.bySpi.set(spi, entry);
    this.byId.set(spec.id, entry);
    this.indexPeer(entry);
    return entry;
  }

  private indexPeer(e: SaEntry): void {
    const address = e.spec.remote.address;
    const old = this.peerOf.get(e);
    if (old === address) return;
    if (old !== undefined) this.unindexPeer(e);
    let set = this.byPeer.get(address);
    if (!set) this.byPeer.set(address, (set = new Set()));
    set.add(e);
    this.peerOf.set(e, address);
  }

  private unindexPeer(e: SaEntry): void {
    const address = this.peerOf.get(e);
    if (address === undefined) return;
    this.peerOf.delete(e);
    const set = this.byPeer.get(address);
    set?.delete(e);
    if (set && set.size === 0) this.byPeer.delete(address);
  }

  remove(id: number): SaEntry | undefined {
    const e = this.byId.get(id);
    if (!e) return undefined;
    this.byId.delete(id);
    this.bySpi.delete(e.inbound.spi.readUInt32BE(0));
    this.unindexPeer(e);
    return e;
  }

  get size(): number {
    return this.byId.size;
  }

  /** The SA for the SPI of a received ESP packet (its first 4 bytes). */
  inbound(spi: number): SaEntry | undefined {
    return this.bySpi.get(spi);
  }

  get(id: number): SaEntry | undefined {
    return this.byId.get(id);
  }

  entries(): SaEntry[] {
    return [...this.byId.values()];
  }

  /** Outbound SPD lookup: the newest active SA whose selectors cover src -> dst (optionally of one child name). */
  route(src: Buffer, dst: Buffer, protocol: number, dstPort?: number, childName?: string): SaEntry | undefined {
    let best: SaEntry | undefined;
    for (const e of this.byId.values()) {
      if (!e.spec.outboundActive || (best && best.order > e.order)) continue;
      if (childName !== undefined && e.spec.name !== childName && specLabel(e.spec) !== childName) continue;
      if (anyMatch(e.spec.remoteTs, dst, protocol, dstPort) && anyMatch(e.spec.localTs, src, protocol)) best = e;
    }
    return best;
  }

  /** Inbound policy check (RFC 4301 5.2 step 4): the decapsulated packet must match the SA's selectors. */
  static allowsInbound(e: SaEntry, src: Buffer, dst: Buffer, protocol: number): boolean {
    return anyMatch(e.spec.remoteTs, src, protocol) && anyMatch(e.spec.localTs, dst, protocol);
  }

  /** The newest SA with this peer address: where an unknown SPI from it is counted. */
  newestForPeer(address: string): SaEntry | undefined {
    let best: SaEntry | undefined;
    for (const e of this.byPeer.get(address) ?? []) if (!best || e.order > best.order) best = e;
    return best;
  }
}
