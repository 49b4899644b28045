// Glue between the value parsers and zod: every key is a zod field whose failures carry
// {expected, got, detail} so the loader can print `file: key.path: expected X, got Y (detail)`.

import { z } from 'zod';
import { showValue, ValueError } from './errors.js';

export interface IssueInfo {
  expected: string;
  got?: string;
  detail?: string;
}

function report(ctx: z.RefinementCtx, info: IssueInfo, path: (string | number)[] = []): typeof z.NEVER {
  ctx.addIssue({ code: 'custom', message: JSON.stringify(info), path, params: info });
  return z.NEVER;
}

function run<T>(parse: (v: unknown) => T, v: unknown, ctx: z.RefinementCtx): T {
  try {
    return parse(v);
  } catch (e) {
    if (!(e instanceof ValueError)) throw e;
    return report(ctx, { expected: e.expected, got: showValue(e.got), detail: e.detail }, e.path);
  }
}

/** An optional key: undefined when absent (null counts as absent), else parse(value). */
export function opt<T>(parse: (v: unknown) => T) {
  return z
    .unknown()
    .optional()
    .transform((v, ctx): T | undefined => (v === undefined || v === null ? undefined : run(parse, v, ctx)));
}

/** A mandatory key. */
export function req<T>(parse: (v: unknown) => T, expected: string) {
  return z
    .unknown()
    .optional()
    .transform((v, ctx): T => {
      if (v === undefined || v === null) return report(ctx, { expected, got: 'nothing', detail: 'this key is required' });
      return run(parse, v, ctx);
    });
}

function objectError(what: string, keys: string[], hints: Record<string, string> = {}) {
  return (iss: { code: string; input?: unknown; keys?: string[] }): string | undefined => {
    if (iss.code === 'unrecognized_keys') {
      const key = iss.keys?.[0] ?? '';
      const near = closest(key, keys);
      return JSON.stringify({
        key,
        expected: `one of the keys of ${what}: ${keys.join(', ')}`,
        got: `unknown key "${key}"`,
        detail: hints[key] ?? (near ? `did you mean "${near}"?` : undefined),
      });
    }
    if (iss.code === 'invalid_type') {
      return JSON.stringify({ expected: `${what} as a mapping with keys ${keys.join(', ')}`, got: showValue(iss.input) });
    }
    return undefined;
  };
}

/**
 * A mapping with exactly these keys; null/empty counts as an empty mapping; unknown keys are errors. hints: why a
 * key someone may reasonably try is not there (shown in place of the did-you-mean).
 */
export function section<S extends z.ZodRawShape>(what: string, shape: S, hints?: Record<string, string>) {
  const obj = z.strictObject(shape, { error: objectError(what, Object.keys(shape), hints) });
  return z.preprocess((v) => (v === null ? {} : v), obj);
}

/** A mapping of user-chosen names (connections, children, secrets) to values of one schema. */
export function named<T extends z.ZodType>(what: string, value: T) {
  const rec = z.record(z.string(), value, {
    error: (iss) =>
      iss.code === 'invalid_type'
        ? JSON.stringify({ expected: `${what} as a mapping of names to sections`, got: showValue(iss.input) })
        : undefined,
  });
  return z.preprocess((v) => (v === null ? {} : v), rec).optional();
}

/** The known key nearest to a typo, if it is close enough to be a likely typo. */
function closest(key: string, keys: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of keys) {
    const d = distance(key.toLowerCase(), k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return bestD <= Math.max(2, Math.floor(key.length / 4)) ? best : undefined;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    // every index below is within row's b.length + 1 entries
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(cur + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
