// OutboundIndex on its own (src/ipsec/outbound-index.ts): selector ranges that are not one CIDR block are found at
// every address inside and none outside, a group keeps its members in install order when one moves out and back,
// removing the last member takes the group out of the index, and covers() counts each selector it checks.
// sad-route.test.ts checks the same index through Sad.route against a full scan.
import { describe, expect, it } from 'vitest';
import type { ChildSaSpec } from '../../src/ipsec/backend.js';
import { OutboundIndex } from '../../src/ipsec/outbound-index.js';
import { ipBytes } from '../../src/ipsec/packets.js';
import type { SaEntry } from '../../src/ipsec/sad.js';
import { childSpec, ts } from '../helpers/child-spec.js';

/** An entry with what the index reads and writes; the ESP halves are the SAD's business, not needed here. */
const entry = (spec: ChildSaSpec, order = spec.id): SaEntry =>
  ({ spec, order, group: undefined, older: undefined, newer: undefined }) as unknown as SaEntry;

const SRC4 = ipBytes('10.1.0.7');
const SRC6 = ipBytes('fd01::7');
const route = (idx: OutboundIndex, dst: string, childName?: string) =>
  idx.route(dst.includes(':') ? SRC6 : SRC4, ipBytes(dst), 6, undefined, childName)?.spec.id;

describe('OutboundIndex', () => {
  it('a range of several CIDR blocks is found at both ends and inside, not one address beyond (IPv4 and IPv6)', () => {
    const idx = new OutboundIndex();
    idx.add(entry(childSpec(1, { remoteTs: [ts('10.0.0.1', '10.0.0.6')] })));
    idx.add(entry(childSpec(2, { localTs: [ts('fd01::', 'fd01::ff')], remoteTs: [ts('fd00::ff', 'fd00::101')] })));
    for (let i = 1; i <= 6; i++) expect(route(idx, `10.0.0.${i}`)).toBe(1);
    expect(route(idx, '10.0.0.0')).toBeUndefined();
    expect(route(idx, '10.0.0.7')).toBeUndefined();
    for (const a of ['fd00::ff', 'fd00::100', 'fd00::101']) expect(route(idx, a)).toBe(2);
    expect(route(idx, 'fd00::fe')).toBeUndefined();
    expect(route(idx, 'fd00::102')).toBeUndefined();
    // an address of neither family length has no index
    expect(idx.route(SRC4, Buffer.alloc(5), 6)).toBeUndefined();
  });

  it('a catch-all selector is found for any address, and only the newest covering SA is returned', () => {
    const idx = new OutboundIndex();
    idx.add(entry(childSpec(1, { remoteTs: [ts('0.0.0.0', '255.255.255.255')] })));
    idx.add(entry(childSpec(2, { remoteTs: [ts('10.2.0.0', '10.2.0.255')] })));
    expect(route(idx, '192.0.2.1')).toBe(1);
    expect(route(idx, '10.2.0.9')).toBe(2);
    expect(route(idx, '10.2.0.9', 'other')).toBeUndefined();
  });

  it('a member moved to other selectors and back is older than the members installed after it again', () => {
    const idx = new OutboundIndex();
    const same = [ts('10.2.0.0', '10.2.0.255')];
    const a = entry(childSpec(1, { remoteTs: same }));
    const b = entry(childSpec(2, { remoteTs: same }));
    idx.add(a);
    idx.add(b);
    expect(a.group).toBe(b.group);
    expect([a.newer, b.older]).toEqual([b, a]);
    let old = a.spec;
    a.spec = { ...a.spec, remoteTs: [ts('10.3.0.0', '10.3.0.255')] };
    idx.refresh(a, old);
    expect(a.group).not.toBe(b.group);
    expect([a.newer, a.older, b.older]).toEqual([undefined, undefined, undefined]);
    expect(route(idx, '10.3.0.1')).toBe(1);
    old = a.spec;
    a.spec = { ...a.spec, remoteTs: [ts('10.2.0.0', '10.2.0.255')] };
    idx.refresh(a, old);
    expect(a.group).toBe(b.group);
    expect(route(idx, '10.2.0.9')).toBe(2);
    expect(route(idx, '10.3.0.1')).toBeUndefined();
    idx.remove(b);
    expect(route(idx, '10.2.0.9')).toBe(1);
  });

  it('removing the last member of a group takes it out of the index; removing twice is harmless', () => {
    const idx = new OutboundIndex();
    const e = entry(childSpec(1, { remoteTs: [ts('10.2.0.0', '10.2.0.255'), ts('fd00::', 'fd00::ff')] }));
    idx.add(e);
    const internals = idx as any;
    expect(internals.groups.size).toBe(1);
    expect(internals.index4.lens).toEqual([24]);
    expect(internals.index6.lens).toEqual([120]);
    idx.remove(e);
    idx.remove(e);
    expect(e.group).toBeUndefined();
    expect(internals.groups.size).toBe(0);
    expect([internals.index4.lens, internals.index6.lens]).toEqual([[], []]);
    expect(route(idx, '10.2.0.9')).toBeUndefined();
  });

  it('covers() checks remote selectors until one matches, then local ones, counting each check', () => {
    const idx = new OutboundIndex();
    const spec = childSpec(1, {
      remoteTs: [ts('10.3.0.0', '10.3.0.255'), ts('10.2.0.0', '10.2.0.255', 6, 80, 80)],
      localTs: [ts('10.9.0.0'), ts('10.1.0.0', '10.1.0.255')],
    });
    expect(idx.covers(spec, SRC4, ipBytes('10.2.0.9'), 6, 80)).toBe(true);
    expect(idx.selectorChecks).toBe(4);
    expect(idx.covers(spec, SRC4, ipBytes('10.2.0.9'), 6, 81)).toBe(false);
    expect(idx.selectorChecks).toBe(6);
    expect(idx.covers(spec, ipBytes('10.8.0.1'), ipBytes('10.3.0.1'), 17, undefined)).toBe(false);
    expect(idx.selectorChecks).toBe(9);
  });
});
