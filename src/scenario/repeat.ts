// `scenario run --repeat N`: the same scenario N times in a row against one daemon, then how often each step
// failed. Field failures that depend on timing (which of two datagrams a peer takes first, a rekey meeting a DPD)
// show only now and then; one run says little, twenty say how often. Each run is a whole run of its own (its own
// event and log cursors from its start, its own cleanup), so a scenario repeats well when its first steps tolerate
// what the run before left (initiate reuses an established IKE_SA and CHILD_SA).
import { percentile } from '../ops/load-status.js';
import type { ExitCode, RunOptions, ScenarioResult } from './runner.js';
import { runScenario } from './runner.js';
import type { Scenario } from './format.js';

/** Runs a user may ask for at once: enough for a rate, few enough that a typo does not hold a terminal for a day. */
export const MAX_REPEAT = 1000;

export interface StepFailures {
  /** The step's name, as its verdict lines print it. */
  step: string;
  /** Runs in which it failed. */
  failed: number;
  /** The detail of its first failure (what was awaited, what was seen instead). */
  firstDetail: string;
}

/** How long a waiting step (expect, expect-count, wait-state, peer-log) took in the runs it passed: seconds. */
export interface StepTiming {
  step: string;
  passes: number;
  min: number;
  median: number;
  max: number;
}

export interface RepeatResult {
  scenario: string;
  /** Runs asked for and runs made (fewer when a run could not start: no daemon, a usage error). */
  asked: number;
  runs: number;
  passed: number;
  /** Steps that failed in at least one run, in the order they first failed. */
  failures: StepFailures[];
  /**
   * The waiting steps' durations where they passed (from the end of the step before): how long the peer took to
   * do what was awaited, over the runs. In the order the steps first passed.
   */
  timings: StepTiming[];
  /** 0 every run passed; 1 one failed; 2 or 3 as a single run's (usage, no daemon): the runs stopped there. */
  exitCode: ExitCode;
  results: ScenarioResult[];
}

/** Runs `sc` up to `times` times; `onRun(i)` before run i (1-based), for a heading between the runs' lines. */
export async function runRepeated(sc: Scenario, o: RunOptions, times: number, onRun?: (i: number) => void): Promise<RepeatResult> {
  const results: ScenarioResult[] = [];
  for (let i = 1; i <= times; i++) {
    onRun?.(i);
    // --keep leaves the last run's rules in place; an earlier run's would stand in the way of the next one's
    const r = await runScenario(sc, { ...o, keep: o.keep === true && i === times });
    results.push(r);
    // no daemon or a bad parameter: every later run would meet the same
    if (r.exitCode >= 2) break;
  }
  return summarizeRuns(sc.name, times, results);
}

/** The tally of finished runs (pure: tested on its own). */
export function summarizeRuns(scenario: string, asked: number, results: ScenarioResult[]): RepeatResult {
  const byStep = new Map<string, StepFailures>();
  const took = new Map<string, number[]>();
  for (const r of results) {
    let prev = 0; // the step before ended here (seconds since the run started)
    for (const s of r.steps) {
      const d = s.at - prev;
      prev = s.at;
      if (s.verdict === 'PASS' && WAITING.has(s.kind)) {
        const ds = took.get(s.name);
        if (ds) ds.push(d);
        else took.set(s.name, [d]);
      }
      if (s.verdict !== 'FAIL') continue;
      const f = byStep.get(s.name);
      if (f) f.failed++;
      else byStep.set(s.name, { step: s.name, failed: 1, firstDetail: s.detail });
    }
  }
  const stop = results.find((r) => r.exitCode >= 2);
  const passed = results.filter((r) => r.passed).length;
  return {
    scenario,
    asked,
    runs: results.length,
    passed,
    failures: [...byStep.values()],
    timings: [...took].map(([step, ds]) => timing(step, ds)),
    exitCode: stop ? stop.exitCode : passed === results.length ? 0 : 1,
    results,
  };
}

/** The summary lines printed after the runs' own. */
export function formatRepeat(r: RepeatResult): string[] {
  const head = `repeated ${r.scenario}: ${r.passed} of ${r.runs} runs passed${r.runs < r.asked ? ` (${r.asked} asked; stopped: ${stopReason(r)})` : ''}`;
  return [
    head,
    ...r.failures.map((f) => `  FAIL in ${f.failed} of ${r.runs} runs: ${f.step} (first: ${f.firstDetail})`),
    ...r.timings.map((t) => `  took ${secs(t.median)} median (${secs(t.min)} to ${secs(t.max)}) in ${t.passes} passes: ${t.step}`),
  ];
}

/** The steps that wait for something to happen; the others (initiate, fault, ping, sleep) take what they take. */
const WAITING: ReadonlySet<string> = new Set(['expect', 'expect-count', 'wait-state', 'peer-log']);

const secs = (s: number) => `${s.toFixed(3)} s`;

function timing(step: string, ds: number[]): StepTiming {
  const s = [...ds].sort((a, b) => a - b);
  // three decimals, as the runs' own lines print their times
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  // the nearest-rank p50 that load runs and storms report as their median too
  return { step, passes: s.length, min: r3(s[0]!), median: r3(percentile(s, 50)), max: r3(s[s.length - 1]!) };
}

function stopReason(r: RepeatResult): string {
  const last = r.results[r.results.length - 1];
  return last?.error ?? `exit ${last?.exitCode}`;
}
