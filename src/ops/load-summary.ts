// Merging the JSON summaries of load runs made by several processes (`ikelab load-merge`): N containers of the
// docker `load` lab, the pods of a Kubernetes Job, or runs one after another. Pure: texts in, one summary out.
//
// What a run's summary (`initiate --count N --json`, LoadStatus in load-run.ts) carries for this, and why:
// - counts and reasons add up: count, started, established, failed, failures and childFailures by reason, lost;
// - percentiles cannot be merged from percentiles, so each run carries `setupHistogram`: its setup times rounded to
//   3 significant digits, [ms, how many] ascending (bounded: at most 900 buckets per decade, whatever the count).
//   The merged p50/p99 are nearest-rank over the sum of the histograms: within 0.5 % of the exact value (clamped to
//   the exact min and max, which do merge);
// - the achieved rate needs time: each run has startedAt/endedAt on the wall clock (ms since the epoch; containers
//   of one host share its clock, nodes of a cluster agree as far as NTP does). The merged rate is established per
//   second over the UNION of the runs' time spans (overlapping runs count once, a gap between runs not at all).
// A merged summary keeps the same keys plus `runs` and `spans` (the disjoint union), so merged summaries merge again.
import { z } from 'zod';

/** A file (or line) that is not a finished load run's summary: the message names the file (and line). */
export class LoadSummaryError extends Error {}

/** Where summaries sit in a log (the pods of docker/k8s print one such line): `... IKELAB_LOAD_SUMMARY {json}`. */
export const SUMMARY_MARKER = 'IKELAB_LOAD_SUMMARY ';

const count = z.number().int().nonnegative();
const ms = z.number().finite().nonnegative();
const reasons = z.record(z.string(), count);

/** The keys merging reads; other keys of a run's summary (id, rate, ...) are ignored. */
const summarySchema = z.object({
  ike: z.union([z.string(), z.array(z.string())]).optional(),
  count: count,
  started: count,
  established: count,
  failed: count,
  failures: reasons,
  childFailures: reasons,
  lost: count,
  inFlight: count.optional(),
  setupMs: z.object({ min: ms, p50: ms, p99: ms, max: ms }).nullable(),
  setupHistogram: z.array(z.tuple([ms, count.positive()])),
  startedAt: ms,
  endedAt: ms.nullable(),
  done: z.boolean(),
  timedOut: z.boolean(),
  runs: count.positive().optional(),
  spans: z.array(z.tuple([ms, ms])).optional(),
  // a failure mix (--mix): per-class counters sum like the reasons; the mix text must be the same in every run
  mix: z.string().optional(),
  mixPlanned: reasons.optional(),
  mixAsPlanned: reasons.optional(),
  mixOutcomes: reasons.optional(),
});
type Parsed = z.infer<typeof summarySchema>;

export interface LoadSummaryInput {
  /** Where it came from, for messages: `file`, `file:line`. */
  source: string;
  summary: Parsed;
}

export interface MergedLoadSummary {
  ok: boolean;
  /** How many load runs went into it. */
  runs: number;
  /** The connections the runs initiated. */
  ike: string[];
  count: number;
  started: number;
  established: number;
  failed: number;
  failures: Record<string, number>;
  inFlight: number;
  childFailures: Record<string, number>;
  lost: number;
  /** Wall clock of the first start and the last end, ms since the epoch. */
  startedAt: number;
  endedAt: number;
  /** The union of the runs' time spans, ms: what the rate is over. */
  elapsedMs: number;
  /** endedAt - startedAt: more than elapsedMs when there were gaps between the runs. */
  spanMs: number;
  ratePerSec: number;
  setupMs: { min: number; p50: number; p99: number; max: number } | null;
  setupHistogram: [number, number][];
  /** The disjoint, ascending time spans in which a run was going. */
  spans: [number, number][];
  /** The failure mix, when the runs had one (the same text in each), with its per-class counters summed: the
   * fields of one run's summary, so a merged summary merges again. */
  mix?: string;
  mixPlanned?: Record<string, number>;
  mixAsPlanned?: Record<string, number>;
  mixOutcomes?: Record<string, number>;
  done: boolean;
  timedOut: boolean;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const at = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  return `${at.replace(/^\./, '') || '(the object)'}: ${issue.message}`;
}

/** One summary object, checked: the schema, then what must hold between its numbers. */
function checkSummary(source: string, value: unknown): LoadSummaryInput {
  const r = summarySchema.safeParse(value);
  if (!r.success) {
    const first = r.error.issues[0]!;
    const missing =
      first.code === 'invalid_type' && first.path.length === 1 && (value as Record<string, unknown>)?.[String(first.path[0])] === undefined;
    throw new LoadSummaryError(
      `${source}: not a load run summary: ${describeIssue(first)}${missing ? ' (written by an older ikelab? `initiate --count N --json` writes it since load-merge exists)' : ''}`,
    );
  }
  const s = r.data;
  const bad = (why: string): never => {
    throw new LoadSummaryError(`${source}: inconsistent load run summary: ${why}`);
  };
  if (!s.done || s.endedAt === null) bad('the run had not finished (done: false): merge the summary printed at its end');
  if (s.endedAt! < s.startedAt) bad(`endedAt ${s.endedAt} is before startedAt ${s.startedAt}`);
  if (s.established + s.failed > s.count) bad(`established ${s.established} + failed ${s.failed} > count ${s.count}`);
  const inHistogram = s.setupHistogram.reduce((n, [, k]) => n + k, 0);
  if (inHistogram !== s.established) bad(`setupHistogram holds ${inHistogram} setup times, established is ${s.established}`);
  const failures = Object.values(s.failures).reduce((a, b) => a + b, 0);
  if (failures !== s.failed) bad(`failures add up to ${failures}, failed is ${s.failed}`);
  for (let i = 1; i < s.setupHistogram.length; i++)
    if (s.setupHistogram[i]![0] <= s.setupHistogram[i - 1]![0]) bad(`setupHistogram[${i}]: not ascending`);
  if (s.established > 0 !== (s.setupMs !== null)) bad('setupMs must be null exactly when nothing was established');
  for (const [i, [a, b]] of (s.spans ?? []).entries())
    if (b < a || a < s.startedAt || b > s.endedAt!) bad(`spans[${i}] outside startedAt..endedAt`);
  return { source, summary: s };
}

function parseJson(source: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new LoadSummaryError(`${source}: not JSON: ${(e as Error).message}`);
  }
}

/**
 * The summaries in one file's text: the file is one JSON summary; or a log with `IKELAB_LOAD_SUMMARY {json}` lines
 * (only those count: `kubectl logs` of the pods); or JSON lines, one summary each. Anything else is an error naming
 * `name` (and the line).
 */
export function parseSummaries(name: string, text: string): LoadSummaryInput[] {
  const trimmed = text.trim();
  if (trimmed === '') throw new LoadSummaryError(`${name}: empty: expected the JSON of \`ikelab initiate --count N --json\``);
  if (trimmed.startsWith('{')) {
    let whole: unknown;
    try {
      whole = JSON.parse(trimmed);
    } catch {
      whole = undefined; // perhaps JSON lines: below
    }
    if (whole !== undefined) return [checkSummary(name, whole)];
  }
  const lines = text.split('\n');
  const marked = lines.flatMap((l, i) => {
    const at = l.indexOf(SUMMARY_MARKER);
    return at < 0 ? [] : [{ n: i + 1, json: l.slice(at + SUMMARY_MARKER.length).trim() }];
  });
  const chosen = marked.length ? marked : lines.flatMap((l, i) => (l.trim() === '' ? [] : [{ n: i + 1, json: l.trim() }]));
  if (!marked.length && !chosen.every((c) => c.json.startsWith('{')))
    throw new LoadSummaryError(
      `${name}: no load run summary: expected the JSON of \`ikelab initiate --count N --json\`, one per line, or log lines '${SUMMARY_MARKER.trim()} {...}'`,
    );
  return chosen.map(({ n, json }) => checkSummary(`${name}:${n}`, parseJson(`${name}:${n}`, json)));
}

const addInto = (into: Record<string, number>, from: Record<string, number>): void => {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
};

/** The union of time spans: disjoint, ascending. */
export function unionSpans(spans: readonly (readonly [number, number])[]): [number, number][] {
  const out: [number, number][] = [];
  for (const [a, b] of [...spans].sort((x, y) => x[0] - y[0] || x[1] - y[1])) {
    const last = out.at(-1);
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** Nearest-rank percentile (as load-run.ts `percentile`) over an ascending histogram of [value, count]. */
export function histogramPercentile(histogram: readonly (readonly [number, number])[], total: number, p: number): number {
  const rank = Math.min(total, Math.max(1, Math.ceil((p / 100) * total)));
  let seen = 0;
  for (const [value, n] of histogram) {
    seen += n;
    if (seen >= rank) return value;
  }
  return Number.NaN;
}

/** Merges finished runs' summaries (at least one). */
export function mergeLoadSummaries(inputs: readonly LoadSummaryInput[]): MergedLoadSummary {
  if (!inputs.length) throw new LoadSummaryError('no load run summary to merge');
  const failures: Record<string, number> = {};
  const childFailures: Record<string, number> = {};
  const buckets = new Map<number, number>();
  const ike = new Set<string>();
  const spans: [number, number][] = [];
  let runs = 0;
  let [total, started, established, failed, inFlight, lost] = [0, 0, 0, 0, 0, 0];
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let timedOut = false;
  const mixTexts = new Set<string>();
  const mix = { planned: {} as Record<string, number>, asPlanned: {} as Record<string, number>, outcomes: {} as Record<string, number> };
  for (const { source, summary: s } of inputs) {
    if (s.mix !== undefined) {
      mixTexts.add(s.mix);
      if (mixTexts.size > 1)
        throw new LoadSummaryError(
          `${source}: failure mix '${s.mix}' differs from another run's ('${[...mixTexts][0]}'): the shares would not add up`,
        );
      addInto(mix.planned, s.mixPlanned ?? {});
      addInto(mix.asPlanned, s.mixAsPlanned ?? {});
      addInto(mix.outcomes, s.mixOutcomes ?? {});
    }
    runs += s.runs ?? 1;
    for (const name of typeof s.ike === 'string' ? [s.ike] : (s.ike ?? [])) ike.add(name);
    total += s.count;
    started += s.started;
    established += s.established;
    failed += s.failed;
    inFlight += s.inFlight ?? 0;
    lost += s.lost;
    addInto(failures, s.failures);
    addInto(childFailures, s.childFailures);
    for (const [v, n] of s.setupHistogram) buckets.set(v, (buckets.get(v) ?? 0) + n);
    if (s.setupMs) {
      min = Math.min(min, s.setupMs.min);
      max = Math.max(max, s.setupMs.max);
    }
    spans.push(...(s.spans ?? [[s.startedAt, s.endedAt!] as [number, number]]));
    timedOut ||= s.timedOut;
  }
  const union = unionSpans(spans);
  const elapsedMs = union.reduce((t, [a, b]) => t + (b - a), 0);
  const histogram = [...buckets].sort((a, b) => a[0] - b[0]);
  // the buckets are rounded: a percentile never goes outside the exact extremes
  const clamp = (v: number) => Math.min(max, Math.max(min, v));
  const startedAt = union[0]![0];
  const endedAt = union.at(-1)![1];
  return {
    // with a mix the failures are the point: ok when every class came to its planned outcome
    ok: mixTexts.size
      ? Object.entries(mix.planned).every(([cls, n]) => (mix.asPlanned[cls] ?? 0) === n)
      : established === total && Object.keys(childFailures).length === 0,
    runs,
    ike: [...ike].sort(),
    count: total,
    started,
    established,
    failed,
    failures,
    inFlight,
    childFailures,
    lost,
    startedAt,
    endedAt,
    elapsedMs,
    spanMs: endedAt - startedAt,
    ratePerSec: elapsedMs > 0 ? Math.round((established * 1000 * 10) / elapsedMs) / 10 : 0,
    setupMs: established
      ? {
          min,
          p50: clamp(histogramPercentile(histogram, established, 50)),
          p99: clamp(histogramPercentile(histogram, established, 99)),
          max,
        }
      : null,
    setupHistogram: histogram,
    spans: union,
    ...(mixTexts.size ? { mix: [...mixTexts][0]!, mixPlanned: mix.planned, mixAsPlanned: mix.asPlanned, mixOutcomes: mix.outcomes } : {}),
    done: true,
    timedOut,
  };
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const byReason = (r: Record<string, number>): string =>
  Object.entries(r)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');

/** The text form, shaped like one run's summary (control/load-cli.ts formatSummary). */
export function formatMergedSummary(m: MergedLoadSummary): string {
  const lines = [
    `${m.runs} load run${m.runs === 1 ? '' : 's'} of ${m.ike.join(', ') || '?'}: ${m.established} of ${m.count} established, ${m.failed} failed in ${secs(m.elapsedMs)} (${m.ratePerSec} established/s)`,
  ];
  if (m.setupMs) lines.push(`  setup time p50 ${m.setupMs.p50} ms, p99 ${m.setupMs.p99} ms (min ${m.setupMs.min}, max ${m.setupMs.max})`);
  if (m.failed) lines.push(`  failed: ${byReason(m.failures)}`);
  if (Object.keys(m.childFailures).length) lines.push(`  CHILD_SA refused: ${byReason(m.childFailures)}`);
  if (m.mix !== undefined)
    lines.push(
      `  mix ${m.mix}: ${Object.entries(m.mixPlanned ?? {})
        .map(([k, n]) => `${k} ${m.mixAsPlanned?.[k] ?? 0}/${n} as planned`)
        .join(', ')}`,
    );
  if (m.lost) lines.push(`  ${m.lost} established IKE_SAs were gone again before their run ended (deleted by the peer?)`);
  if (m.spanMs > m.elapsedMs)
    lines.push(`  the runs spread over ${secs(m.spanMs)} with gaps; the rate is over the ${secs(m.elapsedMs)} in which a run was going`);
  lines.push(`  from ${new Date(m.startedAt).toISOString()} to ${new Date(m.endedAt).toISOString()}`);
  return lines.join('\n');
}
