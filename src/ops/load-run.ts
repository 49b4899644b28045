// Load runs (`ikelab initiate --count N --rate R`): N new IKE_SAs of one connection, paced on the daemon's timer
// queue, tracked from the protocol events until each one is established or failed, so the CLI can show progress
// and a summary (established, failed by reason, setup time percentiles, achieved rate) instead of returning blind.
//
// Load SAs differ from a plain initiate in what a headend sees: no INITIAL_CONTACT unless asked (it tells the peer
// to drop every other IKE_SA of the same identities, so a strongSwan kept 1 SA where ikelab listed N), an identity
// per SA from a pattern (strongSwan's load-tester `c%d`), and optionally a source address per SA from a pool.
//
// A headend drops what comes too fast from one address, so a run keeps at most `maxHalfOpen` IKE_SAs connecting per
// source address (half-open-window.ts, which says why): an initiation whose turn comes while its source is full
// waits for one of that source's SAs to settle. The rate stays the upper bound.
//
// With --mix (load-mix.ts) a share of the SAs are bad peers on purpose; the summary then says per class what was
// planned and what came of it (load-mix-tracker.ts).
//
// The request and its checks are in load-request.ts, the status a run reports (and its setup times) in load-status.ts.
//
// Every time reading and wait is on ctx.timers (tests drive a manual clock); the runs live as long as the ops'
// context (a WeakMap, so the daemon's parts stay free of load-test bookkeeping).
import type { ConnectionConfig } from '../config/types.js';
import { withoutInitialContact } from '../ike/tasks/ike-auth.js';
import type { IkelabEvent } from '../log/events.js';
import type { TimerHandle } from '../util/timer-queue.js';
import { OpError, type OpsContext } from './context.js';
import { DEFAULT_MAX_HALF_OPEN, HalfOpenWindow } from './half-open-window.js';
import { startIke } from './initiate.js';
import type { MixTracker } from './load-mix-tracker.js';
import { checkLoadRequest, type LoadRequest, mixTracker } from './load-request.js';
import { type LoadStatus, SetupTimes } from './load-status.js';
import { defaultTimeoutMs } from './outcome.js';

// Moved to modules of their own; exported from here too, as before (the CLI, the API, storm.ts and tests import them).
export { DEFAULT_MAX_HALF_OPEN } from './half-open-window.js';
export { type LoadRequest, MAX_LOAD_COUNT } from './load-request.js';
export { type LoadStatus, percentile, setupBucket } from './load-status.js';
export { parseSourcePool } from './source-pool.js';

/** Finished runs kept for `load-status` (a CLI that reconnects late still gets its summary). */
const KEEP_RUNS = 16;

interface Sa {
  index: number;
  /** The source address key of the half-open window ('' without a pool: the connection's own). */
  source: string;
  startedAt: number;
  state: 'connecting' | 'established' | 'failed';
  childSettled?: boolean;
}

class LoadRun {
  private readonly byIke = new Map<number, Sa>();
  private readonly setup = new SetupTimes();
  private readonly failures: Record<string, number> = {};
  private readonly childFailures: Record<string, number> = {};
  private readonly pending: TimerHandle[] = [];
  private started = 0;
  private established = 0;
  private failed = 0;
  private lost = 0;
  /** Established SAs whose first CHILD_SA has not settled yet: the run is not over before they have. */
  private childOpen = 0;
  private readonly t0: number;
  /** t0 on the wall clock, taken once: wallAt() read twice can differ by a fraction of a ms. */
  private readonly wallT0: number;
  private endedAt?: number;
  private timedOut = false;
  private deadline?: TimerHandle;
  private readonly off: () => void;
  /** Callers of whenDone() (the TypeScript API's peer.load) waiting for the summary. */
  private readonly waiters: ((s: LoadStatus) => void)[] = [];
  private readonly window: HalfOpenWindow;
  /** Between two initiations by the rate, ms (0: all at once). */
  private readonly gapMs: number;

  constructor(
    private readonly ctx: OpsContext,
    readonly id: number,
    private readonly conn: ConnectionConfig,
    private readonly req: LoadRequest,
    private readonly pool: string[],
    private readonly psk: Buffer | undefined,
    private readonly mix?: MixTracker,
  ) {
    this.t0 = ctx.timers.now();
    this.wallT0 = Math.round(ctx.timers.wallAt(this.t0));
    this.window = new HalfOpenWindow(req.maxHalfOpen ?? DEFAULT_MAX_HALF_OPEN);
    this.off = ctx.log.onEvent((e) => this.onEvent(e));
    this.gapMs = req.rate > 0 ? 1000 / req.rate : 0;
    for (let i = 1; i <= req.count; i++)
      this.pending.push(ctx.timers.after((i - 1) * this.gapMs, `load run ${id}: initiate #${i}`, () => this.due(i)));
    this.armDeadline(this.remainingPacingMs());
  }

  /**
   * The run's deadline: the one asked for, or (default) the pacing plus one setup's give-up time. A window that
   * holds initiations back stretches the pacing, so the default deadline moves on with each initiation made: a
   * run ends by it only when nothing started for a whole give-up time.
   */
  private armDeadline(pacingMs: number): void {
    const timeout = this.req.timeoutMs ?? pacingMs + defaultTimeoutMs(this.ctx);
    if (this.deadline) this.ctx.timers.cancel(this.deadline);
    if (timeout > 0) this.deadline = this.ctx.timers.after(timeout, `load run ${this.id}: timeout`, () => this.expire());
  }

  private sourceOf(index: number): string | undefined {
    return this.pool.length ? this.pool[(index - 1) % this.pool.length] : undefined;
  }

  /** Initiation #index is due by the rate: made now, or held until its source's window has room. */
  private due(index: number): void {
    if (this.endedAt !== undefined) return;
    if (this.window.admit(this.sourceOf(index) ?? '', index)) this.start(index);
  }

  /** One of the source's SAs left the half-open state: its window has room for the next held initiation. */
  private settledHalfOpen(sa: Sa): void {
    const next = this.window.settled(sa.source);
    if (next === undefined) return;
    // not from inside the event that settled the other SA: its IKE_SA is still being processed
    this.pending.push(this.ctx.timers.after(0, `load run ${this.id}: initiate #${next}`, () => this.start(next)));
  }

  private start(index: number): void {
    if (this.endedAt !== undefined) return;
    const ctx = this.ctx;
    const { idPattern, initialContact, child } = this.req;
    const overrides = this.mix ? this.mix.overridesFor(index, this.req.overrides) : this.req.overrides;
    const conn = idPattern ? { ...this.conn, local: { ...this.conn.local, id: idPattern.replaceAll('%d', String(index)) } } : this.conn;
    const source = this.sourceOf(index);
    const key = source ?? '';
    this.started++;
    const now = ctx.timers.now();
    if (this.req.timeoutMs === undefined) this.armDeadline(this.remainingPacingMs());
    let made: Sa | undefined;
    try {
      startIke(ctx, conn, child, overrides, {
        source,
        prepare: (sa) => {
          this.window.opened(key);
          made = { index, source: key, startedAt: now, state: 'connecting' };
          this.byIke.set(sa.uniqueId, made);
          if (!initialContact) withoutInitialContact(sa);
          // the secret of the configured identity: the per-SA identities of a pattern are not in the secrets
          if (this.psk && !overrides?.psk) sa.pskOverride = this.psk;
          this.mix?.prepare(index, sa);
        },
      });
    } catch (e) {
      ctx.log.log('IKE', 1, `load run ${this.id}: initiating #${index} failed: ${(e as Error).message}`);
      // (made by prepare, if startIke got that far: its half-open slot is given back)
      this.fail(index, made as Sa | undefined, (e as Error).message);
    }
  }

  /** Until the last initiation is due by the rate (0 once all are). */
  private remainingPacingMs(): number {
    return Math.max(0, (this.req.count - 1) * this.gapMs - (this.ctx.timers.now() - this.t0));
  }

  private onEvent(e: IkelabEvent): void {
    if (e.ikeId === undefined) return;
    const sa = this.byIke.get(e.ikeId);
    if (!sa) return;
    const now = this.ctx.timers.now();
    if (sa.state === 'connecting') {
      if (e.event === 'ike.established') {
        sa.state = 'established';
        this.settledHalfOpen(sa);
        this.established++;
        this.setup.add(now - sa.startedAt);
        this.mix?.established(sa.index, e.ikeId);
        // the CHILD_SA of IKE_AUTH settles right after (same response): until then the SA's outcome is open
        if (this.conn.children.length) this.childOpen++;
        else this.mix?.settle(sa.index, 'established');
      } else if (e.event === 'ike.failed') this.fail(sa.index, sa, e.notify ?? e.reason ?? 'IKE_SA setup failed');
      else if (e.event === 'dpd.timeout') this.fail(sa.index, sa, 'peer not responding');
      else if (e.event === 'ike.destroyed') this.fail(sa.index, sa, e.reason ?? 'destroyed');
    } else if (sa.state === 'established') {
      if (!sa.childSettled && e.event === 'child.established') this.childSettled(sa, 'established');
      else if (!sa.childSettled && e.event === 'child.failed') {
        const why = e.notify ?? e.reason ?? 'CHILD_SA failed';
        this.childFailures[why] = (this.childFailures[why] ?? 0) + 1;
        this.childSettled(sa, `established, CHILD_SA refused ${why}`);
      } else if (e.event === 'ike.destroyed') {
        if (!sa.childSettled) this.childSettled(sa, 'established, gone before its CHILD_SA');
        this.lost++;
        this.byIke.delete(e.ikeId);
      }
    }
    this.checkDone();
  }

  private childSettled(sa: Sa, outcome: string): void {
    if (this.conn.children.length && !sa.childSettled) this.childOpen--;
    sa.childSettled = true;
    this.mix?.settle(sa.index, outcome);
  }

  private fail(index: number, sa: Sa | undefined, why: string): void {
    if (sa?.state === 'connecting') this.settledHalfOpen(sa);
    if (sa) sa.state = 'failed';
    this.failed++;
    this.failures[why] = (this.failures[why] ?? 0) + 1;
    this.mix?.settle(index, `failed ${why}`);
    this.checkDone();
  }

  private checkDone(): void {
    if (this.endedAt === undefined && this.established + this.failed >= this.req.count && this.childOpen <= 0) this.end();
  }

  /** The run's time is up: what was not started or not established counts as failed ('timeout'); SAs go on. */
  private expire(): void {
    if (this.endedAt !== undefined) return;
    this.timedOut = true;
    const open = this.req.count - this.established - this.failed;
    if (open > 0) {
      this.failed += open;
      this.failures.timeout = (this.failures.timeout ?? 0) + open;
    }
    this.mix?.settleOpen('timeout');
    this.end();
  }

  private end(): void {
    this.endedAt = this.ctx.timers.now();
    for (const h of this.pending) this.ctx.timers.cancel(h);
    this.ctx.timers.cancel(this.deadline);
    // the listener stays only while the run can change: a finished run is a frozen summary
    this.off();
    this.ctx.log.log(
      'IKE',
      1,
      `load run ${this.id} of ${this.conn.name} done: ${this.established} of ${this.req.count} established${this.failed ? `, ${this.failed} failed` : ''}`,
    );
    const summary = this.status();
    for (const w of this.waiters.splice(0)) w(summary);
  }

  /** The summary once the run is over (it always ends: every initiation settles or the run's deadline fires). */
  whenDone(): Promise<LoadStatus> {
    if (this.done) return Promise.resolve(this.status());
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  get done(): boolean {
    return this.endedAt !== undefined;
  }

  /** Stop pacing and tracking (`load-status --stop`, daemon reload): counts what is open as 'stopped'. */
  stop(): void {
    if (this.done) return;
    const open = this.req.count - this.established - this.failed;
    this.failed += open;
    if (open > 0) this.failures.stopped = (this.failures.stopped ?? 0) + open;
    this.mix?.settleOpen('stopped');
    this.end();
  }

  status(): LoadStatus {
    const elapsedMs = Math.round((this.endedAt ?? this.ctx.timers.now()) - this.t0);
    const inFlight = this.done ? 0 : this.started - this.established - this.failed;
    return {
      id: this.id,
      ike: this.conn.name,
      count: this.req.count,
      rate: this.req.rate,
      started: this.started,
      established: this.established,
      failed: this.failed,
      failures: { ...this.failures },
      inFlight: Math.max(0, inFlight),
      waiting: this.done ? 0 : this.window.waiting,
      maxHalfOpen: this.window.max,
      childFailures: { ...this.childFailures },
      lost: this.lost,
      elapsedMs,
      ratePerSec: elapsedMs > 0 ? Math.round((this.established * 1000 * 10) / elapsedMs) / 10 : 0,
      setupMs: this.setup.percentiles(),
      setupHistogram: this.setup.buckets(),
      startedAt: this.wallT0,
      endedAt: this.done ? this.wallT0 + elapsedMs : null,
      done: this.done,
      timedOut: this.timedOut,
      ...this.mix?.status(),
    };
  }
}

interface Runs {
  next: number;
  all: Map<number, LoadRun>;
}
const runsOf = new WeakMap<OpsContext, Runs>();

function runs(ctx: OpsContext): Runs {
  let r = runsOf.get(ctx);
  if (!r) runsOf.set(ctx, (r = { next: 1, all: new Map() }));
  return r;
}

/** Starts a load run; the first status (nothing started when rate > 0 except #1). Bad requests are OpErrors. */
export function startLoad(ctx: OpsContext, req: LoadRequest): LoadStatus {
  const { conn, pool, psk, overrides } = checkLoadRequest(ctx, req);
  const r = runs(ctx);
  const mix = req.mix === undefined ? undefined : mixTracker(ctx, r.next, req, conn);
  const run = new LoadRun(ctx, r.next++, conn, { ...req, overrides }, pool, psk, mix);
  r.all.set(run.id, run);
  for (const [id, old] of r.all) if (r.all.size > KEEP_RUNS && old.done) r.all.delete(id);
  ctx.log.log(
    'IKE',
    1,
    `load run ${run.id}: ${req.count} IKE_SAs of ${conn.name} at ${req.rate > 0 ? `${req.rate}/s` : 'full speed'}` +
      `${req.idPattern ? `, IDi ${req.idPattern}` : ''}${pool.length ? `, from ${pool.length} source addresses` : ''}` +
      `${req.initialContact ? ', with INITIAL_CONTACT' : ''}${mix ? `, failure mix ${mix.status().mix} (seed ${mix.seed})` : ''}`,
  );
  return run.status();
}

/** A run's status by id; without id the newest run. */
export function loadStatus(ctx: OpsContext, id?: number): LoadStatus {
  const all = runs(ctx).all;
  const run = id === undefined ? [...all.values()].at(-1) : all.get(id);
  if (!run)
    throw new OpError(
      id === undefined
        ? 'no load run yet (initiate --count N starts one)'
        : `no load run ${id} (kept: ${[...all.keys()].join(', ') || 'none'})`,
    );
  return run.status();
}

/** A run's summary once it is over (the newest without id). */
export function loadDone(ctx: OpsContext, id?: number): Promise<LoadStatus> {
  const all = runs(ctx).all;
  const run = id === undefined ? [...all.values()].at(-1) : all.get(id);
  if (!run) return Promise.reject(new OpError(`no load run ${id ?? ''}`.trim()));
  return run.whenDone();
}

/** Stops a run (its initiations not yet made are not made; SAs already up stay). */
export function stopLoad(ctx: OpsContext, id?: number): LoadStatus {
  const all = runs(ctx).all;
  const run = id === undefined ? [...all.values()].at(-1) : all.get(id);
  if (!run) throw new OpError(`no load run ${id ?? ''}`.trim());
  run.stop();
  return run.status();
}
