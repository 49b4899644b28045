// Both spellings of a rule part become one list of key/value entries before any key is interpreted, so the CLI
// and YAML share every check and every message:
//
//   CLI:  exchange=INFORMATIONAL,dir=in,request,nth=3      (a bare word is a flag: value true)
//   YAML: { exchange: INFORMATIONAL, dir: in, request: true, nth: 3 }
//
// Keys are case-insensitive and '_' equals '-' (YAML's snake_case next to the CLI's ike-id), as libreswan accepts
// both for impair names. A key given twice is an error, never last-one-wins.

import { FaultSyntaxError, type Where } from './errors.js';

export interface Entry {
  /** Normalised: lower case, '-' for '_'. */
  key: string;
  /** A string from the CLI (true for a bare flag); any YAML scalar or list. */
  value: unknown;
  where: Where;
}

export const normKey = (k: string): string => k.trim().toLowerCase().replace(/_/g, '-');

/** `a=1,b,c=x:y` -> entries; empty items, empty keys and empty values are refused. */
export function textEntries(text: string, where: Where): Entry[] {
  const out: Entry[] = [];
  if (text.trim() === '') return out;
  const items = text.split(',');
  items.forEach((raw, i) => {
    const item = raw.trim();
    if (item === '')
      throw new FaultSyntaxError(
        String(where),
        'key=value or flag items separated by single commas',
        JSON.stringify(text),
        `item ${i + 1} is empty`,
      );
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq).trim();
    if (key === '') throw new FaultSyntaxError(String(where), 'key=value', JSON.stringify(item), 'no key before =');
    const value = eq < 0 ? true : item.slice(eq + 1).trim();
    if (value === '') throw new FaultSyntaxError(String(where.key(normKey(key))), 'a value after =', JSON.stringify(item));
    push(out, normKey(key), value, where);
  });
  return out;
}

/** A YAML mapping -> entries (null values count as bare flags: `{ drop: }`). */
export function mapEntries(v: unknown, where: Where, what: string): Entry[] {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new FaultSyntaxError(String(where), what, Array.isArray(v) ? 'a list' : v === null ? 'null' : JSON.stringify(v));
  }
  const out: Entry[] = [];
  for (const [k, value] of Object.entries(v)) push(out, normKey(k), value === null ? true : value, where);
  return out;
}

function push(out: Entry[], key: string, value: unknown, where: Where): void {
  const w = where.key(key);
  if (out.some((e) => e.key === key)) throw new FaultSyntaxError(String(w), 'each key once', 'it twice');
  out.push({ key, value, where: w });
}
