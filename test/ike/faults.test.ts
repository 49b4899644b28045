// Daemon.faults: the beforeSend / beforeProcess hooks at the task manager's send and receive points (return false
// to drop), and Daemon.setFault('silent' | 'normal') built on them (the control socket's `fault` command).
import { afterEach, describe, expect, test } from 'vitest';
import { ControlError } from '../../src/daemon.js';
import type { IkeSa } from '../../src/ike/ike-sa.js';
import { IkeDpd } from '../../src/ike/tasks/ike-dpd.js';
import { ExchangeType } from '../../src/wire/constants.js';
import { is, makePair, type Pair } from '../helpers/peers.js';

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

describe('FaultHooks', () => {
  test('beforeSend sees every message with exchange, direction and message ID; true lets it through', () => {
    const p = use(makePair());
    const seenA: [number, boolean, number][] = [];
    const seenB: [number, boolean, number][] = [];
    p.a.daemon.faults.beforeSend = (_sa, exchange, isResponse, mid) => (seenA.push([exchange, isResponse, mid]), true);
    p.b.daemon.faults.beforeSend = (_sa, exchange, isResponse, mid) => (seenB.push([exchange, isResponse, mid]), true);
    p.establish();
    expect(seenA).toEqual([[ExchangeType.IKE_SA_INIT, false, 0], [ExchangeType.IKE_AUTH, false, 1]]);
    expect(seenB).toEqual([[ExchangeType.IKE_SA_INIT, true, 0], [ExchangeType.IKE_AUTH, true, 1]]);
    expect(p.a.sa().state).toBe('ESTABLISHED');
  });

  test('beforeSend false on B: B processes but never answers; A gives up after its retransmits', () => {
    const p = use(makePair());
    p.b.daemon.faults.beforeSend = () => false;
    p.initiate();
    p.run(10_000);
    expect(p.sent.filter(is.from('B'))).toEqual([]);
    expect(p.describe(p.sent)).toEqual(Array(4).fill('A->B IKE_SA_INIT request 0'));
    expect(p.a.sink.has('giving up after 3 retransmits')).toBe(true);
    expect(p.a.daemon.listSas()).toEqual([]);
    // B did the work (and logged "sending packet") but the datagram never left
    expect(p.b.sink.count('generating IKE_SA_INIT response 0')).toBe(1);
    expect(p.b.sink.count('received retransmit of request with ID 0, retransmitting response')).toBe(3);
  });

  test('beforeSend false only for IKE_AUTH responses: the IKE_SA is up on B only, A gives up', () => {
    const p = use(makePair());
    p.b.daemon.faults.beforeSend = (_sa, exchange, isResponse) => !(isResponse && exchange === ExchangeType.IKE_AUTH);
    p.initiate();
    p.run(10_000);
    expect(p.a.daemon.listSas()).toEqual([]);
    expect(p.b.sa().state).toBe('ESTABLISHED');
    expect(p.b.children()).toHaveLength(1);
    expect(p.b.sink.count('received retransmit of request with ID 1, retransmitting response')).toBe(3);
  });

  test('beforeProcess false on B: requests are parsed but never processed or answered', () => {
    const p = use(makePair());
    const calls: [number, boolean, number][] = [];
    p.b.daemon.faults.beforeProcess = (_sa, exchange, isResponse, mid) => (calls.push([exchange, isResponse, mid]), false);
    p.initiate();
    p.run(10_000);
    expect(p.sent.filter(is.from('B'))).toEqual([]);
    expect(calls).toEqual(Array(4).fill([ExchangeType.IKE_SA_INIT, false, 0]));
    expect(p.b.sink.has('is initiating an IKE_SA')).toBe(false);
    expect(p.a.sink.has('giving up after 3 retransmits')).toBe(true);
    expect(p.a.daemon.listSas()).toEqual([]);
  });

  test('beforeProcess false on A for responses: A ignores answers and retransmits; lifting the hook lets it finish', () => {
    const p = use(makePair());
    p.a.daemon.faults.beforeProcess = (_sa, _exchange, isResponse) => !isResponse;
    p.initiate();
    p.run(1500);
    expect(p.a.sink.count('retransmit 1 of request with message ID 0')).toBe(1);
    expect(p.a.sa().state).toBe('CONNECTING');
    p.a.daemon.faults.beforeProcess = undefined;
    p.run(2000);
    expect(p.a.sa().state).toBe('ESTABLISHED');
    expect(p.b.sa().state).toBe('ESTABLISHED');
  });
});

describe('Daemon.setFault (control: ikelab fault --mode silent|normal)', () => {
  test('silent B is a dead peer for DPD: A gives up; normal again answers', () => {
    const p = use(makePair());
    p.establish();
    expect(p.b.daemon.setFault('silent', 'demo')).toBe('silent for demo');
    sendDpd(p.a.sa());
    p.run(1500);
    expect(p.a.sink.has('retransmit 1 of request with message ID 2')).toBe(true);
    expect(p.sent.filter(is.all(is.from('B'), is.exchange('INFORMATIONAL')))).toEqual([]);
    expect(p.b.daemon.setFault('normal')).toBe('normal');
    p.run(2000);
    expect(p.a.sa().manager.busy).toBe(false);
    expect(p.a.sa().state).toBe('ESTABLISHED');

    p.b.daemon.setFault('silent');
    sendDpd(p.a.sa());
    p.run(10_000);
    expect(p.a.sink.has('giving up after 3 retransmits')).toBe(true);
    expect(p.a.daemon.listSas()).toEqual([]);
    expect(p.b.sa().state).toBe('ESTABLISHED'); // B never learns
  });

  test('silent for an unknown connection is refused', () => {
    const p = use(makePair());
    expect(() => p.b.daemon.setFault('silent', 'nope')).toThrow(ControlError);
    expect(() => p.b.daemon.setFault('silent', 'nope')).toThrow("no connection named 'nope' (configured: demo)");
    expect(p.b.daemon.faults.beforeProcess).toBeUndefined();
  });
});
