// COOKIEs (RFC 7296 2.6) and bounded half-open state at the dispatcher, in process: peer B of a makePair() is the
// responder; crafted IKE_SA_INIT requests from A's address (other ports, random SPIs) flood it. Above the
// thresholds B answers with N(COOKIE) only and keeps nothing; a request returning the cookie proceeds; block_threshold
// and init_limit_half_open drop requests unanswered; junk log lines are rate-limited. Also: an ikelab initiator
// answers a COOKIE and the pair establishes.
import { afterEach, describe, expect, test } from 'vitest';
import type { IkelabConfig } from '../../src/config/types.js';
import { parseProposals } from '../../src/config/index.js';
import { generateDh } from '../../src/crypto/dh.js';
import { COOKIE_BYTES } from '../../src/ike/cookies.js';
import { HALF_OPEN_TIMEOUT_MS } from '../../src/ike/dispatcher.js';
import { ExchangeType, Notify, PayloadType } from '../../src/wire/constants.js';
import { decodeMessage, encodeMessage } from '../../src/wire/message.js';
import type { NotifyPayload, Payload } from '../../src/wire/types.js';
import { ADDR, IKE_PORT, is, makePair, seededRandom, type Pair, type Queued } from '../helpers/peers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});

const PROPOSALS = parseProposals(['aes256-sha256-modp2048'], 'ike');
const KE = generateDh(14).publicKey; // one public value for every crafted request: B does DH only for SAs it creates
const rnd = seededRandom('flood');

interface Req {
  spiI: Buffer;
  ni: Buffer;
  port: number;
  from: string;
  cookie?: Buffer;
}

function request(o: Partial<Req> = {}): Req {
  return { spiI: rnd.bytes(8), ni: rnd.bytes(32), port: 20000 + (rnd.bytes(2).readUInt16BE(0) % 40000), from: ADDR.A, ...o };
}

function encodeInit(r: Req): Buffer {
  const payloads: Payload[] = [];
  if (r.cookie) payloads.push({ type: PayloadType.NOTIFY, protocol: 0, spi: Buffer.alloc(0), notifyType: Notify.COOKIE, data: r.cookie });
  payloads.push(
    { type: PayloadType.SA, proposals: PROPOSALS.map((p, i) => ({ ...p, num: i + 1, spi: Buffer.alloc(0) })) },
    { type: PayloadType.KE, group: 14, data: KE },
    { type: PayloadType.NONCE, data: r.ni },
  );
  return encodeMessage(
    {
      spiI: r.spiI,
      spiR: Buffer.alloc(8),
      majorVersion: 2,
      minorVersion: 0,
      exchange: ExchangeType.IKE_SA_INIT,
      initiator: true,
      response: false,
      version: false,
      messageId: 0,
    },
    payloads,
  );
}

/** Hand a crafted request to B; returns what B sent back to that port (taken off the pair's queue). */
function send(p: Pair, r: Req): Queued[] {
  p.b.daemon.receive(encodeInit(r), { address: ADDR.B, port: IKE_PORT }, { address: r.from, port: r.port });
  return p.drop((m) => m.from === 'B' && m.dst.port === r.port && m.dst.address === r.from);
}

function cookieOf(m: Queued | undefined): Buffer | undefined {
  if (!m) return undefined;
  const d = decodeMessage(m.data);
  if (!d.ok) throw new Error(d.error.message);
  const n = d.value.payloads.find((x) => x.type === PayloadType.NOTIFY && (x as NotifyPayload).notifyType === Notify.COOKIE) as
    | NotifyPayload
    | undefined;
  return n?.data;
}

/** B's daemon settings changed in place (the dispatcher reads them per request). */
function setDaemon(p: Pair, d: Partial<IkelabConfig['daemon']>, anyPeer = false): void {
  const cfg = p.b.daemon.config;
  p.b.daemon.ops.reload({
    ...cfg,
    daemon: { ...cfg.daemon, ...d },
    connections: anyPeer ? cfg.connections.map((c) => ({ ...c, remoteAddrs: ['%any'] })) : cfg.connections,
  });
}

const OFF = { cookieThreshold: 0, cookieThresholdIp: 0, blockThreshold: 0, initLimitHalfOpen: 0 };

describe('COOKIE above the half-open threshold', () => {
  test('the request gets an IKE_SA_INIT response with only N(COOKIE), SPIr zero, message ID 0, and no SA is made', () => {
    const p = (pair = makePair());
    setDaemon(p, { ...OFF, cookieThreshold: 2 });
    const b = p.b.daemon;
    for (let i = 0; i < 2; i++) expect(cookieOf(send(p, request())[0])).toBeUndefined();
    expect(b.table.halfOpenCount()).toBe(2);
    const sizeBefore = b.table.size;
    const timersBefore = b.timers.size;

    const r = request();
    const out = send(p, r);
    expect(out).toHaveLength(1);
    const d = decodeMessage(out[0]!.data);
    if (!d.ok) throw new Error(d.error.message);
    expect(d.value.header).toMatchObject({ exchange: ExchangeType.IKE_SA_INIT, response: true, initiator: false, messageId: 0 });
    expect(d.value.header.spiI.equals(r.spiI)).toBe(true);
    expect(d.value.header.spiR.equals(Buffer.alloc(8))).toBe(true);
    expect(d.value.payloads).toHaveLength(1);
    expect(cookieOf(out[0])).toHaveLength(COOKIE_BYTES);
    // no per-request state: no IKE_SA, no table entry, no timer
    expect(b.table.size).toBe(sizeBefore);
    expect(b.table.halfOpenCount()).toBe(2);
    expect(b.timers.size).toBe(timersBefore);
    expect(b.dispatcher.counters.cookiesSent).toBe(1);
    expect(p.b.sink.lines()).toContain('00[ENC] generating IKE_SA_INIT response 0 [ N(COOKIE) ]');
  });

  test('the request repeated with the cookie proceeds; a wrong or foreign cookie gets a fresh COOKIE', () => {
    const p = (pair = makePair());
    setDaemon(p, { ...OFF, cookieThreshold: 1 });
    const b = p.b.daemon;
    send(p, request());
    const r = request();
    const cookie = cookieOf(send(p, r)[0])!;
    expect(cookie).toBeDefined();

    // tampered
    const bad = Buffer.from(cookie);
    bad[5]! ^= 0xff;
    const again = send(p, { ...r, cookie: bad });
    expect(cookieOf(again[0])).toEqual(cookie); // a new cookie, the same one for the same request and secret
    // another request's cookie (other SPIi), another Ni, another address
    expect(cookieOf(send(p, { ...request(), cookie })[0])).toBeDefined();
    expect(cookieOf(send(p, { ...r, ni: rnd.bytes(32), cookie })[0])).toBeDefined();
    expect(b.table.halfOpenCount()).toBe(1);
    expect(b.dispatcher.counters.cookiesSent).toBe(4);

    // the right cookie: B creates the SA and answers SA, KE, Nonce
    const ok = send(p, { ...r, cookie });
    expect(ok).toHaveLength(1);
    expect(cookieOf(ok[0])).toBeUndefined();
    const d = decodeMessage(ok[0]!.data);
    if (!d.ok) throw new Error(d.error.message);
    expect(d.value.payloads.map((x) => x.type)).toEqual(expect.arrayContaining([PayloadType.SA, PayloadType.KE, PayloadType.NONCE]));
    expect(d.value.header.spiR.equals(Buffer.alloc(8))).toBe(false);
    expect(b.table.halfOpenCount()).toBe(2);
    expect(b.dispatcher.counters.cookiesSent).toBe(4);
    // a retransmit of that request (with its cookie) is answered from the cache, no second SA
    const rt = send(p, { ...r, cookie });
    expect(rt[0]!.data.equals(ok[0]!.data)).toBe(true);
    expect(b.table.halfOpenCount()).toBe(2);
  });

  test('a cookie expires with its secret: after two rotation periods the same request gets a new COOKIE', () => {
    const p = (pair = makePair());
    setDaemon(p, { ...OFF, cookieThreshold: 1 });
    send(p, request());
    const r = request();
    const cookie = cookieOf(send(p, r)[0])!;
    p.clock.advance(25_000); // < half_open_timeout: the first SA is still half-open, cookies still required
    expect(p.b.daemon.table.halfOpenCount()).toBe(1);
    const out = send(p, { ...r, cookie });
    const fresh = cookieOf(out[0]);
    expect(fresh).toBeDefined();
    expect(fresh!.equals(cookie)).toBe(false);
    expect(p.b.daemon.table.halfOpenCount()).toBe(1);
    expect(cookieOf(send(p, { ...r, cookie: fresh })[0])).toBeUndefined();
    expect(p.b.daemon.table.halfOpenCount()).toBe(2);
  });

  test('half-open SAs time out, the count goes back to 0 and after the calm-down no cookie is asked', () => {
    const p = (pair = makePair());
    setDaemon(p, { ...OFF, cookieThreshold: 2 });
    send(p, request());
    send(p, request());
    expect(cookieOf(send(p, request())[0])).toBeDefined();
    p.clock.advance(HALF_OPEN_TIMEOUT_MS);
    expect(p.b.daemon.table.halfOpenCount()).toBe(0);
    expect(p.b.daemon.table.size).toBe(0);
    // 30 s since the threshold was last reached: calm-down over
    expect(cookieOf(send(p, request())[0])).toBeUndefined();
    expect(p.b.daemon.table.halfOpenCount()).toBe(1);
  });

  test('calm-down: cookies stay on for 10 s after the threshold was last reached', () => {
    const p = (pair = makePair());
    setDaemon(p, { ...OFF, cookieThreshold: 1 });
    send(p, request());
    expect(cookieOf(send(p, request())[0])).toBeDefined();
    p.b.daemon.table.list()[0]!.destroy(); // below the threshold again
    expect(p.b.daemon.table.halfOpenCount()).toBe(0);
    p.clock.advance(9_000);
    expect(cookieOf(send(p, request())[0])).toBeDefined();
    p.clock.advance(1_000);
    expect(cookieOf(send(p, request())[0])).toBeUndefined();
  });
});

describe('half-open limits', () => {
  test('block_threshold: an address with that many half-open SAs is ignored, unanswered, and logged', () => {
    const p = (pair = makePair());
    setDaemon(p, { ...OFF, blockThreshold: 2 });
    const b = p.b.daemon;
    expect(send(p, request())).toHaveLength(1);
    expect(send(p, request())).toHaveLength(1);
    expect(send(p, request())).toHaveLength(0);
    expect(b.table.halfOpenCount()).toBe(2);
    expect(b.table.halfOpenCount(ADDR.A)).toBe(2);
    expect(b.dispatcher.counters.halfOpenRefused).toBe(1);
    expect(p.b.sink.lines()).toContain(`00[NET] ignoring IKE_SA setup from ${ADDR.A}, per-IP half-open IKE_SA limit of 2 reached`);
    // another address is not blocked
    setDaemon(p, { ...OFF, blockThreshold: 2 }, true);
    expect(send(p, request({ from: '127.0.0.9' }))).toHaveLength(1);
    expect(b.table.halfOpenCount('127.0.0.9')).toBe(1);
  });

  test('block_threshold is raised above cookie_threshold_ip, as charon does', () => {
    const p = (pair = makePair());
    setDaemon(p, { ...OFF, cookieThresholdIp: 2, blockThreshold: 2 });
    send(p, request());
    send(p, request());
    // per-IP cookies now; a request that returns its cookie still gets in (block is 3, not 2)
    const r = request();
    const cookie = cookieOf(send(p, r)[0])!;
    expect(cookie).toBeDefined();
    expect(cookieOf(send(p, { ...r, cookie })[0])).toBeUndefined();
    expect(p.b.daemon.table.halfOpenCount()).toBe(3);
    const r2 = request();
    const c2 = cookieOf(send(p, r2)[0])!;
    expect(send(p, { ...r2, cookie: c2 })).toHaveLength(0);
    expect(p.b.sink.lines()).toContain(`00[NET] ignoring IKE_SA setup from ${ADDR.A}, per-IP half-open IKE_SA limit of 3 reached`);
  });

  test('init_limit_half_open: nobody gets in while that many are half-open', () => {
    const p = (pair = makePair());
    setDaemon(p, { ...OFF, initLimitHalfOpen: 3 }, true);
    for (let i = 0; i < 3; i++) expect(send(p, request({ from: `127.0.1.${i + 1}` }))).toHaveLength(1);
    expect(send(p, request({ from: '127.0.1.99' }))).toHaveLength(0);
    expect(p.b.daemon.table.halfOpenCount()).toBe(3);
    expect(p.b.daemon.dispatcher.counters.halfOpenRefused).toBe(1);
    expect(p.b.sink.lines()).toContain('00[NET] ignoring IKE_SA setup from 127.0.1.99, half-open IKE_SA limit of 3 reached');
  });
});

describe('floods', () => {
  test('one address, random ports and SPIs, charon defaults: at most cookie_threshold_ip half-open SAs, COOKIEs for the rest, few log lines', () => {
    const p = (pair = makePair());
    const b = p.b.daemon;
    expect(b.config.daemon).toMatchObject({ cookieThreshold: 30, cookieThresholdIp: 3, blockThreshold: 5, initLimitHalfOpen: 0 });
    const N = 2000;
    let answered = 0;
    for (let i = 0; i < N; i++) answered += send(p, request()).length;
    expect(answered).toBe(N);
    expect(b.table.halfOpenCount()).toBe(3);
    expect(b.table.size).toBe(3);
    expect(b.dispatcher.counters.cookiesSent).toBe(N - 3);
    const lines = p.b.sink.lines();
    expect(lines.filter((l) => l.includes('N(COOKIE)')).length).toBe(5);
    expect(lines.length).toBeLessThan(100);
    p.clock.advance(10_000);
    expect(p.b.sink.lines()).toContain(
      `00[NET] sent ${(N - 3).toLocaleString('en-US')} COOKIE notifies in the last 10 s (${(N - 3 - 5).toLocaleString('en-US')} not logged)`,
    );
  });

  test('many addresses, one request each: at most cookie_threshold half-open SAs', () => {
    const p = (pair = makePair());
    setDaemon(p, {}, true);
    const b = p.b.daemon;
    const N = 600;
    for (let i = 0; i < N; i++) send(p, request({ from: `10.${(i >> 8) & 255}.${i & 255}.7` }));
    expect(b.table.halfOpenCount()).toBe(30);
    expect(b.table.size).toBe(30);
    expect(b.dispatcher.counters.cookiesSent).toBe(N - 30);
  });

  test('junk datagrams: counted one by one, logged a few per 10 s with a summary line', () => {
    const p = (pair = makePair());
    const b = p.b.daemon;
    const junk = Buffer.from('this is not an IKE message at all, just bytes...');
    for (let i = 0; i < 1234; i++) b.receive(junk, { address: ADDR.B, port: IKE_PORT }, { address: ADDR.A, port: 30000 + i });
    const stray = encodeMessage(
      {
        spiI: rnd.bytes(8),
        spiR: rnd.bytes(8),
        majorVersion: 2,
        minorVersion: 0,
        exchange: ExchangeType.INFORMATIONAL,
        initiator: true,
        response: false,
        version: false,
        messageId: 3,
      },
      [],
    );
    for (let i = 0; i < 50; i++) b.receive(stray, { address: ADDR.B, port: IKE_PORT }, { address: ADDR.A, port: 500 });
    expect(b.dispatcher.counters).toMatchObject({ malformed: 1234, unknownSpi: 50 });
    const lines = p.b.sink.lines();
    expect(lines.filter((l) => l.includes('parsing IKE message')).length).toBe(5);
    expect(lines.filter((l) => l.includes('for unknown IKE_SA')).length).toBe(5);
    expect(lines.length).toBe(20); // two lines per logged datagram
    p.clock.advance(10_000);
    expect(p.b.sink.lines().slice(20)).toEqual([
      '00[ENC] dropped 1,234 malformed datagrams in the last 10 s (1,229 not logged)',
      '00[IKE] ignored 50 messages for unknown IKE_SAs in the last 10 s (45 not logged)',
    ]);
  });
});

describe('ikelab initiator against a cookie-demanding ikelab responder', () => {
  test("A answers the COOKIE, the pair establishes, B sent exactly one COOKIE and A's SA is not half-open at B", () => {
    const p = (pair = makePair());
    // cookie_threshold 1 (0 means off, as in charon) and one half-open SA already there: B demands cookies
    setDaemon(p, { ...OFF, cookieThreshold: 1 });
    send(p, request({ port: 40000 }));
    expect(p.b.daemon.table.halfOpenCount()).toBe(1);
    p.establish();
    expect(p.a.sa().state).toBe('ESTABLISHED');
    const bSa = p.b.daemon.table.list().find((s) => s.state === 'ESTABLISHED');
    expect(bSa).toBeDefined();
    expect(bSa!.children).toHaveLength(1);
    const cookies = p.sent.filter((m) => is.all(is.responseFrom('B'), is.exchange('IKE_SA_INIT'))(m) && cookieOf(m));
    expect(cookies).toHaveLength(1);
    expect(p.b.daemon.dispatcher.counters.cookiesSent).toBe(1);
    // A retried with the cookie first and the same nonce (RFC 7296 2.6: other payloads unchanged)
    const inits = p.sent.filter(is.all(is.requestFrom('A'), is.exchange('IKE_SA_INIT')));
    expect(inits).toHaveLength(2);
    const [first, second] = inits.map((m) => {
      const d = decodeMessage(m.data);
      if (!d.ok) throw new Error(d.error.message);
      return d.value.payloads;
    });
    expect((second![0] as NotifyPayload).notifyType).toBe(Notify.COOKIE);
    const nonce = (ps: Payload[]) => (ps.find((x) => x.type === PayloadType.NONCE) as { data: Buffer }).data;
    expect(nonce(second!).equals(nonce(first!))).toBe(true);
    // established: no longer counted as half-open; the crafted one still is
    expect(p.b.daemon.table.halfOpenCount()).toBe(1);
    expect(p.b.daemon.table.halfOpenCount(ADDR.A)).toBe(1);
  });
});

describe('ikelab initiator: COOKIE loops end', () => {
  test('the same COOKIE twice in a row fails the IKE_SA (charon: "ignore response with duplicate COOKIE notify")', () => {
    const p = (pair = makePair());
    setDaemon(p, { ...OFF, cookieThreshold: 1 });
    send(p, request({ port: 40000 }));
    p.initiate();
    p.deliverNext(); // A's IKE_SA_INIT to B
    const [cookieResponse] = p.hold(is.responseFrom('B'));
    expect(cookieOf(cookieResponse)).toBeDefined();
    p.deliver(cookieResponse!); // A retries with the cookie ...
    expect(p.describe()).toEqual(['A->B IKE_SA_INIT request 0']);
    p.drop(is.from('A'));
    p.deliver({ ...cookieResponse!, data: Buffer.from(cookieResponse!.data) }); // ... and gets the same cookie again
    expect(p.a.sas()).toHaveLength(0);
    expect(p.a.sink.lines()).toContain('01[IKE] ignore response with duplicate COOKIE notify');
    expect(p.queue).toHaveLength(0);
  });
});

/** The IKE_SA_INIT requests A sent, as KE and nonce (hex) and the cookie they carried. */
function initsOf(p: Pair): { ke: string; nonce: string; cookie?: string }[] {
  return p.sent.filter(is.all(is.requestFrom('A'), is.exchange('IKE_SA_INIT'))).map((m) => {
    const d = decodeMessage(m.data);
    if (!d.ok) throw new Error(d.error.message);
    const of = (t: number) => (d.value.payloads.find((x) => x.type === t) as { data: Buffer }).data.toString('hex');
    return { ke: of(PayloadType.KE), nonce: of(PayloadType.NONCE), cookie: cookieOf(m)?.toString('hex') };
  });
}

/** A copy of a COOKIE response with another cookie in it (as charon sends for another copy of a request). */
function otherCookie(m: Queued): Queued {
  const cookie = cookieOf(m)!;
  const data = Buffer.from(m.data);
  data[data.indexOf(cookie) + COOKIE_BYTES - 1]! ^= 0xff;
  return { ...m, data };
}

/** B demanding cookies, A initiating: B's COOKIE answer to A's first attempt, held back from A. */
function firstCookie(): { p: Pair; c1: Queued } {
  const p = (pair = makePair());
  setDaemon(p, { ...OFF, cookieThreshold: 1 });
  send(p, request({ port: 40000 }));
  p.initiate();
  p.deliverNext(); // attempt 1 -> B: COOKIE
  const [c1] = p.hold(is.responseFrom('B'));
  return { p, c1: c1! };
}

describe('ikelab initiator: a COOKIE retry keeps its KE (RFC 7296 2.6: the other payloads unchanged)', () => {
  // Seen in the load lab against charon: a starved initiator retransmitted its IKE_SA_INIT, charon answered each
  // copy (a second COOKIE: charon's cookies carry a time, so they differ), and the initiator, which drew a new DH key
  // per retry, keyed a late answer to one attempt with the private key of a later one: charon logged `integrity
  // check failed` on every IKE_AUTH. With the KE kept, the keys of any attempt's answer match.
  test('a refused cookie: the new COOKIE is acted on at the retransmit; all attempts carry the same KE and nonce', () => {
    const { p, c1 } = firstCookie();
    p.deliver(otherCookie(c1)); // A: attempt 2 with a cookie B did not make
    p.deliverNext(); // B refuses it: a fresh COOKIE, at once
    p.deliverAll(); // A: attempt 2 not yet retransmitted, so that COOKIE may be a late one: ignored
    expect(p.a.sink.lines()).toContain('01[IKE] ignore response with a different COOKIE, our retry with the last one is still pending');
    expect(p.a.sa().state).toBe('CONNECTING');
    expect(initsOf(p)).toHaveLength(2);
    p.clock.advance(1000); // A retransmits attempt 2; B refuses it again, and now A takes the new cookie
    p.deliverAll();
    expect(p.a.sa().state).toBe('ESTABLISHED');
    expect(p.b.sink.lines().join('\n')).not.toContain('integrity check failed');
    const inits = initsOf(p);
    expect(inits).toHaveLength(4); // 1, 2, 2 retransmitted, 3 with B's cookie
    expect(inits[2]).toEqual(inits[1]);
    expect(inits[3]!.cookie).not.toBe(inits[1]!.cookie);
    expect(new Set(inits.map((i) => i.ke)).size).toBe(1);
    expect(new Set(inits.map((i) => i.nonce)).size).toBe(1);
  });

  test('a late COOKIE for a copy of an earlier attempt is ignored: the answer to the retry establishes, AUTH holds', () => {
    const { p, c1 } = firstCookie();
    p.deliver(c1); // A: attempt 2 with B's cookie
    p.deliverNext(); // B: the full IKE_SA_INIT answer ...
    const [full] = p.hold(is.responseFrom('B'));
    p.deliver(otherCookie(c1)); // ... overtaken by B's (charon's) COOKIE for a retransmitted copy of attempt 1
    expect(p.queue).toHaveLength(0); // no attempt 3
    expect(p.a.sink.lines()).toContain('01[IKE] ignore response with a different COOKIE, our retry with the last one is still pending');
    p.deliver(full!);
    p.deliverAll();
    // acted on, the late COOKIE made attempt 3, and AUTH over attempt 3 failed against B, which answered attempt 2
    expect(p.a.sa().state).toBe('ESTABLISHED');
    expect(p.b.sink.lines().join('\n')).not.toMatch(/verification of AUTH|authentication of .* failed|MAC mismatched/);
    expect(initsOf(p)).toHaveLength(2);
  });
});
