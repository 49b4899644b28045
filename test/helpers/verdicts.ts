// What the interop scenario tests compare: a scenario run as one line per step, plus why it stopped if it did.
import type { ScenarioResult } from '../../src/scenario/runner.js';

/**
 * Each step's name and verdict, in order (cleanup lines included), then the run's error if it could not start or
 * was cut short: that shows in the assertion's diff, where CI's output keeps it (the stderr dump may be cut).
 */
export const verdicts = (r: ScenarioResult): string[] => [
  ...r.steps.map((s) => `${s.verdict} ${s.name}`),
  ...(r.error ? [`ERROR ${r.error}`] : []),
];
