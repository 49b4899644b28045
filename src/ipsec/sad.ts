// Security Association Database and the outbound side of the SPD for the userspace engine (RFC 4301 4.4):
// inbound SAs keyed by our SPI (one Map lookup per packet), outbound chosen by traffic selectors, newest first,
// through the index in outbound-index.ts (this module owns the entries, that one the routing structures).
//
// Rekey without loss (RFC 7296 2.8): the old and the new CHILD_SA are both installed until the old one is
// removed, so the old inbound SA keeps accepting packets the peer sent before it switched; outbound always
// takes the newest SA whose outbound side is active (a rekey responder activates it once the old SA is gone).
import type { TrafficSelector } from '../wire/types.js';
import { specLabel, type ChildSaEvents, type ChildSaSpec } from './backend.js';
import { EspInbound, EspOutbound, type EspSaParams } from './esp-sa.js';
import { OutboundIndex, type PolicyGroup, tsMatches } from './outbound-index.js';

// Lives in outbound-index.ts, which checks every route() candidate with it (taking it from here would make a runtime
// import cycle); exported from here as before.
export { tsMatches };

export interface SaEntry {
  /** The newest spec given for this SA (outboundActive, endpoints and log context may change). */
  spec: ChildSaSpec;
  events?: ChildSaEvents;
  inbound: EspInbound;
  outbound: EspOutbound;
  /** Install order: higher is newer. */
  order: number;
  /** The Sad's own bookkeeping (outbound index: policy group and the list of its members; peer index); nobody else's. */
  group?: PolicyGroup;
  older?: SaEntry;
  newer?: SaEntry;
  peer?: string;
}

/** A plain loop, not list.some(closure): this runs for every packet in both directions. */
function anyMatch(list: readonly TrafficSelector[], addr: Buffer, protocol: number, port?: number): boolean {
  for (let i = 0; i < list.length; i++) if (tsMatches(list[i]!, addr, protocol, port)) return true;
  return false;
}

/** Both directions' parameters of a CHILD_SA, as charon's child_sa_t hands them to the kernel. */
export function saParams(spec: ChildSaSpec): { inbound: EspSaParams; outbound: EspSaParams } {
  const { keys } = spec;
  return {
    // The ESP header carries the receiver's SPI: ours inbound, the peer's outbound (RFC 4303 2.1).
    inbound: dirParams(spec, spec.spiIn, keys.encrIn, keys.integIn),
    outbound: dirParams(spec, spec.spiOut, keys.encrOut, keys.integOut),
  };
}

/**
 * One literal with its fields always in this order: `{ ...common, spi, ... }` gave every object a hidden class of
 * its own (V8 shape, descriptors, property array: about 0.3 KiB per direction, and each SA keeps both).
 */
function dirParams(spec: ChildSaSpec, spi: Buffer, encKey: Buffer, integKey: Buffer): EspSaParams {
  const { suite } = spec;
  return {
    spi,
    encr: suite.encr,
    encrKeyBits: suite.encrKeyBits,
    integ: suite.integ,
    encKey,
    integKey,
    esn: suite.esn,
    replayWindow: spec.replayWindow,
  };
}

export class Sad {
  private readonly bySpi = new Map<number, SaEntry>();
  private readonly byId = new Map<number, SaEntry>();
  /**
   * By peer address (as last installed: a NAT float re-installs with new endpoints), so an unknown SPI is charged
   * to its peer in O(SAs of that peer), not O(all SAs): junk ESP must not cost a scan of 10,000 entries each.
   */
  private readonly byPeer = new Map<string, SaEntry | Set<SaEntry>>();
  private readonly outboundIndex = new OutboundIndex();
  private nextOrder = 1;
  /**
   * Selector checks (tsMatches calls) route() made, summed over all calls: what a lookup costs, counted for the
   * tests rather than timed. One addition per checked selector (counted in the index, which makes the checks).
   */
  get selectorChecks(): number {
    return this.outboundIndex.selectorChecks;
  }

  /** Add a CHILD_SA, or refresh an installed one (outbound activated, endpoints moved, new owner's events). */
  install(spec: ChildSaSpec, events?: ChildSaEvents): SaEntry {
    const known = this.byId.get(spec.id);
    if (known) {
      const old = known.spec;
      known.spec = spec;
      known.events = events;
      this.indexPeer(known);
      this.outboundIndex.refresh(known, old);
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
      // every field from the start: added later they went to a separate property array (64 bytes per SA)
      group: undefined,
      older: undefined,
      newer: undefined,
      peer: undefined,
    };
    this.bySpi.set(spi, entry);
    this.byId.set(spec.id, entry);
    this.indexPeer(entry);
    this.outboundIndex.add(entry);
    return entry;
  }

  private indexPeer(e: SaEntry): void {
    const address = e.spec.remote.address;
    if (e.peer === address) return;
    if (e.peer !== undefined) this.unindexPeer(e);
    // One SA alone (most peers: a Set each was 0.2 KiB per SA at 10,000 peers), a Set once there are more.
    const had = this.byPeer.get(address);
    if (had === undefined) this.byPeer.set(address, e);
    else if (had instanceof Set) had.add(e);
    else this.byPeer.set(address, new Set([had, e]));
    e.peer = address;
  }

  private unindexPeer(e: SaEntry): void {
    const address = e.peer;
    if (address === undefined) return;
    e.peer = undefined;
    const had = this.byPeer.get(address);
    if (had === e) this.byPeer.delete(address);
    else if (had instanceof Set) {
      had.delete(e);
      if (had.size === 1) this.byPeer.set(address, had.values().next().value!);
    }
  }

  remove(id: number): SaEntry | undefined {
    const e = this.byId.get(id);
    if (!e) return undefined;
    this.byId.delete(id);
    this.bySpi.delete(e.inbound.spiNum);
    this.unindexPeer(e);
    this.outboundIndex.remove(e);
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

  /**
   * Outbound SPD lookup: the newest active SA whose selectors cover src -> dst (optionally of one child name, or
   * one SA by its label `net{3}`). Looks only at the groups whose remote selectors' blocks hold dst (outbound-index.ts).
   */
  route(src: Buffer, dst: Buffer, protocol: number, dstPort?: number, childName?: string): SaEntry | undefined {
    let best = this.outboundIndex.route(src, dst, protocol, dstPort, childName);
    // A label names one SA (ping -child 'net{3}'): that SA, if its selectors cover the packet, competes as well.
    if (childName?.endsWith('}')) {
      const e = this.byId.get(Number(childName.slice(childName.lastIndexOf('{') + 1, -1)));
      if (
        e?.spec.outboundActive &&
        specLabel(e.spec) === childName &&
        (!best || e.order > best.order) &&
        this.outboundIndex.covers(e.spec, src, dst, protocol, dstPort)
      )
        best = e;
    }
    return best;
  }

  /** Inbound policy check (RFC 4301 5.2 step 4): the decapsulated packet must match the SA's selectors. */
  static allowsInbound(e: SaEntry, src: Buffer, dst: Buffer, protocol: number): boolean {
    return anyMatch(e.spec.remoteTs, src, protocol) && anyMatch(e.spec.localTs, dst, protocol);
  }

  /** The newest SA with this peer address: where an unknown SPI from it is counted. */
  newestForPeer(address: string): SaEntry | undefined {
    const had = this.byPeer.get(address);
    if (!(had instanceof Set)) return had;
    let best: SaEntry | undefined;
    for (const e of had) if (!best || e.order > best.order) best = e;
    return best;
  }
}
