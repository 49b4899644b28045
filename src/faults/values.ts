// Scalar values of fault rules, the same from CLI text (always strings) and YAML (strings, numbers, booleans,
// lists). Each parser throws config's ValueError (expected / got / detail); errors.ts's at() places it.
// Names are case-insensitive and accept '-' for '_' (INFORMATIONAL, informational, invalid-ke-payload).

import { ValueError } from '../config/errors.js';
import { lookupKeyword } from '../config/proposal-keywords.js';
import { DhGroup, ExchangeType, Notify, NOTIFY_ERROR_MAX, PayloadType, TransformType } from '../wire/constants.js';
import { charonExchangeName, payloadName } from '../wire/names.js';

const norm = (s: string): string => s.trim().toUpperCase().replace(/-/g, '_');

// ------------------------------------------------------------------------------------------------- durations

const DURATION = 'a duration with a unit: 400ms, 10s, 2m or 1h';
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/** A week: longer is a typo, never a lab. */
export const MAX_DURATION_MS = 7 * 24 * 3_600_000;

/**
 * Milliseconds for `400ms`, `10s`, `1.5s`, `2m`, `1h`. A unit is required, in YAML too: `delay=400` would be
 * 400 ms to one reader and 400 s to another (config durations are seconds, the old `fault --ms` milliseconds).
 */
export function parseDurationMs(v: unknown, min = 0): number {
  if (typeof v === 'number') throw new ValueError(DURATION, v, 'a bare number has no unit');
  if (typeof v !== 'string') throw new ValueError(DURATION, v);
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/i.exec(v);
  if (!m) {
    const bare = /^\s*\d+(\.\d+)?\s*$/.test(v);
    throw new ValueError(DURATION, v, bare ? 'a bare number has no unit' : undefined);
  }
  const ms = Math.round(Number(m[1]) * UNIT_MS[m[2]!.toLowerCase()]!); // the pattern admits only UNIT_MS's units
  if (ms < min || ms > MAX_DURATION_MS) throw new ValueError(`${DURATION}, ${min ? `${min}ms` : '0'} to 7 days`, v);
  return ms;
}

/** The shortest exact spelling: 1h, 2m, 10s, 1500ms. */
export function formatDurationMs(ms: number): string {
  for (const [unit, f] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const)
    if (ms > 0 && ms % f === 0) return `${ms / f}${unit}`;
  return `${ms}ms`;
}

// -------------------------------------------------------------------------------------------------- numbers

export function parseInteger(v: unknown, min: number, max: number, expected: string): number {
  const n = typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max) return n;
  throw new ValueError(expected, v);
}

/** 0.3, "0.3" or "30%"; 0 is refused (a rule that can never fire is a mistake). */
export function parseProbability(v: unknown): number {
  const expected = 'a probability 0 < p <= 1, such as 0.3 or 30%';
  let p: number | undefined;
  if (typeof v === 'number') p = v;
  else if (typeof v === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(%?)\s*$/.exec(v);
    if (m) p = Number(m[1]) / (m[2] ? 100 : 1);
  }
  if (p === undefined || !Number.isFinite(p) || p <= 0 || p > 1) throw new ValueError(expected, v);
  return p;
}

/** YAML booleans, yes/no, true/false; a bare CLI flag arrives as true. */
export function parseYesNo(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'yes' || s === 'true') return true;
    if (s === 'no' || s === 'false') return false;
  }
  throw new ValueError('yes or no', v);
}

/** Connection, CHILD_SA and rule names: no blanks, commas or '=' (they separate the CLI syntax). */
export function parseName(v: unknown, what: string): string {
  if (typeof v === 'number' && Number.isInteger(v)) v = String(v);
  if (typeof v === 'string' && /^[^\s,=]{1,64}$/.test(v.trim())) return v.trim();
  throw new ValueError(`${what} (1 to 64 characters, no blanks, ',' or '=')`, v);
}

// ---------------------------------------------------------------------------------------------- IKE numbers

function lookup(table: Record<string, number>, v: string): number | undefined {
  const key = norm(v);
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

const EXCHANGES = 'IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL or a number 0..255';

export function parseExchange(v: unknown): number {
  if (typeof v === 'string') {
    const n = lookup(ExchangeType, v);
    if (n !== undefined) return n;
  }
  return parseInteger(v, 0, 255, EXCHANGES);
}

export const exchangeText = (n: number): string => (Object.values(ExchangeType).includes(n as never) ? charonExchangeName(n) : String(n));

/** charon's short payload names as well as RFC ones: No / NONCE, N / NOTIFY, D / DELETE, V / VENDOR, E / SK. */
const PAYLOAD_NAMES: Record<string, number> = {
  ...Object.fromEntries(
    Object.entries(PayloadType)
      .filter(([k]) => k !== 'NONE')
      .map(([k, v]) => [k.toUpperCase(), v]),
  ),
  NO: PayloadType.NONCE,
  N: PayloadType.NOTIFY,
  D: PayloadType.DELETE,
  V: PayloadType.VENDOR,
  E: PayloadType.SK,
  EF: PayloadType.SKF,
};

export function parsePayloadType(v: unknown): number {
  if (typeof v === 'string') {
    const n = lookup(PAYLOAD_NAMES, v);
    if (n !== undefined) return n;
  }
  return parseInteger(
    v,
    1,
    255,
    'a payload name (SA, KE, IDi, IDr, CERT, CERTREQ, AUTH, No, N, D, V, TSi, TSr, SK, CP, EAP) or a number 1..255',
  );
}

/** As charon prints it inside `[ ... ]` (KE, No, N, D) when parsePayloadType takes that name back, else the number. */
export function payloadText(n: number): string {
  const name = payloadName(n);
  return PAYLOAD_NAMES[name.toUpperCase()] === n ? name : String(n);
}

/** Notify type by RFC name (INVALID_KE_PAYLOAD, COOKIE, ...) or number; errorsOnly: types below 16384. */
export function parseNotifyType(v: unknown, errorsOnly = false): number {
  const max = errorsOnly ? NOTIFY_ERROR_MAX : 65535;
  const expected = errorsOnly
    ? 'an error notify name (NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE, INVALID_KE_PAYLOAD, AUTHENTICATION_FAILED, TEMPORARY_FAILURE, INVALID_SYNTAX, ...) or a number 1..16383'
    : 'a notify name (COOKIE, INVALID_KE_PAYLOAD, ...) or a number 1..65535';
  if (typeof v === 'string') {
    const n = lookup(Notify, v);
    if (n !== undefined) {
      if (n > max) throw new ValueError(expected, v, `${norm(v)} is a status notify, not an error`);
      return n;
    }
  }
  return parseInteger(v, 1, max, expected);
}

/** The RFC name when there is one (the spelling the parser accepts back), else the number. */
export function notifyText(n: number): string {
  return Object.entries(Notify).find(([, v]) => v === n)?.[0] ?? String(n);
}

/** `KE+No`, or a YAML list [KE, No]: every item through `item`. */
export function parseSet(v: unknown, item: (x: unknown) => number, what: string): number[] {
  const items = Array.isArray(v) ? v : typeof v === 'string' ? v.split('+') : [v];
  if (items.length === 0) throw new ValueError(`${what}: one or more, joined with + or as a list`, v);
  const out: number[] = [];
  items.forEach((x, i) => {
    try {
      const n = item(typeof x === 'string' ? x.trim() : x);
      if (!out.includes(n)) out.push(n);
    } catch (e) {
      if (e instanceof ValueError && Array.isArray(v)) e.path = [i, ...e.path];
      throw e;
    }
  });
  return out;
}

/** A DH group: number, strongSwan keyword (ecp256, modp2048, curve25519) or charon name (ECP_256). */
export function parseDhGroup(v: unknown): number {
  if (typeof v === 'string') {
    const kw = lookupKeyword(v.trim().toLowerCase());
    if (kw?.type === TransformType.DH) return kw.id;
    const n = lookup(DhGroup, v);
    if (n !== undefined) return n;
  }
  return parseInteger(v, 0, 65535, 'a DH group number (19) or keyword (ecp256, modp2048, curve25519)');
}
