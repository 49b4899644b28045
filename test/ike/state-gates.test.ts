// RFC 7296 state gates and "integrity before interpretation", with two in-process peers: messages an attacker on
// the path can forge from cleartext headers (live SPIs, message IDs) are dropped unanswered and change nothing;
// requests from the authenticated peer that a task cannot accept are answered and use up their message ID.
import { afterEach, describe, expect, test } from 'vitest';
import { generateDh } from '../../src/crypto/dh.js';
import { MODP_PRIMES } from '../../src/crypto/modp-primes.js';
import type { IkeSa } from '../../src/ike/ike-sa.js';
import { protect } from '../../src/ike/message-protect.js';
import { notify } from '../../src/ike/notifies.js';
import { IkeDpd } from '../../src/ike/tasks/ike-dpd.js';
import { ExchangeType, Notify, PayloadType, ProtocolId } from '../../src/wire/constants.js';
import { encodeMessage } from '../../src/wire/message.js';
import type { IkeHeader, Payload } from '../../src/wire/types.js';
import { ADDR, IKE_PORT, is, makePair, type Pair, type PairOptions } from '../helpers/peers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});
const use = (o?: PairOptions): Pair => (pair = makePair(o));

const A = { address: ADDR.A, port: IKE_PORT };
const B = { address: ADDR.B, port: IKE_PORT };
/** A datagram from A's address to B, bypassing A's task manager (what an attacker or a scripted peer sends). */
const toB = (p: Pair, data: Buffer): void => p.b.daemon.receive(data, B, A);

type H = Omit<IkeHeader, 'length' | 'nextPayload'>;
const hdr = (spiI: Buffer, spiR: Buffer, exchange: number, messageId: number, o: { response?: boolean; initiator?: boolean } = {}): H => ({
  spiI,
  spiR,
  majorVersion: 2,
  minorVersion: 0,
  exchange,
  initiator: o.initiator ?? true,
  response: o.response ?? false,
  version: false,
  messageId,
});
/** A header followed by an SK payload of random bytes: looks protected, cannot pass the ICV check. */
function junkSk(h: H): Buffer {
  const head = encodeMessage(h, []);
  const body = Buffer.alloc(80, 0x5a);
  const sk = Buffer.concat([Buffer.from([0, 0, 0, 4 + body.length]), body]);
  const out = Buffer.concat([head, sk]);
  out[16] = PayloadType.SK;
  out.writeUInt32BE(out.length, 24);
  return out;
}

/** What B has sent since `n` datagrams were sent in total. */
const sentByBSince = (p: Pair, n: number) => p.sent.slice(n).filter(is.from('B'));

function snapshot(sa: IkeSa) {
  return {
    spiI: sa.spiI.toString('hex'),
    spiR: sa.spiR.toString('hex'),
    keys: sa.keys,
    state: sa.state,
    peerMid: sa.manager.peerMid,
    children: sa.children.length,
  };
}

describe('requests an attacker can forge from cleartext headers', () => {
  test('a header-only IKE_SA_INIT request with the live SPIs is dropped unanswered; the SA is untouched', () => {
    const p = use();
    p.establish();
    const sa = p.b.sa();
    const before = snapshot(sa);
    const n = p.sent.length;
    const msg = encodeMessage(hdr(sa.spiI, sa.spiR, ExchangeType.IKE_SA_INIT, sa.manager.peerMid), []);
    expect(msg.length).toBe(28);
    toB(p, msg);
    expect(sentByBSince(p, n)).toHaveLength(0);
    expect(snapshot(p.b.sa())).toEqual(before);
    expect(p.b.daemon.ops.stats().dispatcher.gated).toBe(1);
  });

  test('a complete IKE_SA_INIT with the live SPIs never re-keys the IKE_SA (the authentication bypass)', () => {
    const p = use();
    p.establish();
    const sa = p.b.sa();
    const before = snapshot(sa);
    const n = p.sent.length;
    const proposal = { ...sa.config.proposals[0]!, num: 1, spi: Buffer.alloc(0) };
    const payloads: Payload[] = [
      { type: PayloadType.SA, proposals: [proposal] },
      { type: PayloadType.KE, group: 14, data: generateDh(14).publicKey },
      { type: PayloadType.NONCE, data: Buffer.alloc(32, 1) },
    ];
    toB(p, encodeMessage(hdr(sa.spiI, sa.spiR, ExchangeType.IKE_SA_INIT, 0), payloads));
    toB(p, encodeMessage(hdr(sa.spiI, sa.spiR, ExchangeType.IKE_SA_INIT, sa.manager.peerMid), payloads));
    // variant: the peer's SPI bit-flipped (no zombie SA in CONNECTING may appear)
    const flipped = Buffer.from(sa.spiI);
    flipped[0]! ^= 1;
    toB(p, encodeMessage(hdr(flipped, sa.spiR, ExchangeType.IKE_SA_INIT, 0), payloads));
    expect(sentByBSince(p, n)).toHaveLength(0);
    expect(snapshot(p.b.sa())).toEqual(before);
    expect(p.b.sas()).toHaveLength(1);
  });

  test('a protected-looking request under our SPI but a foreign peer SPI is not for this SA', () => {
    const p = use();
    p.establish();
    const sa = p.b.sa();
    const n = p.sent.length;
    const flipped = Buffer.from(sa.spiI);
    flipped[7]! ^= 0x80;
    toB(p, junkSk(hdr(flipped, sa.spiR, ExchangeType.INFORMATIONAL, sa.manager.peerMid)));
    expect(sentByBSince(p, n)).toHaveLength(0);
    expect(p.b.daemon.ops.stats().dispatcher.gated).toBe(1);
    expect(p.b.sa().counters.integrityFailures).toBe(0); // not even decrypted
  });

  test('IKE_AUTH on an established IKE_SA is dropped even when it authenticates; its message ID stays free', () => {
    const p = use();
    p.establish();
    const a = p.a.sa();
    const mid = p.b.sa().manager.peerMid;
    const n = p.sent.length;
    toB(p, protect(a, ExchangeType.IKE_AUTH, mid, false, [notify(Notify.INITIAL_CONTACT)]));
    expect(sentByBSince(p, n)).toHaveLength(0);
    expect(p.b.sa().manager.peerMid).toBe(mid);
    expect(p.b.sa().counters.dropped).toBe(1);
    expect(p.b.sink.has(/ignoring IKE_AUTH request with message ID 2: IKE_AUTH request in IKE_SA state ESTABLISHED/)).toBe(true);
    // the same message ID is still free for the next real request
    toB(p, protect(a, ExchangeType.INFORMATIONAL, mid, false, []));
    expect(p.b.sink.has(`generating INFORMATIONAL response ${mid} [ ]`)).toBe(true);
  });

  test('CREATE_CHILD_SA before IKE_AUTH completed is dropped, even with the IKE_SA_INIT keys', () => {
    const p = use();
    p.initiate();
    p.deliverNext(); // IKE_SA_INIT request -> B
    p.deliverNext(); // IKE_SA_INIT response -> A, which queues IKE_AUTH
    const [auth] = p.hold(is.all(is.requestFrom('A'), is.exchange('IKE_AUTH')));
    const a = p.a.sa();
    const child = a.config.children[0]!;
    const n = p.sent.length;
    toB(
      p,
      protect(a, ExchangeType.CREATE_CHILD_SA, 1, false, [
        { type: PayloadType.SA, proposals: [{ ...child.espProposals[0]!, num: 1, spi: Buffer.from('c0000001', 'hex') }] },
        { type: PayloadType.NONCE, data: Buffer.alloc(32, 2) },
      ]),
    );
    expect(sentByBSince(p, n)).toHaveLength(0);
    expect(p.b.sa().state).toBe('CONNECTING');
    expect(p.b.sa().manager.peerMid).toBe(1);
    p.inject(auth!);
    p.deliverAll();
    expect(p.b.sa().state).toBe('ESTABLISHED');
    expect(p.b.children()).toHaveLength(1);
  });
});

describe('responses an attacker can forge', () => {
  function dpdOutstanding(p: Pair) {
    p.establish();
    const a = p.a.sa();
    a.manager.queue(new IkeDpd(a, true));
    a.manager.initiate();
    const [req] = p.hold(is.requestFrom('A'));
    p.deliver(req!); // B answers
    const [resp] = p.hold(is.responseFrom('B'));
    return { a, resp: resp! };
  }

  test('an unauthenticated IKE_AUTH response to our DPD does not end the IKE_SA; the real answer still counts', () => {
    const p = use();
    const { a, resp } = dpdOutstanding(p);
    const mid = resp.header.messageId;
    for (const m of [mid - 1, mid, mid + 1])
      p.a.daemon.receive(junkSk(hdr(a.spiI, a.spiR, ExchangeType.IKE_AUTH, m, { response: true, initiator: false })), A, B);
    expect(a.state).toBe('ESTABLISHED');
    expect(p.a.sink.has(/but expected INFORMATIONAL/)).toBe(false);
    expect(a.counters.integrityFailures).toBe(1);
    p.deliver(resp);
    expect(a.manager.busy).toBe(false);
    expect(a.state).toBe('ESTABLISHED');
  });

  test('an IKE_SA_INIT response to a protected request is dropped before anything reads it', () => {
    const p = use();
    const { a, resp } = dpdOutstanding(p);
    p.a.daemon.receive(
      encodeMessage(hdr(a.spiI, a.spiR, ExchangeType.IKE_SA_INIT, resp.header.messageId, { response: true, initiator: false }), [
        notify(Notify.NO_PROPOSAL_CHOSEN),
      ]),
      A,
      B,
    );
    expect(a.state).toBe('ESTABLISHED');
    expect(a.counters.dropped).toBe(1);
    p.deliver(resp);
    expect(a.manager.busy).toBe(false);
  });
});

describe('retransmitted requests', () => {
  test('only a byte-identical copy gets the cached response, at most once per second', () => {
    const p = use();
    p.establish();
    const a = p.a.sa();
    a.manager.queue(new IkeDpd(a, true));
    a.manager.initiate();
    const req = p.queue[0]!;
    p.deliverAll();
    const b = p.b.sa();
    const n = p.sent.length;
    // junk with the live SPIs and the answered message ID: no amplifier
    for (let i = 0; i < 50; i++) toB(p, junkSk(hdr(b.spiI, b.spiR, ExchangeType.INFORMATIONAL, req.header.messageId)));
    expect(sentByBSince(p, n)).toHaveLength(0);
    toB(p, req.data);
    toB(p, req.data);
    toB(p, req.data);
    expect(sentByBSince(p, n)).toHaveLength(1);
    expect(b.counters.responsesRetransmitted).toBe(1);
    expect(b.counters.retransmitsSuppressed).toBe(2);
    p.clock.advance(1000);
    toB(p, req.data);
    expect(sentByBSince(p, n)).toHaveLength(2);
  });
});

describe('requests from the authenticated peer that cannot be accepted are answered, never wedge the SA', () => {
  const pfs = { a: { espProposals: ['aes256gcm16-modp2048'] }, b: { espProposals: ['aes256gcm16-modp2048'] } };
  const modpMinusOne = (() => {
    const p = BigInt(`0x${MODP_PRIMES[14]}`) - 1n;
    return Buffer.from(p.toString(16).padStart(512, '0'), 'hex');
  })();

  function childPayloads(p: Pair, ke: Buffer | undefined, rekeySpi?: Buffer): Payload[] {
    const a = p.a.sa();
    const c = a.children[0]!;
    const out: Payload[] = [];
    if (rekeySpi) out.push(notify(Notify.REKEY_SA, Buffer.alloc(0), ProtocolId.ESP, rekeySpi));
    out.push(
      { type: PayloadType.SA, proposals: [{ ...c.config.espProposals[0]!, num: 1, spi: Buffer.from('c0ffee01', 'hex') }] },
      { type: PayloadType.NONCE, data: Buffer.alloc(32, 3) },
    );
    if (ke) out.push({ type: PayloadType.KE, group: 14, data: ke });
    out.push({ type: PayloadType.TSi, selectors: c.localTs }, { type: PayloadType.TSr, selectors: c.remoteTs });
    return out;
  }

  test.each([
    ['10 bytes', Buffer.alloc(10, 1)],
    ['p-1', modpMinusOne],
  ])('CREATE_CHILD_SA with a KE of %s: INVALID_SYNTAX, message ID used, IKE_SA kept', (_name, ke) => {
    const p = use(pfs);
    p.establish();
    const a = p.a.sa();
    const b = p.b.sa();
    const mid = b.manager.peerMid;
    toB(p, protect(a, ExchangeType.CREATE_CHILD_SA, mid, false, childPayloads(p, ke)));
    expect(p.b.sink.has(`generating CREATE_CHILD_SA response ${mid} [ N(INVAL_SYN) ]`)).toBe(true);
    expect(p.b.sink.has(/applying DH public value failed/)).toBe(true);
    // a CHILD_SA rekey with the same bad KE
    toB(p, protect(a, ExchangeType.CREATE_CHILD_SA, mid + 1, false, childPayloads(p, ke, a.children[0]!.spiIn)));
    expect(p.b.sink.has(`generating CREATE_CHILD_SA response ${mid + 1} [ N(INVAL_SYN) ]`)).toBe(true);
    // an IKE_SA rekey with it
    const ikeProposal = { ...a.config.proposals[0]!, num: 1, spi: Buffer.from('0102030405060708', 'hex') };
    toB(
      p,
      protect(a, ExchangeType.CREATE_CHILD_SA, mid + 2, false, [
        { type: PayloadType.SA, proposals: [ikeProposal] },
        { type: PayloadType.NONCE, data: Buffer.alloc(32, 4) },
        { type: PayloadType.KE, group: 14, data: ke },
      ]),
    );
    expect(p.b.sink.has(`generating CREATE_CHILD_SA response ${mid + 2} [ N(INVAL_SYN) ]`)).toBe(true);
    expect(b.manager.peerMid).toBe(mid + 3);
    expect(p.b.sas()).toHaveLength(1);
    expect(p.b.children()).toHaveLength(1);
    expect(b.counters.handlerErrors).toBe(0);
    // not wedged: the next request is answered
    toB(p, protect(a, ExchangeType.INFORMATIONAL, mid + 3, false, []));
    expect(p.b.sink.has(`generating INFORMATIONAL response ${mid + 3} [ ]`)).toBe(true);
  });

  test('daemon.max_child_sas caps CHILD_SAs per IKE_SA: the next CREATE_CHILD_SA gets NO_ADDITIONAL_SAS', () => {
    const p = use({ b: { extraDaemon: '  max_child_sas: 2\n' } });
    p.establish();
    const a = p.a.sa();
    const b = p.b.sa();
    const mid = b.manager.peerMid;
    toB(p, protect(a, ExchangeType.CREATE_CHILD_SA, mid, false, childPayloads(p, undefined)));
    expect(p.b.children()).toHaveLength(2);
    toB(p, protect(a, ExchangeType.CREATE_CHILD_SA, mid + 1, false, childPayloads(p, undefined)));
    expect(p.b.sink.has(`generating CREATE_CHILD_SA response ${mid + 1} [ N(NO_ADD_SAS) ]`)).toBe(true);
    expect(p.b.children()).toHaveLength(2);
    expect(b.state).toBe('ESTABLISHED');
  });

  test('the message rules apply to every message: 21 notifies (charon allows 20) get INVALID_SYNTAX', () => {
    const p = use();
    p.establish();
    const a = p.a.sa();
    const b = p.b.sa();
    const mid = b.manager.peerMid;
    const many = Array.from({ length: 21 }, () => notify(Notify.INITIAL_CONTACT));
    toB(p, protect(a, ExchangeType.INFORMATIONAL, mid, false, many));
    expect(p.b.sink.has(`generating INFORMATIONAL response ${mid} [ N(INVAL_SYN) ]`)).toBe(true);
    expect(b.manager.peerMid).toBe(mid + 1);
    expect(b.state).toBe('ESTABLISHED');
  });

  test('a CREATE_CHILD_SA request without its mandatory Nonce is answered INVALID_SYNTAX by the rules, before any task', () => {
    const p = use();
    p.establish();
    const a = p.a.sa();
    const b = p.b.sa();
    const mid = b.manager.peerMid;
    toB(
      p,
      protect(
        a,
        ExchangeType.CREATE_CHILD_SA,
        mid,
        false,
        childPayloads(p, undefined).filter((x) => x.type !== PayloadType.NONCE),
      ),
    );
    expect(p.b.sink.has(/CREATE_CHILD_SA request 2 invalid: CREATE_CHILD_SA request: No payload missing/)).toBe(true);
    expect(p.b.sink.has(`generating CREATE_CHILD_SA response ${mid} [ N(INVAL_SYN) ]`)).toBe(true);
    expect(p.b.children()).toHaveLength(1);
  });
});

test('junk with the live SPIs is counted in full but logged only for the first few datagrams', () => {
  const p = use();
  p.establish();
  const b = p.b.sa();
  const lines = p.b.sink.lines().length;
  for (let i = 0; i < 500; i++) toB(p, junkSk(hdr(b.spiI, b.spiR, ExchangeType.INFORMATIONAL, b.manager.peerMid)));
  for (let i = 0; i < 500; i++) toB(p, junkSk(hdr(b.spiI, b.spiR, ExchangeType.INFORMATIONAL, b.manager.peerMid + 7)));
  expect(b.counters.integrityFailures).toBe(500);
  expect(b.counters.invalidMessages).toBe(500);
  const logged = p.b.sink.lines().slice(lines);
  expect(logged.filter((l) => l.includes('integrity check failed'))).toHaveLength(5);
  expect(logged.filter((l) => l.includes('received packet'))).toHaveLength(6); // 5 first + the 1000th
  expect(logged.at(-1)).toMatch(/received message ID 9, expected 2, ignored \(1000 junk messages on this IKE_SA so far\)/);
  expect(b.state).toBe('ESTABLISHED');
});
