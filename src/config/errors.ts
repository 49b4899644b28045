// One error type for everything wrong with a config file: the file, where in it (a key path such as
// `connections.bar.children.net.esp_proposals[0]`), and what was expected there.

export interface ConfigErrorInit {
  file: string;
  /** Dotted key path as written in the YAML (snake_case), `[i]` for list items; '' for the whole file. */
  keyPath: string;
  /** What a valid value looks like, e.g. `a duration such as 30s, 5m, 4h or 1d`. */
  expected: string;
  /** The offending value, quoted, when there is one. */
  got?: string;
  /** Why the value was rejected, when "expected ..." alone does not say it. */
  detail?: string;
  line?: number;
  column?: number;
}

export class ConfigError extends Error {
  readonly file: string;
  readonly keyPath: string;
  readonly expected: string;
  readonly got?: string;
  readonly detail?: string;
  readonly line?: number;
  readonly column?: number;

  constructor(init: ConfigErrorInit) {
    super(formatConfigError(init));
    this.name = 'ConfigError';
    this.file = init.file;
    this.keyPath = init.keyPath;
    this.expected = init.expected;
    this.got = init.got;
    this.detail = init.detail;
    this.line = init.line;
    this.column = init.column;
  }
}

/** `file: key.path: expected X, got "Y" (detail) [line N]` */
export function formatConfigError(e: ConfigErrorInit): string {
  const where = e.keyPath ? `${e.file}: ${e.keyPath}: ` : `${e.file}: `;
  let text = `${where}expected ${e.expected}`;
  if (e.got !== undefined) text += `, got ${e.got}`;
  if (e.detail) text += ` (${e.detail})`;
  if (e.line !== undefined) text += ` [line ${e.line}${e.column !== undefined ? `, column ${e.column}` : ''}]`;
  return text;
}

/**
 * Thrown by the value parsers (proposals, durations, traffic selectors, ...), which know neither the file nor the
 * key path; the loader turns it into a ConfigError at the right place.
 */
export class ValueError extends Error {
  /** Where below the key being parsed the bad value sits, e.g. [2] for the third list item. */
  path: (string | number)[] = [];

  constructor(
    readonly expected: string,
    readonly got: unknown,
    readonly detail?: string,
  ) {
    super(`expected ${expected}, got ${showValue(got)}${detail ? ` (${detail})` : ''}`);
    this.name = 'ValueError';
  }
}

/** A description to show as is in place of a value, e.g. `unknown key "foo"`. */
export class Shown {
  constructor(readonly text: string) {}
}

/** A value as it appears in messages: strings quoted, everything else as JSON-ish text. */
export function showValue(v: unknown): string {
  if (v instanceof Shown) return v.text;
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}
