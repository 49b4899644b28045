// Rekey and DPD storms for headend load tests (`ikelab rekey --all --rate R`, `ikelab dpd --all --rate R`; BMWG
// speaks of rekeys/s and DPD/s): every established IKE_SA's CHILD_SAs and/or the IKE_SA itself rekeyed, or one
// empty INFORMATIONAL sent per IKE_SA, paced on the daemon's timer queue, each followed by its protocol events to
// its outcome, so the summary says what the headend did: done, failed by reason, achieved rate, latency.
//
// The targets are the SAs established when the storm begins. What moves meanwhile is followed: an IKE_SA rekey
// moves the CHILD_SAs to the new IKE_SA (ike.rekeyed), so a later CHILD_SA rekey goes to where its CHILD_SA is
// now. Latency: for a rekey from the storm's request to the rekey's completion (a wait behind another exchange of
// the same IKE_SA included: that is what the peer made it wait); for DPD the round trip from the request's first
// transmission to its response.
//
// Like load runs (load-run.ts) a storm lives in the daemon and is polled (`storm-status`): a CLI that goes away
// leaves it running. Every time reading and wait is on ctx.timers.
import type { IkeSa } from '../ike/ike-sa.js';
import type { IkelabEvent } from '../log/events.js';
import type { TimerHandle } from '../util/timer-queue.js';
import { Notify, NOTIFY_ERROR_MAX } from '../wire/constants.js';
import { OpError, type OpsContext } from './context.js';
import { findIke } from './lookup.js';
import { defaultTimeoutMs } from './outcome.js';
import { type StormCounts, StormTally } from './storm-tally.js';

export type StormKind = 'rekey' | 'dpd';
/** What a rekey storm rekeys: both (each IKE_SA's CHILD_SAs, then the IKE_SA), IKE_SAs only, CHILD_SAs only. */
export type StormScope = 'all' | 'ike' | 'child';

export interface StormRequest {
  kind: StormKind;
  /** Rekey storms only; default 'all'. */
  scope?: StormScope;
  /** Requests per second; 0: all at once. */
  rate: number;
  /** The whole storm, ms; what has no outcome by then counts as failed ('timeout'). Default: pacing + 2 give-ups + 5 s. */
  timeoutMs?: number;
  /** Only the IKE_SAs of this connection name or unique id (`ikelab dpd --ike NAME`); default every one. */
  ike?: string;
}

/** What one request of the storm acts on. */
type Target = 'IKE_SA' | 'CHILD_SA' | 'DPD';

export interface StormStatus extends StormCounts {
  id: number;
  kind: StormKind;
  scope?: StormScope;
  rate: number;
  /** Requests planned: the targets when the storm began. */
  count: number;
  done: boolean;
  timedOut: boolean;
}

interface Item {
  target: Target;
  /** The IKE_SA it is on now (an IKE_SA rekey moves CHILD_SAs and pending requests to the new one). */
  ikeId: number;
  childId?: number;
  state: 'waiting' | 'running' | 'done';
  startedAt?: number;
  /** Message ID of our request, once seen leaving (DPD, IKE_SA rekey), and when it first left. */
  mid?: number;
  sentAt?: number;
}

const TARGET_OF: Record<StormKind, string> = { rekey: 'rekeyed', dpd: 'answered' };

class Storm {
  private readonly items: Item[] = [];
  /** Running items by the IKE_SA they are on, and CHILD_SA rekeys by CHILD_SA. */
  private readonly onIke = new Map<number, Set<Item>>();
  private readonly onChild = new Map<number, Item>();
  /** IKE_SA rekeys seen: old unique id -> new, for items whose turn comes later. */
  private readonly moved = new Map<number, number>();
  private readonly pending: TimerHandle[] = [];
  private readonly tally = new StormTally();
  private readonly t0: number;
  private endedAt?: number;
  private timedOut = false;
  private deadline?: TimerHandle;
  private readonly off: () => void;
  /** Callers of whenDone() (the TypeScript API's peer.storm) waiting for the summary. */
  private readonly waiters: ((s: StormStatus) => void)[] = [];

  constructor(
    private readonly ctx: OpsContext,
    readonly id: number,
    private readonly req: StormRequest,
    sas: readonly IkeSa[],
  ) {
    const scope = req.scope ?? 'all';
    for (const sa of sas) {
      if (req.kind === 'dpd') {
        this.items.push({ target: 'DPD', ikeId: sa.uniqueId, state: 'waiting' });
        continue;
      }
      if (scope !== 'ike')
        for (const c of sa.children)
          if (c.state === 'INSTALLED' && !c.successor)
            this.items.push({ target: 'CHILD_SA', ikeId: sa.uniqueId, childId: c.uniqueId, state: 'waiting' });
      if (scope !== 'child') this.items.push({ target: 'IKE_SA', ikeId: sa.uniqueId, state: 'waiting' });
    }
    this.t0 = ctx.timers.now();
    this.off = ctx.log.onEvent((e) => this.onEvent(e));
    const gap = req.rate > 0 ? 1000 / req.rate : 0;
    this.items.forEach((item, i) => this.pending.push(ctx.timers.after(i * gap, `storm ${id}: #${i + 1}`, () => this.start(item))));
    const timeout = req.timeoutMs ?? Math.max(0, this.items.length - 1) * gap + defaultTimeoutMs(ctx);
    if (timeout > 0) this.deadline = ctx.timers.after(timeout, `storm ${id}: timeout`, () => this.expire());
    this.checkDone();
  }

  get count(): number {
    return this.items.length;
  }

  private currentIke(id: number): number {
    for (let next = this.moved.get(id); next !== undefined; next = this.moved.get(id)) id = next;
    return id;
  }

  private start(item: Item): void {
    if (this.endedAt !== undefined) return;
    this.tally.attempt(item.target);
    item.ikeId = this.currentIke(item.ikeId);
    item.startedAt = this.ctx.timers.now();
    const sa = this.ctx.table.byUniqueId(item.ikeId);
    if (sa?.state !== 'ESTABLISHED') return this.settle(item, sa ? `IKE_SA ${sa.state.toLowerCase()}` : 'IKE_SA gone');
    const child = item.childId === undefined ? undefined : sa.children.find((c) => c.uniqueId === item.childId);
    if (item.target === 'CHILD_SA' && (child?.state !== 'INSTALLED' || child.successor))
      return this.settle(item, child ? 'CHILD_SA already rekeyed or deleted' : 'CHILD_SA gone');
    item.state = 'running';
    this.track(item);
    // registered first: the request may leave (and events come) within start()
    if (item.target === 'DPD') sa.manager.start({ kind: 'IKE_DPD' });
    else if (item.target === 'IKE_SA') sa.manager.start({ kind: 'IKE_REKEY' });
    else sa.manager.start({ kind: 'CHILD_REKEY', child: child! });
  }

  private track(item: Item): void {
    let set = this.onIke.get(item.ikeId);
    if (!set) this.onIke.set(item.ikeId, (set = new Set()));
    set.add(item);
    if (item.childId !== undefined) this.onChild.set(item.childId, item);
  }

  private untrack(item: Item): void {
    const set = this.onIke.get(item.ikeId);
    set?.delete(item);
    if (set?.size === 0) this.onIke.delete(item.ikeId);
    if (item.childId !== undefined && this.onChild.get(item.childId) === item) this.onChild.delete(item.childId);
  }

  /** One outcome per item: undefined = succeeded. */
  private settle(item: Item, failure?: string): void {
    if (item.state === 'done') return;
    if (item.state === 'running') this.untrack(item);
    item.state = 'done';
    if (failure === undefined)
      this.tally.succeed(item.target, this.ctx.timers.now() - (item.target === 'DPD' ? item.sentAt! : item.startedAt!));
    else this.tally.fail(failure);
    this.checkDone();
  }

  private running(ikeId: number | undefined, target: Target): Item | undefined {
    if (ikeId === undefined) return undefined;
    for (const item of this.onIke.get(ikeId) ?? []) if (item.target === target) return item;
    return undefined;
  }

  private onEvent(e: IkelabEvent): void {
    switch (e.event) {
      case 'message.sent': {
        // our request leaving: its message ID tells the response (DPD) or the refusal (IKE_SA rekey) apart
        if (!e.request) return;
        const payloads = e.payloads ?? [];
        const target =
          e.exchange === 'INFORMATIONAL' && payloads.length === 0
            ? 'DPD'
            : e.exchange === 'CREATE_CHILD_SA' && !payloads.includes('TSi')
              ? 'IKE_SA'
              : undefined;
        const item = target && this.running(e.ikeId, target);
        if (item && item.mid !== e.messageId) {
          item.mid = e.messageId;
          item.sentAt = this.ctx.timers.now();
        }
        return;
      }
      case 'message.received': {
        const item = e.request === false && e.exchange === 'INFORMATIONAL' ? this.running(e.ikeId, 'DPD') : undefined;
        if (item?.sentAt !== undefined && item.mid === e.messageId) this.settle(item);
        return;
      }
      case 'notify.received': {
        const item = e.request === false && e.exchange === 'CREATE_CHILD_SA' ? this.running(e.ikeId, 'IKE_SA') : undefined;
        // INVALID_KE_PAYLOAD is a retry with the group the peer wants, not a refusal
        if (item && item.mid === e.messageId && e.notify !== 'INVALID_KE_PAYLOAD' && isError(e.notify)) this.settle(item, e.notify);
        return;
      }
      case 'ike.rekeyed': {
        const old = Number(e.oldIkeId);
        if (e.ikeId === undefined || !Number.isInteger(old)) return;
        this.moved.set(old, e.ikeId);
        const mine = this.running(old, 'IKE_SA');
        if (mine) this.settle(mine);
        // the CHILD_SAs and what is queued for them went to the new IKE_SA
        for (const item of [...(this.onIke.get(old) ?? [])]) {
          this.untrack(item);
          item.ikeId = e.ikeId;
          this.track(item);
        }
        return;
      }
      case 'child.rekeyed': {
        const item = this.onChild.get(Number(e.oldChildId));
        if (item) this.settle(item);
        return;
      }
      case 'child.rekey-failed':
      case 'child.deleted': {
        const item = e.childId === undefined ? undefined : this.onChild.get(e.childId);
        if (item) this.settle(item, e.event === 'child.deleted' ? 'CHILD_SA deleted' : (e.notify ?? 'CHILD_SA rekey failed'));
        return;
      }
      case 'dpd.timeout':
      case 'ike.destroyed': {
        const why = e.event === 'dpd.timeout' ? 'peer not responding' : 'IKE_SA gone';
        for (const item of [...(this.onIke.get(e.ikeId ?? -1) ?? [])]) this.settle(item, why);
        return;
      }
      default:
        return;
    }
  }

  private checkDone(): void {
    if (this.endedAt === undefined && this.tally.settled >= this.items.length) this.end();
  }

  /** Time's up: what has no outcome yet (started or not) counts as failed ('timeout'). */
  private expire(): void {
    if (this.endedAt !== undefined) return;
    this.timedOut = true;
    this.closeOpen('timeout');
  }

  /** `storm-status --stop`: what has no outcome counts as 'stopped'; requests already sent go on. */
  stop(): void {
    if (this.endedAt === undefined) this.closeOpen('stopped');
  }

  private closeOpen(why: string): void {
    for (const item of this.items) {
      if (item.state === 'done') continue;
      if (item.state === 'waiting') this.tally.attempt(item.target);
      this.settle(item, why);
    }
    this.end();
  }

  private end(): void {
    if (this.endedAt !== undefined) return;
    this.endedAt = this.ctx.timers.now();
    for (const h of this.pending) this.ctx.timers.cancel(h);
    this.ctx.timers.cancel(this.deadline);
    this.off();
    const summary = this.status();
    this.ctx.log.log(
      'IKE',
      1,
      `${this.req.kind} storm ${this.id} done: ${summary.succeeded} of ${summary.count} ${TARGET_OF[this.req.kind]}${summary.failed ? `, ${summary.failed} failed` : ''}`,
    );
    for (const w of this.waiters.splice(0)) w(summary);
  }

  /** The summary once the storm is over (it always ends: every request settles or the storm's deadline fires). */
  whenDone(): Promise<StormStatus> {
    if (this.done) return Promise.resolve(this.status());
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  get done(): boolean {
    return this.endedAt !== undefined;
  }

  status(): StormStatus {
    const elapsedMs = Math.round((this.endedAt ?? this.ctx.timers.now()) - this.t0);
    return {
      id: this.id,
      kind: this.req.kind,
      ...(this.req.kind === 'rekey' ? { scope: this.req.scope ?? 'all' } : {}),
      rate: this.req.rate,
      count: this.items.length,
      ...this.tally.counts(elapsedMs, this.done),
      done: this.done,
      timedOut: this.timedOut,
    };
  }
}

function isError(n: string | undefined): boolean {
  const t = n === undefined ? undefined : (Notify as Readonly<Record<string, number>>)[n];
  return t !== undefined && t <= NOTIFY_ERROR_MAX;
}

/** Finished storms kept for `storm-status` (a CLI that reconnects late still gets its summary). */
const KEEP = 16;
const stormsOf = new WeakMap<OpsContext, { next: number; all: Map<number, Storm> }>();

function storms(ctx: OpsContext) {
  let s = stormsOf.get(ctx);
  if (!s) stormsOf.set(ctx, (s = { next: 1, all: new Map() }));
  return s;
}

/** Starts a storm over the IKE_SAs established now; its first status. Bad requests and nothing to act on are OpErrors. */
export function startStorm(ctx: OpsContext, req: StormRequest): StormStatus {
  if (req.kind !== 'rekey' && req.kind !== 'dpd') throw new OpError(`unknown storm '${String(req.kind)}': rekey or dpd`);
  if (req.scope !== undefined && (req.kind !== 'rekey' || !['all', 'ike', 'child'].includes(req.scope)))
    throw new OpError(req.kind === 'rekey' ? `invalid rekey scope '${req.scope}': all, ike or child` : 'a DPD storm has no rekey scope');
  if (!Number.isFinite(req.rate) || req.rate < 0) throw new OpError('--rate must be > 0 requests per second, or 0: all at once');
  if (req.timeoutMs !== undefined && !(Number.isFinite(req.timeoutMs) && req.timeoutMs >= 0))
    throw new OpError('--timeout must be >= 0 seconds');
  // one named IKE_SA (or a connection's): a single DPD or rekey on demand, followed to its outcome like a storm
  const pool = req.ike === undefined ? ctx.table.list() : findIke(ctx, req.ike);
  const sas = pool.filter((s) => s.state === 'ESTABLISHED');
  if (!sas.length)
    throw new OpError(
      `no established IKE_SA${req.ike === undefined ? '' : ` '${req.ike}'`} to ${req.kind === 'dpd' ? 'send a DPD on' : 'rekey'}`,
    );
  const s = storms(ctx);
  const storm = new Storm(ctx, s.next++, req, sas);
  if (!storm.count) {
    storm.stop();
    throw new OpError('no installed CHILD_SA to rekey');
  }
  s.all.set(storm.id, storm);
  for (const [id, old] of s.all) if (s.all.size > KEEP && old.done) s.all.delete(id);
  ctx.log.log(
    'IKE',
    1,
    `${req.kind} storm ${storm.id}: ${storm.count} ${req.kind === 'dpd' ? 'DPDs' : `rekeys (${req.scope ?? 'all'})`} over ${sas.length} IKE_SAs at ${req.rate > 0 ? `${req.rate}/s` : 'full speed'}`,
  );
  return storm.status();
}

/** A storm's status by id; without id the newest. */
export function stormStatus(ctx: OpsContext, id?: number): StormStatus {
  return find(ctx, id).status();
}

/** A storm's summary once it is over (the newest without id). */
export function stormDone(ctx: OpsContext, id?: number): Promise<StormStatus> {
  try {
    return find(ctx, id).whenDone();
  } catch (e) {
    return Promise.reject(e);
  }
}

/** Stops a storm: no further requests; what has no outcome counts as 'stopped'. */
export function stopStorm(ctx: OpsContext, id?: number): StormStatus {
  const storm = find(ctx, id);
  storm.stop();
  return storm.status();
}

function find(ctx: OpsContext, id?: number): Storm {
  const all = storms(ctx).all;
  const storm = id === undefined ? [...all.values()].at(-1) : all.get(id);
  if (!storm)
    throw new OpError(
      id === undefined
        ? 'no storm yet (rekey --all or dpd --all starts one)'
        : `no storm ${id} (kept: ${[...all.keys()].join(', ') || 'none'})`,
    );
  return storm;
}
