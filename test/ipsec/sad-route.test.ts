// The outbound SPD lookup (Sad.route) at scale and its semantics: the newest active SA whose selectors cover the
// packet wins, a rekey's new SA takes over as soon as its outbound side is activated, a removed SA is never
// returned. Cost is counted (Sad.selectorChecks), not timed. Also: cipher contexts and replay bitmaps are made on
// an SA's first packet, not at install.
import { describe, expect, it } from 'vitest';
import { type ChildSaSpec, specLabel } from '../../src/ipsec/backend.js';
import { ipBytes } from '../../src/ipsec/packets.js';
import { Sad, type SaEntry, tsMatches } from '../../src/ipsec/sad.js';
import { Encr, Integ } from '../../src/wire/constants.js';
import type { TrafficSelector } from '../../src/wire/types.js';
import { childSpec, ts } from '../helpers/child-spec.js';

/** What route() did before the index: every SA checked. The reference the index must agree with. */
function scan(sad: Sad, src: Buffer, dst: Buffer, protocol: number, dstPort?: number, childName?: string): SaEntry | undefined {
  let best: SaEntry | undefined;
  for (const e of sad.entries()) {
    if (!e.spec.outboundActive || (best && best.order > e.order)) continue;
    if (childName !== undefined && e.spec.name !== childName && specLabel(e.spec) !== childName) continue;
    const remote = e.spec.remoteTs.some((t) => tsMatches(t, dst, protocol, dstPort));
    if (remote && e.spec.localTs.some((t) => tsMatches(t, src, protocol))) best = e;
  }
  return best;
}

/** Deterministic PRNG (mulberry32), so a failing case can be replayed. */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000) * n;
  };
}

const SRC = ipBytes('10.1.0.7');

/** Selector checks per route() with n SAs installed, over `probes` packets to installed SAs' remote addresses. */
function checksPerRoute(
  n: number,
  make: (id: number) => ChildSaSpec,
  dstOf: (id: number) => string,
  expectId: (id: number) => number,
): number {
  const sad = new Sad();
  for (let id = 1; id <= n; id++) sad.install(make(id));
  const probes = 500;
  const before = sad.selectorChecks;
  for (let i = 0; i < probes; i++) {
    const id = 1 + ((i * 7919) % n);
    expect(sad.route(SRC, ipBytes(dstOf(id)), 17)?.spec.id).toBe(expectId(id));
  }
  const checks = (sad.selectorChecks - before) / probes;
  // and a packet outside the peers' selectors (only a catch-all SA covers it)
  const outside = ipBytes('192.0.2.1');
  expect(sad.route(SRC, outside, 17)).toBe(scan(sad, SRC, outside, 17));
  console.log(`selector checks per route() with ${n} SAs: ${checks}`);
  return checks;
}

describe('Sad.route: per-packet cost independent of the SAs that do not match', () => {
  it('one peer selector per SA (road warriors, sites): as many checks with 8,000 SAs as with 1,000', () => {
    const peer = (id: number) => `10.128.${(id >> 8) & 0xff}.${id & 0xff}`;
    const small = checksPerRoute(
      1000,
      (id) => childSpec(id),
      peer,
      (id) => id,
    );
    const large = checksPerRoute(
      8000,
      (id) => childSpec(id),
      peer,
      (id) => id,
    );
    // one remote and one local selector of the one covering SA; the old scan checked about one per SA installed
    expect(small).toBeGreaterThan(0);
    expect(small).toBeLessThanOrEqual(2);
    expect(large).toBeLessThanOrEqual(small);
  });

  it('subnets of many sizes and a catch-all SA: still no growth', () => {
    // every 10th SA a /24 of its own, the others a /32 inside 10.128/16, plus one old 0.0.0.0/0 SA (id 1)
    const make = (id: number) =>
      id === 1
        ? childSpec(1, { remoteTs: [ts('0.0.0.0', '255.255.255.255')] })
        : id % 10 === 0
          ? childSpec(id, {
              remoteTs: [ts(`10.${200 + ((id >> 8) % 50)}.${id & 0xff}.0`, `10.${200 + ((id >> 8) % 50)}.${id & 0xff}.255`)],
            })
          : childSpec(id);
    const dst = (id: number) => (id % 10 === 0 ? `10.${200 + ((id >> 8) % 50)}.${id & 0xff}.9` : `10.128.${(id >> 8) & 0xff}.${id & 0xff}`);
    const n1 = 1000;
    const n2 = 8000;
    // the catch-all SA is the oldest: a newer covering SA wins; it is the answer only for id 1 itself
    const small = checksPerRoute(n1, make, dst, (id) => id);
    const large = checksPerRoute(n2, make, dst, (id) => id);
    expect(small).toBeLessThanOrEqual(4);
    expect(large).toBeLessThanOrEqual(small * 1.1);
  });

  it('the same selectors on every SA (one load-test config): the newest wins, in constant checks', () => {
    const same = [ts('10.2.0.0', '10.2.0.255')];
    const small = checksPerRoute(
      1000,
      (id) => childSpec(id, { remoteTs: same }),
      () => '10.2.0.9',
      () => 1000,
    );
    const large = checksPerRoute(
      8000,
      (id) => childSpec(id, { remoteTs: same }),
      () => '10.2.0.9',
      () => 8000,
    );
    expect(small).toBeLessThanOrEqual(2);
    expect(large).toBeLessThanOrEqual(small);
  });
});

describe('Sad.route: semantics', () => {
  const dst = ipBytes('10.2.0.9');
  const same = { remoteTs: [ts('10.2.0.0', '10.2.0.255')] };

  it('rekey: the new SA takes over once its outbound side is activated by a refresh, the old one until then', () => {
    const sad = new Sad();
    sad.install(childSpec(1, same));
    // rekey responder: the new SA is installed with only its inbound side in use
    const fresh = childSpec(2, { ...same, outboundActive: false });
    sad.install(fresh);
    expect(sad.route(SRC, dst, 6)?.spec.id).toBe(1);
    sad.install({ ...fresh, outboundActive: true });
    expect(sad.route(SRC, dst, 6)?.spec.id).toBe(2);
    sad.remove(1);
    expect(sad.route(SRC, dst, 6)?.spec.id).toBe(2);
    sad.remove(2);
    expect(sad.route(SRC, dst, 6)).toBeUndefined();
  });

  it('rekey with the selectors as new arrays of the same content (a new CHILD_SA narrows again)', () => {
    const sad = new Sad();
    sad.install(childSpec(1, { remoteTs: [ts('10.2.0.0', '10.2.0.255')] }));
    sad.install(childSpec(2, { remoteTs: [ts('10.2.0.0', '10.2.0.255')], localTs: [ts('10.1.0.0', '10.1.0.255')] }));
    expect(sad.route(SRC, dst, 6)?.spec.id).toBe(2);
    // the old SA refreshed (e.g. endpoints moved) stays the older one
    sad.install({ ...sad.get(1)!.spec, remote: { address: '10.99.9.9', port: 4501 } });
    expect(sad.route(SRC, dst, 6)?.spec.id).toBe(2);
    sad.remove(2);
    expect(sad.route(SRC, dst, 6)?.spec.id).toBe(1);
  });

  it('deactivating the newest falls back to the newest active one; a removed SA is never returned', () => {
    const sad = new Sad();
    for (let id = 1; id <= 4; id++) sad.install(childSpec(id, same));
    sad.install({ ...sad.get(4)!.spec, outboundActive: false });
    expect(sad.route(SRC, dst, 6)?.spec.id).toBe(3);
    sad.remove(3);
    expect(sad.route(SRC, dst, 6)?.spec.id).toBe(2);
    sad.remove(2);
    sad.remove(1);
    expect(sad.route(SRC, dst, 6)).toBeUndefined();
    sad.install({ ...sad.get(4)!.spec, outboundActive: true });
    expect(sad.route(SRC, dst, 6)?.spec.id).toBe(4);
    sad.remove(4);
    expect(sad.route(SRC, dst, 6)).toBeUndefined();
    expect(sad.size).toBe(0);
  });

  it('a refresh with other selectors moves the SA: routed by the new ones only', () => {
    const sad = new Sad();
    sad.install(childSpec(1, same));
    sad.install(childSpec(2, { remoteTs: [ts('10.3.0.0', '10.3.0.255')] }));
    expect(sad.route(SRC, dst, 6)?.spec.id).toBe(1);
    sad.install({ ...sad.get(2)!.spec, remoteTs: [ts('10.2.0.0', '10.2.0.127')] });
    expect(sad.route(SRC, dst, 6)?.spec.id).toBe(2);
    expect(sad.route(SRC, ipBytes('10.3.0.1'), 6)).toBeUndefined();
    expect(sad.route(SRC, ipBytes('10.2.0.200'), 6)?.spec.id).toBe(1);
  });

  it('a child name or an SA label narrows the choice', () => {
    const sad = new Sad();
    sad.install(childSpec(1, { ...same, name: 'a' }));
    sad.install(childSpec(2, { ...same, name: 'b' }));
    sad.install(childSpec(3, { ...same, name: 'a' }));
    expect(sad.route(SRC, dst, 6)?.spec.id).toBe(3);
    expect(sad.route(SRC, dst, 6, undefined, 'b')?.spec.id).toBe(2);
    expect(sad.route(SRC, dst, 6, undefined, 'a')?.spec.id).toBe(3);
    expect(sad.route(SRC, dst, 6, undefined, 'a{1}')?.spec.id).toBe(1);
    expect(sad.route(SRC, dst, 6, undefined, 'b{1}')).toBeUndefined();
    expect(sad.route(SRC, dst, 6, undefined, 'c')).toBeUndefined();
    expect(sad.route(SRC, ipBytes('10.9.0.1'), 6, undefined, 'a{1}')).toBeUndefined();
  });

  it('agrees with a scan of every SA under random installs, refreshes and removes (IPv4 and IPv6, odd ranges, ports)', () => {
    const r = rng(16);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r(xs.length))]!;
    const v4 = (): string => `10.${Math.floor(r(3))}.${Math.floor(r(4))}.${Math.floor(r(256))}`;
    const v6 = (): string => `fd00::${Math.floor(r(3)).toString(16)}:${Math.floor(r(0x10000)).toString(16)}`;
    const range = (six: boolean): TrafficSelector => {
      const a = six ? v6() : v4();
      const b = six ? v6() : v4();
      const [lo, hi] = Buffer.compare(ipBytes(a), ipBytes(b)) <= 0 ? [a, b] : [b, a];
      const kind = r(10);
      if (kind < 1) return ts(six ? '::' : '0.0.0.0', six ? 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' : '255.255.255.255');
      if (kind < 2) return ts(lo, hi, pick([6, 17]), 1000, 2000 + Math.floor(r(100)));
      return ts(lo, kind < 5 ? lo : hi);
    };
    const localOf = (six: boolean) => [six ? ts('fd01::', 'fd01::ff') : ts('10.1.0.0', '10.1.0.255')];
    const sad = new Sad();
    let nextId = 1;
    let compared = 0;
    let found = 0;
    for (let step = 0; step < 1500; step++) {
      const ids = sad.entries().map((e) => e.spec.id);
      const op = r(10);
      if (op < 4 || ids.length < 5) {
        const six = r(3) < 1;
        sad.install(
          childSpec(nextId++, {
            name: pick(['a', 'b']),
            localTs: localOf(six),
            remoteTs: Array.from({ length: 1 + Math.floor(r(2)) }, () => range(six)),
            outboundActive: r(4) >= 1,
          }),
        );
      } else if (op < 6) {
        const e = sad.get(pick(ids))!;
        const six = e.spec.localTs[0]!.startAddr.length === 16;
        sad.install({ ...e.spec, outboundActive: r(3) >= 1, remoteTs: r(4) < 1 ? [range(six)] : e.spec.remoteTs });
      } else if (op < 7.5) sad.remove(pick(ids));
      for (let k = 0; k < 5; k++) {
        const six = r(3) < 1;
        const src = six ? ipBytes(`fd01::${Math.floor(r(0x100)).toString(16)}`) : ipBytes(`10.1.0.${Math.floor(r(256))}`);
        const d = ipBytes(six ? v6() : v4());
        const proto = pick([1, 6, 17]);
        const port = r(2) < 1 ? undefined : 990 + Math.floor(r(1200));
        const child = pick([undefined, undefined, 'a', 'b', `a{${Math.floor(r(nextId)) + 1}}`]);
        const got = sad.route(src, d, proto, port, child);
        expect(got?.spec.id).toBe(scan(sad, src, d, proto, port, child)?.spec.id);
        if (got) found++;
        compared++;
      }
    }
    // the comparison must have seen routes as well as misses
    expect(compared).toBe(7500);
    console.log(`random: ${compared} routes compared, ${found} found an SA`);
    expect(found).toBeGreaterThan(1000);
    expect(compared - found).toBeGreaterThan(1000);
  });
});

describe('per-SA crypto state is made on first use', () => {
  it('no cipher context and no replay bitmap at install; made by the first seal and open, which still work', () => {
    const sad = new Sad();
    const s = childSpec(1, {
      suite: { encr: Encr.AES_CBC, encrKeyBits: 128, integ: Integ.HMAC_SHA2_256_128, esn: false },
      keys: { encrIn: Buffer.alloc(16, 3), integIn: Buffer.alloc(32, 4), encrOut: Buffer.alloc(16, 3), integOut: Buffer.alloc(32, 4) },
      spiOut: Buffer.from('10000001', 'hex'), // the same SA both ways: what we seal, we open
    });
    const e = sad.install(s);
    // white-box: the lazy fields themselves
    const internals = (x: unknown) => x as any;
    const tOut = internals(e.outbound).t;
    const tIn = internals(e.inbound).t;
    expect([tOut.enc, tOut.dec, tIn.enc, tIn.dec]).toEqual([undefined, undefined, undefined, undefined]);
    expect(internals(e.inbound.replay).bits).toBeUndefined();
    const inner = Buffer.from('4500001c000000004001000000000000000000000800f7ff00000000', 'hex');
    const packet = e.outbound.seal(inner, 4);
    expect(tOut.enc).toBeDefined();
    expect(tOut.dec).toBeUndefined();
    const opened = e.inbound.open(packet);
    expect(opened.ok && opened.inner.equals(inner)).toBe(true);
    expect(tIn.dec).toBeDefined();
    expect(tIn.enc).toBeUndefined();
    expect(internals(e.inbound.replay).bits).toBeInstanceOf(Uint32Array);
    expect(e.inbound.open(packet)).toMatchObject({ ok: false, reason: 'REPLAY' });
    expect(e.inbound.spi.equals(s.spiIn)).toBe(true);
    expect(sad.inbound(e.inbound.spiNum)).toBe(e);
  });
});
