// Value parsers for config keys, accepting the spellings swanctl.conf accepts (yes/no, "a, b" lists, durations).
// Each throws ValueError; the schema turns that into a ConfigError at the key's path.

import { isIP } from 'node:net';
import { ValueError } from './errors.js';

/** settings_value_as_bool: yes/no, true/false, on/off, enabled/disabled, 1/0 (any case) and YAML booleans. */
export function parseBool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number' && (v === 0 || v === 1)) return v === 1;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (['yes', 'true', 'on', 'enabled', '1'].includes(s)) return true;
    if (['no', 'false', 'off', 'disabled', '0'].includes(s)) return false;
  }
  throw new ValueError('yes or no (true/false)', v);
}

/** A YAML list or a swanctl-style comma-separated string -> trimmed strings, empty items dropped. */
export function parseList(v: unknown, what = 'a list'): string[] {
  const scalar = (x: unknown, i?: number): string => {
    if (typeof x === 'string') return x.trim();
    if (typeof x === 'number') return String(x);
    const e = new ValueError(`${what} (a YAML list or a comma-separated string)`, x);
    if (i !== undefined) e.path = [i];
    throw e;
  };
  if (Array.isArray(v)) return v.map((x, i) => scalar(x, i)).filter((s) => s !== '');
  return scalar(v)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** parseList, then each item through parse; a failing item reports its index when the YAML had a list. */
export function parseEach<T>(v: unknown, parse: (item: string) => T, what: string): T[] {
  const items = parseList(v, what);
  return items.map((item, i) => {
    try {
      return parse(item);
    } catch (e) {
      if (e instanceof ValueError && Array.isArray(v)) e.path = [i, ...e.path];
      throw e;
    }
  });
}

export function parseString(v: unknown, expected = 'a string'): string {
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  if (typeof v === 'number') return String(v);
  throw new ValueError(expected, v);
}

export function parseInteger(v: unknown, min: number, max: number, expected: string): number {
  const n = typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max) return n;
  throw new ValueError(expected, v);
}

export function parseNumber(v: unknown, min: number, expected: string): number {
  const n = typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v;
  if (typeof n === 'number' && Number.isFinite(n) && n >= min) return n;
  throw new ValueError(expected, v);
}

export function parsePort(v: unknown): number {
  return parseInteger(v, 1, 65535, 'a UDP port 1..65535');
}

export function parseEnum<T extends string>(values: readonly T[]): (v: unknown) => T {
  return (v) => {
    const s = typeof v === 'boolean' ? (v ? 'yes' : 'no') : typeof v === 'string' ? v.trim().toLowerCase() : v;
    if (typeof s === 'string' && (values as readonly string[]).includes(s)) return s as T;
    throw new ValueError(`one of ${values.join(', ')}`, v);
  };
}

/** An IPv4/IPv6 literal (what charon can bind or send from). */
export function parseIpAddress(v: unknown): string {
  if (typeof v === 'string' && isIP(v.trim())) return v.trim();
  throw new ValueError('an IP address such as 10.98.0.2 or fd00::2', v);
}

/** local_addrs: IP addresses or %any. */
export function parseLocalAddr(v: string): string {
  if (v === '%any' || v === '%any4' || v === '%any6' || isIP(v)) return v;
  throw new ValueError('an IP address or %any', v);
}

/** remote_addrs: IP addresses, DNS names or %any (subnets and ranges, which charon also allows, are not). */
export function parseRemoteAddr(v: string): string {
  if (v === '%any' || v === '%any4' || v === '%any6' || isIP(v)) return v;
  const host = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;
  if (host.test(v) && !/^[\d.]+$/.test(v)) return v;
  throw new ValueError('an IP address, a DNS name or %any', v);
}

/** swanctl secret encodings: "0x..." hex, "0s..." base64, anything else taken as text. */
export function parseSecret(v: unknown): Buffer {
  if (typeof v === 'number') return Buffer.from(String(v));
  if (typeof v !== 'string' || v === '') throw new ValueError('a secret string (text, 0x<hex> or 0s<base64>)', v);
  if (/^0x/i.test(v)) {
    const hex = v.slice(2);
    if (!/^([0-9a-f]{2})+$/i.test(hex)) throw new ValueError('0x followed by an even number of hex digits', '0x…', 'bad hex secret');
    return Buffer.from(hex, 'hex');
  }
  if (/^0s/i.test(v)) {
    const b64 = v.slice(2);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 === 1) {
      throw new ValueError('0s followed by base64', '0s…', 'bad base64 secret');
    }
    return Buffer.from(b64, 'base64');
  }
  return Buffer.from(v, 'utf8');
}
