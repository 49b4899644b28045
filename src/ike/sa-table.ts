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
  /** By the peer address an SA started with: INITIAL_CONTACT and uniqueness checks stay O(SAs per peer). */
  private readonly byPeer = new Map<string, Set<IkeSa>>();

  get size(): number {
    return this.all.size;
  }

  add(sa: IkeSa): void {
    this.all.add(sa);
    this.indexPeer(sa);
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
  }

  remove(sa: IkeSa): void {
    this.all.delete(sa);
    const pk = peerKey.get(sa);
    if (pk !== undefined) {
      const set = this.byPeer.get(pk);
      set?.delete(sa);
      if (set && set.size === 0) this.byPeer.delete(pk);
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
    return this.list().filter((s) => s.name === name);
  }

  byUniqueId(id: number): IkeSa | undefined {
    return this.list().find((s) => s.uniqueId === id);
  }
}
