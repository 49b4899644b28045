// Fault rules (src/faults) through the real hook points, between two in-process ikelab peers on the pair's manual
// clock: the task manager's send and receive points (FaultHooks, ike/services.ts), the userspace ESP engine's seal
// and open points (EspFaultHooks, ipsec/backend.ts) and NAT-T keepalives, wired by the daemon (faults-wiring.ts).
// Every action has a test with an effect the other peer (or the wire) shows; firings are logged charon-style with
// the engine's JSON event attached; `fault --mode` keeps working as shorthand.
import { afterEach, describe, expect, test } from 'vitest';
import { ControlError } from '../../src/daemon.js';
import type { IkeSa } from '../../src/ike/ike-sa.js';
import { IkeDpd } from '../../src/ike/tasks/ike-dpd.js';
import { ExchangeType } from '../../src/wire/constants.js';
import { is, makePair, peerYaml, type Pair, type PairOptions, type Peer } from '../helpers/peers.js';
import { parseConfig } from '../../src/config/load.js';

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

/** `ikelab fault add NAME --match M --action A [--count N]` on one peer. */
function fault(peer: Peer, name: string, match: string, action: string, count?: number) {
  return peer.daemon.faults.add({ name, match, action, ...(count !== undefined ? { count } : {}) });
}

const fired = (peer: Peer, name: string): number => peer.daemon.faults.list().find((r) => r.name === name)?.fired ?? 0;
const logText = (peer: Peer): string => peer.sink.lines().join('\n');
const informational = is.exchange('INFORMATIONAL');

describe('IKE: transport actions', () => {
  test('drop (dpd-loss): B drops DPD requests as they arrive, A retransmits and gives up', () => {
    const p = use(makePair());
    p.establish();
    fault(p.b, 'dpd-loss', 'exchange=INFORMATIONAL,dir=in,request,empty', 'drop');
    sendDpd(p.a.sa());
    p.run(10_000);
    expect(p.a.sink.count(/retransmit \d of request with message ID 2/)).toBe(3);
    expect(p.a.sink.has('giving up after 3 retransmits')).toBe(true);
    expect(p.a.daemon.ops.listSas()).toEqual([]);
    // charon-style on B's log: the rule, what it did, which message
    expect(p.b.sink.lines()).toContain("01[IKE] fault 'dpd-loss': dropped INFORMATIONAL request 2");
    expect(p.b.sink.count("fault 'dpd-loss': dropped INFORMATIONAL request 2")).toBe(4);
    expect(p.sent.filter(is.all(is.from('B'), informational))).toEqual([]);
    expect(fired(p.b, 'dpd-loss')).toBe(4);
    // the JSON sink gets the engine's event with the text line
    const rec = p.b.sink.records.find((r) => r.message.startsWith("fault 'dpd-loss'"))!;
    expect(rec.group).toBe('IKE');
    expect(rec.fields).toMatchObject({
      event: 'fault.fired',
      rule: 'dpd-loss',
      action: 'drop',
      point: 'ike-receive',
      direction: 'in',
      ike: 'demo',
      exchange: 'INFORMATIONAL',
      role: 'request',
      messageId: 2,
      fired: 1,
    });
    expect(p.b.sink.records.filter((r) => r.fields?.event === 'fault.fired').map((r) => r.fields!.retransmit)).toEqual([
      undefined,
      true,
      true,
      true,
    ]);
  });

  test('drop of DPD responses: B answers and answers retransmits, nothing reaches A, A gives up', () => {
    const p = use(makePair());
    p.establish();
    fault(p.b, 'no-answers', 'exchange=INFORMATIONAL,dir=out,response', 'drop');
    sendDpd(p.a.sa());
    p.run(10_000);
    expect(p.b.sink.count('received retransmit of request with ID 2, retransmitting response')).toBe(3);
    expect(p.b.sink.has("fault 'no-answers': dropped INFORMATIONAL response 2")).toBe(true);
    expect(p.sent.filter(is.all(is.from('B'), informational))).toEqual([]);
    expect(p.a.sink.has('giving up after 3 retransmits')).toBe(true);
  });

  test('delay: B answers 1.5 s late; A retransmitted once meanwhile and takes the late answer', () => {
    const p = use(makePair());
    p.establish();
    fault(p.b, 'slow', 'exchange=INFORMATIONAL,dir=out,response,retransmit=no', 'delay=1500ms');
    const t0 = p.clock.now();
    sendDpd(p.a.sa());
    p.run(3000);
    const answers = p.sent.filter(is.all(is.from('B'), informational));
    // the resent response (to A's retransmit at +1000) is not delayed: retransmit=no
    expect(answers.map((m) => m.sentAt - t0)).toEqual([1000, 1500]);
    expect(p.b.sink.has("fault 'slow': delayed INFORMATIONAL response 2 by 1500 ms")).toBe(true);
    expect(p.a.sink.count('retransmit 1 of request with message ID 2')).toBe(1);
    expect(p.a.sa().manager.busy).toBe(false);
    expect(p.a.sa().state).toBe('ESTABLISHED');
  });

  test('duplicate: A sends its request twice, B answers the copy from its cache (received retransmit)', () => {
    const p = use(makePair());
    p.establish();
    fault(p.a, 'twice', 'exchange=INFORMATIONAL,dir=out,request', 'duplicate');
    sendDpd(p.a.sa());
    p.run(500);
    expect(p.describe(p.sent.filter(informational))).toEqual([
      'A->B INFORMATIONAL request 2',
      'A->B INFORMATIONAL request 2',
      'B->A INFORMATIONAL response 2',
      'B->A INFORMATIONAL response 2',
    ]);
    expect(p.b.sink.has('received retransmit of request with ID 2, retransmitting response')).toBe(true);
    expect(p.a.sink.has("fault 'twice': duplicated INFORMATIONAL request 2 (1 extra copy)")).toBe(true);
    expect(p.a.sa().manager.busy).toBe(false);
  });

  test("reorder: B holds A's request until the next one (A's retransmit) passed; then the held one is a retransmit", () => {
    const p = use(makePair());
    p.establish();
    fault(p.b, 'late', 'exchange=INFORMATIONAL,dir=in,request', 'reorder', 1);
    sendDpd(p.a.sa());
    p.run(500);
    expect(p.sent.filter(is.all(is.from('B'), informational))).toEqual([]);
    expect(p.b.sink.has("fault 'late': holding INFORMATIONAL request 2 until 1 later message passed (at most 10000 ms)")).toBe(true);
    expect(p.b.daemon.faults.list()[0]).toMatchObject({ holding: 1, state: 'spent' });
    p.run(1000);
    // A's retransmit went first and was answered; the held original came right after it: a retransmit now
    expect(p.b.sink.count('received retransmit of request with ID 2, retransmitting response')).toBe(1);
    expect(p.a.sa().manager.busy).toBe(false);
    expect(p.b.daemon.faults.list()[0]!.holding).toBe(0);
  });

  test('reorder with nothing after it: the held message goes when max= runs out', () => {
    const p = use(makePair());
    p.establish();
    fault(p.a, 'hold', 'exchange=INFORMATIONAL,dir=out,request,retransmit=no', 'reorder,max=700ms', 1);
    const t0 = p.clock.now();
    sendDpd(p.a.sa());
    p.run(900);
    expect(p.sent.filter(is.all(is.from('A'), informational)).map((m) => m.sentAt - t0)).toEqual([700]);
    expect(p.a.sa().manager.busy).toBe(false);
  });

  test('clearing a reorder rule lets its held message go at once', () => {
    const p = use(makePair());
    p.establish();
    fault(p.a, 'hold', 'exchange=INFORMATIONAL,dir=out,request', 'reorder,max=60s', 1);
    sendDpd(p.a.sa());
    p.run(200);
    expect(p.sent.filter(is.all(is.from('A'), informational))).toEqual([]);
    expect(p.a.daemon.faults.clear('hold')).toEqual(['hold']);
    p.run(10);
    expect(p.describe(p.sent.filter(informational))).toEqual(['A->B INFORMATIONAL request 2', 'B->A INFORMATIONAL response 2']);
  });

  test("corrupt (ICV and IV): B's integrity check fails, the message is dropped unanswered", () => {
    const p = use(makePair());
    p.establish();
    fault(p.a, 'bad-icv', 'exchange=INFORMATIONAL,dir=out,request,retransmit=no', 'corrupt=icv', 1);
    fault(p.a, 'bad-iv', 'exchange=INFORMATIONAL,dir=out,request,retransmit', 'corrupt=iv', 1);
    sendDpd(p.a.sa());
    p.run(3000);
    expect(p.b.sink.count('integrity check failed')).toBe(2);
    expect(p.b.sink.has('INFORMATIONAL request with message ID 2 processing failed')).toBe(true);
    expect(p.b.sa().counters.integrityFailures).toBe(2);
    expect(p.a.sink.has("fault 'bad-icv': corrupted the ICV of INFORMATIONAL request 2")).toBe(true);
    expect(p.a.sink.has("fault 'bad-iv': corrupted the IV of INFORMATIONAL request 2")).toBe(true);
    // the second retransmit went through untouched
    expect(p.a.sa().manager.busy).toBe(false);
  });

  test('corrupt on receive: the bytes change before B looks at them, so the real integrity failure runs', () => {
    const p = use(makePair());
    p.establish();
    fault(p.b, 'flip', 'exchange=INFORMATIONAL,dir=in,request', 'corrupt', 1);
    sendDpd(p.a.sa());
    p.run(1500);
    expect(p.b.sink.has("fault 'flip': corrupted the ICV of INFORMATIONAL request 2")).toBe(true);
    expect(p.b.sink.has('integrity check failed')).toBe(true);
    expect(p.a.sink.count('retransmit 1 of request with message ID 2')).toBe(1);
    expect(p.a.sa().manager.busy).toBe(false);
  });

  test('truncate (on receive): B cannot parse what is left of the datagram', () => {
    // (the pair's wire decodes every header it carries, so the cut happens at B's receive point)
    const p = use(makePair());
    p.establish();
    fault(p.b, 'short', 'exchange=INFORMATIONAL,dir=in,request', 'truncate=-4', 1);
    sendDpd(p.a.sa());
    p.run(1500);
    expect(p.b.sink.has("fault 'short': cut 4 bytes off INFORMATIONAL request 2")).toBe(true);
    expect(logText(p.b)).toMatch(
      /received packet: from 127\.0\.0\.1\[15000\] to 127\.0\.0\.2\[15000\] \(76 bytes\)\n.*parsing IKE message from 127\.0\.0\.1\[15000\] failed/,
    );
    expect(p.a.sa().manager.busy).toBe(false);
  });
});

describe('IKE: content actions', () => {
  /** A creates a second CHILD_SA net (after the first was closed) with a CREATE_CHILD_SA exchange. */
  function createChild(p: Pair): void {
    p.a.daemon.ops.terminate(undefined, 'net');
    p.deliverAll();
    expect(p.a.children()).toEqual([]);
    p.a.daemon.ops.initiate('demo', 'net');
    p.deliverAll();
  }

  test("notify=NO_PROPOSAL_CHOSEN in place of B's CREATE_CHILD_SA response: A builds no CHILD_SA", () => {
    const p = use(makePair());
    p.establish();
    fault(p.b, 'npc', 'exchange=CREATE_CHILD_SA,dir=out', 'notify=NO_PROPOSAL_CHOSEN', 1);
    createChild(p);
    expect(p.a.sink.has('received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built')).toBe(true);
    expect(p.a.children()).toEqual([]);
    expect(p.b.sink.has("fault 'npc': sending NO_PROPOSAL_CHOSEN instead of CREATE_CHILD_SA response 3")).toBe(true);
    expect(p.b.sink.has('generating CREATE_CHILD_SA response 3 [ N(NO_PROP) ]')).toBe(true);
    expect(p.a.sa().state).toBe('ESTABLISHED');
  });

  test('notify=TS_UNACCEPTABLE on a received CREATE_CHILD_SA request: answered unprocessed, nothing created on B', () => {
    const p = use(makePair());
    p.establish();
    fault(p.b, 'ts', 'exchange=CREATE_CHILD_SA,dir=in,request', 'notify=TS_UNACCEPTABLE', 1);
    createChild(p);
    expect(p.a.sink.has('received TS_UNACCEPTABLE notify, no CHILD_SA built')).toBe(true);
    expect(p.b.sink.has("fault 'ts': answering CREATE_CHILD_SA request 3 with TS_UNACCEPTABLE instead of processing it")).toBe(true);
    expect(p.a.children()).toEqual([]);
    expect(p.b.children()).toEqual([]);
    // its message ID is used up: the next exchange goes on
    sendDpd(p.a.sa());
    p.deliverAll();
    expect(p.a.sa().manager.busy).toBe(false);
  });

  test('notify on IKE_SA_INIT: A gives up at once, B keeps no half-open IKE_SA', () => {
    const p = use(makePair());
    fault(p.b, 'init', 'exchange=IKE_SA_INIT,dir=in', 'notify=NO_PROPOSAL_CHOSEN');
    p.establish();
    expect(p.a.sink.has('received proposals unacceptable') || p.a.sink.has('NO_PROPOSAL_CHOSEN')).toBe(true);
    expect(p.a.daemon.ops.listSas()).toEqual([]);
    expect(p.b.daemon.ops.listSas()).toEqual([]);
  });

  test('ke=group:19 in a CHILD_SA rekey with PFS: B refuses the group (INVALID_KE_PAYLOAD), A retries with its own', () => {
    const p = use(makePair({ a: { espProposals: ['aes256gcm16-modp2048'] }, b: { espProposals: ['aes256gcm16-modp2048'] } }));
    p.establish();
    const old = p.a.children()[0]!;
    fault(p.a, 'wrong-group', 'exchange=CREATE_CHILD_SA,dir=out,request', 'ke=group:19', 1);
    p.a.daemon.ops.rekey(undefined, 'net');
    p.deliverAll();
    expect(p.a.sink.has("fault 'wrong-group': offering DH group 19 in CREATE_CHILD_SA request 2")).toBe(true);
    expect(p.b.sink.has('DH group ECP_256 unacceptable, requesting MODP_2048')).toBe(true);
    expect(p.a.sink.has('received INVALID_KE_PAYLOAD notify, no CHILD_SA built') || p.a.sink.has("peer didn't accept DH group")).toBe(true);
    // the retry (count 1: not changed) rekeys with MODP_2048
    expect(p.a.children()).toHaveLength(1);
    expect(p.a.children()[0]!.spiIn.equals(old.spiIn)).toBe(false);
    expect(p.a.children()[0]!.dhGroup).toBe(14);
  });

  test('ke=omit: a PFS rekey without KE payload, B asks for its group; ke=fill: the DH result differs, no traffic', () => {
    const p = use(makePair({ a: { espProposals: ['aes256gcm16-modp2048'] }, b: { espProposals: ['aes256gcm16-modp2048'] } }));
    p.establish();
    fault(p.a, 'no-ke', 'exchange=CREATE_CHILD_SA,dir=out,request', 'ke=omit', 1);
    p.a.daemon.ops.rekey(undefined, 'net');
    p.deliverAll();
    expect(p.a.sink.has("fault 'no-ke': omitting the KE payload of CREATE_CHILD_SA request 2")).toBe(true);
    expect(p.a.sink.has('generating CREATE_CHILD_SA request 2 [ N(REKEY_SA) SA No TSi TSr ]')).toBe(true);
    expect(p.b.sink.has('DH group KE_NONE unacceptable, requesting MODP_2048')).toBe(true);
    expect(p.a.sink.has('generating CREATE_CHILD_SA request 3 [ N(REKEY_SA) SA No KE TSi TSr ]')).toBe(true);

    // KE data of the right length filled with 0x01: B computes another shared secret than A, the keys differ
    fault(p.a, 'fill', 'exchange=CREATE_CHILD_SA,dir=out,request', 'ke=fill:1', 1);
    p.a.daemon.ops.rekey(undefined, 'net');
    p.deliverAll();
    expect(p.a.sink.has("fault 'fill': filling the KE data of CREATE_CHILD_SA request 5 with 0x01")).toBe(true);
    const [ca, cb] = [p.a.children()[0]!, p.b.children().find((c) => c.spiOut.equals(p.a.children()[0]!.spiIn))!];
    expect(ca.keys!.encrOut.equals(cb.keys!.encrIn)).toBe(false);
  });

  test('unknown-payload,critical,sk: B answers UNSUPPORTED_CRITICAL_PAYLOAD', () => {
    const p = use(makePair());
    p.establish();
    fault(p.a, 'crit', 'exchange=INFORMATIONAL,dir=out,request', 'unknown-payload,critical,sk', 1);
    sendDpd(p.a.sa());
    p.deliverAll();
    expect(p.a.sink.has("fault 'crit': adding unknown critical payload 255 to INFORMATIONAL request 2 (inside SK)")).toBe(true);
    expect(p.a.sink.has('generating INFORMATIONAL request 2 [ UNKN(255) ]')).toBe(true);
    expect(p.b.sink.has('could not parse INFORMATIONAL request 2: unknown payload type 255 with the critical bit')).toBe(true);
    expect(p.b.sink.has('generating INFORMATIONAL response 2 [ N(CRIT) ]')).toBe(true);
    expect(p.a.sink.has('received UNSUPPORTED_CRITICAL_PAYLOAD notify error')).toBe(true);
  });

  test('unknown-payload outside SK, not critical: B skips it and answers normally', () => {
    const p = use(makePair());
    p.establish();
    fault(p.a, 'extra', 'exchange=INFORMATIONAL,dir=out,request', 'unknown-payload=200', 1);
    sendDpd(p.a.sa());
    p.deliverAll();
    expect(p.a.sink.has("fault 'extra': adding unknown payload 200 to INFORMATIONAL request 2")).toBe(true);
    expect(p.b.sink.has('generating INFORMATIONAL response 2 [ ]')).toBe(true);
    expect(p.a.sa().manager.busy).toBe(false);
  });

  test('wrong-spi: B knows no such IKE_SA; wrong-mid: B expected another message ID', () => {
    const p = use(makePair());
    p.establish();
    fault(p.a, 'spi', 'exchange=INFORMATIONAL,dir=out,request', 'wrong-spi', 1);
    sendDpd(p.a.sa());
    p.run(100);
    expect(logText(p.b)).toMatch(/ignoring request with message ID 2 for unknown IKE_SA/);
    p.run(8000); // the retransmits (the same changed bytes) are lost as well: A gives up
    expect(p.a.sink.has('giving up after 3 retransmits')).toBe(true);

    const q = use(makePair());
    q.establish();
    fault(q.a, 'mid', 'exchange=INFORMATIONAL,dir=out,request', 'wrong-mid=+5', 1);
    sendDpd(q.a.sa());
    q.run(100);
    expect(q.a.sink.has("fault 'mid': sending INFORMATIONAL request 2 with message ID 7")).toBe(true);
    expect(q.b.sink.has('received message ID 7, expected 2, ignored')).toBe(true);
  });

  test('no-retransmit: A never resends its DPD request, yet gives up only after the full retransmit timeout', () => {
    const p = use(makePair());
    p.establish();
    fault(p.b, 'deaf', 'exchange=INFORMATIONAL,dir=in', 'drop');
    p.b.daemon.faults.impair(['suppress-retransmits']);
    fault(p.a, 'no-rt', 'dir=out,request,retransmit', 'no-retransmit');
    const t0 = p.clock.now();
    sendDpd(p.a.sa());
    p.run(10_000);
    expect(p.sent.filter(is.all(is.from('A'), informational))).toHaveLength(1);
    expect(p.a.sink.count(/fault 'no-rt': suppressed retransmit of INFORMATIONAL request 2/)).toBe(3);
    const gaveUp = p.a.sink.timesOf('giving up after 3 retransmits');
    expect(gaveUp).toHaveLength(1);
    expect(gaveUp[0]! - t0).toBeGreaterThan(7000); // 1 + 1.4 + 1.96 + 2.744 s
  });

  test('no-delete: A closes its CHILD_SA without telling B; the unused message ID goes to the next request', () => {
    const p = use(makePair());
    p.establish();
    fault(p.a, 'quiet', 'exchange=INFORMATIONAL,dir=out', 'no-delete', 1);
    p.a.daemon.ops.terminate(undefined, 'net');
    p.deliverAll();
    expect(p.a.sink.has("fault 'quiet': not sending the DELETE in INFORMATIONAL request 2")).toBe(true);
    expect(p.a.sink.has('CHILD_SA closed')).toBe(true);
    expect(p.sent.filter(informational)).toEqual([]);
    expect(p.a.children()).toEqual([]);
    expect(p.b.children()).toHaveLength(1);
    sendDpd(p.a.sa());
    p.deliverAll();
    expect(p.describe(p.sent.filter(informational))).toEqual(['A->B INFORMATIONAL request 2', 'B->A INFORMATIONAL response 2']);
  });

  test('no-delete of an IKE_SA delete: A drops the IKE_SA alone', () => {
    const p = use(makePair());
    p.establish();
    p.a.daemon.faults.impair(['send-no-delete']);
    p.a.daemon.ops.terminate('demo');
    p.deliverAll();
    expect(p.a.sink.has('IKE_SA deleted')).toBe(true);
    expect(p.a.daemon.ops.listSas()).toEqual([]);
    expect(p.b.sa().state).toBe('ESTABLISHED');
  });

  test('replay=forward: with the DPD request B processes everything received on the IKE_SA again, old to new', () => {
    const p = use(makePair());
    // recording starts with the rule: added before the IKE_SA exists
    fault(p.b, 'replay', 'exchange=INFORMATIONAL,dir=in', 'replay=forward', 1);
    p.establish();
    sendDpd(p.a.sa());
    p.deliverAll();
    const b = p.b.sink.lines().join('\n');
    expect(b).toContain("fault 'replay': replaying every message received so far, old to new, with INFORMATIONAL request 2");
    // IKE_SA_INIT (message ID 0) is stale, IKE_AUTH (1) a retransmit of the last answered request, then the DPD
    const order = [
      'received message ID 0, expected 2, ignored',
      'received retransmit of request with ID 1, retransmitting response',
      'generating INFORMATIONAL response 2 [ ]',
    ];
    const at = order.map((l) => b.indexOf(l));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((x, y) => x - y)).toEqual(at);
    expect(p.a.sa().manager.busy).toBe(false);
  });

  test('replay=backward: new to old', () => {
    const p = use(makePair());
    fault(p.b, 'replay', 'exchange=INFORMATIONAL,dir=in', 'replay=backward', 1);
    p.establish();
    sendDpd(p.a.sa());
    p.deliverAll();
    const b = logText(p.b);
    expect(b.indexOf('generating INFORMATIONAL response 2 [ ]')).toBeLessThan(b.indexOf('received message ID 0, expected 3, ignored'));
  });
});

describe('dead: nothing of the IKE_SA leaves or is processed until cleared', () => {
  const espOpts: PairOptions = { esp: true, a: { hostAddrs: ['10.201.0.1'] }, b: { hostAddrs: ['10.202.0.1'] } };

  test("B dead: no IKE, no ESP, no keepalive from B; A's DPD gives up; cleared, B is alive again", async () => {
    const p = use(makePair({ ...espOpts, a: { ...espOpts.a, dpdDelay: 30 } }));
    p.establish();
    const b = p.b.sa();
    const before = { ...b.counters };
    const child = { ...p.b.children()[0]!.counters };
    const sentBefore = p.sent.filter(is.from('B')).length;
    const kaBefore = p.keepalives.filter((k) => k.from === 'B').length;
    fault(p.b, 'dead', 'ike=demo', 'dead');

    const ping = await p.a.daemon.ops.ping({ child: 'net', dst: '10.202.0.1', count: 2, intervalMs: 1, timeoutMs: 100 });
    expect(ping.received).toBe(0);
    p.run(35_000, 500); // keepalives due every 20 s, A's DPD after 30 s of silence
    expect(p.sent.filter(is.from('B')).length).toBe(sentBefore);
    expect(p.keepalives.filter((k) => k.from === 'B').length).toBe(kaBefore);
    expect(b.counters.messagesOut).toBe(before.messagesOut);
    expect(b.counters.keepalivesOut).toBe(before.keepalivesOut);
    expect(p.b.children()[0]!.counters).toMatchObject({ packetsIn: child.packetsIn, packetsOut: child.packetsOut });
    expect(p.a.sink.has('sending DPD request')).toBe(true);
    expect(p.b.sink.has(/fault 'dead': dropped inbound ESP packet SPI [0-9a-f]{8} seq 1 \(dead until cleared\)/)).toBe(true);
    expect(p.b.sink.has("fault 'dead': dropped NAT-T keepalive (dead until cleared)")).toBe(true);
    expect(p.b.sink.records.find((r) => r.message.includes('NAT-T keepalive'))!.group).toBe('NET');
    p.run(10_000, 500);
    expect(p.a.sink.has('giving up after 3 retransmits')).toBe(true); // DPD at +30 s, given up ~7 s later

    p.b.daemon.faults.clear('dead');
    p.run(21_000, 1000);
    expect(p.keepalives.filter((k) => k.from === 'B').length).toBeGreaterThan(kaBefore);
    expect(b.counters.keepalivesOut).toBeGreaterThan(before.keepalivesOut);
  });

  test('ikelab fault --mode silent|delay|normal: shorthand for rules (mode:silent, mode:delay)', () => {
    const p = use(makePair());
    p.establish();
    expect(p.b.daemon.ops.setFault('silent', 'demo')).toBe('silent for demo');
    expect(p.b.daemon.faults.list().map((r) => r.text)).toEqual(['--match ike=demo,dir=in --action drop']);
    sendDpd(p.a.sa());
    p.run(1500);
    expect(p.a.sink.has('retransmit 1 of request with message ID 2')).toBe(true);
    expect(p.sent.filter(is.all(is.from('B'), informational))).toEqual([]);
    expect(p.b.daemon.ops.setFault('normal')).toBe('normal');
    p.run(2000);
    expect(p.a.sa().manager.busy).toBe(false);

    expect(p.b.daemon.ops.setFault('delay', undefined, 400)).toBe('delay 400 ms');
    const t0 = p.clock.now();
    sendDpd(p.a.sa());
    p.run(1000);
    expect(p.sent.filter(is.all(is.from('B'), informational)).at(-1)!.sentAt - t0).toBe(400);
    p.b.daemon.ops.setFault('normal');
    expect(p.b.daemon.faults.list()).toEqual([]);
  });

  test('silent for an unknown connection is refused; so is a rule for one', () => {
    const p = use(makePair());
    expect(() => p.b.daemon.ops.setFault('silent', 'nope')).toThrow(ControlError);
    expect(() => p.b.daemon.ops.setFault('silent', 'nope')).toThrow("no connection named 'nope' (configured: demo)");
    expect(() => fault(p.b, 'x', 'ike=nope', 'drop')).toThrow("no connection named 'nope' (configured: demo)");
    expect(p.b.daemon.faults.list()).toEqual([]);
  });
});

describe('ESP actions (the userspace engines of both peers)', () => {
  const espPair = (o: PairOptions = {}) =>
    use(makePair({ esp: true, a: { hostAddrs: ['10.201.0.1'] }, b: { hostAddrs: ['10.202.0.1'] }, ...o }));
  const ping = (p: Pair, count: number) => p.a.daemon.ops.ping({ child: 'net', dst: '10.202.0.1', count, intervalMs: 1, timeoutMs: 100 });

  test("esp-replay: A sends the last packets again, B's replay window rejects every copy", async () => {
    const p = espPair();
    p.establish();
    fault(p.a, 'replay', 'proto=esp,dir=out,nth=3', 'esp-replay=2');
    const r = await ping(p, 3);
    expect(r.received).toBe(3);
    const cb = p.b.children()[0]!.counters;
    expect(cb.replayDrops).toBe(2);
    expect(cb.packetsIn).toBe(3);
    expect(p.a.sink.has(/fault 'replay': replaying the last 2 packets with outbound ESP packet SPI [0-9a-f]{8} seq 3/)).toBe(true);
    expect(p.a.sink.records.find((r) => r.message.startsWith("fault 'replay'"))!.group).toBe('ESP');
  });

  test('esp-replay inbound: B opens the last received packet again and rejects it itself', async () => {
    const p = espPair();
    p.establish();
    fault(p.b, 'replay-in', 'proto=esp,dir=in,nth=2', 'esp-replay=1');
    await ping(p, 2);
    expect(p.b.children()[0]!.counters.replayDrops).toBe(1);
  });

  test('esp-seq-jump: A skips 1000 sequence numbers, B accepts the gap and moves its window', async () => {
    const p = espPair();
    p.establish();
    fault(p.a, 'jump', 'proto=esp,dir=out,nth=2', 'esp-seq-jump=1000');
    // with the 4th packet (seq 1004) the three before it again: seq 1 is far left of B's window of 32, 1002 and
    // 1003 were seen
    fault(p.a, 'old', 'proto=esp,dir=out,nth=4', 'esp-replay=3');
    expect((await ping(p, 4)).received).toBe(4);
    expect(p.a.sink.has(/fault 'jump': advancing the sequence number by 1000 before outbound ESP packet SPI [0-9a-f]{8} seq 2/)).toBe(true);
    const entry = p.b.daemon.esp!.sad.entries()[0]!;
    expect(entry.inbound.replay.top).toBe(1004n);
    expect(p.a.daemon.esp!.sad.entries()[0]!.outbound.seq).toBe(1004n);
    expect(p.b.children()[0]!.counters.replayDrops).toBe(3);
    expect(p.b.children()[0]!.counters.packetsIn).toBe(4);
  });

  test('corrupt ESP: B counts an ICV failure and loses that packet', async () => {
    const p = espPair();
    p.establish();
    fault(p.a, 'icv', 'proto=esp,dir=out,nth=2', 'corrupt');
    fault(p.b, 'iv', 'proto=esp,dir=in,nth=3', 'corrupt=iv');
    const r = await ping(p, 4);
    expect(r.received).toBe(2);
    expect(p.b.children()[0]!.counters.integrityFailures).toBe(2);
  });

  test('wrong-spi on ESP: B knows no such SPI; truncate: malformed', async () => {
    const p = espPair();
    p.establish();
    fault(p.a, 'spi', 'proto=esp,dir=out,nth=1', 'wrong-spi');
    fault(p.a, 'cut', 'proto=esp,dir=out,nth=2', 'truncate=-5');
    const r = await ping(p, 3);
    expect(r.received).toBe(1);
    expect(p.b.daemon.esp!.counters.invalidSpi).toBe(1);
    const cb = p.b.children()[0]!.counters;
    expect(cb.invalidSpi).toBe(1);
    expect((cb.malformed ?? 0) + cb.integrityFailures).toBe(1);
  });

  test('duplicate ESP: the copy is a replay; delay ESP: it arrives when the clock says so', async () => {
    const p = espPair();
    p.establish();
    fault(p.a, 'dup', 'proto=esp,dir=out,nth=1', 'duplicate');
    await ping(p, 1);
    expect(p.b.children()[0]!.counters.replayDrops).toBe(1);
    fault(p.b, 'slow', 'proto=esp,dir=in', 'delay=2s', 1);
    const before = p.b.children()[0]!.counters.packetsIn;
    const pending = ping(p, 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(p.b.children()[0]!.counters.packetsIn).toBe(before);
    p.clock.advance(2000);
    await pending;
    expect(p.b.children()[0]!.counters.packetsIn).toBe(before + 1);
  });

  test('a drop share of ESP with a seeded rule: the same packets are lost on every run', async () => {
    const run = async (): Promise<{ received: number; seqs: unknown[] }> => {
      const p = espPair();
      p.establish();
      fault(p.a, 'loss', 'proto=esp,dir=out,prob=40%,seed=7', 'drop');
      const r = await ping(p, 20);
      const seqs = p.a.sink.records.filter((x) => x.fields?.event === 'fault.fired' && x.fields.rule === 'loss').map((x) => x.fields!.seq);
      const cb = p.b.children()[0]!.counters;
      expect(cb.packetsIn).toBe(20 - seqs.length);
      await p.stop();
      return { received: r.received, seqs };
    };
    const one = await run();
    const two = await run();
    expect(one.seqs.length).toBeGreaterThan(2);
    expect(one.seqs.length).toBeLessThan(18);
    expect(two).toEqual(one);
  });
});

describe('rules from the config file', () => {
  test('faults: in the YAML are active from the start; a reload replaces them and keeps CLI rules', () => {
    const faults = `faults:
  - name: dpd-loss
    match: { exchange: INFORMATIONAL, dir: in, request: true, empty: true }
    action: drop
`;
    const p = use(makePair());
    const cfg = parseConfig(p.b.yaml + faults, 'demo-b.yaml');
    expect(cfg.faults).toHaveLength(1);
    p.b.daemon.ops.reload(cfg);
    fault(p.b, 'cli', 'exchange=CREATE_CHILD_SA,dir=in', 'drop');
    expect(p.b.daemon.faults.list().map((r) => r.name)).toEqual(['dpd-loss', 'cli']);
    p.establish();
    sendDpd(p.a.sa());
    p.run(1500);
    expect(p.b.sink.has("fault 'dpd-loss': dropped INFORMATIONAL request 2")).toBe(true);
    p.b.daemon.ops.reload(parseConfig(p.b.yaml, 'demo-b.yaml'));
    expect(p.b.daemon.faults.list().map((r) => r.name)).toEqual(['cli']);
  });

  test('a bad rule in the YAML is a ConfigError with the key path and line', () => {
    const yaml = `${peerYaml('B')}faults:
  - name: x
    match: { exchnage: INFORMATIONAL }
    action: drop
`;
    expect(() => parseConfig(yaml, 'b.yaml')).toThrow(
      /^b\.yaml: faults\[0\]\.match: expected one of .*, got unknown key "exchnage" \(did you mean "exchange"\?\) \[line \d+, column \d+\]$/,
    );
    expect(() => parseConfig(`${peerYaml('B')}faults:\n  - { match: "ike=other", action: drop }\n`, 'b.yaml')).toThrow(
      /^b\.yaml: faults\[0\]\.match\.ike: expected a connection of this file \(demo\), got "other"/,
    );
    // the pair's peers carry no ESP (ipsec_backend: none): an ESP rule could never fire
    expect(() => parseConfig(`${peerYaml('B')}faults:\n  - { match: "proto=esp,dir=out", action: drop }\n`, 'b.yaml')).toThrow(
      /^b\.yaml: faults\[0\]\.action: expected an IKE action: ESP rules need daemon\.ipsec_backend: userspace, got "none"/,
    );
  });
});

test('a rule firing at IKE_SA_INIT of the unique id it names only (ike-id), and the exchange type from its number', () => {
  const p = use(makePair());
  p.establish();
  const id = p.b.sa().uniqueId;
  fault(p.b, 'other', `ike-id=${id + 1}`, 'drop');
  fault(p.b, 'this', `ike-id=${id},exchange=${ExchangeType.INFORMATIONAL},dir=in`, 'drop', 1);
  sendDpd(p.a.sa());
  p.run(1500);
  expect(fired(p.b, 'other')).toBe(0);
  expect(fired(p.b, 'this')).toBe(1);
  expect(p.a.sa().manager.busy).toBe(false);
});
