// Duplicated, late, reordered and stray datagrams (RFC 7296 2.1: a retransmitted request is answered from the
// response cache and never processed twice; responses are matched to the one outstanding request by message ID;
// anything else is dropped, logged and counted).
import { afterEach, describe, expect, test } from 'vitest';
import { IkeDpd } from '../../src/ike/tasks/ike-dpd.js';
import type { IkeSa } from '../../src/ike/ike-sa.js';
import { is, makePair, type Pair, type Queued } from '../helpers/peers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});
const use = (p: Pair): Pair => (pair = p);

function sendDpd(sa: IkeSa): void {
  sa.manager.queue(new IkeDpd(sa, true));
  sa.manager.initiate();
}

describe('duplicated requests are processed once', () => {
  test('IKE_AUTH request twice in the queue: one CHILD_SA, B answers the copy from its cache, byte-identical', () => {
    const p = use(makePair());
    p.initiate();
    p.deliverNext();
    p.deliverNext();
    const copies = p.duplicate(is.exchange('IKE_AUTH'));
    expect(copies).toHaveLength(1);
    expect(p.describe()).toEqual(['A->B IKE_AUTH request 1', 'A->B IKE_AUTH request 1']);
    p.deliverAll();

    const responses = p.sent.filter(is.all(is.responseFrom('B'), is.exchange('IKE_AUTH')));
    expect(responses).toHaveLength(2);
    expect(responses[1]!.data.equals(responses[0]!.data)).toBe(true);
    const b = p.b.sink.lines();
    expect(b).toContain('01[IKE] received retransmit of request with ID 1, retransmitting response');
    expect(b.filter((l) => l.includes('parsed IKE_AUTH request 1'))).toHaveLength(1);
    expect(b.filter((l) => l.includes('CHILD_SA net{1} established'))).toHaveLength(1);
    expect(b.some((l) => l.includes('net{2}'))).toBe(false);
    expect(p.b.children()).toHaveLength(1);
    expect(p.b.sa().counters.responsesRetransmitted).toBe(1);
    // A took the first response; the second one is for a message ID it no longer waits for
    expect(p.a.sink.lines()).toContain('01[IKE] received message ID 1, expected 2, ignored');
    expect(p.a.children()).toHaveLength(1);
    expect(p.a.sa().counters.invalidMessages).toBe(1);
    expect(p.a.sa().state).toBe('ESTABLISHED');
    expect(p.a.children()[0]!.spiOut.equals(p.b.children()[0]!.spiIn)).toBe(true);
  });

  test('IKE_SA_INIT request twice: B keeps one half-open IKE_SA and resends the same response', () => {
    const p = use(makePair());
    p.initiate();
    p.duplicate(is.exchange('IKE_SA_INIT'));
    p.deliverAll();
    expect(p.b.sink.count('is initiating an IKE_SA')).toBe(1);
    expect(p.b.sink.has('received retransmit of request with ID 0, retransmitting response')).toBe(true);
    const responses = p.sent.filter(is.all(is.responseFrom('B'), is.exchange('IKE_SA_INIT')));
    expect(responses).toHaveLength(2);
    expect(responses[1]!.data.equals(responses[0]!.data)).toBe(true);
    expect(p.b.daemon.table.size).toBe(1);
    expect(p.a.sa().state).toBe('ESTABLISHED');
    expect(p.b.sa().state).toBe('ESTABLISHED');
    expect(p.a.sink.has('received message ID 0, expected 1, ignored')).toBe(true);
  });

  test('an INFORMATIONAL (DELETE) request duplicated after the responder already deleted: dropped as unknown SPI', () => {
    const p = use(makePair());
    p.establish();
    p.a.daemon.ops.terminate('demo');
    p.duplicate(is.requestFrom('A'));
    p.deliverAll();
    expect(p.a.daemon.ops.listSas()).toEqual([]);
    expect(p.b.daemon.ops.listSas()).toEqual([]);
    expect(p.b.daemon.ops.stats().dispatcher.unknownSpi).toBe(1);
    expect(p.b.sink.count('IKE_SA deleted')).toBe(1);
  });
});

describe('old and unexpected message IDs', () => {
  test('a replayed old request (IKE_AUTH, ID 1) after a newer exchange (ID 2) is ignored, not answered', () => {
    const p = use(makePair());
    p.establish();
    const oldAuth = p.sent.find(is.all(is.requestFrom('A'), is.exchange('IKE_AUTH')))!;
    sendDpd(p.a.sa());
    p.deliverAll();
    const before = p.sent.length;
    p.deliver(oldAuth);
    expect(p.sent.length).toBe(before); // nothing sent
    expect(p.b.sink.lines().at(-1)).toBe('01[IKE] received message ID 1, expected 3, ignored');
    expect(p.b.sa().counters.invalidMessages).toBe(1);
    expect(p.b.children()).toHaveLength(1);
    expect(p.b.sa().state).toBe('ESTABLISHED');
  });

  test('the last request again is a retransmit; the one before it is old', () => {
    const p = use(makePair());
    p.establish();
    sendDpd(p.a.sa());
    const dpd = p.queue[0]!;
    p.deliverAll();
    p.deliver(dpd);
    expect(p.b.sink.lines()).toContain('01[IKE] received retransmit of request with ID 2, retransmitting response');
    expect(p.describe()).toEqual(['B->A INFORMATIONAL response 2']);
    p.deliverAll();
    expect(p.a.sink.lines().at(-1)).toBe('01[IKE] received message ID 2, expected 3, ignored');
  });

  test('a request from the future (message ID beyond the window) is ignored', () => {
    const p = use(makePair());
    p.establish();
    sendDpd(p.a.sa());
    const dpd = p.queue.shift()!;
    const future = Buffer.from(dpd.data);
    future.writeUInt32BE(7, 20); // message ID field of the IKE header
    p.deliver({ ...dpd, data: future });
    expect(p.b.sink.lines().at(-1)).toBe('01[IKE] received message ID 7, expected 2, ignored');
    expect(p.queue).toEqual([]);
    // the real request still works afterwards
    p.deliver(dpd);
    p.deliverAll();
    expect(p.a.sa().manager.myMid).toBe(3);
  });
});

describe('late and reordered responses', () => {
  test('a late IKE_AUTH response (after A retransmitted and got the cached copy) is ignored', () => {
    const p = use(makePair());
    p.initiate();
    p.deliverNext();
    p.deliverNext();
    p.deliverNext(); // IKE_AUTH request reaches B
    const [late] = p.hold(is.responseFrom('B'));
    expect(p.describe([late!])).toEqual(['B->A IKE_AUTH response 1']);
    p.clock.advance(1000); // A retransmits
    expect(p.describe()).toEqual(['A->B IKE_AUTH request 1']);
    p.deliverAll();
    expect(p.a.sa().state).toBe('ESTABLISHED');
    p.inject(late!);
    p.deliverAll();
    expect(p.a.sink.lines().at(-1)).toBe('01[IKE] received message ID 1, expected 2, ignored');
    expect(p.a.children()).toHaveLength(1);
    expect(p.a.sa().state).toBe('ESTABLISHED');
  });

  test('requests crossing in both directions, delivered in reverse order: both exchanges complete', () => {
    const p = use(makePair());
    p.establish();
    sendDpd(p.a.sa());
    sendDpd(p.b.sa());
    expect(p.describe()).toEqual(['A->B INFORMATIONAL request 2', 'B->A INFORMATIONAL request 0']);
    p.queue.reverse();
    p.deliverAll();
    expect(p.describe(p.sent.slice(-4))).toEqual([
      'A->B INFORMATIONAL request 2',
      'B->A INFORMATIONAL request 0',
      'A->B INFORMATIONAL response 0',
      'B->A INFORMATIONAL response 2',
    ]);
    expect(p.a.daemon.ops.listSas()[0]!.messageIds).toEqual({ nextRequest: 3, nextExpected: 1 });
    expect(p.b.daemon.ops.listSas()[0]!.messageIds).toEqual({ nextRequest: 1, nextExpected: 3 });
    expect(p.a.sa().counters.invalidMessages + p.b.sa().counters.invalidMessages).toBe(0);
  });

  test('a response whose integrity check fails is dropped; the retransmit gets a good one', () => {
    const p = use(makePair());
    p.establish();
    sendDpd(p.a.sa());
    p.deliverNext();
    const [resp] = p.hold(is.responseFrom('B'));
    const bad = Buffer.from(resp!.data);
    bad[bad.length - 1]! ^= 0x01; // last byte of the ICV
    p.deliver({ ...resp!, data: bad });
    expect(p.a.sink.lines().slice(-2)).toEqual([
      '01[ENC] integrity check failed',
      '01[ENC] INFORMATIONAL response with message ID 2 processing failed',
    ]);
    expect(p.a.sa().counters.integrityFailures).toBe(1);
    expect(p.a.sa().manager.busy).toBe(true);
    p.run(1500);
    expect(p.a.sink.has('retransmit 1 of request with message ID 2')).toBe(true);
    expect(p.a.sa().manager.busy).toBe(false);
    expect(p.a.sa().manager.myMid).toBe(3);
  });
});

describe('datagrams for unknown IKE_SAs', () => {
  const spiOf = (m: Queued) => `${m.header.spiI.toString('hex')}_i ${m.header.spiR.toString('hex')}_r`;

  test('a response with an SPI nobody knows is dropped and counted', () => {
    const p = use(makePair());
    p.establish();
    sendDpd(p.a.sa());
    p.deliverNext();
    const [resp] = p.hold(is.responseFrom('B'));
    const forged = Buffer.from(resp!.data);
    forged.fill(0x5a, 0, 8); // initiator SPI: the lookup key of a response at the initiator
    const m: Queued = { ...resp!, data: forged, header: { ...resp!.header, spiI: Buffer.alloc(8, 0x5a) } };
    p.deliver(m);
    expect(p.a.daemon.ops.stats().dispatcher).toMatchObject({ received: 3, unknownSpi: 1, malformed: 0, handlerErrors: 0 });
    expect(p.a.sink.lines().at(-1)).toBe(`00[IKE] ignoring response with message ID 2 for unknown IKE_SA ${spiOf(m)}`);
    expect(p.a.sa().manager.busy).toBe(true); // still waiting for the real one
    p.deliver(resp!);
    expect(p.a.sa().manager.busy).toBe(false);
  });

  test('a response arriving after the IKE_SA was deleted is dropped and counted', () => {
    const p = use(makePair());
    p.establish();
    p.a.daemon.ops.terminate('demo');
    p.deliverNext();
    p.duplicate(is.responseFrom('B'));
    p.deliverAll();
    expect(p.a.daemon.ops.listSas()).toEqual([]);
    expect(p.a.daemon.ops.stats().dispatcher.unknownSpi).toBe(1);
    expect(p.a.sink.lines().at(-1)).toMatch(
      /^00\[IKE\] ignoring response with message ID 2 for unknown IKE_SA [0-9a-f]{16}_i [0-9a-f]{16}_r$/,
    );
  });

  test('a datagram that is not IKE at all is counted as malformed, the SAs carry on', () => {
    const p = use(makePair());
    p.establish();
    p.deliver({ ...p.sent[0]!, data: Buffer.from('hello, not IKE') });
    expect(p.b.daemon.ops.stats().dispatcher).toMatchObject({ malformed: 1, handlerErrors: 0 });
    expect(p.b.sa().state).toBe('ESTABLISHED');
  });
});
