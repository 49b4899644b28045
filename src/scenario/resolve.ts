// Stage two of the scenario format (see format.ts): the values once the parameters are known. `${name}` and
// `$name` are replaced, then every step's values are checked and turned into what the runner executes (durations in
// ms, event names, regexes, fault rules). Errors are ConfigErrors naming file, key path and line, like stage one's.
import { dhChoiceForms, parseDhChoice } from '../config/dh-choice.js';
import { parseDuration } from '../config/duration.js';
import { ConfigError, showValue, ValueError } from '../config/errors.js';
import { formatPath } from '../config/load.js';
import { parseRuleTexts } from '../faults/index.js';
import { EVENT_NAMES, isEventName } from '../log/events.js';
import type { FieldMatch, RawStep, ResolvedScenario, Scenario, Since, Step } from './format.js';

export function isPlainMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface ResolveOptions {
  /** Parse-time check with made-up parameter values: skip what only a real value can tell. */
  placeholders?: boolean;
}

/**
 * The steps with every `${name}` (or `$name`) replaced by its parameter and every value checked. `params` must hold
 * a value for each declared parameter (the runner fills `auto` ones and applies --set first).
 */
export function resolveScenario(sc: Scenario, params: Record<string, string>, _opts: ResolveOptions = {}): ResolvedScenario {
  const fail = (path: (string | number)[], expected: string, got?: unknown, detail?: string): never => {
    throw new ConfigError({
      file: sc.file,
      keyPath: formatPath(path),
      expected,
      got: got === undefined ? undefined : showValue(got),
      detail,
      line: sc.lineOf(path),
    });
  };
  const subst = (v: unknown, path: (string | number)[]): unknown => {
    if (typeof v === 'string') return substitute(v, params, path, fail);
    if (Array.isArray(v)) return v.map((x, i) => subst(x, [...path, i]));
    if (isPlainMap(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, subst(x, [...path, k])]));
    return v;
  };
  const one = (s: RawStep): Step => resolveStep(s, subst(s.body, s.path), fail);
  return {
    name: sc.name,
    description: sc.description,
    params,
    steps: sc.steps.map(one),
    finally: sc.finally.map(one),
  };
}

const PARAM_REF = /\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

function substitute(
  text: string,
  params: Record<string, string>,
  path: (string | number)[],
  fail: (path: (string | number)[], expected: string, got?: unknown, detail?: string) => never,
): string {
  return text.replace(PARAM_REF, (whole, braced: string | undefined, bare: string | undefined) => {
    if (braced !== undefined) {
      if (!(braced in params)) fail(path, `a declared parameter in \${...} (${Object.keys(params).join(', ') || 'none declared'})`, braced);
      return params[braced]!;
    }
    // $name only when name is a parameter: a regex such as `retransmits$` stays what it is
    return bare !== undefined && bare in params ? params[bare]! : whole;
  });
}

function resolveStep(
  s: RawStep,
  body: unknown,
  fail: (path: (string | number)[], expected: string, got?: unknown, detail?: string) => never,
): Step {
  const p = s.path;
  const m = isPlainMap(body) ? body : undefined;
  const needMap = (what: string): Record<string, unknown> => m ?? fail(p, `a mapping: ${what}`, body);
  const text = (k: string, v: unknown = m?.[k]): string | undefined => {
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(',');
    if (typeof v === 'string' || typeof v === 'number') return String(v);
    return fail([...p, k], 'text (or a list of text)', v);
  };
  const duration = (k: string, v: unknown, dflt?: number): number => {
    if (v === undefined || v === null) {
      if (dflt !== undefined) return dflt;
      return fail([...p, k], 'a duration such as 500ms, 10s or 2m');
    }
    try {
      if (typeof v === 'string' && /^\s*\d+(\.\d+)?\s*ms\s*$/.test(v)) return Number.parseFloat(v);
      return parseDuration(v) * 1000;
    } catch (e) {
      if (e instanceof ValueError) return fail([...p, k], 'a duration such as 500ms, 10s or 2m', v, e.detail);
      throw e;
    }
  };
  const count = (k: string): number | undefined => {
    const v = m?.[k];
    if (v === undefined || v === null) return undefined;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
    if (!Number.isInteger(n) || n < 0) fail([...p, k], 'a whole number, 0 or more', v);
    return n;
  };
  const event = (): string => {
    const v = m?.event;
    if (typeof v !== 'string' || !isEventName(v)) return fail([...p, 'event'], `an event name (${EVENT_NAMES.join(', ')})`, v);
    return v;
  };
  const since = (): Since => {
    const v = m?.since ?? 'previous';
    if (v !== 'previous' && v !== 'start' && v !== 'step') return fail([...p, 'since'], 'previous, step or start', v);
    return v;
  };
  const match = (): FieldMatch => {
    const v = m?.match;
    if (v === undefined || v === null) return {};
    if (!isPlainMap(v)) return fail([...p, 'match'], 'a mapping of event fields to values, e.g. { ike: bar, notify: TS_UNACCEPTABLE }', v);
    const out: FieldMatch = {};
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === 'string' && x.length > 2 && x.startsWith('/') && x.endsWith('/')) out[k] = regex([...p, 'match', k], x.slice(1, -1));
      else if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
      else fail([...p, 'match', k], 'a value (text, number, true/false) or /regex/', x);
    }
    return out;
  };
  const regex = (path: (string | number)[], src: string): RegExp => {
    try {
      return new RegExp(src);
    } catch (e) {
      return fail(path, 'a regular expression (JavaScript syntax)', src, (e as Error).message);
    }
  };
  const ikeOrChild = (what: string): Record<string, string> => {
    const ike = text('ike');
    const child = text('child');
    if (!ike && !child) fail(p, `${what}: ike or child`, body);
    return { ...(ike ? { ike } : {}), ...(child ? { child } : {}) };
  };
  const base = { line: s.line, path: formatPath(p.slice(0, -1)) };
  const named = (dflt: string) => ({ ...base, name: s.name ?? dflt });

  switch (s.kind) {
    case 'initiate': {
      // shorthand: `initiate: NET` is the child
      if (typeof body === 'string') return { ...named(`initiate ${body}`), kind: 'initiate', args: { child: body } };
      needMap('child or ike, and optionally psk, proposals, esp-proposals, local-ts, remote-ts');
      const args = ikeOrChild('initiate');
      // passed through as given, under the names the `initiate` verb reads (its CLI flags without the dashes,
      // src/control/commands/lifecycle.ts); the daemon checks the values
      for (const k of ['psk', 'proposals', 'esp-proposals', 'local-ts', 'remote-ts']) {
        const v = text(k);
        if (v !== undefined) args[k] = v;
      }
      return { ...named(`initiate ${args.child ?? args.ike}`), kind: 'initiate', args };
    }
    case 'terminate': {
      needMap('ike or child');
      const args = ikeOrChild('terminate');
      return { ...named(`terminate ${args.child ? `child ${args.child}` : `ike ${args.ike}`}`), kind: 'terminate', args };
    }
    case 'rekey': {
      needMap('ike or child, and optionally dh');
      const args = ikeOrChild('rekey');
      const dh = text('dh');
      if (dh !== undefined) {
        if (!args.child) fail([...p, 'dh'], 'dh together with child (the next rekey of that CHILD_SA)', dh);
        if (parseDhChoice(dh) === undefined) fail([...p, 'dh'], dhChoiceForms(), dh);
        args.dh = dh;
      }
      const what = args.child ? `child ${args.child}` : `ike ${args.ike}`;
      return { ...named(`rekey ${what}${dh ? ` --dh ${dh}` : ''}`), kind: 'rekey', args };
    }
    case 'fault':
      return faultStep(s, body, base, fail);
    case 'ping': {
      needMap('child, dst, and optionally src, count, size, interval, replies');
      const child = text('child');
      const dst = text('dst');
      if (!child || !dst) fail(p, 'ping: child and dst', body);
      const args: Record<string, string> = { child: child!, dst: dst! };
      for (const k of ['src', 'count', 'size', 'interval']) {
        const v = text(k);
        if (v !== undefined) args[k] = v;
      }
      for (const k of ['count', 'size', 'interval']) if (args[k] !== undefined) count(k);
      const replies = count('replies');
      return { ...named(`ping ${dst} through ${child}`), kind: 'ping', args, ...(replies !== undefined ? { replies } : {}) };
    }
    case 'sleep': {
      const ms = duration('sleep', body);
      return { ...named(`sleep ${showDuration(ms)}`), kind: 'sleep', ms };
    }
    case 'expect': {
      needMap('event, within, and optionally match, since');
      const ev = event();
      return {
        ...named(`expect ${ev}`),
        kind: 'expect',
        event: ev,
        withinMs: duration('within', m?.within, 10_000),
        match: match(),
        since: since(),
      };
    }
    case 'expect-not': {
      needMap('event, for, and optionally match, since');
      const ev = event();
      return {
        ...named(`expect-not ${ev}`),
        kind: 'expect-not',
        event: ev,
        forMs: duration('for', m?.for),
        match: match(),
        since: since(),
      };
    }
    case 'expect-count': {
      needMap('event, within, min and/or max, and optionally match, since');
      const ev = event();
      const min = count('min');
      const max = count('max');
      if (min === undefined && max === undefined) fail(p, 'expect-count: min, max or both', body);
      if (min !== undefined && max !== undefined && min > max) fail([...p, 'max'], `a maximum of at least min (${min})`, max);
      const range = min !== undefined && max !== undefined ? `${min}..${max}` : min !== undefined ? `>= ${min}` : `<= ${max}`;
      return {
        ...named(`expect-count ${ev} ${range}`),
        kind: 'expect-count',
        event: ev,
        ...(min !== undefined ? { min } : {}),
        ...(max !== undefined ? { max } : {}),
        withinMs: duration('within', m?.within),
        match: match(),
        since: since(),
      };
    }
    case 'wait-state': {
      needMap('ike or child, state, within');
      const { ike, child } = ikeOrChild('wait-state');
      if (ike && child) fail(p, 'wait-state: ike or child, not both', body);
      const state = text('state');
      if (!state || !/^[A-Za-z_-]+$/.test(state))
        fail([...p, 'state'], 'a state as list-sas shows it (ESTABLISHED, INSTALLED, ...) or absent', state);
      const target = ike ? 'ike' : 'child';
      const of = (ike ?? child)!;
      const st = state!.toUpperCase();
      return {
        ...named(`wait-state ${target} ${of} ${st}`),
        kind: 'wait-state',
        target,
        of,
        state: st,
        withinMs: duration('within', m?.within, 30_000),
      };
    }
    case 'peer-log': {
      const mm = typeof body === 'string' ? { contains: body } : needMap('contains, and optionally within, since');
      const src = mm.contains;
      if (typeof src !== 'string' || !src) fail([...p, 'contains'], 'a regular expression to find in the peer log', src);
      const re = regex([...p, 'contains'], src as string);
      return {
        ...named(`peer-log /${src}/`),
        kind: 'peer-log',
        regex: re,
        withinMs: duration('within', mm.within, 10_000),
        since: since(),
      };
    }
  }
}

function faultStep(
  s: RawStep,
  body: unknown,
  base: { line?: number; path: string },
  fail: (path: (string | number)[], expected: string, got?: unknown, detail?: string) => never,
): Step {
  const p = s.path;
  const expected =
    'add NAME --match M --action A [--count N], clear [NAME], or a mapping { add: NAME, match, action, count } / { clear: NAME }';
  let m: Record<string, unknown>;
  if (typeof body === 'string') m = faultWords(body) ?? fail(p, expected, body);
  else if (isPlainMap(body)) m = body;
  else return fail(p, expected, body);
  const str = (k: string): string | undefined => {
    const v = m[k];
    if (v === undefined || v === null || v === true) return undefined;
    if (typeof v === 'string' || typeof v === 'number') return String(v);
    return fail([...p, k], 'text', v);
  };
  if ('clear' in m) {
    if (['add', 'match', 'action', 'count'].some((k) => k in m)) fail(p, 'clear alone (or add with match and action)', body);
    const name = str('clear');
    const all = name === undefined || name === 'all';
    return { ...base, name: s.name ?? `fault clear ${all ? 'all' : name}`, kind: 'fault', op: 'clear', rule: all ? {} : { name } };
  }
  if (!('add' in m)) return fail(p, expected, body);
  const rule = { name: str('add'), match: str('match'), action: str('action') ?? '', count: str('count') };
  if (!rule.action) fail([...p, 'action'], 'the fault action, as `ikelab fault add --action` takes it');
  try {
    // the daemon's own parser: a rule the daemon would refuse is refused here, before anything ran
    parseRuleTexts({ ...rule });
  } catch (e) {
    fail(p, 'a fault rule that `ikelab fault add` accepts', undefined, (e as Error).message);
  }
  const clean = Object.fromEntries(Object.entries(rule).filter(([, v]) => v !== undefined)) as typeof rule;
  return { ...base, name: s.name ?? `fault add ${rule.name ?? rule.action}`, kind: 'fault', op: 'add', rule: clean };
}

/** The CLI form `add NAME --match M --action A --count N` / `clear [NAME]` as a mapping; undefined if not that. */
function faultWords(text: string): Record<string, unknown> | undefined {
  const words = text.trim().split(/\s+/);
  const [op, ...rest] = words;
  if (op === 'clear') return rest.length <= 1 ? { clear: rest[0] ?? 'all' } : undefined;
  if (op !== 'add') return undefined;
  const out: Record<string, unknown> = { add: null };
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]!;
    if (w.startsWith('--')) {
      const k = w.slice(2);
      if (!['name', 'match', 'action', 'count'].includes(k) || rest[i + 1] === undefined) return undefined;
      out[k === 'name' ? 'add' : k] = rest[++i];
    } else if (out.add === null && i === 0) out.add = w;
    else return undefined;
  }
  return out;
}

export function showDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  return Number.isInteger(s) && s >= 120 && s % 60 === 0 ? `${s / 60}m` : `${s}s`;
}
