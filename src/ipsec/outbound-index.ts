// The outbound SPD index of the userspace engine's SAD (sad.ts): which installed CHILD_SA an outbound packet goes
// out on (RFC 4301 4.4.1), found by the remote traffic selectors, newest active SA first.
//
// Its own module because it is the one part of the SAD that is not a plain Map lookup: policy groups, a CIDR block
// index and the selector matching it is checked against, all kept in step with the SAD's install, refresh and
// remove. sad.ts owns the entries and calls add/refresh/remove; this module owns only the routing structures.
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
import type { TrafficSelector } from '../wire/types.js';
import type { ChildSaSpec } from './backend.js';
import type { SaEntry } from './sad.js';

/** -1, 0, 1 comparing addresses of equal length; a loop over 4 or 16 bytes costs less than a native Buffer.compare call. */
function compareAddr(a: Buffer, b: Buffer): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}

/**
 * An address (4 or 16 bytes) and protocol/port inside a selector; port 0 with non-port protocols. Here because
 * route() checks every candidate with it; the SAD's inbound policy check uses it too (sad.ts re-exports it).
 */
export function tsMatches(ts: TrafficSelector, addr: Buffer, protocol: number, port?: number): boolean {
  if (ts.raw || ts.startAddr.length !== addr.length) return false;
  if (compareAddr(addr, ts.startAddr) < 0 || compareAddr(addr, ts.endAddr) > 0) return false;
  if (ts.ipProtocol !== 0 && ts.ipProtocol !== protocol) return false;
  if (port === undefined || (ts.startPort === 0 && ts.endPort === 0xffff)) return true;
  return port >= ts.startPort && port <= ts.endPort;
}

/** SAs with one child name and identical selectors: they cover the same packets, the newest active one wins. */
export interface PolicyGroup {
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

/**
 * The policy groups of the installed SAs and their block index, per address family. The SAD adds, refreshes and
 * removes entries here in step with its own maps; the member links live on the entries (SaEntry.group, older,
 * newer) so that neither a removal nor a lookup searches for them.
 */
export class OutboundIndex {
  private readonly groups = new Map<string, PolicyGroup>();
  private readonly index4 = new PrefixIndex(32);
  private readonly index6 = new PrefixIndex(128);
  /** Selector checks (tsMatches calls) made by route() and covers(), summed: see Sad.selectorChecks. */
  selectorChecks = 0;

  /** Into the group of its spec's selectors, in install order (a new SA is the newest; a moved one may be older). */
  add(e: SaEntry): void {
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

  /** After the SAD replaced e.spec (old is the spec it had): moves e to the group of its new selectors if they differ. */
  refresh(e: SaEntry, old: ChildSaSpec): void {
    const spec = e.spec;
    // Same selectors and name (the IKE side hands the same arrays again): the group stays; outboundActive is
    // read from the spec at lookup. Anything else moves the SA to the group of its new selectors.
    if (old.name !== spec.name || old.localTs !== spec.localTs || old.remoteTs !== spec.remoteTs) {
      if (groupKey(spec) !== e.group?.key) {
        this.remove(e);
        this.add(e);
      }
    }
  }

  remove(e: SaEntry): void {
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

  /**
   * The newest active SA whose selectors cover src -> dst (optionally of one child name), looking only at the
   * groups whose remote selectors' blocks hold dst. The SA an SA label (`net{3}`) names is looked up by Sad.route,
   * which holds the SAs by id.
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

  /** The full check of a candidate: a remote selector covers dst (and port), a local one src; each check counted. */
  covers(spec: ChildSaSpec, src: Buffer, dst: Buffer, protocol: number, dstPort: number | undefined): boolean {
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
}
