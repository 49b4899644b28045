// The message events of an IKE_SA (src/log/events.ts) as an in-process pair of peers produces them: one
// message.sent / message.received per datagram, with the sizes and SPIs of the bytes that actually crossed,
// message.retransmitted and dpd.timeout where charon prints its retransmit lines, notify.received for a refusal.
import { afterEach, describe, expect, test } from 'vitest';
import type { IkelabEvent } from '../../src/log/events.js';
import { is, makePair, type Pair, type PairOptions, type Peer, type Queued } from '../helpers/peers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});

function start(opts: PairOptions = {}): { p: Pair; a: IkelabEvent[]; b: IkelabEvent[] } {
  const p = makePair(opts);
  pair = p;
  const a: IkelabEvent[] = [];
  const b: IkelabEvent[] = [];
  p.a.log.onEvent((e) => a.push(e));
  p.b.log.onEvent((e) => b.push(e));
  return { p, a, b };
}

const messages = (es: IkelabEvent[]) => es.filter((e) => e.event === 'message.sent' || e.event === 'message.received');
const brief = (e: IkelabEvent) => `${e.event} ${e.exchange} ${e.request ? 'request' : 'response'} ${e.messageId}`;
const hexSpis = (q: Queued) => ({ spiI: q.data.subarray(0, 8).toString('hex'), spiR: q.data.subarray(8, 16).toString('hex') });

/** The datagrams a peer sent, in order. */
const sentBy = (p: Pair, who: Peer) => p.sent.filter((q) => q.from === who.name);

describe('an establish, as the initiator reports it', () => {
  test('one event per datagram, in order, with the sizes, SPIs and endpoints of the bytes that crossed', () => {
    const { p, a } = start();
    p.establish();
    expect(p.a.sa().state).toBe('ESTABLISHED');
    const ms = messages(a);
    expect(ms.map(brief)).toEqual([
      'message.sent IKE_SA_INIT request 0',
      'message.received IKE_SA_INIT response 0',
      'message.sent IKE_AUTH request 1',
      'message.received IKE_AUTH response 1',
    ]);
    const fromA = sentBy(p, p.a);
    const fromB = sentBy(p, p.b);
    expect([fromA.length, fromB.length]).toEqual([2, 2]);
    const wire = [fromA[0], fromB[0], fromA[1], fromB[1]];
    ms.forEach((e, i) => {
      expect(e.size).toBe(wire[i]!.data.length);
      expect({ spiI: e.spiI, spiR: e.spiR }).toEqual(hexSpis(wire[i]!));
      expect(e.direction).toBe(e.event === 'message.sent' ? 'out' : 'in');
      expect(e.local).toBe('127.0.0.1[15000]');
      expect(e.peer).toBe('127.0.0.2[15000]');
      expect(e.ike).toBe('demo');
      expect(e.ikeId).toBe(p.a.sa().uniqueId);
    });
    // the SPI pair is complete from the IKE_SA_INIT response on, and the same throughout
    expect(ms[0]!.spiR).toBe('0000000000000000');
    expect(ms[1]!.spiR).not.toBe('0000000000000000');
    expect(ms[3]!.spiR).toBe(ms[1]!.spiR);
    expect(ms[3]!.spiI).toBe(ms[0]!.spiI);
  });

  test('payloads as charon lists them (inner payloads of a protected message), notifies by name', () => {
    const { p, a } = start();
    p.establish();
    const [initReq, initResp, authReq, authResp] = messages(a);
    expect(initReq!.payloads?.slice(0, 3)).toEqual(['SA', 'KE', 'No']);
    expect(initReq!.payloads).toContain('N(NATD_S_IP)');
    expect(initReq!.notifies).toContain('NAT_DETECTION_SOURCE_IP');
    expect(initReq!.notifies).toContain('NAT_DETECTION_DESTINATION_IP');
    expect(initResp!.payloads?.slice(0, 3)).toEqual(['SA', 'KE', 'No']);
    for (const e of [authReq!, authResp!]) {
      expect(e.payloads).toContain('AUTH');
      expect(e.payloads).toContain('SA');
      expect(e.payloads).toContain('TSi');
      expect(e.payloads).not.toContain('E');
    }
    expect(authReq!.payloads?.[0]).toBe('IDi');
    expect(authResp!.payloads?.[0]).toBe('IDr');
    // the same list as the charon line it rides on
    const line = p.a.sink.messages().find((l) => l.startsWith('generating IKE_AUTH request 1'));
    expect(line).toBe(`generating IKE_AUTH request 1 [ ${authReq!.payloads?.join(' ')} ]`);
    const parsed = p.a.sink.messages().find((l) => l.startsWith('parsed IKE_SA_INIT response 0'));
    expect(parsed).toBe(`parsed IKE_SA_INIT response 0 [ ${initResp!.payloads?.join(' ')} ]`);
  });

  test('the charon lines stay as they were: one sending packet line per message.sent, with its size', () => {
    const { p, a } = start();
    p.establish();
    const sending = p.a.sink.messages().filter((l) => l.startsWith('sending packet:'));
    const sent = a.filter((e) => e.event === 'message.sent');
    expect(sending).toEqual(sent.map((e) => `sending packet: from ${e.local} to ${e.peer} (${e.size} bytes)`));
  });

  test('the responder reports the same four datagrams from its side', () => {
    const { p, b } = start();
    p.establish();
    expect(messages(b).map(brief)).toEqual([
      'message.received IKE_SA_INIT request 0',
      'message.sent IKE_SA_INIT response 0',
      'message.received IKE_AUTH request 1',
      'message.sent IKE_AUTH response 1',
    ]);
    expect(messages(b).map((e) => e.local)).toEqual(Array(4).fill('127.0.0.2[15000]'));
  });

  test('events arrive even when the log levels hide every line', () => {
    const { p, a } = start({ levels: { default: -1 } });
    p.establish();
    expect(p.a.sink.records).toHaveLength(0);
    expect(messages(a)).toHaveLength(4);
  });

  test('no notify.received for the notifies every IKE_SA exchanges', () => {
    const { p, a, b } = start();
    p.establish();
    expect([...a, ...b].filter((e) => e.event === 'notify.received')).toEqual([]);
  });
});

describe('retransmits', () => {
  test('a dropped response: message.retransmitted, the same datagram again, and the responder answers from its cache', () => {
    const { p, a, b } = start();
    p.initiate();
    p.deliverNext(); // A's IKE_SA_INIT request reaches B
    expect(p.drop(is.responseFrom('B'))).toHaveLength(1);
    a.length = 0;
    b.length = 0;
    p.clock.advance(1000);
    expect(a.map((e) => e.event)).toEqual(['message.retransmitted', 'message.sent']);
    expect(a[0]).toMatchObject({ n: 1, messageId: 0, exchange: 'IKE_SA_INIT', request: true, direction: 'out' });
    expect(p.a.sink.has('retransmit 1 of request with message ID 0')).toBe(true);
    const resent = p.queue.at(-1)!;
    expect(a[1]).toMatchObject({ exchange: 'IKE_SA_INIT', messageId: 0, request: true, size: resent.data.length });
    p.deliverNext();
    // the copy is the request it answered: described as that one was parsed
    expect(messages(b).map(brief)).toEqual(['message.received IKE_SA_INIT request 0', 'message.sent IKE_SA_INIT response 0']);
    expect(messages(b)[0]!.payloads?.slice(0, 3)).toEqual(['SA', 'KE', 'No']);
    expect(messages(b)[0]!.size).toBe(resent.data.length);
    expect(p.b.sink.has('received retransmit of request with ID 0, retransmitting response')).toBe(true);
    p.deliverAll();
    expect(p.a.sa().state).toBe('ESTABLISHED');
  });

  test('a peer that stops answering: the DPD exchange is retransmitted, then dpd.timeout', () => {
    const { p, a } = start({ a: { dpdDelay: 2 } });
    p.establish();
    const sa = p.a.sa();
    p.dropAlways(is.from('A'));
    a.length = 0;
    p.run(20_000, 100);
    expect(sa.state).toBe('DESTROYING');
    const retransmits = a.filter((e) => e.event === 'message.retransmitted');
    expect(retransmits.map((e) => e.n)).toEqual([1, 2, 3]);
    expect(retransmits.map((e) => e.exchange)).toEqual(['INFORMATIONAL', 'INFORMATIONAL', 'INFORMATIONAL']);
    const timeouts = a.filter((e) => e.event === 'dpd.timeout');
    expect(timeouts).toHaveLength(1);
    expect(timeouts[0]).toMatchObject({
      retransmits: 3,
      exchange: 'INFORMATIONAL',
      messageId: retransmits[0]!.messageId,
      reason: 'peer not responding',
      ike: 'demo',
    });
    // after the last retransmit, and on charon's line
    expect(a.indexOf(timeouts[0]!)).toBeGreaterThan(a.indexOf(retransmits[2]!));
    expect(p.a.sink.has('giving up after 3 retransmits')).toBe(true);
    // every transmission of the DPD request (first + 3) was a message.sent
    expect(a.filter((e) => e.event === 'message.sent' && e.exchange === 'INFORMATIONAL')).toHaveLength(4);
  });
});

describe("notify.received and messages that are not the SA's", () => {
  test('a proposal mismatch: NO_PROPOSAL_CHOSEN in the IKE_SA_INIT response', () => {
    const { p, a } = start({ b: { proposals: ['aes128-sha256-ecp256'] } });
    p.initiate();
    p.deliverAll();
    const n = a.filter((e) => e.event === 'notify.received');
    expect(n).toHaveLength(1);
    expect(n[0]).toMatchObject({
      notify: 'NO_PROPOSAL_CHOSEN',
      exchange: 'IKE_SA_INIT',
      messageId: 0,
      request: false,
      ike: 'demo',
    });
    const received = messages(a).filter((e) => e.event === 'message.received');
    expect(received.map(brief)).toEqual(['message.received IKE_SA_INIT response 0']);
    expect(received[0]!.payloads).toEqual(['N(NO_PROP)']);
    expect(received[0]!.notifies).toEqual(['NO_PROPOSAL_CHOSEN']);
  });

  test('a response that fails its integrity check produces no message.received', () => {
    const { p, a } = start();
    p.initiate();
    p.deliverNext(); // IKE_SA_INIT request
    p.deliverNext(); // IKE_SA_INIT response
    p.deliverNext(); // IKE_AUTH request
    const resp = p.queue[0]!;
    expect(resp.header.response).toBe(true);
    resp.data[resp.data.length - 1]! ^= 0xff; // the ICV
    a.length = 0;
    p.deliverNext();
    expect(p.a.sink.has('integrity check failed')).toBe(true);
    expect(a.filter((e) => e.event === 'message.received')).toEqual([]);
    expect(a.filter((e) => e.event === 'notify.received')).toEqual([]);
  });
});

describe('listeners that come later (the fields are built only for someone who reads them)', () => {
  test('an event listener attached mid-setup, every line filtered out: the events from then on, notify.received too', () => {
    const p = makePair({ levels: { default: -1 }, b: { proposals: ['aes128-sha256-ecp256'] } });
    pair = p;
    p.initiate();
    p.deliverNext(); // A's IKE_SA_INIT request reaches B, which answers NO_PROPOSAL_CHOSEN
    const a: IkelabEvent[] = [];
    p.a.log.onEvent((e) => a.push(e));
    const reply = p.queue[0]!;
    p.deliverAll();
    expect(messages(a).map(brief)).toEqual(['message.received IKE_SA_INIT response 0']);
    expect(messages(a)[0]).toMatchObject({ size: reply.data.length, local: '127.0.0.1[15000]', peer: '127.0.0.2[15000]' });
    expect(messages(a)[0]!.payloads).toEqual(['N(NO_PROP)']);
    expect(a.filter((e) => e.event === 'notify.received')).toMatchObject([{ notify: 'NO_PROPOSAL_CHOSEN', exchange: 'IKE_SA_INIT' }]);
    expect(p.a.sink.records).toHaveLength(0);
  });

  test('event and line listeners attached after the establish get the DPD exchange, with the fields', () => {
    const p = makePair({ levels: { default: -1 }, a: { dpdDelay: 2 } });
    pair = p;
    p.establish();
    const a: IkelabEvent[] = [];
    const lines: { message: string; event?: unknown }[] = [];
    p.a.log.onEvent((e) => a.push(e));
    p.a.log.onLine((r) => lines.push({ message: r.message, event: r.fields?.event }), { net: 1 });
    p.run(3000, 100);
    expect(messages(a).map(brief)).toEqual(['message.sent INFORMATIONAL request 2', 'message.received INFORMATIONAL response 2']);
    expect(lines.filter((l) => l.message.startsWith('sending packet'))).toEqual([
      {
        message: expect.stringMatching(/^sending packet: from 127\.0\.0\.1\[15000\] to 127\.0\.0\.2\[15000\] \(\d+ bytes\)$/),
        event: 'message.sent',
      },
    ]);
    expect(p.a.sink.records).toHaveLength(0);
  });
});
