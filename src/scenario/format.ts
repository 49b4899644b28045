// The scenario file format (docs/SCENARIOS.md): YAML with `description`, `params`, `steps` and `finally`. Parsing
// happens in two stages because parameters are only known at run time (`--set`, or `auto` from the daemon's config):
//   parseScenario()   the shape: top-level keys, one kind per step, the keys each kind takes (file, key path, line)
//   resolveScenario() (resolve.ts) the values once the parameters are filled in: durations, event names, regexes, fault rules
// parseScenario() runs resolveScenario() once with the declared defaults (placeholders for `auto` and required
// ones), so a broken built-in or user file is refused at load, not halfway through a run. Every error is a
// ConfigError, the type src/config uses, so it reads the same: `file: steps[3].expect.within: expected ... [line 12]`.
import { basename } from 'node:path';
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError, Shown, showValue } from '../config/errors.js';
import { formatPath, readConfigFileSync } from '../config/load.js';
import { isPlainMap, resolveScenario } from './resolve.js';

/** Step kinds that do something through the control socket (or wait). */
export const ACTION_KINDS = ['initiate', 'terminate', 'rekey', 'fault', 'ping', 'sleep'] as const;
/** Step kinds that check something and give a verdict. */
export const EXPECT_KINDS = ['expect', 'expect-not', 'expect-count', 'wait-state', 'peer-log'] as const;
export type StepKind = (typeof ACTION_KINDS)[number] | (typeof EXPECT_KINDS)[number];
const KINDS: readonly string[] = [...ACTION_KINDS, ...EXPECT_KINDS];

/** The keys each kind takes when written as a mapping (kebab-case; `_` is accepted for `-`). */
const KIND_KEYS: Record<StepKind, readonly string[]> = {
  initiate: ['ike', 'child', 'psk', 'proposals', 'esp-proposals', 'local-ts', 'remote-ts'],
  terminate: ['ike', 'child'],
  rekey: ['ike', 'child', 'dh'],
  fault: ['add', 'clear', 'match', 'action', 'count'],
  ping: ['child', 'dst', 'src', 'count', 'size', 'interval', 'replies'],
  sleep: [],
  expect: ['event', 'within', 'match', 'since'],
  'expect-not': ['event', 'for', 'match', 'since'],
  'expect-count': ['event', 'min', 'max', 'within', 'match', 'since'],
  'wait-state': ['ike', 'child', 'state', 'within'],
  'peer-log': ['contains', 'within', 'since'],
};
const TOP_KEYS = ['name', 'description', 'params', 'steps', 'finally'];

/** A parameter's declared default: a value, `auto` (from the daemon's config: conn, child), or none (required). */
export type ParamDefault = string | null;

/** A step as written, kept with where it is so resolving can still name the line. */
export interface RawStep {
  kind: StepKind;
  name?: string;
  /** The kind's value as plain data (a mapping, or a scalar for shorthands such as `sleep: 2s`). */
  body: unknown;
  /** Key path of the step, e.g. ['steps', 3]. */
  path: (string | number)[];
  line?: number;
}

export interface Scenario {
  name: string;
  description: string;
  file: string;
  params: Record<string, ParamDefault>;
  steps: RawStep[];
  finally: RawStep[];
  /** The line (1-based) of each key path, for errors found while resolving. */
  lineOf(path: (string | number)[]): number | undefined;
}

/** `match:` values: equality with the event's field (as text; a list field matches if it holds the value), or /regex/. */
export type FieldMatch = Record<string, string | RegExp>;
export type Since = 'previous' | 'start' | 'step';

interface Base {
  name: string;
  line?: number;
  path: string;
}
export type Step = Base &
  (
    | { kind: 'initiate' | 'terminate' | 'rekey'; args: Record<string, string> }
    | { kind: 'fault'; op: 'add'; rule: { name?: string; match?: string; action: string; count?: string } }
    | { kind: 'fault'; op: 'clear'; rule: { name?: string } }
    | { kind: 'ping'; args: Record<string, string>; replies?: number }
    | { kind: 'sleep'; ms: number }
    | { kind: 'expect'; event: string; withinMs: number; match: FieldMatch; since: Since }
    | { kind: 'expect-not'; event: string; forMs: number; match: FieldMatch; since: Since }
    | { kind: 'expect-count'; event: string; min?: number; max?: number; withinMs: number; match: FieldMatch; since: Since }
    | { kind: 'wait-state'; target: 'ike' | 'child'; of: string; state: string; withinMs: number }
    | { kind: 'peer-log'; regex: RegExp; withinMs: number; since: Since }
  );

export interface ResolvedScenario {
  name: string;
  description: string;
  params: Record<string, string>;
  steps: Step[];
  finally: Step[];
}

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Parameters whose `auto` default the runner knows how to fill from the daemon's config. */
export const AUTO_PARAMS = ['conn', 'child'];

/** Reads and parses a scenario file (bounded, regular files only: the config loader's reader). */
export function loadScenarioFile(path: string): Scenario {
  return parseScenario(readConfigFileSync(path).text, path);
}

export function parseScenario(text: string, file: string): Scenario {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new ConfigError({
      file,
      keyPath: '',
      expected: 'valid YAML',
      got: 'a syntax error',
      detail: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
      line: pos?.line,
      column: pos?.col,
    });
  }
  const lineOf = (path: (string | number)[]) => position(doc, lines, path);
  const fail = (path: (string | number)[], expected: string, got?: unknown, detail?: string): never => {
    throw new ConfigError({
      file,
      keyPath: formatPath(path),
      expected,
      got: got === undefined ? undefined : showValue(got),
      detail,
      line: lineOf(path),
    });
  };
  const data = doc.toJS({ maxAliasCount: 100 }) as unknown;
  if (!isPlainMap(data)) return fail([], 'a scenario: a mapping with keys description, params, steps (and name, finally)', data);
  for (const k of Object.keys(data)) if (!TOP_KEYS.includes(k)) fail([k], `one of ${TOP_KEYS.join(', ')}`, unknownKey(k));

  const name = data.name ?? basename(file).replace(/\.ya?ml$/, '');
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name))
    fail(['name'], 'a scenario name (letters, digits, - _ .)', name);
  const description = data.description ?? '';
  if (typeof description !== 'string') fail(['description'], 'a one-line description', description);

  const params: Record<string, ParamDefault> = {};
  if (data.params !== undefined && data.params !== null) {
    if (!isPlainMap(data.params))
      fail(['params'], 'a mapping of parameter names to defaults (auto, a value, or ~ for required)', data.params);
    for (const [k, v] of Object.entries(data.params as Record<string, unknown>)) {
      if (!PARAM_NAME.test(k)) fail(['params', k], 'a parameter name (letters, digits, _)', unknownKey(k));
      if (v === null) params[k] = null;
      else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') params[k] = String(v);
      else fail(['params', k], 'a default value (text or a number), auto, or ~ (required)', v);
      if (params[k] === 'auto' && !AUTO_PARAMS.includes(k))
        fail(['params', k], `a default value: auto is for ${AUTO_PARAMS.join(' and ')} only`, v, 'auto means: from the daemon config');
    }
  }

  const stepList = (key: 'steps' | 'finally', required: boolean): RawStep[] => {
    const list = data[key];
    if (list === undefined || list === null) {
      if (required) fail([key], 'a list of steps');
      return [];
    }
    if (!Array.isArray(list) || (required && list.length === 0)) fail([key], 'a non-empty list of steps', list);
    return (list as unknown[]).map((item, i) => rawStep(item, [key, i], fail, lineOf));
  };
  const steps = stepList('steps', true);
  const fin = stepList('finally', false);
  for (const s of fin)
    if (!(ACTION_KINDS as readonly string[]).includes(s.kind) || s.kind === 'sleep')
      fail(s.path, `an action in finally (${ACTION_KINDS.filter((k) => k !== 'sleep').join(', ')})`, s.kind);

  const sc: Scenario = { name: name as string, description: description as string, file, params, steps, finally: fin, lineOf };
  // every value checked once now, with placeholders where the value only comes at run time
  const probe: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) probe[k] = v === null || v === 'auto' ? `param-${k}` : v;
  resolveScenario(sc, probe, { placeholders: true });
  return sc;
}

const unknownKey = (k: string) => new Shown(`unknown key "${k}"`);

function rawStep(
  item: unknown,
  path: (string | number)[],
  fail: (path: (string | number)[], expected: string, got?: unknown, detail?: string) => never,
  lineOf: (path: (string | number)[]) => number | undefined,
): RawStep {
  const expected = `a step: a mapping with one of ${KINDS.join(', ')} (and optionally name)`;
  if (!isPlainMap(item)) return fail(path, expected, item);
  let kind: StepKind | undefined;
  let name: string | undefined;
  for (const [k0, v] of Object.entries(item)) {
    const k = k0.replace(/_/g, '-');
    if (k === 'name') {
      if (typeof v !== 'string' || !v.trim()) fail([...path, k0], 'a step name (text)', v);
      name = v as string;
    } else if (KINDS.includes(k)) {
      if (kind) fail([...path, k0], `one kind per step (this one already is ${kind})`, unknownKey(k0));
      kind = k as StepKind;
    } else fail([...path, k0], `one of ${KINDS.join(', ')} or name`, unknownKey(k0), closest(k, KINDS));
  }
  if (!kind) return fail(path, expected, item);
  const kindKey = Object.keys(item).find((k) => k.replace(/_/g, '-') === kind)!;
  let body = item[kindKey];
  if (isPlainMap(body)) {
    const norm: Record<string, unknown> = {};
    for (const [k0, v] of Object.entries(body)) {
      const k = k0.replace(/_/g, '-');
      if (!KIND_KEYS[kind].includes(k))
        fail([...path, kindKey, k0], `one of ${KIND_KEYS[kind].join(', ')} in ${kind}`, unknownKey(k0), closest(k, KIND_KEYS[kind]));
      norm[k] = v;
    }
    body = norm;
  }
  return { kind, name, body, path: [...path, kindKey], line: lineOf(path) };
}

/** `did you mean ...` for a misspelt key. */
function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = editDistance(word, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best ? `did you mean ${best}?` : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function position(doc: Document, lines: LineCounter, path: (string | number)[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const parent = n > 0 ? (doc.getIn(path.slice(0, n - 1), true) as unknown) : undefined;
    // a key's own line (a misspelt key has no value node worth pointing at)
    if (n > 0 && isMap(parent)) {
      const key = path[n - 1];
      const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key));
      const range = pair && isScalar(pair.key) ? pair.key.range : undefined;
      if (range) return lines.linePos(range[0]).line;
    }
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}
