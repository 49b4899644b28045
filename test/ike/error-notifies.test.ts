// RFC 7296 2.5 / 2.21: what a responder answers to messages it cannot accept. An unknown payload with the
// critical bit gets UNSUPPORTED_CRITICAL_PAYLOAD naming the type (unprotected in IKE_SA_INIT, protected inside
// an IKE_SA); an unknown non-critical payload is skipped; a message that does not parse after authentication
// gets INVALID_SYNTAX; and none of these disturb the established IKE_SA.
import { afterEach, expect, test } from 'vitest';
import { protect } from '../../src/ike/message-protect.js';
import { ExchangeType, Notify, PayloadType } from '../../src/wire/constants.js';
import { decodeMessage, encodeMessage } from '../../src/wire/message.js';
import type { NotifyPayload, Payload } from '../../src/wire/types.js';
import { ADDR, IKE_PORT, makePair, type Pair } from '../helpers/peers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});

const unknown = (type: number, critical: boolean): Payload =>
  ({ type, unknown: true, critical, body: Buffer.from([1, 2, 3, 4]) }) as Payload;
const a = { address: ADDR.A, port: IKE_PORT };
const b = { address: ADDR.B, port: IKE_PORT };

test('IKE_SA_INIT with an unknown critical payload: UNSUPPORTED_CRITICAL_PAYLOAD with the type, no state kept', () => {
  const p = (pair = makePair());
  const spiI = Buffer.from('0102030405060708', 'hex');
  const msg = encodeMessage(
    {
      spiI,
      spiR: Buffer.alloc(8),
      majorVersion: 2,
      minorVersion: 0,
      exchange: ExchangeType.IKE_SA_INIT,
      initiator: true,
      response: false,
      version: false,
      messageId: 0,
    },
    [unknown(200, true)],
  );
  p.b.daemon.receive(msg, b, a);
  expect(p.queue.length).toBe(1);
  const r = decodeMessage(p.queue[0]!.data);
  if (!r.ok) throw r.error;
  expect(r.value.header.response).toBe(true);
  expect(r.value.header.spiI.equals(spiI)).toBe(true);
  const n = r.value.payloads[0] as NotifyPayload;
  expect(n.notifyType).toBe(Notify.UNSUPPORTED_CRITICAL_PAYLOAD);
  expect([...n.data]).toEqual([200]);
  expect(p.b.daemon.ops.listSas()).toEqual([]);
});

test('inside an IKE_SA: a protected request with an unknown critical payload is answered, protected; the SA stays', () => {
  const p = (pair = makePair());
  p.establish();
  const sa = p.a.sa();
  // A sends INFORMATIONAL request 2 whose SK payload carries an unknown critical payload
  const msg = protect(sa, ExchangeType.INFORMATIONAL, sa.manager.myMid, false, [unknown(201, true)]);
  p.b.daemon.receive(msg, b, a);
  expect(p.queue.length).toBe(1);
  p.deliverAll();
  const bLog = p.b.sink.lines().join('\n');
  expect(bLog).toMatch(/generating INFORMATIONAL response 2 \[ N\(CRIT\) \]/);
  expect(p.b.sa().state).toBe('ESTABLISHED');
  expect(p.b.sa().manager.peerMid).toBe(3);
});

test('an unknown payload without the critical bit is skipped: a DPD with it is answered normally', () => {
  const p = (pair = makePair());
  p.establish();
  const sa = p.a.sa();
  const msg = protect(sa, ExchangeType.INFORMATIONAL, sa.manager.myMid, false, [unknown(202, false)]);
  p.b.daemon.receive(msg, b, a);
  const bLog = p.b.sink.lines().join('\n');
  expect(bLog).toMatch(/parsed INFORMATIONAL request 2 \[ UNKN\(202\) \]/);
  expect(bLog).toMatch(/generating INFORMATIONAL response 2 \[ \]/);
});

test('an authenticated request that does not parse gets INVALID_SYNTAX', () => {
  const p = (pair = makePair());
  p.establish();
  const sa = p.a.sa();
  // a Nonce payload of 4 bytes: shorter than RFC 7296's 16-byte minimum
  const msg = protect(sa, ExchangeType.INFORMATIONAL, sa.manager.myMid, false, [
    { type: PayloadType.NONCE, data: Buffer.alloc(4) } as Payload,
  ]);
  p.b.daemon.receive(msg, b, a);
  expect(p.b.sink.lines().join('\n')).toMatch(/generating INFORMATIONAL response 2 \[ N\(INVAL_SYN\) \]/);
  expect(p.b.sa().state).toBe('ESTABLISHED');
});
