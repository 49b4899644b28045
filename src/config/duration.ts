// swanctl durations (swanctl.conf(5), vici_config.c parse_time): a number with an optional unit s, m, h or d;
// a bare number is seconds. ikelab also accepts fractions ("0.5s", 1.5) for fast lab timings.

import { ValueError } from './errors.js';

const EXPECTED = 'a duration such as 30s, 5m, 4h or 1d (a plain number is seconds)';

const UNIT: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds for `2s`, `30m`, `4h`, `1d`, `90`, 90; throws ValueError otherwise. */
export function parseDuration(value: unknown): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
    throw new ValueError(EXPECTED, value, 'must be a non-negative number');
  }
  if (typeof value !== 'string') throw new ValueError(EXPECTED, value);
  // like charon: the unit may follow the number after blanks ("4 h") and is case-insensitive
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-zA-Z]?)\s*$/.exec(value);
  if (!m) throw new ValueError(EXPECTED, value);
  const [, num = '', unit = ''] = m;
  const factor = UNIT[unit.toLowerCase()];
  if (factor === undefined) throw new ValueError(EXPECTED, value, `unknown unit "${unit}", use s, m, h or d`);
  return round(Number(num) * factor);
}

/** Avoid 0.1 * 60 = 6.000000000000001 style noise. */
function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
