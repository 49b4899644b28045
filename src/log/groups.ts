// charon's debug groups (utils/debug.h) and levels. Group names print as three upper-case letters.
export const LOG_GROUPS = [
  'DMN',
  'MGR',
  'IKE',
  'CHD',
  'JOB',
  'CFG',
  'KNL',
  'NET',
  'ASN',
  'ENC',
  'TNC',
  'IMC',
  'IMV',
  'PTS',
  'TLS',
  'APP',
  'ESP',
  'LIB',
] as const;
export type LogGroup = (typeof LOG_GROUPS)[number];

/** -1 silent, 0 audit/always, 1 basic (charon's default), 2 detailed, 3 raw data, 4 private (keys). */
export type LogLevel = -1 | 0 | 1 | 2 | 3 | 4;

export type LevelTable = Record<LogGroup, number>;

/** Build a per-group table from a config map like { default: 1, enc: 2 } (keys case-insensitive). */
export function levelTable(spec: Record<string, number> = {}): LevelTable {
  const lower: Record<string, number> = {};
  for (const [k, v] of Object.entries(spec)) lower[k.toLowerCase()] = v;
  const def = lower.default ?? 1;
  const t = {} as LevelTable;
  for (const g of LOG_GROUPS) t[g] = lower[g.toLowerCase()] ?? def;
  return t;
}
