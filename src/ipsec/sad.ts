// Security Association Database and the outbound side of the SPD for the userspace engine (RFC 4301 4.4):
// inbound SAs keyed by our SPI (one Map lookup per packet), outbound chosen by traffic selectors, newest first.
//
// Rekey without loss (RFC 7296 2.8): the old and the new CHILD_SA are both installed until the old one is
// removed, so the old inbound SA keeps accepting packets the peer sent before it switched; outbound always
// takes the newest SA whose outbound side is active (a rekey responder activates it once the old SA is gone).
import type { ChildSa } from '../ike/child-sa.js';
import type { IkeSa } from '../ike/ike-sa.js';
import type { TrafficSelector } from '../wire/types.js';
import { EspInbound, EspOutbound, type EspSaParams } from './esp-sa.js';

export interface SaEntry {
  ike: IkeSa;
  child: ChildSa;
  inbound: EspInbound;
  outbound: EspOutbound;
  /** Install order: higher is newer. */
  order: number;
}

/** An address (4 or 16 bytes) and protocol/port inside a selector; port 0 with non-port protocols. */
export function tsMatches(ts: TrafficSelector, addr: Buffer, protocol: number, port?: number): boolean {
  if (ts.raw || ts.startAddr.length !== addr.length) return false;
  if (Buffer.compare(addr, ts.startAddr) < 0 || Buffer.compare(addr, ts.endAddr) > 0) return false;
  if (ts.ipProtocol !== 0 && ts.ipProtocol !== protocol) return false;
  if (port === undefined || (ts.startPort === 0 && ts.endPort === 0xffff)) return true;
  return port >= ts.startPort && port <= ts.endPort;
}

const anyMatch = (list: TrafficSelector[], addr: Buffer, protocol: number, port?: number): boolean =>
  list.some((ts) => tsMatches(ts, addr, protocol, port));

/** Both directions' parameters of a CHILD_SA, as charon's child_sa_t hands them to the kernel. */
export function saParams(child: ChildSa): { inbound: EspSaParams; outbound: EspSaParams } {
  const suite = child.suite;
  const keys = child.keys;
  if (!suite || !keys) throw new Error(`CHILD_SA ${child.label} has no negotiated suite or keys`);
  const common = { encr: suite.encr, encrKeyBits: suite.encrKeyBits, integ: suite.integ, esn: suite.esn, replayWindow: child.config.replayWindow };
  return {
    // The ESP header carries the receiver's SPI: ours inbound, the peer's outbound (RFC 4303 2.1).
    inbound: { ...common, spi: child.spiIn, encKey: keys.encrIn, integKey: keys.integIn },
    outbound: { ...common, spi: child.spiOut, encKey: keys.encrOut, integKey: keys.integOut },
  };
}

export class Sad {
  private readonly bySpi = new Map<number, SaEntry>();
  private readonly byChild = new Map<ChildSa, SaEntry>();
  private nextOrder = 1;

  /** Add a CHILD_SA, or refresh an installed one (outbound activated, moved to a rekeyed IKE_SA). */
  install(ike: IkeSa, child: ChildSa): SaEntry {
    const known = this.byChild.get(child);
    if (known) {
      known.ike = ike;
      return known;
    }
    const p = saParams(child);
    const spi = p.inbound.spi.readUInt32BE(0);
    if (this.bySpi.has(spi)) throw new Error(`inbound SPI ${p.inbound.spi.toString('hex')} is already installed`);
    const entry: SaEntry = { ike, child, inbound: new EspInbound(p.inbound), outbound: new EspOutbound(p.outbound), order: this.nextOrder++ };
    this.bySpi.set(spi, entry);
    this.byChild.set(child, entry);
    return entry;
  }

  remove(child: ChildSa): SaEntry | undefined {
    const e = this.byChild.get(child);
    if (!e) return undefined;
    this.byChild.delete(child);
    this.bySpi.delete(e.inbound.spi.readUInt32BE(0));
    return e;
  }

  /** The SA for the SPI of a received ESP packet (its first 4 bytes). */
  inbound(spi: number): SaEntry | undefined {
    return this.bySpi.get(spi);
  }

  get(child: ChildSa): SaEntry | undefined {
    return this.byChild.get(child);
  }

  entries(): SaEntry[] {
    return [...this.byChild.values()];
  }

  /** Outbound SPD lookup: the newest active SA whose selectors cover src -> dst (optionally of one child name). */
  route(src: Buffer, dst: Buffer, protocol: number, dstPort?: number, childName?: string): SaEntry | undefined {
    let best: SaEntry | undefined;
    for (const e of this.byChild.values()) {
      if (!e.child.outboundActive || (best && best.order > e.order)) continue;
      if (childName !== undefined && e.child.name !== childName && e.child.label !== childName) continue;
      if (anyMatch(e.child.remoteTs, dst, protocol, dstPort) && anyMatch(e.child.localTs, src, protocol)) best = e;
    }
    return best;
  }

  /** Inbound policy check (RFC 4301 5.2 step 4): the decapsulated packet must match the SA's selectors. */
  static allowsInbound(e: SaEntry, src: Buffer, dst: Buffer, protocol: number): boolean {
    return anyMatch(e.child.remoteTs, src, protocol) && anyMatch(e.child.localTs, dst, protocol);
  }

  /** The newest SA with this peer address: where an unknown SPI from it is counted. */
  newestForPeer(address: string): SaEntry | undefined {
    let best: SaEntry | undefined;
    for (const e of this.byChild.values()) if (e.ike.remote.address === address && (!best || e.order > best.order)) best = e;
    return best;
  }
}
