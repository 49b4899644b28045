// Load runs (`ikelab initiate --count N --rate R`): N new IKE_SAs of one connection, paced on the daemon's timer
// queue, tracked from the protocol events until each one is established or failed, so the CLI can show progress
// and a summary (established, failed by reason, setup time percentiles, achieved rate) instead of returning blind.
//
// Load SAs differ from a plain initiate in what a headend sees: no INITIAL_CONTACT unless asked (it tells the peer
// to drop every other IKE_SA of the same identities, so a strongSwan kept 1 SA where ikelab listed N), an identity
// per SA from a pattern (strongSwan's load-tester `c%d`), and optionally a source address per SA from a pool.
//
// A headend drops what comes too fast from one address: charon's block_threshold (default 5) silently drops
// IKE_SA_INITs from a peer IP that already has that many half-open IKE_SAs, so pacing by rate alone collapses on a
// busy headend (setup times of seconds: 31 of 200 established at 50/s from 51 addresses, the rest 'peer not
// responding'). A run therefore keeps at most `maxHalfOpen` IKE_SAs connecting per source address (default 4,
// below charon's default; 0 lifts the window, for a burst meant to overload): an initiation whose turn comes while
// its source is full waits for one of that source's SAs to settle. The rate stays the upper bound.
//
// With --mix (load-mix.ts) a share of the SAs are bad peers on purpose; the summary then says per class what was
// planned and what came of it (load-mix-tracker.ts).
//
// Every time reading and wait is on ctx.timers (tests drive a manual clock); the runs live as long as the ops'
// context (a WeakMap, so the daemon's parts stay free of load-test bookkeeping).
import { isIPv4, isIPv6 } from 'node:net';
import { findPsk } from '../config/secrets.js';
import { randomInt } from '../crypto/random.js';
import type { ConnectionConfig } from '../config/types.js';
import { withoutInitialContact } from '../ike/tasks/ike-auth.js';
import type { IkelabEvent } from '../log/events.js';
import type { TimerHandle } from '../util/timer-queue.js';
import { OpError, type OpsContext } from './context.js';
import { startIke } from './initiate.js';
import { classOverrides, parseMix } from './load-mix.js';
import { MixTracker, type MixStatus } from './load-mix-tracker.js';
import { targetConnection } from './lookup.js';
import { defaultTimeoutMs } from './outcome.js';
import { hasOverrides, type InitiateOverrides } from './overrides.js';

export const MAX_LOAD_COUNT = 100_000;
/** Pool sizes beyond this are a typo (a /8), not a load test: refused before anything is expanded. */
const MAX_POOL = 65_536;
/** Finished runs kept for `load-status` (a CLI that reconnects late still gets its summary). */
const KEEP_RUNS = 16;
/** Half-open IKE_SAs per source address by default: one below charon's block_threshold (5). */
export const DEFAULT_MAX_HALF_OPEN = 4;

export interface LoadRequest {
  ike?: string;
  child?: string;
  count: number;
  /** Initiations per second; 0: all at once. */
  rate: number;
  overrides?: InitiateOverrides;
  /** Send INITIAL_CONTACT as a plain initiate would (default: not on load SAs). */
  initialContact?: boolean;
  /** IDi per SA: `%d` is the SA's index in the run, from 1 (`c%d@example.com`). */
  idPattern?: string;
  /** Source addresses, one per SA round-robin: `A-B` (a range), a CIDR, or a comma-separated list of those. */
  sourcePool?: string;
  /** The whole run, ms; what is not established by then counts as failed ('timeout'). Default: pacing + 2 give-ups + 5 s. */
  timeoutMs?: number;
  /** Failure mix, `wrong-psk=5%,no-proposal=2%,silent-after-auth=1%` (load-mix.ts). */
  mix?: string;
  /** Seed of the mix's placement (0..2^32-1); default: drawn from the daemon's RandomSource, reported in the status. */
  mixSeed?: number;
  /** IKE_SAs connecting at once per source address (DEFAULT_MAX_HALF_OPEN); 0: no window, the rate alone paces. */
  maxHalfOpen?: number;
}

/** A mixed run's status carries the per-class counts too (MixStatus, absent without --mix). */
export interface LoadStatus extends Partial<MixStatus> {
  id: number;
  ike: string;
  count: number;
  rate: number;
  /** Initiations made so far. */
  started: number;
  established: number;
  failed: number;
  /** Failures by the peer's notify, or the reason in words ('peer not responding', 'timeout', ...). */
  failures: Record<string, number>;
  /** Started, neither established nor failed yet. */
  inFlight: number;
  /** Due by the rate but waiting for their source's half-open window (maxHalfOpen). */
  waiting: number;
  /** The half-open window per source address in force (0: none). */
  maxHalfOpen: number;
  /** Established IKE_SAs whose first CHILD_SA was refused (the IKE_SA counts as established). */
  childFailures: Record<string, number>;
  /** Established during the run, then gone before it ended (a peer that deleted them: INITIAL_CONTACT, unique). */
  lost: number;
  /** Since the first initiation, on the daemon's clock. */
  elapsedMs: number;
  /** Established per second over elapsedMs. */
  ratePerSec: number;
  /** Setup time of the established ones (initiation to IKE_AUTH done), ms. */
  setupMs: { min: number; p50: number; p99: number; max: number } | null;
  /**
   * What merging runs of several processes needs (`ikelab load-merge`, load-summary.ts), since percentiles cannot be
   * merged from percentiles: the setup times as [ms rounded to 3 significant digits, how many], ascending.
   */
  setupHistogram: [number, number][];
  /** Wall clock (ms since the epoch) of the first initiation, and of the end (startedAt + elapsedMs; null while running). */
  startedAt: number;
  endedAt: number | null;
  done: boolean;
  timedOut: boolean;
}

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
  private readonly setup: number[] = [];
  /** setupBucket(ms) -> how many: bounded (at most 900 keys per decade of ms) however many SAs a run has. */
  private readonly histogram = new Map<number, number>();
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
  /** Connecting IKE_SAs per source key, and the indexes due but held back by the window (FIFO per source). */
  private readonly halfOpen = new Map<string, number>();
  private readonly held = new Map<string, number[]>();
  private waiting = 0;
  private readonly maxHalfOpen: number;
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
    this.maxHalfOpen = req.maxHalfOpen ?? DEFAULT_MAX_HALF_OPEN;
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
    const key = this.sourceOf(index) ?? '';
    if (this.maxHalfOpen > 0 && (this.halfOpen.get(key) ?? 0) >= this.maxHalfOpen) {
      let q = this.held.get(key);
      if (!q) this.held.set(key, (q = []));
      q.push(index);
      this.waiting++;
      return;
    }
    this.start(index);
  }

  /** One of the source's SAs left the half-open state: its window has room for the next held initiation. */
  private settledHalfOpen(sa: Sa): void {
    const n = (this.halfOpen.get(sa.source) ?? 1) - 1;
    if (n > 0) this.halfOpen.set(sa.source, n);
    else this.halfOpen.delete(sa.source);
    const next = this.held.get(sa.source)?.shift();
    if (next === undefined) return;
    this.waiting--;
    if (!this.held.get(sa.source)!.length) this.held.delete(sa.source);
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
          this.halfOpen.set(key, (this.halfOpen.get(key) ?? 0) + 1);
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
        this.setup.push(now - sa.startedAt);
        this.mix?.established(sa.index, e.ikeId);
        // the CHILD_SA of IKE_AUTH settles right after (same response): until then the SA's outcome is open
        if (this.conn.children.length) this.childOpen++;
        else this.mix?.settle(sa.index, 'established');
        const bucket = setupBucket(now - sa.startedAt);
        this.histogram.set(bucket, (this.histogram.get(bucket) ?? 0) + 1);
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
    const sorted = [...this.setup].sort((a, b) => a - b);
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
      waiting: this.done ? 0 : this.waiting,
      maxHalfOpen: this.maxHalfOpen,
      childFailures: { ...this.childFailures },
      lost: this.lost,
      elapsedMs,
      ratePerSec: elapsedMs > 0 ? Math.round((this.established * 1000 * 10) / elapsedMs) / 10 : 0,
      setupMs: sorted.length
        ? { min: round(sorted[0]!), p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)), max: round(sorted.at(-1)!) }
        : null,
      setupHistogram: [...this.histogram].sort((a, b) => a[0] - b[0]),
      startedAt: this.wallT0,
      endedAt: this.done ? this.wallT0 + elapsedMs : null,
      done: this.done,
      timedOut: this.timedOut,
      ...this.mix?.status(),
    };
  }
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

/**
 * A setup time's histogram bucket: the time rounded to 3 significant digits (12.34 -> 12.3, 1234.5 -> 1230), so a
 * percentile over the buckets of many runs is within 0.5 % of the exact one.
 */
export function setupBucket(ms: number): number {
  if (!(ms > 0)) return 0;
  const step = 10 ** (Math.floor(Math.log10(ms)) - 2);
  // toPrecision drops the binary noise of the multiplication (123 * 0.1 = 12.300000000000001)
  return Number((Math.round(ms / step) * step).toPrecision(3));
}

/** Nearest-rank percentile of an ascending list (p50 of [1,2,3,4] is 2, p99 of 100 values the 99th). */
export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;
}

/** An IPv4 address as a number, or undefined. */
function v4(a: string): number | undefined {
  if (!isIPv4(a)) return undefined;
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}
const v4text = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** `10.98.0.10-10.98.0.60`, `10.98.0.0/26` (its host addresses) or single addresses, comma-separated; IPv6 as single addresses. */
export function parseSourcePool(text: string): string[] {
  const bad = (why: string): never => {
    throw new OpError(`invalid --source-pool '${text}': ${why}`);
  };
  const out: string[] = [];
  for (const item of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const range = /^([^-/]+)-([^-/]+)$/.exec(item);
    const cidr = /^([^/]+)\/(\d+)$/.exec(item);
    let from: number | undefined;
    let to: number | undefined;
    if (range) {
      from = v4(range[1]!);
      to = v4(range[2]!);
      if (from === undefined || to === undefined || to < from) bad(`'${item}' is not an IPv4 range FIRST-LAST`);
    } else if (cidr) {
      const base = v4(cidr[1]!);
      const len = Number(cidr[2]);
      if (base === undefined || len < 8 || len > 32) bad(`'${item}' is not an IPv4 prefix (/8../32)`);
      const size = 2 ** (32 - len);
      const net = Math.floor(base! / size) * size;
      // a /31 or /32 has no network/broadcast address to leave out
      [from, to] = len >= 31 ? [net, net + size - 1] : [net + 1, net + size - 2];
    } else if (isIPv4(item) || isIPv6(item)) {
      out.push(item);
      continue;
    } else bad(`'${item}' is neither an address, a range A-B nor a CIDR`);
    if (out.length + (to! - from!) + 1 > MAX_POOL) bad(`more than ${MAX_POOL} addresses`);
    for (let n = from!; n <= to!; n++) out.push(v4text(n));
  }
  if (!out.length) bad('no addresses');
  return out;
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
  const conn = targetConnection(ctx, req.ike, req.child);
  if (!Number.isInteger(req.count) || req.count < 1 || req.count > MAX_LOAD_COUNT)
    throw new OpError(`--count must be an integer 1..${MAX_LOAD_COUNT}`);
  if (!Number.isFinite(req.rate) || req.rate < 0) throw new OpError('--rate must be > 0 initiations per second, or 0: as fast as possible');
  if (req.timeoutMs !== undefined && !(Number.isFinite(req.timeoutMs) && req.timeoutMs >= 0))
    throw new OpError('--timeout must be >= 0 seconds');
  if (!conn.remoteAddrs.some((a) => a !== '%any')) throw new OpError(`connection '${conn.name}' has no remote address to initiate to`);
  if (req.idPattern !== undefined && !req.idPattern.includes('%d'))
    throw new OpError(`--id-pattern '${req.idPattern}' has no %d: every SA would get the same identity`);
  const pool = req.sourcePool === undefined ? [] : parseSourcePool(req.sourcePool);
  if (pool.length) {
    // Sending from a chosen address needs a socket bound to it: through a wildcard socket the kernel picks the
    // source (Node's dgram has no IP_PKTINFO), and replies would be reported as arriving on 0.0.0.0.
    const bound = ctx.bound() ?? ctx.config().daemon.listen;
    const missing = pool.filter((a) => !bound.includes(a));
    if (missing.length)
      throw new OpError(
        `--source-pool: ${missing.length} of ${pool.length} addresses are not bound (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}); ` +
          'list each of them in daemon.listen (a wildcard 0.0.0.0 cannot send from a chosen address) and add them to an interface',
      );
  }
  const o = hasOverrides(req.overrides) ? req.overrides : undefined;
  if (o && !conn.children.length) throw new OpError(`connection '${conn.name}' has no child to apply the overrides to`);
  // With a pattern, findPsk would look for the pattern's identities; the configured identity's secret is the one
  // the user set up (the headend matches %any or a wildcard), looked up once for the run.
  let psk: Buffer | undefined;
  if (req.idPattern !== undefined && !o?.psk) {
    const cfg = ctx.config();
    const remoteId = conn.remote.id && conn.remote.id !== '%any' ? conn.remote.id : conn.remoteAddrs.find((a) => a !== '%any')!;
    const localId =
      conn.local.id && conn.local.id !== '%any' ? conn.local.id : (pool[0] ?? conn.localAddrs.find((a) => a !== '%any') ?? '%any');
    psk = findPsk(cfg, req.idPattern.replaceAll('%d', '1'), remoteId) ?? findPsk(cfg, localId, remoteId);
    if (!psk) throw new OpError(`no shared key found for '${localId}' - '${remoteId}' (the identities of --id-pattern use its secret)`);
  }
  const r = runs(ctx);
  const mix = req.mix === undefined ? undefined : mixTracker(ctx, r.next, req, conn);
  const run = new LoadRun(ctx, r.next++, conn, { ...req, overrides: o }, pool, psk, mix);
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

/** The run's mix, checked before anything starts (a bad mix is an OpError like any bad option). */
function mixTracker(ctx: OpsContext, id: number, req: LoadRequest, conn: ConnectionConfig): MixTracker {
  const shares = parseMix(req.mix!);
  if (req.mixSeed !== undefined && !(Number.isInteger(req.mixSeed) && req.mixSeed >= 0 && req.mixSeed <= 0xffff_ffff))
    throw new OpError(`invalid --mix-seed '${req.mixSeed}': expected an integer 0..4294967295`);
  const overrides = classOverrides(shares, conn, req.child, ctx.config().daemon.ipsecBackend);
  const seed = req.mixSeed ?? randomInt(ctx.svc.random, 2 ** 32);
  return new MixTracker(ctx, id, shares, overrides, seed, req.count);
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
