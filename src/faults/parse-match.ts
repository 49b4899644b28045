// The match part of a rule: entries (syntax.ts) -> FaultMatch criteria. Every key of MATCH_KEYS is documented in
// index.ts; anything else is refused with the known keys and the closest one named.

import { ValueError } from '../config/errors.js';
import { at, FaultSyntaxError, unknownKey, type Where } from './errors.js';
import type { FaultMatch, Layer } from './model.js';
import type { Entry } from './syntax.js';
import {
  parseDurationMs,
  parseExchange,
  parseInteger,
  parseName,
  parseNotifyType,
  parsePayloadType,
  parseProbability,
  parseSet,
  parseYesNo,
} from './values.js';

/** A match before the action is known: the layer may still be inferred from it. */
export type PartialMatch = Omit<FaultMatch, 'layer'> & { layer?: Layer };

export interface ParsedMatch {
  match: PartialMatch;
  /** Where each given key was written, for errors found later (cross-checks with the action). */
  keys: Map<string, Where>;
}

type Setter = (m: PartialMatch, v: unknown, w: Where) => void;

/** A flag such as `request`: bare, true or yes; false is refused (say what you mean instead). */
function flag(v: unknown, other: string): true {
  if (parseYesNo(v)) return true;
  throw new ValueError('a flag (bare word, true or yes)', v, `to exclude it, give ${other} instead`);
}

const MATCH_SETTERS: Record<string, Setter> = {
  proto: (m, v) => {
    const s = typeof v === 'string' ? v.trim().toLowerCase() : v;
    if (s !== 'ike' && s !== 'esp') throw new ValueError('ike or esp', v);
    m.layer = s;
  },
  ike: (m, v) => (m.ike = parseName(v, 'a connection name')),
  'ike-id': (m, v) => (m.ikeId = parseInteger(v, 1, 0xffff_ffff, 'an IKE_SA unique id (the 3 of bar[3])')),
  child: (m, v) => (m.child = parseName(v, 'a CHILD_SA name')),
  dir: (m, v) => {
    const s = typeof v === 'string' ? v.trim().toLowerCase() : v;
    if (s !== 'in' && s !== 'out') throw new ValueError('in (received) or out (sent)', v);
    m.dir = s;
  },
  exchange: (m, v) => (m.exchange = parseExchange(v)),
  request: (m, v) => {
    flag(v, 'response');
    m.role = 'request';
  },
  response: (m, v) => {
    flag(v, 'request');
    m.role = 'response';
  },
  mid: (m, v) => (m.messageId = parseInteger(v, 0, 0xffff_ffff, 'a message ID 0..4294967295')),
  payload: (m, v) => (m.payloads = parseSet(v, parsePayloadType, 'payload types')),
  notify: (m, v) => (m.notifies = parseSet(v, (x) => parseNotifyType(x), 'notify types')),
  empty: (m, v) => (m.empty = parseYesNo(v)),
  retransmit: (m, v) => (m.retransmit = parseYesNo(v)),
  nth: (m, v) => (m.nth = parseInteger(v, 1, 0xffff_ffff, 'a count from 1 (nth=3: only the third matching message)')),
  after: (m, v) => (m.afterMs = parseDurationMs(v)),
  for: (m, v) => (m.forMs = parseDurationMs(v, 1)),
  prob: (m, v) => (m.prob = parseProbability(v)),
  seed: (m, v) => (m.seed = parseInteger(v, 0, 0xffff_ffff, 'a seed 0..4294967295')),
};

export const MATCH_KEYS = Object.keys(MATCH_SETTERS);

/** Keys that only make sense for IKE messages / ESP packets. */
export const IKE_ONLY_KEYS = ['exchange', 'request', 'response', 'mid', 'payload', 'notify', 'empty', 'retransmit'];
export const ESP_ONLY_KEYS = ['child'];

/** Seed used when prob is given without one: rules stay reproducible even when nobody chose a seed. */
export const DEFAULT_SEED = 1;

export function parseMatchEntries(entries: Entry[], where: Where): ParsedMatch {
  const match: PartialMatch = {};
  const keys = new Map<string, Where>();
  for (const e of entries) {
    const set = MATCH_SETTERS[e.key];
    if (!set) throw unknownKey(where, e.key, MATCH_KEYS);
    at(e.where, () => set(match, e.value, e.where));
    keys.set(e.key, e.where);
  }
  if (keys.has('request') && keys.has('response')) {
    throw new FaultSyntaxError(String(keys.get('response')), 'request or response, not both', undefined, 'leave both out to match either');
  }
  if (match.empty === true && match.payloads?.length)
    throw new FaultSyntaxError(String(keys.get('empty')), 'empty without payload=', 'both');
  if (match.empty === true && match.notifies?.length)
    throw new FaultSyntaxError(String(keys.get('empty')), 'empty without notify=', 'both');
  if (match.seed !== undefined && match.prob === undefined) {
    throw new FaultSyntaxError(String(keys.get('seed')), 'seed only together with prob', undefined, 'without prob nothing is random');
  }
  if (match.prob !== undefined && match.seed === undefined) match.seed = DEFAULT_SEED;
  return { match, keys };
}
