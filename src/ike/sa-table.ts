// O(1) lookup of IKE_SAs by our own SPI, plus the half-open table that recognises a retransmitted
// IKE_SA_INIT request (responder SPI still zero) by initiator SPI and peer address.
import type { Endpoint } from '../net/endpoint.js';
import type { IkeSa } from './ike-sa.js';

const peerKey = new WeakMap<IkeSa, string>();
const halfOpenKey = (spiI: Buffer, remote: Endpoint): string => `${spiI.toString('hex')}|${remote.address}|${remote.port}`;

export class SaTable {
  private readonly bySpi = new Map<string, IkeSa>();
  private readonly halfOpen = new Map<string, IkeSa>();
  private readonly all = new Set<IkeSa>();
  /** By connection name and by unique id: the ops' lookups (initiate, terminate, rekey) stay O(1) at 10,000 SAs. */
  private readonly named = new Map<string, Set<IkeSa>>();
  private readonly byId = new Map<number, IkeSa>();
  /** By the peer address an SA started with: INITIAL_CONTACT and uniqueness checks stay O(SAs per peer). */
  private readonly byPeer = new Map<string, Set<IkeSa>>();
  /**
   * Half-open accounting (charon's get_half_open_count for responder SAs): every responder IKE_SA from
   * addHalfOpen() until it is established or removed, with the peer address it was counted under; and the count
   * per address. O(1) for the dispatcher's COOKIE / block_threshold / init_limit_half_open checks.
   */
  private readonly halfOpenIp = new Map<IkeSa, string>();
  private readonly halfOpenPerIp = new Map<string, number>();

  get size(): number {
    return this.all.size;
  }

  add(sa: IkeSa): void {
    this.all.add(sa);
    this.indexPeer(sa);
    // name and uniqueId never change (config and id are readonly); Sets keep the order list() has
    let set = this.named.get(sa.name);
    if (!set) this.named.set(sa.name, (set = new Set()));
    set.add(sa);
    this.byId.set(sa.uniqueId, sa);
  }

  private indexPeer(sa: IkeSa): void {
    let set = this.byPeer.get(sa.remote.address);
    if (!set) this.byPeer.set(sa.remote.address, (set = new Set()));
    set.add(sa);
    peerKey.set(sa, sa.remote.address);
  }

  withPeer(address: string): Iterable<IkeSa> {
    return this.byPeer.get(address) ?? [];
  }

  /** (Re-)index an SA under its current local SPI. */
  register(sa: IkeSa): void {
    this.add(sa);
    this.bySpi.set(sa.localSpi.toString('hex'), sa);
  }

  addHalfOpen(sa: IkeSa): void {
    this.add(sa);
    this.halfOpen.set(halfOpenKey(sa.spiI, sa.remote), sa);
    if (!this.halfOpenIp.has(sa)) {
      const ip = sa.remote.address;
      this.halfOpenIp.set(sa, ip);
      this.halfOpenPerIp.set(ip, (this.halfOpenPerIp.get(ip) ?? 0) + 1);
    }
  }

  /** The SA is no longer half-open (established); removal does this too. Idempotent. */
  leaveHalfOpen(sa: IkeSa): void {
    const ip = this.halfOpenIp.get(sa);
    if (ip === undefined) return;
    this.halfOpenIp.delete(sa);
    const n = (this.halfOpenPerIp.get(ip) ?? 1) - 1;
    if (n > 0) this.halfOpenPerIp.set(ip, n);
    else this.halfOpenPerIp.delete(ip);
  }

  /** Half-open responder IKE_SAs: all of them, or those from one peer address. */
  halfOpenCount(ip?: string): number {
    return ip === undefined ? this.halfOpenIp.size : (this.halfOpenPerIp.get(ip) ?? 0);
  }

  remove(sa: IkeSa): void {
    this.all.delete(sa);
    const set = this.named.get(sa.name);
    set?.delete(sa);
    if (set && set.size === 0) this.named.delete(sa.name);
    if (this.byId.get(sa.uniqueId) === sa) this.byId.delete(sa.uniqueId);
    this.leaveHalfOpen(sa);
    const pk = peerKey.get(sa);
    if (pk !== undefined) {
      const peers = this.byPeer.get(pk);
      peers?.delete(sa);
      if (peers && peers.size === 0) this.byPeer.delete(pk);
    }
    const k = sa.localSpi.toString('hex');
    if (this.bySpi.get(k) === sa) this.bySpi.delete(k);
    if (!sa.initiator) {
      const h = halfOpenKey(sa.spiI, sa.remote);
      if (this.halfOpen.get(h) === sa) this.halfOpen.delete(h);
    }
  }

  bySpiHex(hex: string): IkeSa | undefined {
    return this.bySpi.get(hex);
  }

  findHalfOpen(spiI: Buffer, remote: Endpoint): IkeSa | undefined {
    return this.halfOpen.get(halfOpenKey(spiI, remote));
  }

  list(): IkeSa[] {
    return [...this.all];
  }

  byName(name: string): IkeSa[] {
    return [...(this.named.get(name) ?? [])];
  }

  byUniqueId(id: number): IkeSa | undefined {
    return this.byId.get(id);
  }
}
