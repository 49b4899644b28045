// Each action's decision, exactly what a hook point gets, with its log line and JSON event.
import { describe, expect, test } from 'vitest';
import type { FaultDecision } from '../../src/faults/model.js';
import { DhGroup, Notify } from '../../src/wire/constants.js';
import { BAR, authReq, deleteReq, engineWith, esp, liveness, rekeyReq } from './helpers.js';

const strip = (d: FaultDecision) => {
  const { firing: _f, ...rest } = d as FaultDecision & { firing?: unknown };
  return rest;
};

describe('IKE actions', () => {
  test('drop: the decision, the charon-style line and the JSON event', () => {
    const { engine, clock } = engineWith({ name: 'dpd-loss', match: 'exchange=INFORMATIONAL,dir=in,request,empty', action: 'drop' });
    const d = engine.onIkeReceive(liveness(7));
    expect(strip(d)).toEqual({ kind: 'drop', rule: 'dpd-loss' });
    if (d.kind === 'pass') throw new Error('passed');
    expect(d.firing.group).toBe('IKE');
    expect(d.firing.text).toBe("fault 'dpd-loss': dropped INFORMATIONAL request 7");
    expect(d.firing.event).toEqual({
      event: 'fault.fired',
      rule: 'dpd-loss',
      action: 'drop',
      point: 'ike-receive',
      direction: 'in',
      ike: 'bar',
      ikeId: 1,
      exchange: 'INFORMATIONAL',
      role: 'request',
      messageId: 7,
      fired: 1,
      at: clock.t,
    });
    expect(JSON.parse(JSON.stringify(d.firing.event))).toEqual(d.firing.event);
  });

  test.each([
    ['delay=400ms', liveness(), 'in', { kind: 'delay', ms: 400 }, 'delayed INFORMATIONAL request 7 by 400 ms'],
    ['duplicate', liveness(), 'in', { kind: 'duplicate', copies: 1, gapMs: 0 }, 'duplicated INFORMATIONAL request 7 (1 extra copy)'],
    [
      'duplicate=2,gap=500ms',
      liveness(),
      'out',
      { kind: 'duplicate', copies: 2, gapMs: 500 },
      'duplicated INFORMATIONAL request 7 (2 extra copies, 500 ms apart)',
    ],
    ['corrupt', authReq(), 'out', { kind: 'corrupt', where: 'icv' }, 'corrupted the ICV of IKE_AUTH request 1'],
    ['corrupt=iv', authReq(), 'in', { kind: 'corrupt', where: 'iv' }, 'corrupted the IV of IKE_AUTH request 1'],
    ['truncate=100', authReq(), 'out', { kind: 'truncate', keep: 100 }, 'truncated IKE_AUTH request 1 to 100 bytes'],
    ['truncate=-4', authReq(), 'in', { kind: 'truncate', keep: -4 }, 'cut 4 bytes off IKE_AUTH request 1'],
    ['ke=omit', rekeyReq(), 'out', { kind: 'ke', mode: 'omit' }, 'omitting the KE payload of CREATE_CHILD_SA request 3'],
    ['ke=empty', rekeyReq(), 'out', { kind: 'ke', mode: 'empty' }, 'sending an empty KE payload in CREATE_CHILD_SA request 3'],
    [
      'ke=group:19',
      rekeyReq(),
      'out',
      { kind: 'ke', mode: 'group', group: DhGroup.ECP_256 },
      'offering DH group 19 in CREATE_CHILD_SA request 3',
    ],
    ['ke=fill:7', rekeyReq(), 'out', { kind: 'ke', mode: 'fill', byte: 7 }, 'filling the KE data of CREATE_CHILD_SA request 3 with 0x07'],
    [
      'unknown-payload',
      authReq(),
      'out',
      { kind: 'unknown-payload', payloadType: 255, critical: false, sk: false },
      'adding unknown payload 255 to IKE_AUTH request 1',
    ],
    [
      'unknown-payload=200,critical,sk',
      authReq(),
      'out',
      { kind: 'unknown-payload', payloadType: 200, critical: true, sk: true },
      'adding unknown critical payload 200 to IKE_AUTH request 1 (inside SK)',
    ],
    ['wrong-spi', liveness(), 'out', { kind: 'wrong-spi' }, "sending INFORMATIONAL request 7 with the recipient's SPI inverted"],
    ['wrong-mid', liveness(7), 'out', { kind: 'wrong-mid', messageId: 8 }, 'sending INFORMATIONAL request 7 with message ID 8'],
    [
      'wrong-mid=-8',
      liveness(7),
      'out',
      { kind: 'wrong-mid', messageId: 0xffff_ffff },
      'sending INFORMATIONAL request 7 with message ID 4294967295',
    ],
    ['wrong-mid=100', liveness(7), 'out', { kind: 'wrong-mid', messageId: 100 }, 'sending INFORMATIONAL request 7 with message ID 100'],
    ['no-retransmit', liveness(7, { retransmit: true }), 'out', { kind: 'drop' }, 'suppressed retransmit of INFORMATIONAL request 7'],
    ['no-delete', deleteReq(9), 'out', { kind: 'no-delete' }, 'not sending the DELETE in INFORMATIONAL request 9'],
    [
      'replay=forward',
      liveness(),
      'in',
      { kind: 'replay', order: 'forward' },
      'replaying every message received so far, old to new, with INFORMATIONAL request 7',
    ],
    [
      'replay=backward',
      liveness(),
      'in',
      { kind: 'replay', order: 'backward' },
      'replaying every message received so far, new to old, with INFORMATIONAL request 7',
    ],
    ['dead', liveness(), 'in', { kind: 'drop' }, 'dropped INFORMATIONAL request 7 (dead until cleared)'],
  ] as const)('%s (%s)', (action, ctx, dir, want, text) => {
    const { engine } = engineWith({ name: 'r', action });
    const d = dir === 'in' ? engine.onIkeReceive(ctx) : engine.onIkeSend(ctx);
    expect(strip(d)).toEqual({ ...want, rule: 'r' });
    expect(d.kind !== 'pass' && d.firing.text).toBe(`fault 'r': ${text}`);
  });

  test.each([
    ['NO_PROPOSAL_CHOSEN', Notify.NO_PROPOSAL_CHOSEN, ''],
    ['TS_UNACCEPTABLE', Notify.TS_UNACCEPTABLE, ''],
    ['INVALID_KE_PAYLOAD:19', Notify.INVALID_KE_PAYLOAD, '0013'],
    ['INVALID_KE_PAYLOAD:modp2048', Notify.INVALID_KE_PAYLOAD, '000e'],
    ['AUTHENTICATION_FAILED', Notify.AUTHENTICATION_FAILED, ''],
    ['TEMPORARY_FAILURE', Notify.TEMPORARY_FAILURE, ''],
    ['INVALID_SYNTAX', Notify.INVALID_SYNTAX, ''],
  ])('notify=%s: answer the request with it instead of processing', (value, type, dataHex) => {
    const { engine } = engineWith({ name: 'n', match: 'exchange=CREATE_CHILD_SA', action: `notify=${value}` });
    const d = engine.onIkeReceive(rekeyReq());
    if (d.kind !== 'notify') throw new Error(`got ${d.kind}`);
    expect(d.notifyType).toBe(type);
    expect(d.data.toString('hex')).toBe(dataHex);
    expect(d.firing.text).toMatch(
      /^fault 'n': answering CREATE_CHILD_SA request 3 with [A-Z_]+( \(group \d+\))? instead of processing it$/,
    );
  });

  test('notify on a response we send: sent in its place', () => {
    const { engine } = engineWith({ name: 'n', match: 'exchange=IKE_AUTH,dir=out', action: 'notify=TS_UNACCEPTABLE' });
    const d = engine.onIkeSend({ ...authReq(), isResponse: true });
    expect(d).toMatchObject({ kind: 'notify', notifyType: Notify.TS_UNACCEPTABLE, data: Buffer.alloc(0) });
    expect(d.kind !== 'pass' && d.firing.text).toBe("fault 'n': sending TS_UNACCEPTABLE instead of IKE_AUTH response 1");
  });

  test('reorder: held, then released with the decision of the Nth later message of the same IKE_SA and direction', () => {
    const { engine } = engineWith({ name: 'r', match: 'mid=7', action: 'reorder=2,max=3s' });
    const held = engine.onIkeSend(liveness(7));
    if (held.kind !== 'hold') throw new Error(`got ${held.kind}`);
    expect(held).toMatchObject({ maxMs: 3000, rule: 'r' });
    expect(held.firing.text).toBe("fault 'r': holding INFORMATIONAL request 7 until 2 later messages passed (at most 3000 ms)");
    expect(engine.onIkeReceive(liveness(8))).toEqual({ kind: 'pass' }); // other direction: not its stream
    expect(engine.onIkeSend(liveness(8, { ike: { name: 'bar', uniqueId: 9 } }))).toEqual({ kind: 'pass' }); // other IKE_SA
    expect(engine.onIkeSend(liveness(8))).toEqual({ kind: 'pass' });
    expect(engine.list()[0]!.holding).toBe(1);
    expect(engine.onIkeSend(liveness(9))).toEqual({ kind: 'pass', release: [{ id: held.holdId, rule: 'r' }] });
    expect(engine.list()[0]!.holding).toBe(0);
  });

  test('reorder: the wiring releases on maxMs; a later release does not repeat it', () => {
    const { engine } = engineWith({ name: 'r', match: 'mid=7', action: 'reorder' });
    const held = engine.onIkeSend(liveness(7));
    if (held.kind !== 'hold') throw new Error(`got ${held.kind}`);
    expect(engine.releaseHeld(held.holdId)).toBe(true);
    expect(engine.releaseHeld(held.holdId)).toBe(false);
    expect(engine.onIkeSend(liveness(8))).toEqual({ kind: 'pass' });
  });
});

describe('ESP actions', () => {
  test.each([
    ['esp-replay=3', 'out', { kind: 'esp-replay', count: 3 }, 'replaying the last 3 packets with outbound ESP packet SPI c1a2b3c4 seq 17'],
    ['esp-replay', 'in', { kind: 'esp-replay', count: 1 }, 'replaying the last 1 packet with inbound ESP packet SPI c1a2b3c4 seq 17'],
    [
      'esp-seq-jump=1000',
      'out',
      { kind: 'esp-seq-jump', by: 1000 },
      'advancing the sequence number by 1000 before outbound ESP packet SPI c1a2b3c4 seq 17',
    ],
  ] as const)('%s', (action, dir, want, text) => {
    const { engine } = engineWith({ name: 'e', action });
    const d = dir === 'out' ? engine.onEspSeal(esp()) : engine.onEspOpen(esp());
    expect(strip(d)).toEqual({ ...want, rule: 'e' });
    if (d.kind === 'pass') throw new Error('passed');
    expect(d.firing.text).toBe(`fault 'e': ${text}`);
    expect(d.firing.group).toBe('ESP');
    expect(d.firing.event).toMatchObject({
      point: dir === 'out' ? 'esp-seal' : 'esp-open',
      child: 'net',
      spi: 'c1a2b3c4',
      seq: 17,
      ike: 'bar',
      ikeId: 1,
    });
  });

  test.each([
    ['corrupt', { kind: 'corrupt', where: 'icv' }],
    ['wrong-spi', { kind: 'wrong-spi', spi: 0x3e5d4c3b }],
    ['drop', { kind: 'drop' }],
    ['truncate=-16', { kind: 'truncate', keep: -16 }],
    ['reorder=65', { kind: 'hold', maxMs: 10_000 }],
  ])('proto=esp --action %s', (action, want) => {
    const { engine } = engineWith({ name: 'e', match: 'proto=esp,dir=out', action });
    expect(engine.onEspSeal(esp())).toMatchObject({ ...want, rule: 'e' });
  });

  test('reorder past the replay window: released after 65 later packets of the same SA', () => {
    const { engine } = engineWith({ name: 'e', match: 'proto=esp,dir=out,nth=1', action: 'reorder=65' });
    const held = engine.onEspSeal(esp({ seq: 1 }));
    if (held.kind !== 'hold') throw new Error(held.kind);
    for (let seq = 2; seq <= 65; seq++) expect(engine.onEspSeal(esp({ seq })).release).toBeUndefined();
    expect(engine.onEspSeal(esp({ seq: 1000, spi: 1 })).release).toBeUndefined(); // another SA
    expect(engine.onEspSeal(esp({ seq: 66 })).release).toEqual([{ id: held.holdId, rule: 'e' }]);
  });

  test('a share of packets: drop with prob', () => {
    const { engine } = engineWith({ name: 'loss', match: 'proto=esp,prob=25%,seed=3', action: 'drop' });
    let dropped = 0;
    for (let seq = 1; seq <= 10_000; seq++) if (engine.onEspSeal(esp({ seq })).kind === 'drop') dropped++;
    expect(Math.abs(dropped - 2500)).toBeLessThan(200);
  });
});

describe('dead', () => {
  test('nothing of that IKE_SA leaves or is processed: IKE both ways, keepalives, ESP both ways; others unaffected', () => {
    const { engine } = engineWith({ name: 'gone', match: 'ike=bar', action: 'dead' });
    expect(engine.onIkeSend(liveness())).toMatchObject({ kind: 'drop', rule: 'gone' });
    expect(engine.onIkeReceive(liveness())).toMatchObject({ kind: 'drop', rule: 'gone' });
    expect(engine.onEspSeal(esp())).toMatchObject({ kind: 'drop', rule: 'gone' });
    expect(engine.onEspOpen(esp())).toMatchObject({ kind: 'drop', rule: 'gone' });
    const k = engine.onKeepalive({ ike: BAR });
    expect(k).toMatchObject({ kind: 'drop', rule: 'gone' });
    expect(k.kind !== 'pass' && k.firing).toMatchObject({
      group: 'NET',
      text: "fault 'gone': dropped NAT-T keepalive (dead until cleared)",
    });
    expect(engine.onIkeSend(liveness(7, { ike: { name: 'baz', uniqueId: 2 } })).kind).toBe('pass');
    engine.clear('gone');
    expect(engine.onIkeSend(liveness()).kind).toBe('pass');
  });

  test('dead comes first, whatever was added before it', () => {
    const { engine } = engineWith({ name: 'slow', action: 'delay=1s' }, { name: 'gone', match: 'ike=bar', action: 'dead' });
    expect(engine.onIkeReceive(liveness())).toMatchObject({ kind: 'drop', rule: 'gone' });
    expect(engine.list().map((r) => [r.name, r.fired, r.shadowed])).toEqual([
      ['slow', 0, 1],
      ['gone', 1, 0],
    ]);
  });
});
