// RFC 7296 message rules (src/wire/rules.ts, applied once in TaskManager.open() before any task), one hex frame per
// rule, delivered between two in-process peers (test/helpers/peers.ts): A is the initiator, B the responder.
//
// How the frames are written:
// - Unprotected IKE_SA_INIT frames are literal hex: header and every generic payload header (next payload, length)
//   are written out per frame; payload bodies that several frames share are named hex constants (SA_IKE, KE_31, ...).
//   Each frame is checked to decode to the payload list its test names, so a typo cannot pass as a rule violation.
// - Protected frames: the plaintext of the SK payload (the inner payload chain) is literal hex in the same style, and
//   is sealed as-is with the sending peer's live SK keys (`sealed()`; keys are random per run, so the ciphertext
//   cannot be a literal). Sealing raw bytes rather than re-encoding decoded payloads is what lets a frame carry
//   what our encoder would never produce (an SK payload inside SK, a plain payload before SK).
//
// Expected behaviour (RFC 7296 2.21, charon's message.c rules):
// - a request that authenticated (its ICV checked) gets a protected response carrying only N(INVALID_SYNTAX) and
//   uses up its message ID; no task sees it;
// - an IKE_SA_INIT request (nothing authenticated yet) is dropped unanswered and leaves no IKE_SA behind;
// - an unauthenticated IKE_SA_INIT response is dropped: our request stays in flight;
// - an authenticated response that breaks the rules is ignored like one that does not parse (charon's
//   parse_message): no answer, the IKE_SA stays, our request stays outstanding and the real response still counts.
// Each group also has the complete frame as a control: it gets past the rules (its answer comes from a task).
import { afterEach, describe, expect, test } from 'vitest';
import type { IkeSa } from '../../src/ike/ike-sa.js';
import { headerFor, unprotect } from '../../src/ike/message-protect.js';
import { ExchangeType as X, Notify, PayloadType as P } from '../../src/wire/constants.js';
import { encodeHeader } from '../../src/wire/header.js';
import { decodeMessage, decodePayloads } from '../../src/wire/message.js';
import { payloadName } from '../../src/wire/names.js';
import type { NotifyPayload, Payload } from '../../src/wire/types.js';
import { ADDR, IKE_PORT, is, makePair, type Pair, type PairOptions, type Queued } from '../helpers/peers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});
const use = (o?: PairOptions): Pair => (pair = makePair(o));

const A = { address: ADDR.A, port: IKE_PORT };
const B = { address: ADDR.B, port: IKE_PORT };
const toB = (p: Pair, data: Buffer): void => p.b.daemon.receive(data, B, A);
const toA = (p: Pair, data: Buffer): void => p.a.daemon.receive(data, A, B);

/** Hex with whitespace and `# comments` (to the end of the line) removed. */
function hex(strings: TemplateStringsArray, ...values: string[]): Buffer {
  const text = String.raw({ raw: strings }, ...values);
  const digits = text.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error(`not hex: ${digits}`);
  return Buffer.from(digits, 'hex');
}

const names = (ps: readonly Payload[]): string[] => ps.map((x) => payloadName(x.type));

/** The payload list an unprotected frame decodes to (the frame's self-check). */
function frameTypes(frame: Buffer): string[] {
  const d = decodeMessage(frame);
  if (!d.ok) throw new Error(`frame does not decode: ${d.error.message}`);
  expect(d.value.header.length).toBe(frame.length);
  return names(d.value.payloads);
}

/** The payload list an inner chain decodes to (the chain's self-check). */
function chainTypes(first: number, chain: Buffer): string[] {
  const d = decodePayloads(first, chain);
  if (!d.ok) throw new Error(`inner chain does not decode: ${d.error.message}`);
  return names(d.value);
}

// --- payload bodies shared by the frames (generic payload headers are written per frame) ---------------------------

/** Proposal #1 IKE, no SPI, 4 transforms: ENCR_AES_CBC 256, PRF_HMAC_SHA2_256, AUTH_HMAC_SHA2_256_128, DH 31. */
const SA_IKE = `0000002c 01 01 00 04  0300000c 0100000c 800e0100  03000008 02000005  03000008 0300000c  00000008 0400001f`;
/** DH group 31 (curve25519), the X25519 base point (u = 9) as the public value. */
const KE_31 = `001f 0000  0900000000000000 0000000000000000 0000000000000000 0000000000000000`;
/** 32 bytes of nonce data: 00 01 .. 1f. */
const NONCE = `0001020304050607 08090a0b0c0d0e0f 1011121314151617 18191a1b1c1d1e1f`;
/** Proposal #1 ESP, SPI c0ffee01, 2 transforms: ENCR_AES_GCM_16 256, no ESN (the pair's aes256gcm16). */
const SA_ESP = `00000020 01 03 04 02 c0ffee01  0300000c 01000014 800e0100  00000008 05000000`;
/** One selector: IPv4 range, any protocol, ports 0-65535, 10.201.0.0 - 10.201.0.255 (A's side). */
const TS_A = `01 000000  07 00 0010 0000 ffff 0ac90000 0ac900ff`;
/** The same for 10.202.0.0/24 (B's side). */
const TS_B = `01 000000  07 00 0010 0000 ffff 0aca0000 0aca00ff`;
/** ID_IPV4_ADDR 127.0.0.1 / 127.0.0.2. */
const ID_A = `01 000000 7f000001`;
const ID_B = `01 000000 7f000002`;
/** Shared Key Message Integrity Code with a made-up 32-byte value (the rules never look at it). */
const AUTH_PSK = `02 000000 aaaaaaaaaaaaaaaa aaaaaaaaaaaaaaaa aaaaaaaaaaaaaaaa aaaaaaaaaaaaaaaa`;
/** Notify: no protocol, no SPI, INITIAL_CONTACT (16384). */
const N_IC = `00 00 4000`;
/** Delete: ESP, SPI size 4, one SPI deadbeef. */
const D_ESP = `03 04 0001 deadbeef`;
/** Vendor ID "ikelab". */
const V_IKELAB = `696b656c6162`;
/** 16 bytes standing in for an SK/SKF body (never decrypted: no keys exist in IKE_SA_INIT). */
const OPAQUE = `5a5a5a5a5a5a5a5a 5a5a5a5a5a5a5a5a`;

/**
 * A protected message from `from`'s side of its IKE_SA: header, the optional plain payloads `outer` (their last
 * Next Payload must be SK, 2e), the SK generic header naming `first`, and the SK body sealed over `chain` exactly as
 * written (RFC 7296 3.14: the ICV covers everything before it).
 */
function sealed(
  from: IkeSa,
  exchange: number,
  messageId: number,
  response: boolean,
  first: number,
  chain: Buffer,
  outer?: { first: number; bytes: Buffer },
): Buffer {
  const sk = from.skOut!;
  const bodyLength = sk.bodyLength(chain.length);
  const plain = outer?.bytes ?? Buffer.alloc(0);
  const header = encodeHeader({
    ...headerFor(from, exchange, messageId, response),
    nextPayload: outer ? outer.first : P.SK,
    length: 28 + plain.length + 4 + bodyLength,
  });
  const skHeader = Buffer.from([first, 0, (4 + bodyLength) >> 8, (4 + bodyLength) & 0xff]);
  const prefix = Buffer.concat([header, plain, skHeader]);
  return Buffer.concat([prefix, sk.seal(chain, prefix)]);
}

/** What `by` reads in a protected datagram its peer sent: header, outer payload names, inner payloads. */
function opened(by: IkeSa, q: Queued) {
  const d = decodeMessage(q.data);
  if (!d.ok) throw d.error;
  const r = unprotect(by, d.value, q.data);
  if (!r.ok) throw new Error(`cannot open: ${r.detail}`);
  return { header: d.value.header, outer: names(d.value.payloads), inner: r.inner ?? [] };
}

/** Datagrams `who` sent since `n` had been sent in total. */
const sentBy = (p: Pair, who: 'A' | 'B', n: number): Queued[] => p.sent.slice(n).filter(is.from(who));

/**
 * B answered the request with message ID `mid` of `exchange` with one protected datagram whose SK payload carries
 * N(INVALID_SYNTAX) only, and the message ID is used up.
 */
function expectInvalidSyntax(p: Pair, n: number, exchange: number, mid: number): void {
  const out = sentBy(p, 'B', n);
  expect(out).toHaveLength(1);
  const { header, outer, inner } = opened(p.a.sa(), out[0]!);
  expect({ exchange: header.exchange, mid: header.messageId, response: header.response }).toEqual({ exchange, mid, response: true });
  expect(outer).toEqual(['E']); // SK alone: the answer is protected
  expect(inner).toHaveLength(1);
  expect((inner[0] as NotifyPayload).notifyType).toBe(Notify.INVALID_SYNTAX);
  expect(p.b.sa().manager.peerMid).toBe(mid + 1);
}

// ====================================================================================================================

describe('IKE_SA_INIT request (unauthenticated): dropped unanswered, no IKE_SA kept', () => {
  const curve = { a: { proposals: ['aes256-sha256-curve25519'] }, b: { proposals: ['aes256-sha256-curve25519'] } };

  /** B got `frame` as a brand-new IKE_SA_INIT: it sent nothing and keeps nothing, not even a half-open IKE_SA. */
  function expectDropped(frame: Buffer, why: RegExp): void {
    const p = use(curve);
    toB(p, frame);
    expect(p.sent).toHaveLength(0);
    expect(p.b.daemon.ops.listSas()).toEqual([]);
    expect(p.b.daemon.ops.stats().halfOpen).toBe(0);
    expect(p.b.daemon.table.size).toBe(0);
    expect(p.b.sink.has(why)).toBe(true);
  }

  test('control: the complete frame (SA, KE, Nonce) is answered with SA, KE, Nonce', () => {
    const frame = hex`
      a1a2a3a4a5a6a7a8 0000000000000000 21 20 22 08 00000000 00000098   # SPIi SPIr next=SA v2.0 IKE_SA_INIT I mid=0 len=152
      22 00 0030 ${SA_IKE}                                                # SA -> KE
      28 00 0028 ${KE_31}                                                 # KE -> No
      00 00 0024 ${NONCE}                                                 # No
    `;
    expect(frameTypes(frame)).toEqual(['SA', 'KE', 'No']);
    const p = use(curve);
    toB(p, frame);
    expect(p.sent).toHaveLength(1);
    const r = decodeMessage(p.sent[0]!.data);
    if (!r.ok) throw r.error;
    expect(names(r.value.payloads).filter((x) => x !== 'N')).toEqual(['SA', 'KE', 'No']);
    expect(p.b.daemon.ops.listSas()).toHaveLength(1);
  });

  test('SA payload missing', () => {
    const frame = hex`
      a1a2a3a4a5a6a7a8 0000000000000000 22 20 22 08 00000000 00000068   # next=KE len=104
      28 00 0028 ${KE_31}                                                 # KE -> No
      00 00 0024 ${NONCE}                                                 # No
    `;
    expect(frameTypes(frame)).toEqual(['KE', 'No']);
    expectDropped(frame, /IKE_SA_INIT request 0 invalid: IKE_SA_INIT request: SA payload missing/);
  });

  test('KE payload missing', () => {
    const frame = hex`
      a1a2a3a4a5a6a7a8 0000000000000000 21 20 22 08 00000000 00000070   # next=SA len=112
      28 00 0030 ${SA_IKE}                                                # SA -> No
      00 00 0024 ${NONCE}                                                 # No
    `;
    expect(frameTypes(frame)).toEqual(['SA', 'No']);
    expectDropped(frame, /IKE_SA_INIT request 0 invalid: IKE_SA_INIT request: KE payload missing/);
  });

  test('Nonce payload missing', () => {
    const frame = hex`
      a1a2a3a4a5a6a7a8 0000000000000000 21 20 22 08 00000000 00000074   # next=SA len=116
      22 00 0030 ${SA_IKE}                                                # SA -> KE
      00 00 0028 ${KE_31}                                                 # KE
    `;
    expect(frameTypes(frame)).toEqual(['SA', 'KE']);
    expectDropped(frame, /IKE_SA_INIT request 0 invalid: IKE_SA_INIT request: No payload missing/);
  });

  test('SA payload twice', () => {
    const frame = hex`
      a1a2a3a4a5a6a7a8 0000000000000000 21 20 22 08 00000000 000000c8   # next=SA len=200
      21 00 0030 ${SA_IKE}                                                # SA -> SA
      22 00 0030 ${SA_IKE}                                                # SA -> KE
      28 00 0028 ${KE_31}                                                 # KE -> No
      00 00 0024 ${NONCE}                                                 # No
    `;
    expect(frameTypes(frame)).toEqual(['SA', 'SA', 'KE', 'No']);
    expectDropped(frame, /IKE_SA_INIT request 0 invalid: IKE_SA_INIT request: 2 SA payloads, at most 1/);
  });

  test('KE payload twice', () => {
    const frame = hex`
      a1a2a3a4a5a6a7a8 0000000000000000 21 20 22 08 00000000 000000c0   # next=SA len=192
      22 00 0030 ${SA_IKE}                                                # SA -> KE
      22 00 0028 ${KE_31}                                                 # KE -> KE
      28 00 0028 ${KE_31}                                                 # KE -> No
      00 00 0024 ${NONCE}                                                 # No
    `;
    expect(frameTypes(frame)).toEqual(['SA', 'KE', 'KE', 'No']);
    expectDropped(frame, /IKE_SA_INIT request 0 invalid: IKE_SA_INIT request: 2 KE payloads, at most 1/);
  });

  test('Nonce payload twice', () => {
    const frame = hex`
      a1a2a3a4a5a6a7a8 0000000000000000 21 20 22 08 00000000 000000bc   # next=SA len=188
      22 00 0030 ${SA_IKE}                                                # SA -> KE
      28 00 0028 ${KE_31}                                                 # KE -> No
      28 00 0024 ${NONCE}                                                 # No -> No
      00 00 0024 ${NONCE}                                                 # No
    `;
    expect(frameTypes(frame)).toEqual(['SA', 'KE', 'No', 'No']);
    expectDropped(frame, /IKE_SA_INIT request 0 invalid: IKE_SA_INIT request: 2 No payloads, at most 1/);
  });

  test('an encrypted fragment (SKF) in IKE_SA_INIT', () => {
    const frame = hex`
      a1a2a3a4a5a6a7a8 0000000000000000 21 20 22 08 00000000 000000b0   # next=SA len=176
      22 00 0030 ${SA_IKE}                                                # SA -> KE
      28 00 0028 ${KE_31}                                                 # KE -> No
      35 00 0024 ${NONCE}                                                 # No -> SKF
      29 00 0018 0001 0001 ${OPAQUE}                                      # SKF (first inner: N) fragment 1 of 1
    `;
    expect(frameTypes(frame)).toEqual(['SA', 'KE', 'No', 'EF']);
    expectDropped(frame, /IKE_SA_INIT request 0 invalid: IKE_SA_INIT request: unexpected encrypted payload/);
  });

  test('an encrypted payload (SK) in IKE_SA_INIT', () => {
    // Same outcome, reached one step before the rules: unprotect() finds an SK payload and no keys yet, so rules.ts's
    // "unexpected encrypted payload" (seen with SKF above) is not what ends it.
    const frame = hex`
      a1a2a3a4a5a6a7a8 0000000000000000 21 20 22 08 00000000 000000ac   # next=SA len=172
      22 00 0030 ${SA_IKE}                                                # SA -> KE
      28 00 0028 ${KE_31}                                                 # KE -> No
      2e 00 0024 ${NONCE}                                                 # No -> SK
      29 00 0014 ${OPAQUE}                                                # SK (first inner: N)
    `;
    expect(frameTypes(frame)).toEqual(['SA', 'KE', 'No', 'E']);
    expectDropped(frame, /could not parse IKE_SA_INIT request 0: SK payload before keys are established/);
  });
});

// ====================================================================================================================

describe('IKE_SA_INIT response (unauthenticated): dropped, our request stays in flight', () => {
  test('KE payload missing: ignored; the real response still establishes the IKE_SA', () => {
    const p = use();
    const a = p.initiate(); // A's IKE_SA_INIT request waits in the queue
    const frame = hex`
      ${a.spiI.toString('hex')} b1b2b3b4b5b6b7b8 21 20 22 20 00000000 00000070   # SPIi (A's) SPIr next=SA R mid=0 len=112
      28 00 0030 ${SA_IKE}                                                          # SA -> No
      00 00 0024 ${NONCE}                                                           # No
    `;
    expect(frameTypes(frame)).toEqual(['SA', 'No']);
    const n = p.sent.length;
    toA(p, frame);
    expect(p.a.sink.has(/IKE_SA_INIT response 0 invalid: IKE_SA_INIT response: KE payload missing/)).toBe(true);
    expect(sentBy(p, 'A', n)).toHaveLength(0);
    expect(a.manager.busy).toBe(true);
    expect(a.spiR.equals(Buffer.alloc(8))).toBe(true);
    p.deliverAll();
    expect(p.a.sa().state).toBe('ESTABLISHED');
    expect(p.b.sa().state).toBe('ESTABLISHED');
  });
});

// ====================================================================================================================

describe('IKE_AUTH request (authenticated by SK): protected N(INVALID_SYNTAX), message ID used up', () => {
  /** IKE_SA_INIT done, A's IKE_AUTH request held back: B waits for IKE_AUTH request 1. */
  function afterInit(): Pair {
    const p = use();
    p.initiate();
    p.deliverNext(); // IKE_SA_INIT request -> B
    p.deliverNext(); // IKE_SA_INIT response -> A, which sends IKE_AUTH
    expect(p.hold(is.all(is.requestFrom('A'), is.exchange('IKE_AUTH')))).toHaveLength(1);
    expect(p.b.sa().state).toBe('CONNECTING');
    return p;
  }

  function expectRule(chain: Buffer, types: string[], why: RegExp): void {
    expect(chainTypes(P.IDi, chain)).toEqual(types);
    const p = afterInit();
    const n = p.sent.length;
    toB(p, sealed(p.a.sa(), X.IKE_AUTH, 1, false, P.IDi, chain));
    expect(p.b.sink.has(why)).toBe(true);
    expectInvalidSyntax(p, n, X.IKE_AUTH, 1);
    expect(p.b.sa().state).toBe('CONNECTING'); // no task ran: nothing authenticated, nothing installed
    expect(p.b.children()).toHaveLength(0);
  }

  test('control: the complete frame passes the rules; the task answers AUTHENTICATION_FAILED (made-up AUTH)', () => {
    const chain = hex`
      27 00 000c ${ID_A}       # IDi -> AUTH
      21 00 0028 ${AUTH_PSK}   # AUTH -> SA
      2c 00 0024 ${SA_ESP}     # SA -> TSi
      2d 00 0018 ${TS_A}       # TSi -> TSr
      00 00 0018 ${TS_B}       # TSr
    `;
    expect(chainTypes(P.IDi, chain)).toEqual(['IDi', 'AUTH', 'SA', 'TSi', 'TSr']);
    const p = afterInit();
    const n = p.sent.length;
    toB(p, sealed(p.a.sa(), X.IKE_AUTH, 1, false, P.IDi, chain));
    const out = sentBy(p, 'B', n);
    expect(out).toHaveLength(1);
    const { inner } = opened(p.a.sa(), out[0]!);
    expect(inner.map((x) => (x as NotifyPayload).notifyType)).toEqual([Notify.AUTHENTICATION_FAILED]);
  });

  test('AUTH payload twice', () => {
    const chain = hex`
      27 00 000c ${ID_A}       # IDi -> AUTH
      27 00 0028 ${AUTH_PSK}   # AUTH -> AUTH
      21 00 0028 ${AUTH_PSK}   # AUTH -> SA
      2c 00 0024 ${SA_ESP}     # SA -> TSi
      2d 00 0018 ${TS_A}       # TSi -> TSr
      00 00 0018 ${TS_B}       # TSr
    `;
    expectRule(
      chain,
      ['IDi', 'AUTH', 'AUTH', 'SA', 'TSi', 'TSr'],
      /IKE_AUTH request 1 invalid: IKE_AUTH request: 2 AUTH payloads, at most 1/,
    );
  });

  test('IDi payload twice', () => {
    const chain = hex`
      23 00 000c ${ID_A}       # IDi -> IDi
      27 00 000c ${ID_A}       # IDi -> AUTH
      21 00 0028 ${AUTH_PSK}   # AUTH -> SA
      2c 00 0024 ${SA_ESP}     # SA -> TSi
      2d 00 0018 ${TS_A}       # TSi -> TSr
      00 00 0018 ${TS_B}       # TSr
    `;
    expectRule(
      chain,
      ['IDi', 'IDi', 'AUTH', 'SA', 'TSi', 'TSr'],
      /IKE_AUTH request 1 invalid: IKE_AUTH request: 2 IDi payloads, at most 1/,
    );
  });

  test('SA payload twice', () => {
    const chain = hex`
      27 00 000c ${ID_A}       # IDi -> AUTH
      21 00 0028 ${AUTH_PSK}   # AUTH -> SA
      21 00 0024 ${SA_ESP}     # SA -> SA
      2c 00 0024 ${SA_ESP}     # SA -> TSi
      2d 00 0018 ${TS_A}       # TSi -> TSr
      00 00 0018 ${TS_B}       # TSr
    `;
    expectRule(chain, ['IDi', 'AUTH', 'SA', 'SA', 'TSi', 'TSr'], /IKE_AUTH request 1 invalid: IKE_AUTH request: 2 SA payloads, at most 1/);
  });

  test('TSi payload twice', () => {
    const chain = hex`
      27 00 000c ${ID_A}       # IDi -> AUTH
      21 00 0028 ${AUTH_PSK}   # AUTH -> SA
      2c 00 0024 ${SA_ESP}     # SA -> TSi
      2c 00 0018 ${TS_A}       # TSi -> TSi
      2d 00 0018 ${TS_A}       # TSi -> TSr
      00 00 0018 ${TS_B}       # TSr
    `;
    expectRule(
      chain,
      ['IDi', 'AUTH', 'SA', 'TSi', 'TSi', 'TSr'],
      /IKE_AUTH request 1 invalid: IKE_AUTH request: 2 TSi payloads, at most 1/,
    );
  });
});

// ====================================================================================================================

describe('CREATE_CHILD_SA request: protected N(INVALID_SYNTAX), message ID used up, IKE_SA kept', () => {
  function expectRule(first: number, chain: Buffer, types: string[], why: RegExp): void {
    expect(chainTypes(first, chain)).toEqual(types);
    const p = use();
    p.establish();
    const mid = p.b.sa().manager.peerMid;
    const n = p.sent.length;
    toB(p, sealed(p.a.sa(), X.CREATE_CHILD_SA, mid, false, first, chain));
    expect(p.b.sink.has(why)).toBe(true);
    expectInvalidSyntax(p, n, X.CREATE_CHILD_SA, mid);
    expect(p.b.sa().state).toBe('ESTABLISHED');
    expect(p.b.children()).toHaveLength(1);
  }

  test('control: the complete frame (SA, Nonce, TSi, TSr) creates a second CHILD_SA', () => {
    const chain = hex`
      28 00 0024 ${SA_ESP}     # SA -> No
      2c 00 0024 ${NONCE}      # No -> TSi
      2d 00 0018 ${TS_A}       # TSi -> TSr
      00 00 0018 ${TS_B}       # TSr
    `;
    expect(chainTypes(P.SA, chain)).toEqual(['SA', 'No', 'TSi', 'TSr']);
    const p = use();
    p.establish();
    const mid = p.b.sa().manager.peerMid;
    toB(p, sealed(p.a.sa(), X.CREATE_CHILD_SA, mid, false, P.SA, chain));
    expect(p.b.sink.has(`generating CREATE_CHILD_SA response ${mid} [ SA No TSi TSr ]`)).toBe(true);
    expect(p.b.children()).toHaveLength(2);
  });

  test('SA payload missing', () => {
    const chain = hex`
      2c 00 0024 ${NONCE}      # No -> TSi
      2d 00 0018 ${TS_A}       # TSi -> TSr
      00 00 0018 ${TS_B}       # TSr
    `;
    expectRule(P.NONCE, chain, ['No', 'TSi', 'TSr'], /CREATE_CHILD_SA request 2 invalid: CREATE_CHILD_SA request: SA payload missing/);
  });

  test('Nonce payload missing', () => {
    const chain = hex`
      2c 00 0024 ${SA_ESP}     # SA -> TSi
      2d 00 0018 ${TS_A}       # TSi -> TSr
      00 00 0018 ${TS_B}       # TSr
    `;
    expectRule(P.SA, chain, ['SA', 'TSi', 'TSr'], /CREATE_CHILD_SA request 2 invalid: CREATE_CHILD_SA request: No payload missing/);
  });

  test('KE payload twice', () => {
    const chain = hex`
      28 00 0024 ${SA_ESP}     # SA -> No
      22 00 0024 ${NONCE}      # No -> KE
      22 00 0028 ${KE_31}      # KE -> KE
      2c 00 0028 ${KE_31}      # KE -> TSi
      2d 00 0018 ${TS_A}       # TSi -> TSr
      00 00 0018 ${TS_B}       # TSr
    `;
    expectRule(
      P.SA,
      chain,
      ['SA', 'No', 'KE', 'KE', 'TSi', 'TSr'],
      /CREATE_CHILD_SA request 2 invalid: CREATE_CHILD_SA request: 2 KE payloads, at most 1/,
    );
  });
});

// ====================================================================================================================

describe('INFORMATIONAL request: protected N(INVALID_SYNTAX), message ID used up, IKE_SA kept', () => {
  function send(first: number, chain: Buffer, outer?: { first: number; bytes: Buffer }) {
    const p = use();
    p.establish();
    const mid = p.b.sa().manager.peerMid;
    const n = p.sent.length;
    const frame = sealed(p.a.sa(), X.INFORMATIONAL, mid, false, first, chain, outer);
    toB(p, frame);
    return { p, mid, n, frame };
  }

  function expectRule(first: number, chain: Buffer, why: RegExp, outer?: { first: number; bytes: Buffer }) {
    const r = send(first, chain, outer);
    expect(r.p.b.sink.has(why)).toBe(true);
    expectInvalidSyntax(r.p, r.n, X.INFORMATIONAL, r.mid);
    expect(r.p.b.sa().state).toBe('ESTABLISHED');
    expect(r.p.b.children()).toHaveLength(1);
    return r;
  }

  test('control: 20 notifies are accepted (an empty answer, as to any status-only INFORMATIONAL)', () => {
    const chain = hex`${'29 00 0008 00004000 '.repeat(19)} 00 00 0008 ${N_IC}   # 20 x N(INITIAL_CONTACT)`;
    expect(chainTypes(P.NOTIFY, chain)).toEqual(Array(20).fill('N'));
    const { p, mid } = send(P.NOTIFY, chain);
    expect(p.b.sink.has(`generating INFORMATIONAL response ${mid} [ ]`)).toBe(true);
  });

  test('more than 20 notifies; a retransmit of the frame gets the cached answer', () => {
    const chain = hex`${'29 00 0008 00004000 '.repeat(20)} 00 00 0008 ${N_IC}   # 21 x N(INITIAL_CONTACT)`;
    expect(chainTypes(P.NOTIFY, chain)).toEqual(Array(21).fill('N'));
    const { p, n, frame } = expectRule(
      P.NOTIFY,
      chain,
      /INFORMATIONAL request 2 invalid: INFORMATIONAL request: 21 N payloads, at most 20/,
    );
    const answer = sentBy(p, 'B', n)[0]!;
    toB(p, frame); // the same bytes again: a retransmit of a request whose message ID is used up
    const again = sentBy(p, 'B', n);
    expect(again).toHaveLength(2);
    expect(again[1]!.data.equals(answer.data)).toBe(true);
    expect(p.b.sa().counters.responsesRetransmitted).toBe(1);
  });

  test('control: 20 deletes (of an SPI B does not know: "CHILD_SA not found, ignored") are accepted', () => {
    const chain = hex`${'2a 00 000c 03040001deadbeef '.repeat(19)} 00 00 000c ${D_ESP}   # 20 x D(ESP deadbeef)`;
    expect(chainTypes(P.DELETE, chain)).toEqual(Array(20).fill('D'));
    const { p, mid } = send(P.DELETE, chain);
    expect(p.b.sink.has(`generating INFORMATIONAL response ${mid} [ ]`)).toBe(true);
    expect(p.b.children()).toHaveLength(1);
  });

  test('more than 20 deletes', () => {
    const chain = hex`${'2a 00 000c 03040001deadbeef '.repeat(20)} 00 00 000c ${D_ESP}   # 21 x D(ESP deadbeef)`;
    expect(chainTypes(P.DELETE, chain)).toEqual(Array(21).fill('D'));
    expectRule(P.DELETE, chain, /INFORMATIONAL request 2 invalid: INFORMATIONAL request: 21 D payloads, at most 20/);
  });

  test('control: 20 vendor IDs are accepted', () => {
    const chain = hex`${'2b 00 000a 696b656c6162 '.repeat(19)} 00 00 000a ${V_IKELAB}   # 20 x V("ikelab")`;
    expect(chainTypes(P.VENDOR, chain)).toEqual(Array(20).fill('V'));
    const { p, mid } = send(P.VENDOR, chain);
    expect(p.b.sink.has(`generating INFORMATIONAL response ${mid} [ ]`)).toBe(true);
  });

  test('more than 20 vendor IDs', () => {
    const chain = hex`${'2b 00 000a 696b656c6162 '.repeat(20)} 00 00 000a ${V_IKELAB}   # 21 x V("ikelab")`;
    expect(chainTypes(P.VENDOR, chain)).toEqual(Array(21).fill('V'));
    expectRule(P.VENDOR, chain, /INFORMATIONAL request 2 invalid: INFORMATIONAL request: 21 V payloads, at most 20/);
  });

  test('a plain payload outside SK (covered by the ICV, not encrypted)', () => {
    const outer = hex`2e 00 0008 ${N_IC}   # N(INITIAL_CONTACT) -> SK, before the SK payload`;
    const chain = hex``; // the SK payload carries nothing
    expectRule(P.NONE, chain, /INFORMATIONAL request 2 invalid: INFORMATIONAL request: N payload was not encrypted/, {
      first: P.NOTIFY,
      bytes: outer,
    });
  });

  test('an SK payload inside the SK payload', () => {
    const chain = hex`00 00 0014 ${OPAQUE}   # SK (first inner: none), inside SK`;
    // Refused one step before the rules: the decoder never lets an inner chain hold SK/SKF (decodePayloads), so the
    // answer comes from the parse-error path (errorNotify: INVALID_SYNTAX) and rules.ts's own nested-SK check is a
    // second line the manager does not reach. The behaviour is the rule's all the same.
    const d = decodePayloads(P.SK, chain);
    expect(d.ok).toBe(false);
    expectRule(P.SK, chain, /could not parse INFORMATIONAL request 2: payload 46 inside an encrypted payload/);
  });
});

// ====================================================================================================================

describe('authenticated responses that break the rules are ignored; the request stays outstanding', () => {
  let held: Queued | undefined;
  /** A's request of `exchange` is in flight (held back); returns its message ID. */
  function inFlight(p: Pair, exchange: string): number {
    const [req] = p.hold(is.all(is.requestFrom('A'), is.exchange(exchange)));
    expect(req).toBeDefined();
    held = req;
    return req!.header.messageId;
  }

  function expectFailed(p: Pair, n: number, why: RegExp): void {
    expect(p.a.sink.has(why)).toBe(true);
    expect(sentBy(p, 'A', n)).toHaveLength(0); // no answer to a response
    expect(p.a.sas()).toHaveLength(1);
    expect(p.a.sa().manager.busy).toBe(true);
    // the real exchange still completes: B answers the held request and A accepts that answer
    p.inject(held!);
    p.deliverAll();
    expect(p.a.sa().manager.busy).toBe(false);
    expect(p.a.sa().state).toBe('ESTABLISHED');
  }

  test('IKE_AUTH response with AUTH twice', () => {
    const p = use();
    p.initiate();
    p.deliverNext();
    p.deliverNext();
    const mid = inFlight(p, 'IKE_AUTH');
    const chain = hex`
      27 00 000c ${ID_B}       # IDr -> AUTH
      27 00 0028 ${AUTH_PSK}   # AUTH -> AUTH
      21 00 0028 ${AUTH_PSK}   # AUTH -> SA
      2c 00 0024 ${SA_ESP}     # SA -> TSi
      2d 00 0018 ${TS_A}       # TSi -> TSr
      00 00 0018 ${TS_B}       # TSr
    `;
    expect(chainTypes(P.IDr, chain)).toEqual(['IDr', 'AUTH', 'AUTH', 'SA', 'TSi', 'TSr']);
    const n = p.sent.length;
    toA(p, sealed(p.b.sa(), X.IKE_AUTH, mid, true, P.IDr, chain));
    expectFailed(p, n, /IKE_AUTH response 1 invalid: IKE_AUTH response: 2 AUTH payloads, at most 1/);
  });

  test('CREATE_CHILD_SA response without Nonce', () => {
    const p = use();
    p.establish();
    p.a.daemon.ops.rekey(undefined, 'net');
    const mid = inFlight(p, 'CREATE_CHILD_SA');
    const chain = hex`
      2c 00 0024 ${SA_ESP}     # SA -> TSi
      2d 00 0018 ${TS_A}       # TSi -> TSr
      00 00 0018 ${TS_B}       # TSr
    `;
    expect(chainTypes(P.SA, chain)).toEqual(['SA', 'TSi', 'TSr']);
    const n = p.sent.length;
    toA(p, sealed(p.b.sa(), X.CREATE_CHILD_SA, mid, true, P.SA, chain));
    expectFailed(p, n, /CREATE_CHILD_SA response 2 invalid: CREATE_CHILD_SA response: No payload missing/);
  });

  test('INFORMATIONAL response with more than 20 notifies', () => {
    const p = use();
    p.establish();
    p.a.sa().manager.start({ kind: 'IKE_DPD' });
    const mid = inFlight(p, 'INFORMATIONAL');
    const chain = hex`${'29 00 0008 00004000 '.repeat(20)} 00 00 0008 ${N_IC}   # 21 x N(INITIAL_CONTACT)`;
    const n = p.sent.length;
    toA(p, sealed(p.b.sa(), X.INFORMATIONAL, mid, true, P.NOTIFY, chain));
    expectFailed(p, n, /INFORMATIONAL response 2 invalid: INFORMATIONAL response: 21 N payloads, at most 20/);
  });
});
