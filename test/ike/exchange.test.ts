// IKE_SA_INIT + IKE_AUTH (+ the first CHILD_SA), DELETE, and the failure exchanges between two in-process peers
// (test/helpers/peers.ts): no sockets, no timers unless the test advances the shared test clock.
import { afterEach, describe, expect, test } from 'vitest';
import { deriveChildKeys, isAead } from '../../src/crypto/keys.js';
import { transformOf } from '../../src/ike/proposal-select.js';
import { DhGroup, ExchangeType, Notify, PayloadType, TransformType } from '../../src/wire/constants.js';
import { decodeMessage } from '../../src/wire/message.js';
import type { KePayload, NotifyPayload } from '../../src/wire/types.js';
import { is, makePair, type RecordingBackend, type Pair, type Queued } from '../helpers/peers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});
const use = (p: Pair): Pair => (pair = p);

/** Every pattern matches a line, in this order (other lines may come in between). */
function expectInOrder(lines: string[], patterns: (string | RegExp)[]): void {
  let from = 0;
  for (const p of patterns) {
    const i = lines.findIndex((l, k) => k >= from && (typeof p === 'string' ? l.includes(p) : p.test(l)));
    if (i < 0) throw new Error(`no line matching ${String(p)} after line ${from}:\n${lines.slice(from).join('\n')}`);
    from = i + 1;
  }
}

/** Payloads of an unprotected (IKE_SA_INIT) datagram. */
function initPayloads(m: Queued) {
  const d = decodeMessage(m.data);
  if (!d.ok) throw new Error(d.error.message);
  return d.value.payloads;
}

const SUITES: { ike: string; esp: string; encrLen: number; integLen: number }[] = [
  { ike: 'aes256-sha256-modp2048', esp: 'aes256-sha256', encrLen: 32, integLen: 32 },
  { ike: 'aes128gcm16-prfsha256-ecp256', esp: 'aes256gcm16', encrLen: 36, integLen: 0 },
  { ike: 'aes256-sha384-ecp384', esp: 'aes128-sha1', encrLen: 16, integLen: 20 },
  { ike: 'chacha20poly1305-prfsha256-curve25519', esp: 'aes256gcm16', encrLen: 36, integLen: 0 },
  { ike: '3des-sha1-modp1024', esp: 'aes128-sha1', encrLen: 16, integLen: 20 },
  // a DH group in esp_proposals means PFS on CREATE_CHILD_SA only: IKE_AUTH's CHILD_SA is keyed without it
  { ike: 'aes256-sha256-modp2048', esp: 'aes256-sha256-modp2048', encrLen: 32, integLen: 32 },
];

describe('establishing IKE_SA + CHILD_SA in process', () => {
  for (const s of SUITES) {
    test(`${s.ike} / ESP ${s.esp}`, () => {
      const p = use(makePair({ a: { proposals: [s.ike], espProposals: [s.esp] }, b: { proposals: [s.ike], espProposals: [s.esp] } }));
      p.initiate();
      const exchanged = p.deliverAll();
      expect(p.describe(exchanged)).toEqual([
        'A->B IKE_SA_INIT request 0',
        'B->A IKE_SA_INIT response 0',
        'A->B IKE_AUTH request 1',
        'B->A IKE_AUTH response 1',
      ]);

      const a = p.a.sa();
      const b = p.b.sa();
      expect(a.state).toBe('ESTABLISHED');
      expect(b.state).toBe('ESTABLISHED');
      expect(a.initiator).toBe(true);
      expect(b.initiator).toBe(false);
      // one IKE_SA, seen from both ends: same SPIs, same proposal, same SKEYSEED and keys
      expect(a.spiI.equals(b.spiI)).toBe(true);
      expect(a.spiR.equals(b.spiR)).toBe(true);
      expect(a.spiR.equals(Buffer.alloc(8))).toBe(false);
      expect(a.ni.equals(b.ni) && a.nr.equals(b.nr)).toBe(true);
      for (const k of ['skeyseed', 'skD', 'skAi', 'skAr', 'skEi', 'skEr', 'skPi', 'skPr'] as const) {
        expect(a.keys![k].equals(b.keys![k]), k).toBe(true);
      }
      expect(a.suite).toEqual(b.suite);

      // list-sas on both sides
      const [la] = p.a.daemon.ops.listSas();
      const [lb] = p.b.daemon.ops.listSas();
      expect(la).toMatchObject({
        name: 'demo',
        state: 'ESTABLISHED',
        initiator: true,
        localId: '127.0.0.1',
        remoteId: '127.0.0.2',
        messageIds: { nextRequest: 2, nextExpected: 0 },
      });
      expect(lb).toMatchObject({
        name: 'demo',
        state: 'ESTABLISHED',
        initiator: false,
        localId: '127.0.0.2',
        remoteId: '127.0.0.1',
        messageIds: { nextRequest: 0, nextExpected: 2 },
      });
      expect(la!.spiI).toBe(lb!.spiI);
      expect(la!.spiR).toBe(lb!.spiR);
      expect(la!.proposal).toBe(lb!.proposal);

      // the CHILD_SA: A's outbound is B's inbound and vice versa, SPIs and keys
      expect(a.children).toHaveLength(1);
      expect(b.children).toHaveLength(1);
      const ca = a.children[0]!;
      const cb = b.children[0]!;
      expect(ca.state).toBe('INSTALLED');
      expect(cb.state).toBe('INSTALLED');
      expect(ca.spiIn.equals(cb.spiOut)).toBe(true);
      expect(ca.spiOut.equals(cb.spiIn)).toBe(true);
      expect(ca.spiIn.length).toBe(4);
      expect(ca.spiIn.equals(ca.spiOut)).toBe(false);
      const ka = ca.keys!;
      const kb = cb.keys!;
      expect(ka.encrOut.equals(kb.encrIn)).toBe(true);
      expect(ka.encrIn.equals(kb.encrOut)).toBe(true);
      expect(ka.integOut.equals(kb.integIn)).toBe(true);
      expect(ka.integIn.equals(kb.integOut)).toBe(true);
      expect(ka.encrOut.equals(ka.encrIn)).toBe(false);
      expect(ka.encrOut.length).toBe(s.encrLen);
      expect(ka.integOut.length).toBe(s.integLen);
      expect(ca.dhGroup).toBe(0);
      // same transforms; the SPI in each side's copy is the one the peer sent
      expect({ ...ca.proposal!, spi: undefined }).toEqual({ ...cb.proposal!, spi: undefined });
      // independently: KEYMAT = prf+(SK_d, Ni | Nr), initiator's outbound first (RFC 7296 2.17)
      const encr = transformOf(ca.proposal!, TransformType.ENCR)!;
      const integ = transformOf(ca.proposal!, TransformType.INTEG);
      const km = deriveChildKeys(
        a.suite!.prf,
        a.keys!.skD,
        { encr: encr.id, encrKeyBits: encr.keyLength, integ: isAead(encr.id) ? undefined : integ?.id },
        a.ni,
        a.nr,
      );
      expect(km.encrI.equals(ka.encrOut) && km.encrR.equals(ka.encrIn)).toBe(true);
      expect(km.integI.equals(ka.integOut) && km.integR.equals(ka.integIn)).toBe(true);
      // selectors narrowed to the configured subnets, mirrored on the two sides
      const [lca] = la!.children;
      const [lcb] = lb!.children;
      expect(lca).toMatchObject({ name: 'net', state: 'INSTALLED', localTs: ['10.201.0.0/24'], remoteTs: ['10.202.0.0/24'] });
      expect(lcb).toMatchObject({ name: 'net', state: 'INSTALLED', localTs: ['10.202.0.0/24'], remoteTs: ['10.201.0.0/24'] });
      expect(lca!.spiIn).toBe(lcb!.spiOut);
    });
  }

  test('charon log lines on both peers, in charon order', () => {
    const p = use(makePair());
    p.establish();
    const a = p.a.sink.lines();
    const b = p.b.sink.lines();
    const ca = p.a.sa().children[0]!;
    const spi = (x: Buffer) => x.toString('hex');
    expectInOrder(a, [
      '01[IKE] initiating IKE_SA demo[1] to 127.0.0.2',
      '01[ENC] generating IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(REDIR_SUP) ]',
      '01[NET] sending packet: from 127.0.0.1[15000] to 127.0.0.2[15000] (464 bytes)',
      '01[NET] received packet: from 127.0.0.2[15000] to 127.0.0.1[15000] (472 bytes)',
      '01[ENC] parsed IKE_SA_INIT response 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(CHDLESS_SUP) N(MULT_AUTH) ]',
      '01[CFG] selected proposal: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048',
      "01[IKE] authentication of '127.0.0.1' (myself) with pre-shared key",
      '01[IKE] establishing CHILD_SA net{1}',
      '01[ENC] generating IKE_AUTH request 1 [ IDi N(INIT_CONTACT) IDr AUTH SA TSi TSr N(MOBIKE_SUP) N(NO_ADD_ADDR) N(MULT_AUTH) N(EAP_ONLY) N(MSG_ID_SYN_SUP) ]',
      '01[ENC] parsed IKE_AUTH response 1 [ IDr AUTH SA TSi TSr N(MOBIKE_SUP) N(NO_ADD_ADDR) ]',
      "01[IKE] authentication of '127.0.0.2' with pre-shared key successful",
      '01[IKE] IKE_SA demo[1] established between 127.0.0.1[127.0.0.1]...127.0.0.2[127.0.0.2]',
      '01[CFG] selected proposal: ESP:AES_GCM_16_256/NO_EXT_SEQ',
      `01[IKE] CHILD_SA net{1} established with SPIs ${spi(ca.spiIn)}_i ${spi(ca.spiOut)}_o and TS 10.201.0.0/24 === 10.202.0.0/24`,
    ]);
    expectInOrder(b, [
      '01[ENC] parsed IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(REDIR_SUP) ]',
      '01[IKE] 127.0.0.1 is initiating an IKE_SA',
      '01[CFG] selected proposal: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048',
      '01[ENC] generating IKE_SA_INIT response 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(CHDLESS_SUP) N(MULT_AUTH) ]',
      '01[ENC] parsed IKE_AUTH request 1 [ IDi N(INIT_CONTACT) IDr AUTH SA TSi TSr N(MOBIKE_SUP) N(NO_ADD_ADDR) N(MULT_AUTH) N(EAP_ONLY) N(MSG_ID_SYN_SUP) ]',
      '01[CFG] looking for peer configs matching 127.0.0.2[127.0.0.2]...127.0.0.1[127.0.0.1]',
      "01[CFG] selected peer config 'demo'",
      "01[IKE] authentication of '127.0.0.1' with pre-shared key successful",
      "01[IKE] authentication of '127.0.0.2' (myself) with pre-shared key",
      '01[IKE] IKE_SA demo[1] established between 127.0.0.2[127.0.0.2]...127.0.0.1[127.0.0.1]',
      `01[IKE] CHILD_SA net{1} established with SPIs ${spi(ca.spiOut)}_i ${spi(ca.spiIn)}_o and TS 10.202.0.0/24 === 10.201.0.0/24`,
      '01[ENC] generating IKE_AUTH response 1 [ IDr AUTH SA TSi TSr N(MOBIKE_SUP) N(NO_ADD_ADDR) ]',
    ]);
    // no NAT between two loopback addresses: nobody floats to the NAT-T port
    expect([...a, ...b].some((l) => l.includes('behind NAT'))).toBe(false);
    expect(p.sent.every((m) => m.src.port === 15000 && m.dst.port === 15000)).toBe(true);
  });

  test('encap: yes on A fakes NAT detection: IKE_AUTH floats to the NAT-T port, CHILD_SAs are UDP-encapsulated', () => {
    const p = use(makePair({ a: { extraConnection: '    encap: yes\n' } }));
    p.establish();
    expect(p.sent.map((m) => `${p.describe([m])[0]} ${m.src.port}->${m.dst.port}`)).toEqual([
      'A->B IKE_SA_INIT request 0 15000->15000',
      'B->A IKE_SA_INIT response 0 15000->15000',
      'A->B IKE_AUTH request 1 15001->15001',
      'B->A IKE_AUTH response 1 15001->15001',
    ]);
    expect(p.b.sink.has('remote host is behind NAT')).toBe(true);
    expect(p.a.sa().natAny && p.b.sa().natRemote).toBe(true);
    expect(p.b.sa().remote).toEqual({ address: '127.0.0.1', port: 15001 });
    expect(p.a.children()[0]!.encap).toBe(true);
    expect(p.b.children()[0]!.encap).toBe(true);
    expect(p.b.daemon.ops.listSas()[0]!.children[0]!.encap).toBe(true);
  });

  test('the logger filters per group: with enc at 0 the ENC lines are gone, IKE lines stay', () => {
    const p = use(makePair({ levels: { default: 1, enc: 0 } }));
    p.establish();
    const lines = p.a.sink.lines();
    expect(lines.some((l) => l.includes('[ENC]'))).toBe(false);
    expect(lines.some((l) => l.includes('IKE_SA demo[1] established between'))).toBe(true);
  });
});

describe('deleting', () => {
  test('terminate --ike from the initiator: INFORMATIONAL [ D ], both sides drop IKE_SA and CHILD_SA', () => {
    const p = use(makePair());
    p.establish();
    const sa = p.a.sa();
    expect(p.a.daemon.ops.terminate('demo')).toBe(1);
    expect(sa.state).toBe('DELETING');
    expect(p.describe()).toEqual(['A->B INFORMATIONAL request 2']);
    p.deliverAll();
    expect(p.describe(p.sent.slice(-2))).toEqual(['A->B INFORMATIONAL request 2', 'B->A INFORMATIONAL response 2']);
    expectInOrder(p.a.sink.lines(), [
      '01[IKE] deleting IKE_SA demo[1] between 127.0.0.1[127.0.0.1]...127.0.0.2[127.0.0.2]',
      '01[IKE] sending DELETE for IKE_SA demo[1]',
      '01[ENC] generating INFORMATIONAL request 2 [ D ]',
      '01[ENC] parsed INFORMATIONAL response 2 [ ]',
      '01[IKE] IKE_SA deleted',
    ]);
    expectInOrder(p.b.sink.lines(), [
      '01[ENC] parsed INFORMATIONAL request 2 [ D ]',
      '01[IKE] received DELETE for IKE_SA demo[1]',
      '01[IKE] deleting IKE_SA demo[1] between 127.0.0.2[127.0.0.2]...127.0.0.1[127.0.0.1]',
      '01[IKE] IKE_SA deleted',
      '01[ENC] generating INFORMATIONAL response 2 [ ]',
    ]);
    expect(p.a.daemon.ops.listSas()).toEqual([]);
    expect(p.b.daemon.ops.listSas()).toEqual([]);
    expect(p.a.daemon.ops.stats()).toMatchObject({ sas: 0, timers: 0 });
    expect(p.b.daemon.ops.stats()).toMatchObject({ sas: 0, timers: 0 });
    expect((p.a.backend as RecordingBackend).events).toEqual(['install net{1}', 'remove net{1}']);
    expect((p.b.backend as RecordingBackend).events).toEqual(['install net{1}', 'remove net{1}']);
  });

  test('terminate --ike from the responder: B uses its own message ID 0', () => {
    const p = use(makePair());
    p.establish();
    expect(p.b.daemon.ops.terminate('demo')).toBe(1);
    expect(p.describe()).toEqual(['B->A INFORMATIONAL request 0']);
    p.deliverAll();
    expect(p.describe(p.sent.slice(-2))).toEqual(['B->A INFORMATIONAL request 0', 'A->B INFORMATIONAL response 0']);
    expect(p.sent.at(-2)!.header.initiator).toBe(false);
    expect(p.sent.at(-1)!.header.initiator).toBe(true);
    expectInOrder(p.b.sink.lines(), [
      '01[ENC] generating INFORMATIONAL request 0 [ D ]',
      '01[ENC] parsed INFORMATIONAL response 0 [ ]',
      '01[IKE] IKE_SA deleted',
    ]);
    expectInOrder(p.a.sink.lines(), [
      '01[ENC] parsed INFORMATIONAL request 0 [ D ]',
      '01[IKE] received DELETE for IKE_SA demo[1]',
      '01[IKE] IKE_SA deleted',
      '01[ENC] generating INFORMATIONAL response 0 [ ]',
    ]);
    expect(p.a.daemon.ops.listSas()).toEqual([]);
    expect(p.b.daemon.ops.listSas()).toEqual([]);
  });

  test("terminate --child: the CHILD_SA goes, the IKE_SA stays; SPIs in the DELETE are each side's inbound", () => {
    const p = use(makePair());
    p.establish();
    const [ca] = p.a.sa().children;
    expect(p.a.daemon.ops.terminate(undefined, 'net')).toBe(1);
    p.deliverAll();
    expect(p.a.sa().state).toBe('ESTABLISHED');
    expect(p.b.sa().state).toBe('ESTABLISHED');
    expect(p.a.children()).toEqual([]);
    expect(p.b.children()).toEqual([]);
    const hex = (b: Buffer) => b.toString('hex');
    expectInOrder(p.a.sink.lines(), [
      `01[IKE] closing CHILD_SA net{1} with SPIs ${hex(ca!.spiIn)}_i (0 bytes) ${hex(ca!.spiOut)}_o (0 bytes) and TS 10.201.0.0/24 === 10.202.0.0/24`,
      `01[IKE] sending DELETE for ESP CHILD_SA with SPI ${hex(ca!.spiIn)}`,
      '01[ENC] generating INFORMATIONAL request 2 [ D ]',
      '01[ENC] parsed INFORMATIONAL response 2 [ D ]',
      `01[IKE] received DELETE for ESP CHILD_SA with SPI ${hex(ca!.spiOut)}`,
      '01[IKE] CHILD_SA closed',
    ]);
    expectInOrder(p.b.sink.lines(), [
      `01[IKE] received DELETE for ESP CHILD_SA with SPI ${hex(ca!.spiIn)}`,
      '01[IKE] CHILD_SA closed',
      '01[ENC] generating INFORMATIONAL response 2 [ D ]',
    ]);
    // and the IKE_SA is still usable: a CHILD_SA can be created again with CREATE_CHILD_SA
    p.a.daemon.ops.initiate(undefined, 'net');
    const again = p.deliverAll();
    expect(p.describe(again)).toEqual(['A->B CREATE_CHILD_SA request 3', 'B->A CREATE_CHILD_SA response 3']);
    expect(p.a.children().map((c) => c.state)).toEqual(['INSTALLED']);
    expect(p.b.children().map((c) => c.state)).toEqual(['INSTALLED']);
    expect(p.a.children()[0]!.keys!.encrOut.equals(p.b.children()[0]!.keys!.encrIn)).toBe(true);
  });
});

describe('failures', () => {
  test('INVALID_KE_PAYLOAD: A offers MODP_2048 first, B wants ECP_256; A retries with message ID 0 and ECP_256', () => {
    const p = use(
      makePair({ a: { proposals: ['aes256-sha256-modp2048', 'aes256-sha256-ecp256'] }, b: { proposals: ['aes256-sha256-ecp256'] } }),
    );
    p.initiate();
    const first = p.deliverNext()!;
    expect(p.describe([first])).toEqual(['A->B IKE_SA_INIT request 0']);
    expect(initPayloads(first).find((x) => x.type === PayloadType.KE)).toMatchObject({ group: DhGroup.MODP_2048 });
    const refusal = p.deliverNext()!;
    expect(p.describe([refusal])).toEqual(['B->A IKE_SA_INIT response 0']);
    const n = initPayloads(refusal);
    expect(n).toHaveLength(1);
    expect(n[0]).toMatchObject({ type: PayloadType.NOTIFY, notifyType: Notify.INVALID_KE_PAYLOAD });
    expect((n[0] as NotifyPayload).data.readUInt16BE(0)).toBe(DhGroup.ECP_256);
    expect(refusal.header.spiR.equals(Buffer.alloc(8))).toBe(true);
    // B keeps no state for the refused request
    expect(p.b.daemon.ops.listSas()).toEqual([]);

    const retry = p.queue[0]!;
    expect(p.describe([retry])).toEqual(['A->B IKE_SA_INIT request 0']);
    expect(retry.header.messageId).toBe(0);
    expect(retry.header.spiR.equals(Buffer.alloc(8))).toBe(true);
    expect((initPayloads(retry).find((x) => x.type === PayloadType.KE) as KePayload).group).toBe(DhGroup.ECP_256);
    p.deliverAll();
    expect(p.describe(p.sent)).toEqual([
      'A->B IKE_SA_INIT request 0',
      'B->A IKE_SA_INIT response 0',
      'A->B IKE_SA_INIT request 0',
      'B->A IKE_SA_INIT response 0',
      'A->B IKE_AUTH request 1',
      'B->A IKE_AUTH response 1',
    ]);
    expect(p.a.sa().state).toBe('ESTABLISHED');
    expect(p.b.sa().state).toBe('ESTABLISHED');
    expect(p.a.sa().proposal && transformOf(p.a.sa().proposal!, TransformType.DH)?.id).toBe(DhGroup.ECP_256);
    expect(p.a.children().map((c) => c.state)).toEqual(['INSTALLED']);
    expectInOrder(p.a.sink.lines(), [
      '01[IKE] initiating IKE_SA demo[1] to 127.0.0.2',
      '01[ENC] parsed IKE_SA_INIT response 0 [ N(INVAL_KE) ]',
      "01[IKE] peer didn't accept DH group MODP_2048, it requested ECP_256",
      '01[IKE] initiating IKE_SA demo[1] to 127.0.0.2',
      '01[ENC] generating IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(REDIR_SUP) ]',
      '01[CFG] selected proposal: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256',
      '01[IKE] IKE_SA demo[1] established between',
    ]);
    expectInOrder(p.b.sink.lines(), [
      '[IKE] DH group MODP_2048 unacceptable, requesting ECP_256',
      '[ENC] generating IKE_SA_INIT response 0 [ N(INVAL_KE) ]',
      '[ENC] generating IKE_SA_INIT response 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(CHDLESS_SUP) N(MULT_AUTH) ]',
    ]);
  });

  test('no INVALID_KE_PAYLOAD when the responder can use the group the initiator sent', () => {
    const p = use(
      makePair({ a: { proposals: ['aes256-sha256-modp2048'] }, b: { proposals: ['aes256-sha256-ecp256', 'aes256-sha256-modp2048'] } }),
    );
    // B also has ECP_256 configured, but A only offers MODP_2048: B selects A's proposal, the KE matches, no retry.
    p.establish();
    expect(p.a.sa().state).toBe('ESTABLISHED');
    expect(p.sent.filter(is.exchange('IKE_SA_INIT'))).toHaveLength(2);
  });

  test('NO_PROPOSAL_CHOSEN in IKE_SA_INIT: unprotected notify, no state left on either side', () => {
    const p = use(makePair({ b: { proposals: ['aes128-sha1-modp1024'] } }));
    p.establish();
    expect(p.describe(p.sent)).toEqual(['A->B IKE_SA_INIT request 0', 'B->A IKE_SA_INIT response 0']);
    const n = initPayloads(p.sent[1]!);
    expect(n).toEqual([expect.objectContaining({ type: PayloadType.NOTIFY, notifyType: Notify.NO_PROPOSAL_CHOSEN })]);
    expectInOrder(p.b.sink.lines(), [
      '[CFG] received proposals: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048',
      '[CFG] configured proposals: IKE:AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024',
      '[IKE] received proposals unacceptable',
      '[ENC] generating IKE_SA_INIT response 0 [ N(NO_PROP) ]',
    ]);
    expectInOrder(p.a.sink.lines(), [
      '[ENC] parsed IKE_SA_INIT response 0 [ N(NO_PROP) ]',
      '[IKE] received NO_PROPOSAL_CHOSEN notify error',
    ]);
    expect(p.a.daemon.ops.listSas()).toEqual([]);
    expect(p.b.daemon.ops.listSas()).toEqual([]);
    expect(p.a.daemon.ops.stats().timers).toBe(0);
    // nothing is retransmitted afterwards
    p.clock.advance(60_000);
    expect(p.queue).toEqual([]);
  });

  test('AUTHENTICATION_FAILED: different PSKs; B answers with the notify only, both IKE_SAs are gone', () => {
    const p = use(makePair({ b: { psk: 'not-the-same-secret' } }));
    p.establish();
    expect(p.describe(p.sent)).toEqual([
      'A->B IKE_SA_INIT request 0',
      'B->A IKE_SA_INIT response 0',
      'A->B IKE_AUTH request 1',
      'B->A IKE_AUTH response 1',
    ]);
    expectInOrder(p.b.sink.lines(), [
      "[IKE] tried 1 shared key for '127.0.0.2' - '127.0.0.1', but MAC mismatched",
      '[ENC] generating IKE_AUTH response 1 [ N(AUTH_FAILED) ]',
    ]);
    expectInOrder(p.a.sink.lines(), [
      '[ENC] parsed IKE_AUTH response 1 [ N(AUTH_FAILED) ]',
      '[IKE] received AUTHENTICATION_FAILED notify error',
    ]);
    expect(p.a.sink.lines().some((l) => l.includes('established'))).toBe(false);
    expect(p.b.sink.lines().some((l) => l.includes('established'))).toBe(false);
    expect(p.a.daemon.ops.listSas()).toEqual([]);
    expect(p.b.daemon.ops.listSas()).toEqual([]);
    p.clock.advance(60_000);
    expect(p.queue).toEqual([]);
  });

  test('TS_UNACCEPTABLE: the CHILD_SA fails, the IKE_SA stays on both sides and keeps working', () => {
    const p = use(makePair({ b: { remoteTs: ['10.99.0.0/24'] } }));
    p.establish();
    expectInOrder(p.b.sink.lines(), [
      '[IKE] IKE_SA demo[1] established between',
      '[IKE] traffic selectors 10.202.0.0/24 === 10.201.0.0/24 unacceptable',
      '[IKE] failed to establish CHILD_SA, keeping IKE_SA',
      '[ENC] generating IKE_AUTH response 1 [ IDr AUTH N(MOBIKE_SUP) N(NO_ADD_ADDR) N(TS_UNACCEPT) ]',
    ]);
    expectInOrder(p.a.sink.lines(), [
      '[ENC] parsed IKE_AUTH response 1 [ IDr AUTH N(MOBIKE_SUP) N(NO_ADD_ADDR) N(TS_UNACCEPT) ]',
      '[IKE] IKE_SA demo[1] established between',
      '[IKE] received TS_UNACCEPTABLE notify, no CHILD_SA built',
      '[IKE] failed to establish CHILD_SA, keeping IKE_SA',
    ]);
    expect(p.a.sa().state).toBe('ESTABLISHED');
    expect(p.b.sa().state).toBe('ESTABLISHED');
    expect(p.a.daemon.ops.listSas()[0]!.children).toEqual([]);
    expect(p.b.daemon.ops.listSas()[0]!.children).toEqual([]);
    // the IKE_SA still carries exchanges: a clean DELETE
    p.a.daemon.ops.terminate('demo');
    p.deliverAll();
    expect(p.a.daemon.ops.listSas()).toEqual([]);
    expect(p.b.daemon.ops.listSas()).toEqual([]);
  });

  test('ESP NO_PROPOSAL_CHOSEN in IKE_AUTH: the IKE_SA stays, no CHILD_SA', () => {
    const p = use(makePair({ b: { espProposals: ['aes128-sha1'] } }));
    p.establish();
    expectInOrder(p.b.sink.lines(), [
      '[IKE] no acceptable proposal found',
      '[IKE] failed to establish CHILD_SA, keeping IKE_SA',
      'N(NO_PROP)',
    ]);
    expectInOrder(p.a.sink.lines(), [
      '[IKE] received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built',
      '[IKE] failed to establish CHILD_SA, keeping IKE_SA',
    ]);
    expect(p.a.sa().state).toBe('ESTABLISHED');
    expect(p.b.sa().state).toBe('ESTABLISHED');
    expect(p.a.children()).toEqual([]);
    expect(p.b.children()).toEqual([]);
  });

  test('an IKE_SA_INIT the responder has no config for is answered with NO_PROPOSAL_CHOSEN and counted', () => {
    const p = use(makePair());
    p.initiate();
    const m = p.queue.shift()!;
    // the same request, but from an address B has no connection for
    p.deliver({ ...m, src: { address: '127.0.0.9', port: 15000 } });
    expect(p.b.daemon.ops.stats().dispatcher.noConfig).toBe(1);
    expect(p.b.sink.lines()).toContain('00[IKE] no IKE config found for 127.0.0.2...127.0.0.9, sending NO_PROPOSAL_CHOSEN');
    expect(p.b.daemon.ops.listSas()).toEqual([]);
    expect(p.queue.map((q) => [q.from, q.header.exchange, q.header.response])).toEqual([['B', ExchangeType.IKE_SA_INIT, true]]);
  });
});
