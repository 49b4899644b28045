// Install/remove must not scan the whole SAD or SaTable: stopping 10,000 SAs was quadratic (4-14 s) because each
// UserspaceBackend.remove asked every remaining SAD entry for its flow. Counted, not timed: every property read on
// the specs / IKE_SAs is counted through a Proxy, and the reads per remove must not grow from 1,000 to 8,000 SAs.
import { describe, expect, it } from 'vitest';
import type { IkeSa } from '../../src/ike/ike-sa.js';
import { SaTable } from '../../src/ike/sa-table.js';
import type { ChildSaSpec } from '../../src/ipsec/backend.js';
import { UserspaceBackend } from '../../src/ipsec/userspace-backend.js';
import { Logger } from '../../src/log/logger.js';
import { childSpec, ts } from '../helpers/child-spec.js';

/** Wraps an object so every property read (at any depth of plain objects) adds one to reads.n. */
function counted<T extends object>(o: T, reads: { n: number }): T {
  return new Proxy(o, {
    get(target, key, receiver) {
      reads.n++;
      return Reflect.get(target, key, receiver);
    },
  });
}

/**
 * The shared SAD spec with one remote selector for every SA: with the same name and selectors they all share one
 * outbound-index group, so a remove that scanned its group would show here as growth. reqid is the id (one flow per
 * SA): the old remove scanned every other entry without finding its flow.
 */
const spec = (id: number, o: Partial<ChildSaSpec> = {}): ChildSaSpec => childSpec(id, { remoteTs: [ts('10.2.0.0', '10.2.0.255')], ...o });

const REMOVED = 200;

/** Property reads per remove with n SAs installed (the REMOVED removed from the middle of the install order). */
function backendReadsPerRemove(n: number): number {
  const reads = { n: 0 };
  const b = new UserspaceBackend({ sendEsp() {} }, new Logger({ default: -1 }), { nattPort: () => 4500, now: () => 0 });
  for (let id = 1; id <= n; id++) b.install(counted(spec(id), reads));
  expect(b.sad.size).toBe(n);
  reads.n = 0;
  const from = Math.floor(n / 2);
  for (let id = from; id < from + REMOVED; id++) b.remove(id);
  expect(b.sad.size).toBe(n - REMOVED);
  return reads.n / REMOVED;
}

function fakeSa(i: number, reads: { n: number }): IkeSa {
  const spi = Buffer.alloc(8);
  spi.writeUInt32BE(i, 4);
  const sa = {
    name: i % 2 ? 'odd' : 'even',
    uniqueId: i,
    initiator: false,
    localSpi: spi,
    spiI: Buffer.from(spi).reverse(),
    remote: { address: '10.99.0.1', port: 500 }, // one peer address for all, as behind a load tester
    state: 'ESTABLISHED',
  };
  return counted(sa, reads) as unknown as IkeSa;
}

/** Property reads per SaTable operation (remove, byUniqueId, leaveHalfOpen) with n IKE_SAs. */
function tableReadsPerRemove(n: number): number {
  const reads = { n: 0 };
  const t = new SaTable();
  const sas: IkeSa[] = [];
  for (let i = 1; i <= n; i++) {
    const sa = fakeSa(i, reads);
    sas.push(sa);
    t.addHalfOpen(sa);
    t.register(sa);
  }
  reads.n = 0;
  const from = Math.floor(n / 2);
  for (let i = from; i < from + REMOVED; i++) {
    const sa = sas[i]!;
    expect(t.byUniqueId(i + 1)).toBe(sa);
    t.leaveHalfOpen(sa);
    t.remove(sa);
  }
  expect(t.size).toBe(n - REMOVED);
  return reads.n / REMOVED;
}

describe('no O(n) per SA', () => {
  it('UserspaceBackend.remove reads as much with 8,000 SAs installed as with 1,000', () => {
    const small = backendReadsPerRemove(1000);
    const large = backendReadsPerRemove(8000);
    expect(small).toBeGreaterThan(0);
    // constant per remove; the old scan read thousands of properties per remove here
    expect(large).toBeLessThanOrEqual(small * 1.2);
    expect(small).toBeLessThan(50);
  });

  it('SaTable remove / byUniqueId / leaveHalfOpen read as much with 8,000 IKE_SAs as with 1,000', () => {
    const small = tableReadsPerRemove(1000);
    const large = tableReadsPerRemove(8000);
    expect(large).toBeLessThanOrEqual(small * 1.2);
    expect(small).toBeLessThan(50);
  });

  it('SaTable.byName returns the SAs of that name only, in list() order, without reading the others', () => {
    const reads = { n: 0 };
    const t = new SaTable();
    const sas = Array.from({ length: 4000 }, (_, i) => fakeSa(i + 1, reads));
    for (const sa of sas) t.register(sa);
    reads.n = 0;
    const odd = t.byName('odd');
    expect(reads.n).toBe(0);
    expect(odd).toEqual(t.list().filter((s) => s.name === 'odd'));
    expect(odd).toHaveLength(2000);
  });

  it('the removed-flow totals of the IOS view still go once the last SA of a flow is removed', () => {
    const b = new UserspaceBackend({ sendEsp() {} }, new Logger({ default: -1 }), { nattPort: () => 4500, now: () => 0 });
    const s1 = spec(1, { reqid: 7 });
    const s2 = spec(2, { reqid: 7 });
    s1.counters.packetsIn = 5;
    b.install(s1);
    b.install(s2);
    b.remove(1);
    // the flow lives on in SA 2: the 5 packets of SA 1 are kept in its totals
    expect(b.ipsecSaView()).toMatch(/#pkts decaps: 5\b/);
    b.remove(2);
    b.install(spec(3, { reqid: 7 }));
    expect(b.ipsecSaView()).toMatch(/#pkts decaps: 0\b/);
  });
});
