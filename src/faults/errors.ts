// One error type for every rule that cannot be accepted, from the CLI (`--match exchange: ...`) or from YAML
// (`faults[2].match.exchange: ...`): where, what was expected, what was given. Never a silent ignore: a
// misspelt key in a failure reproduction means a test that quietly reproduces nothing.

import { showValue, ValueError } from '../config/errors.js';

export class FaultSyntaxError extends Error {
  constructor(
    /** `--match exchange`, `--action`, `faults[2].match.exchange`, `impair drop-incoming`. */
    readonly keyPath: string,
    readonly expected: string,
    /** The offending value as shown (quoted), or a description such as `unknown key "exchnage"`. */
    readonly got?: string,
    readonly detail?: string,
  ) {
    super(`${keyPath ? `${keyPath}: ` : ''}expected ${expected}${got !== undefined ? `, got ${got}` : ''}${detail ? ` (${detail})` : ''}`);
    this.name = 'FaultSyntaxError';
  }
}

/**
 * Where a value sits, printed the way its source spells it: CLI (`--match` + ` ` + `dir`) or YAML
 * (`faults[0].match` + `.` + `dir`).
 */
export class Where {
  constructor(
    readonly base: string,
    private readonly sep: '.' | ' ' = '.',
  ) {}
  key(k: string): Where {
    return new Where(this.base ? `${this.base}${this.sep}${k}` : k, this.sep);
  }
  index(i: number): Where {
    return new Where(`${this.base}[${i}]`, this.sep);
  }
  toString(): string {
    return this.base;
  }
}

/** Run a value parser (which throws config's ValueError) and report its failure at `where`. */
export function at<T>(where: Where, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof ValueError) {
      const sub = e.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
      throw new FaultSyntaxError(`${where}${sub}`, e.expected, showValue(e.got), e.detail);
    }
    throw e;
  }
}

/** `expected one of ..., got unknown key "exchnage" (did you mean "exchange"?)`. */
export function unknownKey(where: Where, key: string, known: readonly string[], what = 'key'): FaultSyntaxError {
  const near = closest(key, known);
  return new FaultSyntaxError(
    String(where),
    `one of ${known.join(', ')}`,
    `unknown ${what} ${JSON.stringify(key)}`,
    near ? `did you mean ${JSON.stringify(near)}?` : undefined,
  );
}

/** The known word within edit distance 2 (or a prefix match), for "did you mean". */
export function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = k.startsWith(word) && word.length >= 3 ? 1 : distance(word, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    // every index below is within prev's b.length + 1 entries
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}
