// Real bytes: every IKE message of the reference captures (strongSwan 5.9.8 <-> 5.9.8) must decode, pass the
// message rules and re-encode to the same bytes; IKE_SA_INIT payload lists must read as charon logged them.
// The level-4 KAT logs also dump the plaintext of every SK payload, which checks the inner payload codecs.

import { describe, expect, it } from 'vitest';
import { ExchangeType, PayloadType } from '../../src/wire/constants.js';
import { decodeMessage, decodePayloads, encodeMessage, encodePayloads, encodeSkPrefix } from '../../src/wire/message.js';
import { charonExchangeName, describeMessage, describePayloads, payloadName } from '../../src/wire/names.js';
import { checkMessageRules } from '../../src/wire/rules.js';
import type { SkPayload } from '../../src/wire/types.js';
import { atOffset, noThrow, readLines, scenarios, summaries } from './helpers.js';
import { readIkeMessages } from './pcap.js';

/** First payload type of a logged list ("IDi N(INIT_CONTACT) ..." -> 35), 0 for an empty list. */
function firstTypeOf(list: string): number {
  if (!list) return PayloadType.NONE;
  const name = list.split(' ')[0]!.replace(/\(.*$/, '');
  for (let t = 0; t < 256; t++) if (payloadName(t) === name) return t;
  throw new Error(`unknown payload name ${name}`);
}

describe.each(scenarios())('capture $name', ({ capture, logs }) => {
  const msgs = readIkeMessages(capture);
  const logged = logs.flatMap((l) => summaries(readLines(l))).filter((s) => s.verb === 'generating');

  it('holds IKE messages', () => {
    expect(msgs.length).toBeGreaterThanOrEqual(2);
  });

  it('decodes every message and re-encodes it byte for byte', () => {
    for (const m of msgs) {
      const r = noThrow(() => decodeMessage(atOffset(m.data)), 'decodeMessage');
      if (!r.ok) throw r.error;
      const { header, payloads } = r.value;
      expect(header.length).toBe(m.data.length);
      expect(checkMessageRules(header.exchange, header.response, payloads)).toBeUndefined();
      const { length: _l, nextPayload: _n, ...h } = header;
      if (header.exchange === ExchangeType.IKE_SA_INIT) {
        expect(encodeMessage(h, payloads).equals(m.data)).toBe(true);
        continue;
      }
      // Protected: SK alone and last, its body running to the end of the datagram.
      expect(payloads.length).toBe(1);
      const sk = payloads[0] as SkPayload;
      expect(sk.type).toBe(PayloadType.SK);
      expect(sk.body.length).toBe(m.data.length - 28 - 4);
      expect(Buffer.concat([encodeSkPrefix(h, sk.innerNext, sk.body.length), sk.body]).equals(m.data)).toBe(true);
      // innerNext names the first payload charon logged for this message.
      const kind = header.response ? 'response' : 'request';
      const lines = logged.filter(
        (s) => s.exchange === charonExchangeName(header.exchange) && s.kind === kind && s.mid === header.messageId,
      );
      expect(lines.length, `no log line for ${charonExchangeName(header.exchange)} ${kind} ${header.messageId}`).toBeGreaterThan(0);
      expect(lines.map((s) => firstTypeOf(s.list))).toContain(sk.innerNext);
    }
  });

  it('reads IKE_SA_INIT payload lists exactly as charon logged them', () => {
    const decoded = msgs.map((m) => decodeMessage(m.data)).flatMap((r) => (r.ok ? [r.value] : []));
    const init = decoded.filter((d) => d.header.exchange === ExchangeType.IKE_SA_INIT);
    const want = logged
      .filter((s) => s.exchange === 'IKE_SA_INIT')
      .map((s) => `IKE_SA_INIT ${s.kind} ${s.mid} [${s.list ? ` ${s.list}` : ''} ]`);
    const got = init.map((d) => describeMessage(d.header.exchange, d.header.response, d.header.messageId, d.payloads));
    expect(got.length).toBeGreaterThan(0);
    expect(got.filter((g) => g.includes('request'))).toEqual(want.filter((w) => w.includes('request')));
    expect(got.filter((g) => g.includes('response'))).toEqual(want.filter((w) => w.includes('response')));
  });
});

interface Plain {
  list: string;
  exchange: string;
  kind: string;
  bytes: Buffer;
}

/** Pairs every "plain => N bytes" dump with the summary line of its message (same thread). */
function plaintexts(lines: string[]): Plain[] {
  const out: Plain[] = [];
  const mode = new Map<string, 'enc' | 'dec'>();
  const lastGenerated = new Map<string, ReturnType<typeof summaries>[number]>();
  const pendingDec = new Map<string, Buffer[]>();
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const th = /^(\d+)\[/.exec(l)?.[1];
    if (!th) continue;
    if (l.includes('[ENC] encrypted payload encryption:')) mode.set(th, 'enc');
    if (l.includes('[ENC] encrypted payload decryption:')) mode.set(th, 'dec');
    const s = summaries([l])[0];
    if (s?.verb === 'generating') lastGenerated.set(th, s);
    if (s?.verb === 'parsed') {
      for (const b of pendingDec.get(th) ?? []) out.push({ list: s.list, exchange: s.exchange, kind: s.kind, bytes: b });
      pendingDec.delete(th);
    }
    const m = /\[ENC\] plain => (\d+) bytes/.exec(l);
    if (!m) continue;
    const n = Number(m[1]);
    const hex: string[] = [];
    for (let j = i + 1; hex.length < n && j < lines.length; j++) {
      const d = /^\d+\[ENC\]\s+\d+: (.*)$/.exec(lines[j]!);
      if (d) hex.push(...d[1]!.slice(0, 48).trim().split(/\s+/));
    }
    const bytes = Buffer.from(hex.slice(0, n).join(''), 'hex');
    if (mode.get(th) === 'enc') {
      const g = lastGenerated.get(th)!;
      out.push({ list: g.list, exchange: g.exchange, kind: g.kind, bytes });
    } else pendingDec.set(th, [...(pendingDec.get(th) ?? []), bytes]);
  }
  return out;
}

const exchangeNumber = (name: string) => ExchangeType[name as keyof typeof ExchangeType];

describe.each(scenarios().filter((s) => s.name.startsWith('kat/')))('decrypted payloads $name', ({ logs }) => {
  it('decodes every logged SK plaintext to the logged payload list and back', () => {
    const plains = logs.flatMap((l) => plaintexts(readLines(l)));
    expect(plains.length).toBeGreaterThanOrEqual(8);
    for (const p of plains) {
      const r = noThrow(() => decodePayloads(firstTypeOf(p.list), atOffset(p.bytes)), 'decodePayloads');
      if (!r.ok) throw r.error;
      expect(describePayloads(r.value)).toBe(p.list);
      expect(encodePayloads(r.value).bytes.equals(p.bytes)).toBe(true);
      const sk: SkPayload = { type: PayloadType.SK, innerNext: firstTypeOf(p.list), body: Buffer.alloc(0) };
      expect(checkMessageRules(exchangeNumber(p.exchange), p.kind === 'response', [sk], r.value)).toBeUndefined();
    }
  });
});
