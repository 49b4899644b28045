// IKEv2 fragmentation (RFC 7383): the size arithmetic, splitting and reassembly with the real SK keys of an
// established in-process pair, the security properties (a fragment whose ICV fails changes nothing; sets are
// bounded in fragments, bytes and time), and whole exchanges between two ikelab peers with a small fragment size.
import { afterEach, describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import {
  DEFAULT_LIMITS,
  fragmentCapacity,
  fragmentOf,
  maxMessageLength,
  Reassembler,
  sealFragments,
  unfragmentedLength,
} from '../../src/ike/fragments.js';
import type { IkeSa } from '../../src/ike/ike-sa.js';
import { headerFor } from '../../src/ike/message-protect.js';
import { IkeDpd } from '../../src/ike/tasks/ike-dpd.js';
import { ExchangeType, Notify, PayloadType } from '../../src/wire/constants.js';
import { decodeMessage, encodePayloads } from '../../src/wire/message.js';
import type { IkeMessage, Payload, SkfPayload } from '../../src/wire/types.js';
import { is, makePair, type Pair, type PairOptions, type Queued } from '../helpers/peers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});
const use = (p: Pair): Pair => (pair = p);

/** Enough traffic selectors that IKE_AUTH (both ways) is several hundred bytes. */
const tsList = (second: number) => Array.from({ length: 8 }, (_, i) => `10.${second}.${i}.0/24`);
const BIG: PairOptions = {
  a: { localTs: tsList(201), remoteTs: tsList(202) },
  b: { localTs: tsList(202), remoteTs: tsList(201) },
};
const withSize = (size: number, o: PairOptions = BIG, frag: { a?: string; b?: string } = {}): PairOptions => ({
  ...o,
  a: {
    ...o.a,
    extraDaemon: `  fragment_size: ${size}\n`,
    ...(frag.a && { extraConnection: `    fragmentation: ${frag.a}\n` }),
  },
  b: {
    ...o.b,
    extraDaemon: `  fragment_size: ${size}\n`,
    ...(frag.b && { extraConnection: `    fragmentation: ${frag.b}\n` }),
  },
});

const decode = (b: Buffer): IkeMessage => {
  const d = decodeMessage(b);
  if (!d.ok) throw new Error(d.error.message);
  return d.value;
};
const isFragment = (q: Queued): boolean => fragmentOf(decode(q.data)) !== undefined;

/** An established pair (no fragmentation) and A's keys to make fragments B's keys open. */
function keyed(o: PairOptions = {}) {
  const p = use(makePair(o));
  p.establish();
  const a = p.a.sa();
  const b = p.b.sa();
  const open = (body: Buffer, aad: Buffer) => b.skIn!.open(body, aad);
  return { p, a, b, open };
}

/** A's INFORMATIONAL request `mid` with these payloads, sealed as fragments of at most `capacity` bytes each. */
function fragmentsFrom(a: IkeSa, mid: number, payloads: Payload[], capacity: number): Buffer[] {
  return sealFragments(headerFor(a, ExchangeType.INFORMATIONAL, mid, false), encodePayloads(payloads), a.skOut!, capacity);
}

/** A payload chain of roughly n bytes (one unknown, non-critical payload: any content is fine for the codec). */
const filler = (n: number): Payload[] => [{ type: 200, unknown: true, body: Buffer.alloc(n, 0x5a) } as Payload];

function feed(r: Reassembler, open: (b: Buffer, a: Buffer) => Buffer, datagrams: Buffer[], now = 0) {
  return datagrams.map((d) => {
    const m = decode(d);
    return r.add(m, fragmentOf(m)!, d, open, now);
  });
}

describe('fragment size arithmetic (charon.fragment_size counts the whole IP datagram)', () => {
  test('IPv4 / IPv6 headers, UDP and the non-ESP marker come off; 0 means 576 (IPv4) or 1280 (IPv6)', () => {
    expect(maxMessageLength(1280, false, false)).toBe(1252);
    expect(maxMessageLength(1280, false, true)).toBe(1248);
    expect(maxMessageLength(1280, true, false)).toBe(1232);
    expect(maxMessageLength(0, false, false)).toBe(548);
    expect(maxMessageLength(0, true, true)).toBe(1228);
  });

  test('payload room per fragment: IKE header, SKF header, IV, ICV, whole blocks and the pad length byte', () => {
    // AES-CBC-256 + HMAC-SHA2-256-128: 16-byte IV, 16-byte blocks, 16-byte ICV
    const cbc = keyed().a.skOut!;
    const room = 372 - 28 - 8;
    expect(fragmentCapacity(cbc, 372)).toBe(Math.floor((room - 16 - 16) / 16) * 16 - 1);
    expect(cbc.bodyLength(fragmentCapacity(cbc, 372))).toBeLessThanOrEqual(room);
    expect(unfragmentedLength(cbc, 100)).toBe(28 + 4 + 16 + 112 + 16);
  });

  test('AEAD (AES-GCM-16: 8-byte IV, 16-byte ICV, no blocks)', async () => {
    const gcm = keyed({ a: { proposals: ['aes256gcm16-prfsha256-modp2048'] }, b: { proposals: ['aes256gcm16-prfsha256-modp2048'] } }).a
      .skOut!;
    expect(fragmentCapacity(gcm, 372)).toBe(372 - 28 - 8 - 8 - 16 - 1);
  });

  test('a size too small for anything still makes progress, one byte per fragment', () => {
    const cbc = keyed().a.skOut!;
    expect(fragmentCapacity(cbc, 40)).toBe(1);
  });

  test('daemon.fragment_size: default 1280, 0 allowed, nonsense refused with file, key and line', () => {
    expect(parseConfig('daemon: {}\n', 'f.yaml').daemon.fragmentSize).toBe(1280);
    expect(parseConfig('daemon:\n  fragment_size: 0\n', 'f.yaml').daemon.fragmentSize).toBe(0);
    expect(parseConfig('daemon:\n  fragment_size: 576\n', 'f.yaml').daemon.fragmentSize).toBe(576);
    for (const bad of ['50', '70000', 'big']) {
      expect(() => parseConfig(`daemon:\n  port: 500\n  fragment_size: ${bad}\n`, 'f.yaml')).toThrow(
        /f\.yaml.*daemon\.fragment_size.*line 3/s,
      );
    }
  });
});

describe('splitting and reassembly with real keys', () => {
  test('round trip: every fragment is a sealed SKF message, the set reassembles to the original chain', () => {
    const { a, open } = keyed();
    const payloads = filler(1000);
    const frags = fragmentsFrom(a, 7, payloads, 300);
    expect(frags).toHaveLength(4);
    frags.forEach((f, i) => {
      const m = decode(f);
      expect(m.header.messageId).toBe(7);
      expect(m.header.nextPayload).toBe(PayloadType.SKF);
      expect(m.payloads).toHaveLength(1);
      const skf = m.payloads[0] as SkfPayload;
      expect([skf.fragmentNumber, skf.totalFragments]).toEqual([i + 1, 4]);
      // RFC 7383 2.5: the first inner payload type in fragment 1 only
      expect(skf.innerNext).toBe(i === 0 ? 200 : PayloadType.NONE);
    });
    const r = new Reassembler();
    const out = feed(r, open, frags);
    expect(out.slice(0, 3).map((o) => o.kind)).toEqual(['waiting', 'waiting', 'waiting']);
    const done = out[3]!;
    expect(done.kind).toBe('complete');
    if (done.kind !== 'complete') return;
    const inner = encodePayloads(payloads);
    expect(done.firstType).toBe(inner.firstType);
    expect(done.plain.equals(inner.bytes)).toBe(true);
    expect(done.firstRaw.equals(frags[0]!)).toBe(true);
    expect(r.held).toEqual({ fragments: 0, bytes: 0 });
  });

  test('out of order and duplicated fragments: duplicates ignored, the set completes once', () => {
    const { a, open } = keyed();
    const payloads = filler(700);
    const f = fragmentsFrom(a, 3, payloads, 200);
    expect(f).toHaveLength(4);
    const r = new Reassembler();
    const out = feed(r, open, [f[2]!, f[0]!, f[2]!, f[3]!, f[0]!]);
    expect(out.map((o) => o.kind)).toEqual(['waiting', 'waiting', 'ignored', 'waiting', 'ignored']);
    expect(r.held.fragments).toBe(3);
    const last = feed(r, open, [f[1]!])[0]!;
    expect(last.kind).toBe('complete');
    if (last.kind === 'complete') {
      expect(last.plain.equals(encodePayloads(payloads).bytes)).toBe(true);
      expect(last.firstRaw.equals(f[0]!)).toBe(true);
    }
  });

  test('a forged fragment (bad ICV) is refused before anything is looked at: the collected set is unchanged', () => {
    const { a, open } = keyed();
    const f = fragmentsFrom(a, 3, filler(700), 200);
    const r = new Reassembler();
    feed(r, open, [f[0]!, f[1]!]);
    const before = r.held;
    // the same fragment 3 with one ciphertext bit flipped; and one claiming 255 fragments with a mangled ICV
    const forged = Buffer.from(f[2]!);
    forged[forged.length - 20]! ^= 1;
    const bigger = Buffer.from(f[3]!);
    bigger.writeUInt16BE(255, 28 + 6);
    const out = feed(r, open, [forged, bigger]);
    expect(out.map((o) => o.kind)).toEqual(['integrity', 'integrity']);
    expect(r.held).toEqual(before);
    // the genuine fragments still complete the message
    expect(feed(r, open, [f[2]!, f[3]!]).map((o) => o.kind)).toEqual(['waiting', 'complete']);
  });

  test('a fragment of another message ID starts over; a stale (smaller) Total Fragments is ignored', () => {
    const { a, open } = keyed();
    const m3 = fragmentsFrom(a, 3, filler(700), 200);
    const m4 = fragmentsFrom(a, 4, filler(700), 200);
    const r = new Reassembler();
    feed(r, open, [m3[0]!, m3[1]!, m3[2]!]);
    expect(feed(r, open, [m4[0]!])[0]!.kind).toBe('waiting');
    expect(r.held.fragments).toBe(1);
    // message 4 refragmented smaller (RFC 7383 2.6: more fragments start over, fewer are an older transmission)
    const smaller = fragmentsFrom(a, 4, filler(700), 100);
    expect(smaller.length).toBeGreaterThan(4);
    expect(feed(r, open, [smaller[0]!])[0]!.kind).toBe('waiting');
    expect(r.held.fragments).toBe(1);
    expect(feed(r, open, [m4[1]!])[0]).toMatchObject({ kind: 'ignored', why: 'stale' });
    const rest = feed(r, open, smaller.slice(1));
    expect(rest[rest.length - 1]!.kind).toBe('complete');
  });

  test('limits: too many fragments or too many bytes drop the whole set', () => {
    const { a, open } = keyed();
    const tooMany = new Reassembler({ ...DEFAULT_LIMITS, maxFragments: 3 });
    const f = fragmentsFrom(a, 3, filler(700), 200);
    expect(feed(tooMany, open, [f[0]!])[0]).toMatchObject({ kind: 'dropped', why: 'too-many' });
    expect(tooMany.held).toEqual({ fragments: 0, bytes: 0 });

    const tooLarge = new Reassembler({ ...DEFAULT_LIMITS, maxBytes: 500 });
    const out = feed(tooLarge, open, f);
    expect(out.map((o) => o.kind)).toEqual(['waiting', 'waiting', 'dropped', 'waiting']);
    expect(out[2]).toMatchObject({ why: 'too-large' });
    // what came after the drop is a new, incomplete set: nothing completes from the remains
    expect(tooLarge.held.fragments).toBe(1);

    // the default byte limit (charon's max_packet, 10000) against a real oversized set
    const huge = fragmentsFrom(a, 5, filler(12000), 1000);
    const r = new Reassembler();
    const outs = feed(r, open, huge);
    expect(outs.some((o) => o.kind === 'dropped')).toBe(true);
    expect(outs.some((o) => o.kind === 'complete')).toBe(false);
    expect(r.held.bytes).toBeLessThanOrEqual(DEFAULT_LIMITS.maxBytes);
  });

  test('a set older than the timeout is discarded when the next fragment arrives', () => {
    const { a, open } = keyed();
    const f = fragmentsFrom(a, 3, filler(700), 200);
    const r = new Reassembler();
    feed(r, open, [f[0]!, f[1]!, f[2]!], 0);
    const late = feed(r, open, [f[3]!], DEFAULT_LIMITS.timeoutMs + 1);
    expect(late[0]!.kind).toBe('waiting');
    expect(r.held.fragments).toBe(1);
  });
});

describe('two ikelab peers with a small fragment size', () => {
  const SIZE = 300;
  const MAX = SIZE - 28;

  test('IKE_AUTH is fragmented both ways and the IKE_SA and CHILD_SA come up', () => {
    const p = use(makePair(withSize(SIZE)));
    p.establish();
    expect(p.a.sa().state).toBe('ESTABLISHED');
    expect(p.b.sa().state).toBe('ESTABLISHED');
    expect(p.a.children()).toHaveLength(1);
    expect(p.b.children()).toHaveLength(1);
    for (const who of ['A', 'B'] as const) {
      const auth = p.sent.filter(is.all(is.from(who), is.exchange('IKE_AUTH')));
      expect(auth.length).toBeGreaterThan(1);
      expect(auth.every(isFragment)).toBe(true);
      expect(Math.max(...auth.map((q) => q.data.length))).toBeLessThanOrEqual(MAX);
      expect(new Set(auth.map((q) => q.header.messageId))).toEqual(new Set([1]));
    }
    const n = p.sent.filter(is.all(is.from('A'), is.exchange('IKE_AUTH'))).length;
    const a = p.a.sink.lines().join('\n');
    const b = p.b.sink.lines().join('\n');
    expect(a).toMatch(new RegExp(`\\[ENC\\] splitting IKE message \\(\\d+ bytes\\) into ${n} fragments`));
    expect(a).toContain(`[ENC] generating IKE_AUTH request 1 [ EF(1/${n}) ]`);
    expect(a).toContain(`[ENC] generating IKE_AUTH request 1 [ EF(${n}/${n}) ]`);
    expect(b).toContain(`[ENC] parsed IKE_AUTH request 1 [ EF(1/${n}) ]`);
    expect(b).toContain(`[ENC] received fragment #1 of ${n}, waiting for complete IKE message`);
    expect(b).toMatch(new RegExp(`\\[ENC\\] received fragment #${n} of ${n}, reassembled fragmented IKE message \\(\\d+ bytes\\)`));
    expect(b).toMatch(/\[ENC\] parsed IKE_AUTH request 1 \[ IDi .*AUTH .*TSi TSr/);
    expect(a).toMatch(/received fragment #\d+ of \d+, reassembled fragmented IKE message/);
    // the size charon reports for the reassembled message is the one the sender split
    const split = Number(/splitting IKE message \((\d+) bytes\)/.exec(a)![1]);
    const joined = Number(/reassembled fragmented IKE message \((\d+) bytes\)/.exec(b)![1]);
    expect(split).toBeGreaterThan(MAX);
    expect(joined).toBe(split);
    // IKE_SA_INIT is never fragmented, and the FRAG_SUP exchange happened
    expect(p.sent.filter(is.exchange('IKE_SA_INIT')).some(isFragment)).toBe(false);
    expect(p.a.sa().peerFragmentation).toBe(true);
    expect(p.b.sa().peerFragmentation).toBe(true);
  });

  test('fragments delivered in reverse order, duplicated, with a forged one in between: one IKE_AUTH, processed once', () => {
    const p = use(makePair(withSize(SIZE)));
    p.initiate();
    p.deliverNext();
    p.deliverNext();
    const frags = p.hold(is.exchange('IKE_AUTH'));
    expect(frags.length).toBeGreaterThan(2);
    const forged = { ...frags[1]!, data: Buffer.from(frags[1]!.data) };
    forged.data[forged.data.length - 1]! ^= 0xff;
    const b = p.b.sa();
    for (const q of [...frags].reverse().slice(0, -1)) p.deliver(q);
    p.deliver(forged);
    p.deliver(frags[frags.length - 1]!);
    expect(b.counters.integrityFailures).toBe(1);
    expect(p.b.sink.has('received duplicate fragment #')).toBe(true);
    expect(p.b.sink.has('integrity check failed')).toBe(true);
    expect(b.state).not.toBe('ESTABLISHED');
    p.deliver(frags[0]!);
    p.deliverAll();
    expect(b.state).toBe('ESTABLISHED');
    expect(p.b.sink.count('parsed IKE_AUTH request 1 [ IDi')).toBe(1);
    expect(p.a.sa().state).toBe('ESTABLISHED');
  });

  test('lost response fragment: A retransmits every fragment, B answers from its cache on fragment 1 only', () => {
    const p = use(makePair(withSize(SIZE)));
    p.initiate();
    p.deliverNext();
    p.deliverNext();
    const request = p.queue.filter(is.exchange('IKE_AUTH')).length;
    for (let i = 0; i < request; i++) p.deliverNext();
    const resp = p.queue.filter(is.responseFrom('B'));
    expect(resp.length).toBeGreaterThan(1);
    p.drop((q) => q === resp[resp.length - 1]);
    p.deliverAll();
    expect(p.a.sa().state).toBe('CONNECTING');
    p.clock.advance(1000);
    // the retransmit: all request fragments again, byte for byte
    const again = p.queue.filter(is.requestFrom('A'));
    expect(again).toHaveLength(request);
    p.deliverAll();
    expect(p.b.sink.count('received retransmit of request with ID 1, retransmitting response')).toBe(1);
    expect(p.b.sa().counters.dropped).toBe(0);
    expect(p.a.sa().state).toBe('ESTABLISHED');
    expect(p.b.sink.count('parsed IKE_AUTH request 1 [ IDi')).toBe(1);
    // the response went out twice, whole each time
    expect(p.sent.filter(is.responseFrom('B')).filter(is.exchange('IKE_AUTH'))).toHaveLength(2 * resp.length);
  });

  test('an IKE_SA rekey keeps what the peer announced: the new IKE_SA still fragments a large message', () => {
    const p = use(makePair(withSize(SIZE)));
    p.establish();
    const old = p.a.sa();
    p.a.daemon.ops.rekey('demo');
    p.deliverAll();
    const fresh = p.a.sa();
    expect(fresh).not.toBe(old);
    expect(fresh.peerFragmentation).toBe(true);
    expect(p.b.sa().peerFragmentation).toBe(true);
    // a big INFORMATIONAL on the new IKE_SA: split, reassembled, answered
    const before = p.sent.length;
    const dpd = new IkeDpd(fresh, true);
    const build = dpd.build.bind(dpd);
    dpd.build = (out) => {
      out.add({ type: PayloadType.VENDOR, data: Buffer.alloc(600, 1) } as Payload);
      return build(out);
    };
    fresh.manager.queue(dpd);
    fresh.manager.initiate();
    p.deliverAll();
    const sent = p.sent.slice(before);
    expect(sent.filter(is.requestFrom('A')).length).toBeGreaterThan(1);
    expect(sent.filter(is.requestFrom('A')).every(isFragment)).toBe(true);
    expect(sent.filter(is.responseFrom('B'))).toHaveLength(1);
    expect(p.b.sink.has(/received fragment #\d+ of \d+, reassembled fragmented IKE message/)).toBe(true);
  });

  test('small messages after IKE_AUTH go whole', () => {
    const p = use(makePair(withSize(SIZE)));
    p.establish();
    const a = p.a.sa();
    const before = p.sent.length;
    a.manager.queue(new IkeDpd(a, true));
    a.manager.initiate();
    p.deliverAll();
    expect(p.sent.slice(before).map((q) => isFragment(q))).toEqual([false, false]);
  });

  test('fragmentation: no on A: no FRAG_SUP either way, nothing fragmented, IKE_AUTH goes whole', () => {
    const p = use(makePair(withSize(SIZE, BIG, { a: 'no' })));
    p.establish();
    expect(p.a.sa().state).toBe('ESTABLISHED');
    expect(p.a.sink.has('N(FRAG_SUP)')).toBe(false);
    expect(p.b.sink.has('N(FRAG_SUP)')).toBe(false);
    expect(p.sent.some(isFragment)).toBe(false);
    expect(p.sent.filter(is.exchange('IKE_AUTH')).every((q) => q.data.length > MAX)).toBe(true);
  });

  test('fragmentation: accept on A: announced, B fragments, A sends whole', () => {
    const p = use(makePair(withSize(SIZE, BIG, { a: 'accept' })));
    p.establish();
    expect(p.a.sa().state).toBe('ESTABLISHED');
    expect(p.sent.filter(is.requestFrom('A')).some(isFragment)).toBe(false);
    expect(p.sent.filter(is.responseFrom('B')).some(isFragment)).toBe(true);
  });

  test('fragmentation: force on A with B at no: A fragments anyway and B, not having announced it, reassembles', () => {
    const p = use(makePair(withSize(SIZE, BIG, { a: 'force', b: 'no' })));
    p.establish();
    expect(p.b.sink.lines().some((l) => l.includes('generating IKE_SA_INIT response 0') && l.includes('FRAG_SUP'))).toBe(false);
    expect(p.sent.filter(is.requestFrom('A')).filter(is.exchange('IKE_AUTH')).every(isFragment)).toBe(true);
    expect(p.sent.filter(is.responseFrom('B')).some(isFragment)).toBe(false);
    expect(p.b.sa().state).toBe('ESTABLISHED');
  });

  test('the responder answers FRAG_SUP only to an initiator that sent it', () => {
    const p = use(makePair());
    p.establish();
    const init = (who: 'a' | 'b', dir: string) => p[who].sink.lines().find((l) => l.includes(`generating IKE_SA_INIT ${dir} 0`))!;
    expect(init('a', 'request')).toContain('N(FRAG_SUP)');
    expect(init('b', 'response')).toContain('N(FRAG_SUP)');
    expect(Notify.IKEV2_FRAGMENTATION_SUPPORTED).toBe(16430);
  });
});
