// `scenario run --repeat N`: the runs against a fake control endpoint whose outcome alternates, the tally of which
// steps failed how often, the stop when no daemon answers, --keep on the last run only, and the summary lines.
import { describe, expect, test } from 'vitest';
import { NoDaemonError, type WatchHandle } from '../../src/control/client.js';
import type { IkelabEvent } from '../../src/log/events.js';
import { parseScenario } from '../../src/scenario/format.js';
import { formatRepeat, runRepeated, summarizeRuns } from '../../src/scenario/repeat.js';
import type { ControlPort, ScenarioResult } from '../../src/scenario/runner.js';

/** A daemon whose IKE_SA comes up on odd initiations only; every call recorded. */
class FlakyPort implements ControlPort {
  readonly calls: { cmd: string; args: Record<string, unknown> }[] = [];
  private listeners: ((e: IkelabEvent) => void)[] = [];
  private initiations = 0;
  constructor(private readonly gone = false) {}
  async call(cmd: string, args: Record<string, unknown> = {}): Promise<unknown> {
    if (this.gone) throw new NoDaemonError('no ikelab daemon is listening on /x');
    this.calls.push({ cmd, args });
    if (cmd === 'initiate' && ++this.initiations % 2 === 1)
      setTimeout(() => {
        for (const l of this.listeners)
          l({ time: new Date().toISOString(), event: 'ike.established', ike: 'bar', ikeId: 1 } as IkelabEvent);
      }, 20);
    if (cmd === 'fault') return args.op === 'add' ? { added: [{ name: args.name }] } : { cleared: [args.name] };
    return { ok: cmd };
  }
  async watch(_args: Record<string, unknown>, onEvent: (e: IkelabEvent) => void): Promise<WatchHandle> {
    if (this.gone) throw new NoDaemonError('no ikelab daemon is listening on /x');
    this.listeners.push(onEvent);
    return {
      close: () => {
        this.listeners = this.listeners.filter((l) => l !== onEvent);
      },
      ended: new Promise(() => {}),
    };
  }
}

const SC = parseScenario(
  [
    'params: {}',
    'steps:',
    "  - fault: { add: mark, match: 'exchange=INFORMATIONAL', action: drop }",
    '  - initiate: { ike: bar }',
    '  - name: up',
    '    expect: { event: ike.established, within: 300ms, match: { ike: bar } }',
  ].join('\n'),
  'flaky.yaml',
);

describe('scenario run --repeat', () => {
  test('four runs, every second one fails: 2 of 4 passed, the failing step counted twice, exit 1', async () => {
    const port = new FlakyPort();
    const heads: number[] = [];
    const r = await runRepeated(SC, { port, pollMs: 10 }, 4, (i) => heads.push(i));
    expect(heads).toEqual([1, 2, 3, 4]);
    expect(r).toMatchObject({ scenario: 'flaky', asked: 4, runs: 4, passed: 2, exitCode: 1 });
    expect(r.results.map((x) => x.passed)).toEqual([true, false, true, false]);
    expect(r.failures).toEqual([{ step: 'up', failed: 2, firstDetail: expect.stringMatching(/ike\.established/) }]);
    // each run cleaned up its own rule, so the next one could add it again
    expect(port.calls.filter((c) => c.cmd === 'fault').map((c) => c.args.op)).toEqual([
      'add',
      'clear',
      'add',
      'clear',
      'add',
      'clear',
      'add',
      'clear',
    ]);
    // 'up' passed twice, each time about 20 ms after the initiation (the fake's delay)
    expect(r.timings).toEqual([{ step: 'up', passes: 2, min: expect.any(Number), median: expect.any(Number), max: expect.any(Number) }]);
    expect(r.timings[0]!.min).toBeGreaterThanOrEqual(0.015);
    expect(r.timings[0]!.max).toBeLessThan(0.3);
    const lines = formatRepeat(r);
    expect(lines[0]).toBe('repeated flaky: 2 of 4 runs passed');
    expect(lines[1]).toMatch(/^ {2}FAIL in 2 of 4 runs: up \(first: .*ike\.established/);
    expect(lines[2]).toMatch(/^ {2}took 0\.\d{3} s median \(0\.\d{3} s to 0\.\d{3} s\) in 2 passes: up$/);
  });

  test('--keep holds for the last run only: the earlier runs clear their rules', async () => {
    const port = new FlakyPort();
    await runRepeated(SC, { port, pollMs: 10, keep: true }, 3);
    expect(port.calls.filter((c) => c.cmd === 'fault').map((c) => c.args.op)).toEqual(['add', 'clear', 'add', 'clear', 'add']);
  });

  test('no daemon: one run, then it stops with exit 3 and says why', async () => {
    const r = await runRepeated(SC, { port: new FlakyPort(true), pollMs: 10 }, 5);
    expect(r).toMatchObject({ asked: 5, runs: 1, passed: 0, exitCode: 3, failures: [] });
    expect(formatRepeat(r)).toEqual(['repeated flaky: 0 of 1 runs passed (5 asked; stopped: no ikelab daemon is listening on /x)']);
  });

  test("timings: a waiting step's duration counts from the end of the step before; other kinds and failures are left out", () => {
    const step = (name: string, kind: ScenarioResult['steps'][number]['kind'], at: number, verdict: 'PASS' | 'FAIL' = 'PASS') => ({
      name,
      kind,
      verdict,
      at,
      detail: '',
    });
    const runOf = (initAt: number, upAt: number, v: 'PASS' | 'FAIL' = 'PASS'): ScenarioResult => ({
      scenario: 's',
      passed: v === 'PASS',
      exitCode: v === 'PASS' ? 0 : 1,
      params: {},
      steps: [step('initiate net', 'initiate', initAt), step('up', 'expect', upAt, v)],
    });
    const r = summarizeRuns('s', 4, [runOf(0.1, 1.1), runOf(0.2, 3.2), runOf(0.1, 2.1), runOf(0.1, 9.1, 'FAIL')]);
    expect(r.timings).toEqual([{ step: 'up', passes: 3, min: 1, median: 2, max: 3 }]);
    expect(formatRepeat(r)).toEqual([
      'repeated s: 3 of 4 runs passed',
      '  FAIL in 1 of 4 runs: up (first: )',
      '  took 2.000 s median (1.000 s to 3.000 s) in 3 passes: up',
    ]);
  });

  test('the tally alone: all passed is exit 0 and no failure lines', () => {
    const ok: ScenarioResult = { scenario: 's', passed: true, exitCode: 0, params: {}, steps: [] };
    const r = summarizeRuns('s', 2, [ok, ok]);
    expect(r).toMatchObject({ runs: 2, passed: 2, exitCode: 0, failures: [] });
    expect(formatRepeat(r)).toEqual(['repeated s: 2 of 2 runs passed']);
  });
});
