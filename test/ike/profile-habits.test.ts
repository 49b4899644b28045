// A peer profile's wire habits on the wire, between two in-process peers: the vendor IDs and notifies ios-xe adds,
// in the messages they belong in and IOS's payload order; charon's habits (no profile, strongswan, vedge) unchanged;
// what the receiving side logs (charon's lines); and the profile's retransmit timing.
import { afterEach, describe, expect, test } from 'vitest';
import type { IkeSa } from '../../src/ike/ike-sa.js';
import { retransmitOf } from '../../src/ike/outgoing.js';
import type { InMessage } from '../../src/ike/task.js';
import { IkeVendor } from '../../src/ike/tasks/ike-vendor.js';
import { colonHex, vendorIdName } from '../../src/ike/vendor-ids.js';
import { ExchangeType, PayloadType } from '../../src/wire/constants.js';
import { decodeMessage } from '../../src/wire/message.js';
import type { Payload, VendorPayload } from '../../src/wire/types.js';
import { is, makePair, type Pair, type PeerOptions, type Queued } from '../helpers/peers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});

const profile = (name: string): PeerOptions => ({ extraConnection: `    profile: ${name}\n` });

function pairOf(a?: string, b?: string): Pair {
  pair = makePair({ a: a ? profile(a) : {}, b: b ? profile(b) : {}, levels: { default: 1, ike: 2 } });
  return pair;
}

/** Payloads of an unprotected (IKE_SA_INIT) datagram, as decoded from its bytes. */
function plain(m: Queued): Payload[] {
  const d = decodeMessage(m.data);
  if (!d.ok) throw new Error(d.error.message);
  return d.value.payloads;
}

const vids = (ps: Payload[]): string[] =>
  ps.filter((p) => p.type === PayloadType.VENDOR).map((p) => (p as VendorPayload).data.toString('latin1'));

/** The payload list a peer logged for a message: `generating|parsed <EXCHANGE> <request|response> <mid> [ ... ]`. */
function listed(p: Pair, who: 'a' | 'b', verb: 'generating' | 'parsed', what: string): string {
  const line = p[who].sink.lines().find((l) => l.includes(`${verb} ${what} [`));
  if (!line) throw new Error(`${who} logged no "${verb} ${what}":\n${p[who].sink.lines().join('\n')}`);
  return line.slice(line.indexOf(`${what} [`) + what.length + 1);
}

const CISCO_INIT = ['CISCO-DELETE-REASON', 'CISCO(COPYRIGHT)&Copyright (c) 2009 Cisco Systems, Inc.', 'FLEXVPN-SUPPORTED'];

describe('ios-xe as initiator', () => {
  test('IKE_SA_INIT request: the Cisco vendor IDs after the nonce, no charon announcements; the responder names them', () => {
    const p = pairOf('ios-xe');
    p.initiate();
    const init = p.queue.find(is.exchange('IKE_SA_INIT'))!;
    const payloads = plain(init);
    expect(vids(payloads)).toEqual(CISCO_INIT);
    expect(payloads.map((x) => x.type).slice(0, 6)).toEqual([
      PayloadType.SA,
      PayloadType.KE,
      PayloadType.NONCE,
      PayloadType.VENDOR,
      PayloadType.VENDOR,
      PayloadType.VENDOR,
    ]);
    p.deliverAll();
    expect(listed(p, 'b', 'parsed', 'IKE_SA_INIT request 0')).toBe('[ SA KE No V V V N(NATD_S_IP) N(NATD_D_IP) ]');
    const b = p.b.sink.lines();
    expect(b.filter((l) => /vendor ID/.test(l))).toEqual([
      '01[IKE] received Cisco Delete Reason vendor ID',
      '01[IKE] received Cisco Copyright (c) 2009 vendor ID',
      '01[IKE] received Cisco FlexVPN Supported vendor ID',
    ]);
    expect(p.b.sink.has(/unknown vendor ID/)).toBe(false);
  });

  test('IKE_AUTH request: V first, no IDr, IOS notifies last; both establish', () => {
    const p = pairOf('ios-xe');
    p.establish();
    expect(p.a.sa().state).toBe('ESTABLISHED');
    expect(p.b.sa().state).toBe('ESTABLISHED');
    expect(listed(p, 'b', 'parsed', 'IKE_AUTH request 1')).toBe(
      '[ V IDi AUTH SA TSi TSr N(INIT_CONTACT) N(SET_WINSIZE) N(ESP_TFC_PAD_N) N(NON_FIRST_FRAG) ]',
    );
    // what A generated is what B parsed: the order is the one on the wire
    expect(listed(p, 'a', 'generating', 'IKE_AUTH request 1')).toBe(listed(p, 'b', 'parsed', 'IKE_AUTH request 1'));
    expect(p.b.sink.has(/received ESP_TFC_PADDING_NOT_SUPPORTED, not using ESPv3 TFC padding/)).toBe(true);
    // B (no profile) answers as charon, A reads that the old way
    expect(listed(p, 'a', 'parsed', 'IKE_AUTH response 1')).toBe('[ IDr AUTH SA TSi TSr N(MOBIKE_SUP) N(NO_ADD_ADDR) ]');
  });

  test('SET_WINDOW_SIZE announces the window ikelab honours: 1', () => {
    const p = pairOf('ios-xe');
    p.establish();
    expect(p.b.sink.has(/peer announced a message window of 1$/)).toBe(true);
    expect(p.a.sink.has(/peer announced a message window/)).toBe(false);
  });

  test('CREATE_CHILD_SA rekey request carries the CHILD_SA notifies; an IKE rekey does not', () => {
    const p = pairOf('ios-xe');
    p.establish();
    p.a.daemon.ops.rekey(undefined, 'net');
    p.deliverAll();
    expect(listed(p, 'b', 'parsed', 'CREATE_CHILD_SA request 2')).toBe('[ N(REKEY_SA) N(ESP_TFC_PAD_N) N(NON_FIRST_FRAG) SA No TSi TSr ]');
    expect(p.a.children()).toHaveLength(1);
    p.a.daemon.ops.rekey('demo');
    p.deliverAll();
    const ikeRekey = p.b.sink.lines().filter((l) => l.includes('parsed CREATE_CHILD_SA request 4'));
    expect(ikeRekey).toHaveLength(1);
    expect(ikeRekey[0]).not.toMatch(/TFC|NON_FIRST|V /);
  });
});

describe('ios-xe as responder', () => {
  test('IKE_SA_INIT and IKE_AUTH responses in IOS form; the charon initiator logs what charon logs', () => {
    const p = pairOf(undefined, 'ios-xe');
    p.initiate();
    p.deliverNext(); // A's IKE_SA_INIT request
    const resp = p.queue.find(is.all(is.exchange('IKE_SA_INIT'), is.response))!;
    expect(vids(plain(resp))).toEqual(CISCO_INIT);
    p.deliverAll();
    expect(p.a.sa().state).toBe('ESTABLISHED');
    // B did not announce fragmentation (ios-xe: off) nor charon's CHILDLESS / MULT_AUTH / HASH_ALG
    expect(listed(p, 'a', 'parsed', 'IKE_SA_INIT response 0')).toBe('[ SA KE No V V V N(NATD_S_IP) N(NATD_D_IP) ]');
    expect(listed(p, 'a', 'parsed', 'IKE_AUTH response 1')).toBe(
      '[ V IDr AUTH SA TSi TSr N(SET_WINSIZE) N(ESP_TFC_PAD_N) N(NON_FIRST_FRAG) ]',
    );
    expect(p.a.sink.has(/received Cisco Delete Reason vendor ID/)).toBe(true);
    expect(p.a.sink.has(/received ESP_TFC_PADDING_NOT_SUPPORTED, not using ESPv3 TFC padding/)).toBe(true);
  });

  test('a refused CHILD_SA gets no CHILD_SA notifies', () => {
    pair = makePair({ a: { espProposals: ['aes256-sha256'] }, b: { ...profile('ios-xe'), espProposals: ['aes128gcm16'] } });
    const p = pair;
    p.establish();
    const resp = listed(p, 'a', 'parsed', 'IKE_AUTH response 1');
    expect(resp).toContain('N(NO_PROP)');
    expect(resp).not.toMatch(/ESP_TFC_PAD_N|NON_FIRST_FRAG/);
  });
});

describe("charon's habits are unchanged", () => {
  for (const name of [undefined, 'strongswan', 'vedge']) {
    test(`${name ?? 'no profile'}: the payload lists of charon's establish-psk log, no vendor IDs`, () => {
      const p = pairOf(name, name);
      p.initiate();
      expect(vids(plain(p.queue[0]!))).toEqual([]);
      p.deliverAll();
      expect(listed(p, 'a', 'generating', 'IKE_SA_INIT request 0')).toBe(
        '[ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(REDIR_SUP) ]',
      );
      expect(listed(p, 'b', 'generating', 'IKE_SA_INIT response 0')).toBe(
        '[ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(CHDLESS_SUP) N(MULT_AUTH) ]',
      );
      expect(listed(p, 'a', 'generating', 'IKE_AUTH request 1')).toBe(
        '[ IDi N(INIT_CONTACT) IDr AUTH SA TSi TSr N(MOBIKE_SUP) N(NO_ADD_ADDR) N(MULT_AUTH) N(EAP_ONLY) N(MSG_ID_SYN_SUP) ]',
      );
      expect(listed(p, 'b', 'generating', 'IKE_AUTH response 1')).toBe('[ IDr AUTH SA TSi TSr N(MOBIKE_SUP) N(NO_ADD_ADDR) ]');
      expect(p.a.sink.has(/vendor ID/)).toBe(false);
    });
  }
});

describe('received vendor IDs', () => {
  function processed(initiator: boolean, data: Buffer[], exchange: number = ExchangeType.IKE_SA_INIT): string[] {
    const lines: string[] = [];
    const sa = {
      habits: { initVendorIds: [], authVendorIds: [] },
      log: { ike: (_: number, t: string) => lines.push(`[IKE] ${t}`), enc: (_: number, t: string) => lines.push(`[ENC] ${t}`) },
    } as unknown as IkeSa;
    const msg: InMessage = {
      exchange,
      messageId: 0,
      isResponse: initiator,
      payloads: data.map((d) => ({ type: PayloadType.VENDOR, data: d })),
      raw: Buffer.alloc(0),
    };
    new IkeVendor(sa, initiator).process(msg);
    return lines;
  }

  test('unknown ones are logged like charon (ENC, colon hex) and ignored', () => {
    expect(
      processed(false, [
        Buffer.from('CISCO-GRE-MODE'),
        Buffer.from([0x40, 0x48, 0xb7, 0xd5, 0x6e, 0xbc, 0xe8, 0x85, 0x25, 0xe7, 0xde, 0x7f, 0x00, 0xd6, 0xc2, 0xd3]),
      ]),
    ).toEqual(['[ENC] received unknown vendor ID: 43:49:53:43:4f:2d:47:52:45:2d:4d:4f:44:45', '[IKE] received FRAGMENTATION vendor ID']);
  });

  test('a prefix entry matches whatever version bytes follow', () => {
    const concentrator = Buffer.from('1f07f70eaa6514d3b0fa96542a500a01', 'hex');
    expect(vendorIdName(concentrator)).toBe('Cisco VPN Concentrator');
    expect(vendorIdName(concentrator.subarray(0, 10))).toBeUndefined();
    expect(colonHex(Buffer.from([0, 255, 16]))).toBe('00:ff:10');
  });

  test('vendor IDs after IKE_SA_INIT are not read (as charon)', () => {
    expect(processed(true, [Buffer.from('CISCO-DELETE-REASON')], ExchangeType.IKE_AUTH)).toEqual([]);
  });
});

describe('the profile retransmit timing', () => {
  test("an IKE_SA retransmits on its connection's timing and gives up after its tries", () => {
    const p = pairOf('ios-xe');
    // the pair writes daemon.retransmit (which wins over the profile): give the connection IOS's timing back
    const conn = p.a.config.connections[0]!;
    conn.retransmit = { timeout: 2, base: 2, tries: 2, jitter: 0, limit: 0 };
    const sa = p.initiate();
    expect(retransmitOf(sa)).toBe(conn.retransmit);
    p.dropAlways(is.from('A'));
    const at = (re: RegExp) => {
      for (let t = 0; t <= 20_000; t += 100) {
        if (p.a.sink.has(re)) return t;
        p.clock.advance(100);
      }
      throw new Error(`no ${re}`);
    };
    expect(at(/retransmit 1 of request with message ID 0/)).toBe(2000);
    expect(at(/retransmit 2 of request with message ID 0/)).toBe(4000); // 4 s after the first retransmit
    expect(at(/giving up after 2 retransmits/)).toBe(8000);
  });
});
