// The scenario runner: a client of a running daemon over its control socket, like swanctl. It subscribes to the
// daemon's events (`watch`) before anything else, then runs the steps in order, each an existing control verb or an
// expectation over what the watch stream (or the peer's log file) delivered, and gives every step a verdict.
//
// Cursor semantics: an expectation looks at events from the moment the PREVIOUS step started (by default), so an
// event caused by that step, and arriving while it was still running (a NO_PROPOSAL_CHOSEN answered before the
// `initiate` reply came back), is not missed. `since: start` looks back to the scenario start, `since: step` only at
// what arrives during the expectation itself. Deadlines (`within`, `for`) count from the expectation's own start.
//
// Whatever happens, the fault rules the scenario added are cleared at the end and its `finally:` steps run (unless
// `keep`), so a failed run does not leave the daemon dead or dropping packets.
import { performance } from 'node:perf_hooks';
import { ConfigError } from '../config/errors.js';
import { controlCall, controlWatch, NoDaemonError, type WatchHandle } from '../control/client.js';
import type { ControlRequest } from '../control/protocol.js';
import type { IkelabEvent } from '../log/events.js';
import { DaemonGone, EventStream } from './event-stream.js';
import { AUTO_PARAMS, type ResolvedScenario, type Scenario, type Step } from './format.js';
import { LogTail } from './log-tail.js';
import { resolveScenario } from './resolve.js';
import { type Mark, type Outcome, runStep, type StepContext, type Verdict } from './steps.js';

/** What the runner needs of a daemon: one-reply verbs and the event stream. The socket client, or a test fake. */
export interface ControlPort {
  call(cmd: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<unknown>;
  watch(args: Record<string, unknown>, onEvent: (e: IkelabEvent) => void): Promise<WatchHandle>;
}

/** The port over a control socket (controlCall / controlWatch). */
export function socketPort(path: string): ControlPort {
  return {
    call: (cmd, args = {}, timeoutMs) => controlCall(path, cmd as ControlRequest['cmd'], args as ControlRequest['args'], timeoutMs),
    watch: (args, onEvent) => controlWatch(path, args as ControlRequest['args'], onEvent),
  };
}

export interface RunOptions {
  /** The daemon's control socket; or `port` (tests, an embedding program). */
  socket?: string;
  port?: ControlPort;
  /** The peer's log file (charon.log): `peer-log` steps read what is appended to it after the start. */
  peerLog?: string;
  /** --set values; they override the declared defaults. */
  params?: Record<string, string>;
  /** Gets each progress line (the step verdicts as they are decided); nothing when absent. */
  out?: (line: string) => void;
  /** Leave the scenario's fault rules in place and skip `finally:` (to look at the daemon afterwards). */
  keep?: boolean;
  /** How often list-sas and the peer log are polled (default 100 ms). */
  pollMs?: number;
}

export type { Verdict };

export interface StepResult {
  name: string;
  kind: Step['kind'] | 'cleanup';
  verdict: Verdict;
  /** Seconds since the scenario started, when the verdict was reached. */
  at: number;
  detail: string;
  /** The events the verdict is about (the match; the offending one for expect-not). */
  events?: IkelabEvent[];
}

/** 0: every expectation held; 1: one failed (or a step's verb was refused); 2: usage or format error; 3: no daemon. */
export type ExitCode = 0 | 1 | 2 | 3;

export interface ScenarioResult {
  scenario: string;
  passed: boolean;
  exitCode: ExitCode;
  params: Record<string, string>;
  steps: StepResult[];
  /** Why the run could not start or was cut short (usage error, no daemon). */
  error?: string;
}

/** A --set of an undeclared parameter, or a required parameter without a value (exit 2). */
export class ScenarioUsageError extends Error {}

/** The parameters a run uses: declared defaults, then `auto` from the daemon's config, then --set. */
export async function resolveParams(sc: Scenario, set: Record<string, string>, port: ControlPort): Promise<Record<string, string>> {
  for (const k of Object.keys(set))
    if (!(k in sc.params))
      throw new ScenarioUsageError(
        `--set ${k}: scenario ${sc.name} has no parameter '${k}' (parameters: ${Object.keys(sc.params).join(', ') || 'none'})`,
      );
  const out: Record<string, string> = {};
  const autos = Object.entries(sc.params).filter(([k, v]) => v === 'auto' && set[k] === undefined);
  let conns: { name: string; children: string[] }[] | undefined;
  if (autos.length) conns = ((await port.call('config')) as { connections: { name: string; children: string[] }[] }).connections;
  for (const [k, v] of Object.entries(sc.params)) {
    if (set[k] !== undefined) out[k] = set[k];
    else if (v === null) throw new ScenarioUsageError(`scenario ${sc.name} needs a value for parameter '${k}': give --set ${k}=VALUE`);
    else if (v !== 'auto') out[k] = v;
  }
  // after the explicit ones: `child: auto` follows a --set conn
  for (const [k] of autos) {
    if (k === 'conn') {
      const c = conns?.[0];
      if (!c) throw new ScenarioUsageError(`parameter conn: the daemon has no connection configured; give --set conn=NAME`);
      out.conn = c.name;
    }
  }
  for (const [k] of autos) {
    if (k === 'child') {
      const c = out.conn !== undefined ? conns?.find((x) => x.name === out.conn) : conns?.[0];
      const child = c?.children[0];
      if (!child) throw new ScenarioUsageError(`parameter child: no child found in connection '${out.conn ?? '?'}'; give --set child=NAME`);
      out.child = child;
    }
  }
  for (const k of Object.keys(sc.params)) if (out[k] === undefined && !AUTO_PARAMS.includes(k)) out[k] = '';
  return out;
}

/** Runs a scenario against a daemon and returns every step's verdict; never throws for what a run can meet. */
export async function runScenario(sc: Scenario, o: RunOptions): Promise<ScenarioResult> {
  const port = o.port ?? (o.socket !== undefined ? socketPort(o.socket) : undefined);
  if (!port) throw new Error('runScenario needs a control socket path or a port');
  const out = o.out ?? (() => {});
  const pollMs = o.pollMs ?? 100;
  const t0 = performance.now();
  const elapsed = () => Math.round(performance.now() - t0) / 1000;
  const steps: StepResult[] = [];
  let params: Record<string, string> = {};
  const finish = (exitCode: ExitCode, error?: string): ScenarioResult => {
    const r: ScenarioResult = { scenario: sc.name, passed: exitCode === 0, exitCode, params, steps, ...(error ? { error } : {}) };
    const count = (v: Verdict) => steps.filter((s) => s.verdict === v).length;
    const skipped = count('SKIP');
    out(
      `[+${elapsed().toFixed(3)}s] ${r.passed ? 'PASSED' : 'FAILED'} ${sc.name}: ${count('PASS')} passed, ${count('FAIL')} failed` +
        `${skipped ? `, ${skipped} skipped or not checked` : ''}${error ? ` (${error})` : ''}`,
    );
    return r;
  };

  let resolved: ResolvedScenario;
  try {
    params = await resolveParams(sc, o.params ?? {}, port);
    resolved = resolveScenario(sc, params);
  } catch (e) {
    if (e instanceof NoDaemonError) return finish(3, e.message);
    if (e instanceof ScenarioUsageError || e instanceof ConfigError) return finish(2, e.message);
    return finish(3, `the daemon did not give its configuration: ${(e as Error).message}`);
  }
  out(
    `scenario ${sc.name}${sc.description ? `: ${sc.description}` : ''}` +
      `${
        Object.keys(params).length
          ? ` (${Object.entries(params)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ')})`
          : ''
      }`,
  );

  // --- the event stream, opened before the first step so nothing the steps cause is missed
  const stream = new EventStream(pollMs);
  const wanted = [
    ...new Set([...resolved.steps, ...resolved.finally].flatMap((s) => ('event' in s && typeof s.event === 'string' ? [s.event] : []))),
  ];
  let watch: WatchHandle;
  try {
    // the exact names are valid prefixes; with no event expectation, the IKE_SA events keep the stream honest
    watch = await port.watch({ events: wanted.length ? wanted : ['ike.'] }, (e) => stream.push(e));
  } catch (e) {
    // refused (an old daemon without watch) or not there: either way no run is possible against it
    return finish(3, (e as Error).message);
  }
  void watch.ended.then((why) => {
    if (why) stream.ended(why);
  });
  const tail = o.peerLog !== undefined ? new LogTail(o.peerLog, stream.wake) : undefined;
  await tail?.start(pollMs);

  const added = new Set<string>(); // fault rules this run added and did not clear
  const call = async (cmd: string, args: Record<string, unknown>, timeoutMs?: number): Promise<unknown> => {
    try {
      return await port.call(cmd, args, timeoutMs);
    } catch (e) {
      if (e instanceof NoDaemonError || /closed the connection without a reply|no answer from the daemon/.test((e as Error).message))
        throw new DaemonGone((e as Error).message);
      throw e;
    }
  };

  const startMark: Mark = { ev: 0, log: 0 };
  const marks: Mark[] = [];
  /** Step i's context: its cursors are the marks taken when step i (or the one before it) started. */
  const stepContext = (i: number): StepContext => ({
    stream,
    tail,
    call,
    added,
    pollMs,
    from: (since) => (since === 'start' ? startMark : since === 'step' ? marks[i]! : (marks[i - 1] ?? startMark)),
  });

  const record = (name: string, kind: StepResult['kind'], oc: Outcome) => {
    const r: StepResult = {
      name,
      kind,
      verdict: oc.verdict,
      at: elapsed(),
      detail: oc.detail,
      ...(oc.events ? { events: oc.events } : {}),
    };
    steps.push(r);
    out(`[+${r.at.toFixed(3)}s] ${r.verdict} ${name}: ${r.detail}`);
  };

  let failed = false;
  let error: string | undefined;
  try {
    let i = 0;
    for (; i < resolved.steps.length; i++) {
      const s = resolved.steps[i]!;
      marks[i] = { ev: stream.events.length, log: tail?.lines.length ?? 0 };
      let oc: Outcome;
      try {
        oc = await runStep(stepContext(i), s);
      } catch (e) {
        if (e instanceof DaemonGone) throw e;
        oc = { verdict: 'FAIL', detail: `${s.kind} refused: ${(e as Error).message}` };
      }
      record(s.name, s.kind, oc);
      if (oc.verdict === 'FAIL') {
        failed = true;
        break;
      }
    }
    for (i++; i < resolved.steps.length; i++) {
      const s = resolved.steps[i]!;
      record(s.name, s.kind, { verdict: 'SKIP', detail: 'not run: an earlier step failed' });
    }
  } catch (e) {
    error = (e as Error).message;
  }

  // --- cleanup: even after a failure; not when the daemon is gone (nothing to clean) or with keep
  if (!stream.gone && !error) {
    if (o.keep) {
      if (added.size || resolved.finally.length)
        record('cleanup', 'cleanup', {
          verdict: 'SKIP',
          detail: `kept (--keep)${added.size ? `: fault rules ${[...added].join(', ')}` : ''}`,
        });
    } else {
      for (const name of [...added]) {
        try {
          const r = (await call('fault', { op: 'clear', name })) as { cleared: string[] };
          record(`cleanup fault ${name}`, 'cleanup', { verdict: 'PASS', detail: r.cleared.length ? `cleared '${name}'` : 'already gone' });
        } catch (e) {
          record(`cleanup fault ${name}`, 'cleanup', { verdict: 'FAIL', detail: (e as Error).message });
          failed = true;
        }
      }
      for (const [j, s] of resolved.finally.entries()) {
        try {
          record(s.name, s.kind, await runStep(stepContext(resolved.steps.length + j), s));
        } catch (e) {
          record(s.name, s.kind, { verdict: 'FAIL', detail: (e as Error).message });
          failed = true;
        }
      }
    }
  }
  watch.close();
  tail?.stop();
  if (stream.gone) return finish(3, stream.gone.message);
  if (error) return finish(3, error);
  return finish(failed || steps.some((s) => s.verdict === 'FAIL') ? 1 : 0);
}
