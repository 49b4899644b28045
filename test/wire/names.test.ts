// Charon's names: every payload list and proposal line of the reference logs must be reproduced.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExchangeType, Notify, PayloadType as P, TransformType as T } from '../../src/wire/constants.js';
import { decodeMessage, decodePayloads, encodePayloads } from '../../src/wire/message.js';
import {
  describeMessage,
  describePayloads,
  notifyLongName,
  notifyName,
  proposalsToString,
  proposalToString,
  transformName,
} from '../../src/wire/names.js';
import type { NotifyPayload, Payload, Proposal, SaPayload, Transform } from '../../src/wire/types.js';
import { prng, readLines, REFERENCE, scenarios, summaries } from './helpers.js';
import { readIkeMessages } from './pcap.js';
import { samples } from './samples.js';

const allLogs = ['charon-logs', 'kat'].flatMap((g) =>
  readdirSync(join(REFERENCE, g), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => ['initiator.log', 'responder.log'].map((f) => join(REFERENCE, g, d.name, f))),
);

const notifyByName = new Map<string, number>();
for (let t = 0; t < 65536; t++) if (!notifyName(t).startsWith('(')) notifyByName.set(notifyName(t), t);

/** Builds real payloads for a logged list such as "IDi N(INIT_CONTACT) IDr AUTH SA". */
function build(list: string): Payload[] {
  const byName: Record<string, Payload> = {
    SA: samples.SA!,
    KE: samples.KE!,
    No: samples.No!,
    IDi: samples.IDi!,
    IDr: samples.IDr!,
    AUTH: samples.AUTH!,
    TSi: samples.TSi!,
    TSr: samples.TSr!,
    D: samples.D!,
    V: samples.V!,
    CERT: samples.CERT!,
    CERTREQ: samples.CERTREQ!,
  };
  return list
    .split(' ')
    .filter(Boolean)
    .map((tok) => {
      const n = /^N\((.+)\)$/.exec(tok);
      if (n) {
        const notifyType = notifyByName.get(n[1]!);
        if (notifyType === undefined) throw new Error(`unknown notify ${n[1]}`);
        return { type: P.NOTIFY, protocol: 0, spi: Buffer.alloc(0), notifyType, data: Buffer.alloc(0) };
      }
      const p = byName[tok];
      if (!p) throw new Error(`no builder for ${tok}`);
      return p;
    });
}

describe('describePayloads', () => {
  const lists = new Set(allLogs.flatMap((l) => summaries(readLines(l)).map((s) => s.list)));

  it('found the logged payload lists', () => {
    expect(lists.size).toBeGreaterThanOrEqual(14);
  });

  for (const list of lists) {
    it(`[ ${list} ]`, () => {
      const built = build(list);
      const { firstType, bytes } = encodePayloads(built);
      const r = decodePayloads(firstType, bytes);
      if (!r.ok) throw r.error;
      expect(describePayloads(r.value)).toBe(list);
    });
  }

  it('prints whole summaries as charon does, including the empty one', () => {
    expect(describeMessage(ExchangeType.INFORMATIONAL, true, 2, [])).toBe('INFORMATIONAL response 2 [ ]');
    expect(describeMessage(ExchangeType.INFORMATIONAL, false, 3, [samples.D!])).toBe('INFORMATIONAL request 3 [ D ]');
    expect(describeMessage(43, false, 1, [])).toBe('(43) request 1 [ ]');
  });

  it('prints fragments, CP, EAP, unknown payloads and unknown notifies like charon', () => {
    expect(describePayloads([samples.SKF!])).toBe('EF(1/2)');
    expect(describePayloads([samples.CP!])).toBe('CPRQ(ADDR DNS)');
    expect(
      describePayloads([
        {
          type: P.CP,
          cfgType: 2,
          attributes: [
            { type: 1, value: Buffer.alloc(4) },
            { type: 999, value: Buffer.alloc(0) },
          ],
        },
      ]),
    ).toBe('CPRP(ADDR (999))');
    expect(describePayloads([{ type: P.CP, cfgType: 1, attributes: [] }])).toBe('CP');
    expect(describePayloads([samples.EAP!])).toBe('EAP/RES/ID');
    expect(describePayloads([{ type: P.EAP, data: Buffer.from('03010004', 'hex') }])).toBe('EAP/SUCC');
    expect(describePayloads([{ type: P.EAP, data: Buffer.from('0101000cfe00013700000005', 'hex') }])).toBe('EAP/REQ/5-MS');
    expect(describePayloads([samples.UNKNOWN!, samples.SK!])).toBe('UNKN(99) E');
    const n = (notifyType: number): NotifyPayload => ({
      type: P.NOTIFY,
      protocol: 0,
      spi: Buffer.alloc(0),
      notifyType,
      data: Buffer.alloc(0),
    });
    expect(describePayloads([n(Notify.INTERMEDIATE_EXCHANGE_SUPPORTED), n(40000)])).toBe('N((16438)) N((40000))');
    expect(describePayloads([{ ...n(12345), data: Buffer.from('00000007', 'hex') }])).toBe('N(MS_STATUS(7))');
  });
});

describe('notify names', () => {
  it('has charon short and long names', () => {
    const cases: [number, string, string][] = [
      [Notify.NO_PROPOSAL_CHOSEN, 'NO_PROP', 'NO_PROPOSAL_CHOSEN'],
      [Notify.INVALID_KE_PAYLOAD, 'INVAL_KE', 'INVALID_KE_PAYLOAD'],
      [Notify.AUTHENTICATION_FAILED, 'AUTH_FAILED', 'AUTHENTICATION_FAILED'],
      [Notify.TS_UNACCEPTABLE, 'TS_UNACCEPT', 'TS_UNACCEPTABLE'],
      [Notify.UNSUPPORTED_CRITICAL_PAYLOAD, 'CRIT', 'UNSUPPORTED_CRITICAL_PAYLOAD'],
      [Notify.CHILD_SA_NOT_FOUND, 'NO_CHILD_SA', 'CHILD_SA_NOT_FOUND'],
      [Notify.SECURE_PASSWORD_METHODS, 'SEC_PASSWD', 'SECURE PASSWORD_METHOD'],
      [Notify.SIGNATURE_HASH_ALGORITHMS, 'HASH_ALG', 'SIGNATURE_HASH_ALGORITHMS'],
      [Notify.USE_PPK, 'USE_PPK', 'USE_PPK'],
      [Notify.NO_PPK_AUTH, 'NO_PPK', 'NO_PPK_AUTH'],
      [Notify.PUZZLE, '(16434)', '(16434)'],
    ];
    for (const [t, short, long] of cases) {
      expect(notifyName(t)).toBe(short);
      expect(notifyLongName(t)).toBe(long);
    }
  });
});

/** All transform names, to parse a logged proposal back into transforms. */
const transformByName = new Map<string, Transform>();
for (const type of [T.ENCR, T.PRF, T.INTEG, T.DH, T.ESN]) {
  for (let id = 0; id < 1100; id++) {
    for (const keyLength of [undefined, 128, 192, 256]) {
      const t: Transform = keyLength ? { type, id, keyLength } : { type, id };
      const name = transformName(t);
      if (!name.startsWith('(') && !transformByName.has(name)) transformByName.set(name, t);
    }
  }
}

const proto: Record<string, number> = { IKE: 1, AH: 2, ESP: 3 };

function parseProposal(s: string): Proposal {
  const [p, algs] = s.split(':') as [string, string];
  return {
    num: 1,
    protocol: proto[p]!,
    spi: Buffer.alloc(p === 'IKE' ? 0 : 4),
    transforms: algs.split('/').map((a) => {
      const t = transformByName.get(a);
      if (!t) throw new Error(`unknown transform ${a}`);
      return t;
    }),
  };
}

describe('proposalToString', () => {
  const lines = [
    ...new Set(
      allLogs
        .flatMap((l) => readLines(l))
        .flatMap((l) => {
          const m = /(?:selected proposal|received proposals|configured proposals|proposals =): (.*)$|proposals = (.*)$/.exec(l);
          return m ? [(m[1] ?? m[2])!.trim()] : [];
        }),
    ),
  ];

  it('found the logged proposals', () => {
    expect(lines.length).toBeGreaterThanOrEqual(25);
  });

  it('reprints every logged proposal from shuffled wire order', () => {
    const rnd = prng(7);
    for (const line of lines) {
      const p = parseProposal(line);
      // Random interleaving of the types, keeping the order within one type (charon prints those in wire order).
      const queues = [...new Set(p.transforms.map((t) => t.type))].map((type) => p.transforms.filter((t) => t.type === type));
      const transforms: Transform[] = [];
      while (queues.some((q) => q.length)) {
        const open = queues.filter((q) => q.length);
        transforms.push(open[Math.floor(rnd() * open.length)]!.shift()!);
      }
      expect(proposalToString({ ...p, transforms }), transforms.map((t) => t.type).join()).toBe(line);
    }
  });

  it('prints several proposals, unknown types and ids as charon does', () => {
    const a = parseProposal('IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048/ECP_256');
    const b = parseProposal('ESP:AES_GCM_16_128/NO_EXT_SEQ');
    expect(proposalsToString([a, b])).toBe(
      'IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048/ECP_256, ESP:AES_GCM_16_128/NO_EXT_SEQ',
    );
    expect(
      proposalToString({
        num: 1,
        protocol: 3,
        spi: Buffer.alloc(4),
        transforms: [
          { type: 9, id: 7 },
          { type: T.ENCR, id: 99, keyLength: 128 },
          { type: T.INTEG, id: 0 },
        ],
      }),
    ).toBe('ESP:(99)_128/(0)/UNKNOWN_9_7');
    expect(transformName({ type: T.ENCR, id: 3 })).toBe('3DES_CBC');
    expect(transformName({ type: T.ENCR, id: 28 })).toBe('CHACHA20_POLY1305');
    expect(transformName({ type: T.DH, id: 31 })).toBe('CURVE_25519');
    expect(transformName({ type: T.DH, id: 2 })).toBe('MODP_1024');
  });
});

describe('proposals decoded from the captures match the logs', () => {
  for (const s of scenarios()) {
    it(s.name, () => {
      const init = readIkeMessages(s.capture)
        .map((m) => decodeMessage(m.data))
        .flatMap((r) => (r.ok && r.value.header.exchange === ExchangeType.IKE_SA_INIT ? [r.value] : []));
      const sa = (resp: boolean) =>
        init
          .filter((m) => m.header.response === resp)
          .flatMap((m) => m.payloads.filter((p): p is SaPayload => p.type === P.SA && 'proposals' in p));
      const [iLog, rLog] = s.logs.map(readLines) as [string[], string[]];
      // The responder logs what it received (level 2+ or on mismatch) and the initiator what was selected.
      const received = rLog.flatMap((l) => /received proposals: (IKE:.*)$/.exec(l)?.[1] ?? []);
      const selected = iLog.flatMap((l) => /selected proposal: (IKE:.*)$/.exec(l)?.[1] ?? []);
      const req = sa(false).map((x) => proposalsToString(x.proposals));
      const resp = sa(true).map((x) => proposalsToString(x.proposals));
      expect(req.length).toBeGreaterThan(0);
      for (const r of received) expect(req).toContain(r);
      for (const r of selected) expect(resp).toContain(r);
      expect(received.length + selected.length).toBeGreaterThan(0);
    });
  }
});
