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
  /** The Sad's own bookkeeping (outbound policy group, the list of its members, peer index); nobody else's. */
  group?: PolicyGroup;
  older?: SaEntry;
  newer?: SaEntry;
  peer?: string;
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

// ------------------------------------------------------------------------------------------- outbound SPD index
//
// route() runs for every outbound packet, and a scan of every installed SA cost 10,000 selector checks per packet at
// 10,000 CHILD_SAs. Two structures make its cost depend on the SAs whose selectors could cover the packet only:
//
// - Policy groups: SAs with the same child name and the same selectors (the old and new SA of a rekey, or every
//   tunnel of a load test that proposes the same selectors) match exactly the same packets, so only the newest
//   active member of a group can win. Members are a list in install order, newest last; route() walks it from the
//   newest and stops at the first active one (an inactive member exists only while a rekey responder waits).
// - An index of the groups by the address ranges of their remote selectors, split into CIDR blocks: a Map per
//   address family keyed by (prefix length, prefix), probed once per prefix length in use (at most 33 for IPv4,
//   129 for IPv6, in practice one to three). Every candidate it yields is still checked with tsMatches in full
//   (ports, protocol, local selectors), so the index only decides which groups are looked at, never the result.
//
// Why not a flow cache: it must be invalidated on every install, refresh and remove, and at 10,000 SAs those come
// several times a second (setups, rekeys), each followed by a full scan per flow; the index changes with the SAs in
// O(blocks of their selectors) and a lookup never scans. Both structures are kept in step with install, refresh
// and remove, so a rekey's new SA is routed to as soon as its outbound side is active and a removed SA never is.

/** SAs with one child name and identical selectors: they cover the same packets, the newest active one wins. */
interface PolicyGroup {
  readonly key: string;
  readonly name: string;
  readonly localTs: readonly TrafficSelector[];
  readonly remoteTs: readonly TrafficSelector[];
  /** The newest member; `older` links lead to the oldest. */
  newest: SaEntry | undefined;
  /** Index keys of the remote selectors' CIDR blocks, per family. */
  readonly keys4: readonly number[];
  readonly keys6: readonly number[];
}

/**
 * The group of a spec: its name and selectors as one flat latin1 string, one char per byte, every part preceded by
 * its length so no two specs share a key by accident (held once per group; a template of hex parts was a rope of
 * cons strings several times the size).
 */
function groupKey(spec: ChildSaSpec): string {
  const parts: Buffer[] = [];
  const u16 = (n: number) => Buffer.of(n >> 8, n & 0xff);
  const bytes = (b: Buffer) => parts.push(u16(b.length), b);
  bytes(Buffer.from(spec.name));
  for (const list of [spec.localTs, spec.remoteTs]) {
    parts.push(u16(list.length));
    for (const ts of list) {
      parts.push(u16(ts.tsType), Buffer.of(ts.ipProtocol, ts.raw ? 1 : 0), u16(ts.startPort), u16(ts.endPort));
      bytes(ts.raw ?? ts.startAddr);
      bytes(ts.endAddr);
    }
  }
  return Buffer.concat(parts).toString('latin1');
}

const TWO32 = 0x1_0000_0000;

/**
 * The index key of the prefix of `len` bits of an address. IPv4: exact (len * 2^32 + prefix). IPv6: a 32-bit FNV-1a
 * hash of the prefix times 256 plus len; two prefixes of one length may collide, which only adds a candidate that
 * the full selector check then rejects. Used for both the blocks at install and the packets, so they always agree.
 */
function prefixKey(a: Buffer, len: number): number {
  if (a.length === 4) {
    if (len === 0) return 0;
    const n = ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0;
    return len * TWO32 + (n >>> (32 - len));
  }
  let h = 0x811c9dc5;
  const whole = len >> 3;
  for (let i = 0; i < whole; i++) h = Math.imul(h ^ a[i]!, 0x01000193);
  if (len & 7) h = Math.imul(h ^ (a[whole]! & (0xff00 >> (len & 7)) & 0xff), 0x01000193);
  return (h >>> 0) * 256 + len;
}

const toBig = (b: Buffer): bigint => BigInt(`0x${b.toString('hex')}`);
function fromBig(v: bigint, bytes: number): Buffer {
  return Buffer.from(v.toString(16).padStart(bytes * 2, '0'), 'hex');
}

/** The CIDR blocks covering [start, end] exactly, as (first address, prefix length): at most 2 per address bit. */
function cidrBlocks(start: Buffer, end: Buffer): [Buffer, number][] {
  const bits = start.length * 8;
  const out: [Buffer, number][] = [];
  let lo = toBig(start);
  const hi = toBig(end);
  while (lo <= hi) {
    // the largest block (2^(bits-len) addresses) that starts at lo, is aligned there and ends at or before hi
    let len = bits;
    for (; len > 0; len--) {
      const doubled = 1n << BigInt(bits - len + 1);
      if ((lo & (doubled - 1n)) !== 0n || lo + doubled - 1n > hi) break;
    }
    out.push([fromBig(lo, start.length), len]);
    lo += 1n << BigInt(bits - len);
  }
  return out;
}

/** Groups by the (prefix length, prefix) keys of their remote selectors' blocks, one family. */
class PrefixIndex {
  /** One group alone (the common case: a peer's own selectors), or a Set of the groups sharing the key. */
  private readonly buckets = new Map<number, PolicyGroup | Set<PolicyGroup>>();
  /** Blocks indexed per prefix length, and the lengths in use: what one lookup probes. */
  private readonly perLen: number[];
  lens: number[] = [];

  constructor(bits: number) {
    this.perLen = new Array<number>(bits + 1).fill(0);
  }

  add(key: number, len: number, g: PolicyGroup): void {
    const b = this.buckets.get(key);
    if (b === undefined) this.buckets.set(key, g);
    else if (b instanceof Set) b.add(g);
    else if (b !== g) this.buckets.set(key, new Set([b, g]));
    if (this.perLen[len]!++ === 0) this.lens = this.usedLens();
  }

  delete(key: number, len: number, g: PolicyGroup): void {
    const b = this.buckets.get(key);
    if (b === g) this.buckets.delete(key);
    else if (b instanceof Set) {
      b.delete(g);
      if (b.size === 1) this.buckets.set(key, b.values().next().value!);
    }
    if (--this.perLen[len]! === 0) this.lens = this.usedLens();
  }

  get(key: number): PolicyGroup | Set<PolicyGroup> | undefined {
    return this.buckets.get(key);
  }

  private usedLens(): number[] {
    const lens: number[] = [];
    for (let l = 0; l < this.perLen.length; l++) if (this.perLen[l]! > 0) lens.push(l);
    return lens;
  }
}

const NO_KEYS: readonly number[] = Object.freeze([]);

/** The index keys of the remote selectors' blocks in one family, each once, so a group is in a bucket once. */
function blockKeys(ts: readonly TrafficSelector[], family: 4 | 16): readonly number[] {
  const keys = new Set<number>();
  for (const t of ts) {
    if (t.raw || t.startAddr.length !== family || compareAddr(t.startAddr, t.endAddr) > 0) continue;
    for (const [start, len] of cidrBlocks(t.startAddr, t.endAddr)) keys.add(prefixKey(start, len));
  }
  return keys.size ? [...keys] : NO_KEYS;
}

const lenOf = (key: number, family: 4 | 16): number => (family === 4 ? Math.floor(key / TWO32) : key % 256);

export class Sad {
  private readonly bySpi = new Map<number, SaEntry>();
  private readonly byId = new Map<number, SaEntry>();
  /**
   * By peer address (as last installed: a NAT float re-installs with new endpoints), so an unknown SPI is charged
   * to its peer in O(SAs of that peer), not O(all SAs): junk ESP must not cost a scan of 10,000 entries each.
   */
  private readonly byPeer = new Map<string, SaEntry | Set<SaEntry>>();
  private readonly groups = new Map<string, PolicyGroup>();
  private readonly index4 = new PrefixIndex(32);
  private readonly index6 = new PrefixIndex(128);
  private nextOrder = 1;
  /**
   * Selector checks (tsMatches calls) route() made, summed over all calls: what a lookup costs, counted for the
   * tests rather than timed. One addition per checked selector.
   */
  selectorChecks = 0;

  /** Add a CHILD_SA, or refresh an installed one (outbound activated, endpoints moved, new owner's events). */
  install(spec: ChildSaSpec, events?: ChildSaEvents): SaEntry {
    const known = this.byId.get(spec.id);
    if (known) {
      const old = known.spec;
      known.spec = spec;
      known.events = events;
      this.indexPeer(known);
      // Same selectors and name (the IKE side hands the same arrays again): the group stays; outboundActive is
      // read from the spec at lookup. Anything else moves the SA to the group of its new selectors.
      if (old.name !== spec.name || old.localTs !== spec.localTs || old.remoteTs !== spec.remoteTs) {
        if (groupKey(spec) !== known.group?.key) {
          this.leaveGroup(known);
          this.joinGroup(known);
        }
      }
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
    this.joinGroup(entry);
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

  /** Into the group of its spec's selectors, in install order (a new SA is the newest; a moved one may be older). */
  private joinGroup(e: SaEntry): void {
    const key = groupKey(e.spec);
    let g = this.groups.get(key);
    if (!g) {
      g = {
        key,
        name: e.spec.name,
        localTs: e.spec.localTs,
        remoteTs: e.spec.remoteTs,
        newest: undefined,
        keys4: blockKeys(e.spec.remoteTs, 4),
        keys6: blockKeys(e.spec.remoteTs, 16),
      };
      this.groups.set(key, g);
      for (const k of g.keys4) this.index4.add(k, lenOf(k, 4), g);
      for (const k of g.keys6) this.index6.add(k, lenOf(k, 16), g);
    }
    e.group = g;
    let newer: SaEntry | undefined;
    let older = g.newest;
    while (older && older.order > e.order) {
      newer = older;
      older = older.older;
    }
    e.older = older;
    e.newer = newer;
    if (older) older.newer = e;
    if (newer) newer.older = e;
    else g.newest = e;
  }

  private leaveGroup(e: SaEntry): void {
    const g = e.group;
    if (!g) return;
    if (e.older) e.older.newer = e.newer;
    if (e.newer) e.newer.older = e.older;
    else g.newest = e.older;
    e.group = e.older = e.newer = undefined;
    if (g.newest) return;
    this.groups.delete(g.key);
    for (const k of g.keys4) this.index4.delete(k, lenOf(k, 4), g);
    for (const k of g.keys6) this.index6.delete(k, lenOf(k, 16), g);
  }

  remove(id: number): SaEntry | undefined {
    const e = this.byId.get(id);
    if (!e) return undefined;
    this.byId.delete(id);
    this.bySpi.delete(e.inbound.spiNum);
    this.unindexPeer(e);
    this.leaveGroup(e);
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
   * one SA by its label `net{3}`). Looks only at the groups whose remote selectors' blocks hold dst (see above).
   */
  route(src: Buffer, dst: Buffer, protocol: number, dstPort?: number, childName?: string): SaEntry | undefined {
    let best: SaEntry | undefined;
    const index = dst.length === 4 ? this.index4 : dst.length === 16 ? this.index6 : undefined;
    if (index) {
      const lens = index.lens;
      for (let i = 0; i < lens.length; i++) {
        const b = index.get(prefixKey(dst, lens[i]!));
        if (b === undefined) continue;
        if (b instanceof Set) for (const g of b) best = this.better(best, g, src, dst, protocol, dstPort, childName);
        else best = this.better(best, b, src, dst, protocol, dstPort, childName);
      }
    }
    // A label names one SA (ping -child 'net{3}'): that SA, if its selectors cover the packet, competes as well.
    if (childName?.endsWith('}')) {
      const e = this.byId.get(Number(childName.slice(childName.lastIndexOf('{') + 1, -1)));
      if (
        e?.spec.outboundActive &&
        specLabel(e.spec) === childName &&
        (!best || e.order > best.order) &&
        this.covers(e.spec, src, dst, protocol, dstPort)
      )
        best = e;
    }
    return best;
  }

  /** best, or the newest active SA of g if that is newer and covers the packet. */
  private better(
    best: SaEntry | undefined,
    g: PolicyGroup,
    src: Buffer,
    dst: Buffer,
    protocol: number,
    dstPort: number | undefined,
    childName: string | undefined,
  ): SaEntry | undefined {
    if (childName !== undefined && g.name !== childName) return best;
    let e = g.newest;
    while (e && !e.spec.outboundActive) e = e.older;
    if (!e || (best && best.order > e.order)) return best;
    return this.covers(e.spec, src, dst, protocol, dstPort) ? e : best;
  }

  private covers(spec: ChildSaSpec, src: Buffer, dst: Buffer, protocol: number, dstPort: number | undefined): boolean {
    let hit = false;
    for (let i = 0; i < spec.remoteTs.length && !hit; i++) {
      this.selectorChecks++;
      hit = tsMatches(spec.remoteTs[i]!, dst, protocol, dstPort);
    }
    if (!hit) return false;
    for (let i = 0; i < spec.localTs.length; i++) {
      this.selectorChecks++;
      if (tsMatches(spec.localTs[i]!, src, protocol)) return true;
    }
    return false;
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
