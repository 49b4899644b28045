// The inbound gate of one IKE_SA on its own (src/ike/inbound-gate.ts), with a fake IKE_SA: a message that is not
// authenticated touches nothing (the peer is neither noted alive nor followed, nothing is answered), an authenticated
// request that breaks the payload rules is answered and a broken response is not, and the request's description for
// the response cache is the parsed one only while that message is being handled.
import { describe, expect, test } from 'vitest';
import type { IkeSa } from '../../src/ike/ike-sa.js';
import { InboundGate } from '../../src/ike/inbound-gate.js';
import type { UnprotectResult } from '../../src/ike/message-protect.js';
import { ReceivedLines } from '../../src/ike/packet-log.js';
import type { Endpoint } from '../../src/net/endpoint.js';
import { ExchangeType as X, Notify, PayloadType as P } from '../../src/wire/constants.js';
import { WireError } from '../../src/wire/errors.js';
import type { IkeMessage, Payload } from '../../src/wire/types.js';

const HOME: Endpoint = { address: '192.0.2.1', port: 500 };
const PEER: Endpoint = { address: '198.51.100.2', port: 500 };
/** The peer behind a NAT that just changed its mapping. */
const MOVED: Endpoint = { address: '198.51.100.2', port: 4500 };

const sk = { type: P.SK, innerNext: 0, body: Buffer.alloc(16) } as Payload;
const nonce = { type: P.NONCE, data: Buffer.alloc(32) } as Payload;

function message(exchange: number, response: boolean, payloads: Payload[], messageId = 3): IkeMessage {
  const header = {
    spiI: Buffer.alloc(8, 1),
    spiR: Buffer.alloc(8, 2),
    nextPayload: payloads[0]?.type ?? 0,
    majorVersion: 2,
    minorVersion: 0,
    exchange,
    // the peer is the original initiator of this IKE_SA: its requests and responses alike carry the I flag
    initiator: true,
    response,
    version: false,
    messageId,
    length: 0,
  };
  return { header, payloads };
}

/** The result of decrypting m's SK payload, as the receive fault point would hand it over. */
const authenticated = (m: IkeMessage, inner: Payload[]): UnprotectResult => ({
  ok: true,
  msg: { exchange: m.header.exchange, messageId: m.header.messageId, isResponse: m.header.response, raw: Buffer.alloc(0), payloads: inner },
  inner,
});

function setup(decrypted?: (m: IkeMessage) => UnprotectResult) {
  const calls = { noteInbound: 0, followPeer: [] as Endpoint[][], answered: [] as number[], lines: [] as string[] };
  const counters = { integrityFailures: 0, invalidMessages: 0, dropped: 0 };
  const sa = {
    initiator: false,
    state: 'ESTABLISHED',
    keys: {},
    local: HOME,
    remote: PEER,
    counters,
    log: {
      enc: (_: number, t: string | (() => string)) => calls.lines.push(typeof t === 'string' ? t : t()),
      event: (_g: string, _l: number, t: string | (() => string)) => calls.lines.push(typeof t === 'string' ? t : t()),
      eventWanted: () => false,
    },
    noteInbound: () => calls.noteInbound++,
    followPeer: (local: Endpoint, remote: Endpoint) => calls.followPeer.push([local, remote]),
  } as unknown as IkeSa;
  const lines = new ReceivedLines({ log: (_g, _l, t) => calls.lines.push(t) });
  let current: IkeMessage | undefined;
  const gate = new InboundGate(
    sa,
    lines,
    () => (current && decrypted ? decrypted(current) : undefined),
    (_m, _raw, notifyType) => calls.answered.push(notifyType),
  );
  const open = (m: IkeMessage, remote = PEER) => ((current = m), gate.open(m, Buffer.alloc(64), HOME, remote));
  return { gate, open, calls, counters };
}

describe('InboundGate.open', () => {
  test('a message failing its ICV changes nothing: the peer is not followed, noted alive or answered', () => {
    const { gate, open, calls, counters } = setup(() => ({ ok: false, reason: 'INTEGRITY', detail: 'ICV mismatch' }));
    const m = message(X.INFORMATIONAL, false, [sk]);
    expect(open(m, MOVED)).toBeUndefined();
    expect(calls.followPeer).toEqual([]);
    expect(calls.noteInbound).toBe(0);
    expect(calls.answered).toEqual([]);
    expect(counters.integrityFailures).toBe(1);
    expect(calls.lines).toContain('integrity check failed');
    // described by its outer payloads only: nothing of it was parsed
    expect(gate.requestDesc(m).payloads).toEqual(['E']);
  });

  test('an authenticated message from a new address: the peer is noted alive and followed (RFC 7296 2.23)', () => {
    const { open, calls } = setup((m) => authenticated(m, []));
    const m = message(X.INFORMATIONAL, false, [sk]);
    expect(open(m, MOVED)?.payloads).toEqual([]);
    expect(calls.noteInbound).toBe(1);
    expect(calls.followPeer).toEqual([[HOME, MOVED]]);
    // and from the address we already know, nothing to follow
    open(message(X.INFORMATIONAL, false, [sk], 4), PEER);
    expect(calls.followPeer).toHaveLength(1);
  });

  test('an authenticated request breaking the payload rules is answered INVALID_SYNTAX; a broken response is not', () => {
    // an SK payload inside the SK payload (RFC 7296 3.14): no rule allows it
    const { open, calls, counters } = setup((m) => authenticated(m, [sk]));
    expect(open(message(X.INFORMATIONAL, false, [sk]))).toBeUndefined();
    expect(calls.answered).toEqual([Notify.INVALID_SYNTAX]);
    expect(open(message(X.INFORMATIONAL, true, [sk]))).toBeUndefined();
    expect(calls.answered).toEqual([Notify.INVALID_SYNTAX]);
    expect(counters.invalidMessages).toBe(2);
    expect(calls.noteInbound).toBe(0);
  });

  test('an authenticated request whose inner payloads do not parse is answered; the same response is not', () => {
    const { open, calls } = setup(() => ({
      ok: false,
      reason: 'SYNTAX',
      detail: 'bad length',
      error: new WireError('BAD_LENGTH', 'bad length'),
    }));
    open(message(X.INFORMATIONAL, false, [sk]));
    open(message(X.INFORMATIONAL, true, [sk]));
    expect(calls.answered).toEqual([Notify.INVALID_SYNTAX]);
    expect(calls.noteInbound).toBe(0);
  });

  test('a cleartext IKE_SA_INIT breaking the rules is never answered (nothing in it is authenticated)', () => {
    const { open, calls, counters } = setup();
    expect(open(message(X.IKE_SA_INIT, false, [nonce], 0), MOVED)).toBeUndefined();
    expect(calls.answered).toEqual([]);
    expect(calls.noteInbound).toBe(0);
    expect(counters.invalidMessages).toBe(1);
  });
});

describe('InboundGate.requestDesc', () => {
  test('the parsed request while it is handled; after forget(), only its outer payloads', () => {
    const { gate, open } = setup((m) =>
      authenticated(m, [
        { type: P.NOTIFY, notifyType: Notify.COOKIE, protocol: 0, spi: Buffer.alloc(0), data: Buffer.alloc(0) } as Payload,
      ]),
    );
    const m = message(X.INFORMATIONAL, false, [sk]);
    open(m);
    expect(gate.requestDesc(m).notifies).toEqual(['COOKIE']);
    // another message ID is another request: not described by this one
    expect(gate.requestDesc(message(X.INFORMATIONAL, false, [sk], 9)).notifies).toEqual([]);
    gate.forget();
    expect(gate.requestDesc(m).notifies).toEqual([]);
  });
});

describe('InboundGate state gates', () => {
  test('a request the state does not allow is dropped as junk, counted and logged', () => {
    const { gate, calls, counters } = setup();
    const m = message(X.IKE_AUTH, false, [sk]);
    const why = gate.requestClosed(m.header);
    expect(why).toBeDefined();
    gate.drop(m, why!);
    expect(counters.dropped).toBe(1);
    expect(calls.lines.some((l) => l.startsWith('ignoring IKE_AUTH request with message ID 3: '))).toBe(true);
    expect(gate.requestClosed(message(X.INFORMATIONAL, false, [sk]).header)).toBeUndefined();
    expect(gate.responseClosed(message(X.INFORMATIONAL, true, [sk]).header, X.INFORMATIONAL)).toBeUndefined();
    expect(gate.responseClosed(message(X.IKE_SA_INIT, true, []).header, X.INFORMATIONAL)).toBe(
      'IKE_SA_INIT response, but expected INFORMATIONAL',
    );
  });
});
