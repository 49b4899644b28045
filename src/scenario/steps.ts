// One function per scenario step kind: an action is a control verb (its reply is the detail), an expectation waits
// on the run's EventStream (or the peer's log, or list-sas) until its evidence arrives or its deadline passes.
// Deadlines (`within`, `for`) count from the step's own start; the cursor (`since`) says from which event on it looks.
import { performance } from 'node:perf_hooks';
import { formatEventText } from '../control/watch-cli.js';
import type { IkelabEvent } from '../log/events.js';
import type { Since, Step } from './format.js';
import type { EventStream } from './event-stream.js';
import type { LogTail } from './log-tail.js';
import { describeMatch, matches, nearMisses, type SaView, short, stateOf } from './matching.js';
import { showDuration } from './resolve.js';

export type Verdict = 'PASS' | 'FAIL' | 'SKIP';
export interface Outcome {
  verdict: Verdict;
  detail: string;
  events?: IkelabEvent[];
}

/** Where a step's look-back starts: an event index and a peer log line index. */
export interface Mark {
  ev: number;
  log: number;
}

/** What a step needs of its run. */
export interface StepContext {
  stream: EventStream;
  tail: LogTail | undefined;
  /** A control verb; a daemon that went away throws DaemonGone. */
  call(cmd: string, args: Record<string, unknown>, timeoutMs?: number): Promise<unknown>;
  /** Fault rules this run added and did not clear (the run clears them at the end). */
  added: Set<string>;
  pollMs: number;
  /** Where `since` looks back to for this step: the scenario start, the previous step's start, or its own start. */
  from(since: Since): Mark;
}

type Of<K extends Step['kind']> = Extract<Step, { kind: K }>;

export function runStep(ctx: StepContext, s: Step): Promise<Outcome> {
  const stepStart = performance.now();
  switch (s.kind) {
    case 'initiate':
    case 'terminate':
    case 'rekey':
      return ctx.call(s.kind, s.args).then((r) => ({ verdict: 'PASS', detail: short(r) }));
    case 'fault':
      return fault(ctx, s);
    case 'ping':
      return ping(ctx, s);
    case 'sleep':
      return ctx.stream
        .waitFor(
          stepStart + s.ms,
          () => undefined,
          () => true,
          s.ms,
        )
        .then(() => ({ verdict: 'PASS', detail: `slept ${showDuration(s.ms)}` }));
    case 'expect':
      return expect(ctx, s, stepStart);
    case 'expect-not':
      return expectNot(ctx, s, stepStart);
    case 'expect-count':
      return expectCount(ctx, s, stepStart);
    case 'wait-state':
      return waitState(ctx, s, stepStart);
    case 'peer-log':
      return peerLog(ctx, s, stepStart);
  }
}

async function fault(ctx: StepContext, s: Of<'fault'>): Promise<Outcome> {
  if (s.op === 'add') {
    const r = (await ctx.call('fault', { op: 'add', ...s.rule })) as { added: { name: string; text?: string }[] };
    for (const a of r.added) ctx.added.add(a.name);
    return { verdict: 'PASS', detail: r.added.map((a) => `added '${a.name}'${a.text ? `: ${a.text}` : ''}`).join('; ') };
  }
  const r = (await ctx.call('fault', { op: 'clear', ...s.rule })) as { cleared: string[] };
  if (s.rule.name === undefined) ctx.added.clear();
  for (const n of r.cleared) ctx.added.delete(n);
  return { verdict: 'PASS', detail: r.cleared.length ? `cleared ${r.cleared.map((n) => `'${n}'`).join(', ')}` : 'no fault rules' };
}

async function ping(ctx: StepContext, s: Of<'ping'>): Promise<Outcome> {
  const r = (await ctx.call('ping', s.args, 120_000)) as { sent: number; received: number };
  const detail = `${r.received}/${r.sent} replies`;
  if (s.replies !== undefined && r.received < s.replies) return { verdict: 'FAIL', detail: `${detail}, wanted at least ${s.replies}` };
  return { verdict: 'PASS', detail };
}

/**
 * Looks at the run's events from the step's `since` on, as they arrive, for the first one the step is about: its
 * outcome is `found(event)`, or `none()` once the deadline passes without one. expect and expect-not differ only in
 * which of the two is the PASS.
 */
function firstMatch(
  ctx: StepContext,
  s: Of<'expect'> | Of<'expect-not'>,
  deadline: number,
  found: (e: IkelabEvent) => Outcome,
  none: () => Outcome,
): Promise<Outcome> {
  const { events } = ctx.stream;
  let seen = ctx.from(s.since).ev;
  return ctx.stream.waitFor<Outcome>(
    deadline,
    () => {
      for (; seen < events.length; seen++) {
        const e = events[seen]!;
        if (matches(e, s.event, s.match)) return found(e);
      }
      return undefined;
    },
    none,
  );
}

function expect(ctx: StepContext, s: Of<'expect'>, stepStart: number): Promise<Outcome> {
  return firstMatch(
    ctx,
    s,
    stepStart + s.withinMs,
    (e) => ({ verdict: 'PASS', detail: formatEventText(e, false), events: [e] }),
    () => ({
      verdict: 'FAIL',
      detail: `no ${s.event}${describeMatch(s.match)} within ${showDuration(s.withinMs)}${nearMisses(ctx.stream.events.slice(ctx.from(s.since).ev), s.event)}`,
    }),
  );
}

function expectNot(ctx: StepContext, s: Of<'expect-not'>, stepStart: number): Promise<Outcome> {
  return firstMatch(
    ctx,
    s,
    stepStart + s.forMs,
    (e) => ({ verdict: 'FAIL', detail: `unexpected ${formatEventText(e, false)}`, events: [e] }),
    () => ({ verdict: 'PASS', detail: `no ${s.event}${describeMatch(s.match)} in ${showDuration(s.forMs)}` }),
  );
}

function expectCount(ctx: StepContext, s: Of<'expect-count'>, stepStart: number): Promise<Outcome> {
  const { events } = ctx.stream;
  const hits: IkelabEvent[] = [];
  let seen = ctx.from(s.since).ev;
  const what = `${s.event}${describeMatch(s.match)}`;
  const range =
    s.min !== undefined && s.max !== undefined ? `${s.min}..${s.max}` : s.min !== undefined ? `at least ${s.min}` : `at most ${s.max}`;
  return ctx.stream.waitFor<Outcome>(
    stepStart + s.withinMs,
    () => {
      for (; seen < events.length; seen++) if (matches(events[seen]!, s.event, s.match)) hits.push(events[seen]!);
      if (s.max !== undefined && hits.length > s.max)
        return { verdict: 'FAIL', detail: `${hits.length} ${what}, wanted ${range}`, events: hits.slice(0, 20) };
      // with only a minimum there is nothing left to wait for
      if (s.max === undefined && s.min !== undefined && hits.length >= s.min)
        return { verdict: 'PASS', detail: `${hits.length} ${what} (wanted ${range})`, events: hits.slice(0, 20) };
      return undefined;
    },
    () => {
      const ok = hits.length >= (s.min ?? 0) && hits.length <= (s.max ?? Number.POSITIVE_INFINITY);
      return {
        verdict: ok ? 'PASS' : 'FAIL',
        detail: `${hits.length} ${what} in ${showDuration(s.withinMs)}, wanted ${range}`,
        events: hits.slice(0, 20),
      };
    },
  );
}

async function waitState(ctx: StepContext, s: Of<'wait-state'>, stepStart: number): Promise<Outcome> {
  let now = 'absent';
  let lastPoll = 0;
  let polling: Promise<void> | undefined;
  let pollError: unknown;
  let reached: string | undefined;
  const poll = async () => {
    const sas = (await ctx.call('list-sas', {})) as SaView[];
    const found = stateOf(sas, s.target, s.of);
    now = found.length ? [...new Set(found.map((f) => f.state))].join(', ') : 'absent';
    if (s.state === 'ABSENT' ? found.length === 0 : found.some((f) => f.state.toUpperCase() === s.state))
      reached = found.find((f) => f.state.toUpperCase() === s.state)?.label ?? `no ${s.target} ${s.of}`;
  };
  // list-sas can be large on a loaded daemon: at most every 200 ms, whatever pollMs says
  const every = Math.max(ctx.pollMs, 200);
  const r = await ctx.stream.waitFor<Outcome>(
    stepStart + s.withinMs,
    () => {
      if (pollError) throw pollError;
      if (reached !== undefined) return { verdict: 'PASS', detail: `${reached} ${s.state}` };
      if (!polling && performance.now() - lastPoll >= every) {
        lastPoll = performance.now();
        polling = poll()
          .catch((e: unknown) => {
            pollError = e;
          })
          .finally(() => {
            polling = undefined;
            ctx.stream.wake();
          });
      }
      return undefined;
    },
    () => ({ verdict: 'FAIL', detail: `${s.target} ${s.of} not ${s.state} within ${showDuration(s.withinMs)} (now: ${now})` }),
  );
  await polling;
  return r;
}

function peerLog(ctx: StepContext, s: Of<'peer-log'>, stepStart: number): Promise<Outcome> {
  const tail = ctx.tail;
  if (!tail) return Promise.resolve({ verdict: 'SKIP', detail: 'not checked: no --peer-log FILE given' });
  let seen = ctx.from(s.since).log;
  return ctx.stream.waitFor<Outcome>(
    stepStart + s.withinMs,
    () => {
      for (; seen < tail.lines.length; seen++)
        if (s.regex.test(tail.lines[seen]!)) return { verdict: 'PASS', detail: `peer log: ${tail.lines[seen]!.trim()}` };
      return undefined;
    },
    () => ({
      verdict: 'FAIL',
      detail: `no line matching /${s.regex.source}/ in ${tail.path} within ${showDuration(s.withinMs)}${tail.error ? ` (${tail.error})` : ''}`,
    }),
  );
}
