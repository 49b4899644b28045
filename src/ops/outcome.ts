// Operations that report their result, like `swanctl --initiate`: initiate / terminate / rekey, then a promise
// settled by the protocol events (src/log/events.ts) of THAT IKE_SA or CHILD_SA, picked by unique id, never by
// name (another IKE_SA of the same connection may come and go meanwhile). The CLI (through the control socket) and
// the TypeScript API use these; the names and signatures are a public interface: keep them stable.
//
// The timeout runs on the daemon's timer queue like every other wait of the daemon (tests drive it with a manual
// clock); the default is long enough that the daemon settles first: charon gives up on an unanswered exchange
// after its retransmits (giveUpMs), and an initiation has two exchanges that may each retransmit.
import type { IkeSa } from '../ike/ike-sa.js';
import type { IkelabEvent } from '../log/events.js';
import type { LogRecord } from '../log/logger.js';
import type { TimerHandle } from '../util/timer-queue.js';
import { Notify, NOTIFY_ERROR_MAX } from '../wire/constants.js';
import { OpError, type OpsContext } from './context.js';
import { initiate } from './initiate.js';
import { findIke, targetConnection } from './lookup.js';
import { hasOverrides, type InitiateOverrides } from './overrides.js';
import { rekey } from './rekey.js';
import { terminate } from './terminate.js';

/** What an operation came to. Fields that do not apply are absent. */
export interface Outcome {
  /** The operation completed: ESTABLISHED (initiate), gone (terminate), replaced (rekey). */
  ok: boolean;
  /** The IKE_SA: connection name and unique id (for rekey --ike: the new IKE_SA). */
  ike?: string;
  ikeId?: number;
  /** The CHILD_SA: config name and unique id (for rekey --child: the new CHILD_SA). */
  child?: string;
  childId?: number;
  /** The error notify that decided a failure (AUTHENTICATION_FAILED, NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE, ...). */
  notify?: string;
  /** Why it failed ('peer not responding', ...), in words; on success a remark at most. */
  reason?: string;
  /** From the call to the verdict, on the daemon's clock. */
  elapsedMs: number;
}

export interface WaitOptions {
  /** Give up waiting after this many ms (the operation itself goes on, as swanctl's --timeout detaches); 0: never. Default: defaultTimeoutMs. */
  timeoutMs?: number;
  /** Every event of the SAs being waited for, as it happens (`ikelab initiate --events` streams them). */
  onEvent?: (e: IkelabEvent) => void;
  /**
   * Every log line of the SAs being waited for (by the IKE_SA unique id the line carries), the record the charon
   * sink writes, as it is logged: what `ikelab initiate` streams, like swanctl --initiate.
   */
  onLine?: (r: LogRecord) => void;
  /** The levels of onLine's lines, like daemon.log.levels; default { default: 1 } (swanctl's --loglevel 1). */
  lineLevels?: Record<string, number>;
  /** Stop waiting (the promise rejects with the signal's reason); the operation goes on. */
  signal?: AbortSignal;
}

export interface InitiateTarget {
  ike?: string;
  child?: string;
  overrides?: InitiateOverrides;
}

export interface TerminateTarget {
  ike?: string;
  child?: string;
}

export interface RekeyTarget {
  ike?: string;
  child?: string;
  /** rekey --child only: the DH group of this rekey, 0 = none. */
  dh?: number;
}

/** Margin over the retransmit arithmetic: processing, DH, and the round trips of answered exchanges. */
const MARGIN_MS = 5000;

/** How long charon-style retransmits take to give up on one unanswered request (sum of timeout * base^n, n = 0..tries). */
export function giveUpMs(ctx: OpsContext): number {
  const rt = ctx.config().daemon.retransmit;
  let total = 0;
  for (let n = 0; n <= rt.tries; n++) {
    const t = rt.timeout * 1000 * rt.base ** n;
    total += rt.limit > 0 ? Math.min(t, rt.limit * 1000) : t;
  }
  return total;
}

/** The default wait: two exchanges given up on (IKE_SA_INIT, IKE_AUTH) plus a margin. */
export function defaultTimeoutMs(ctx: OpsContext): number {
  return 2 * giveUpMs(ctx) + MARGIN_MS;
}

type Verdict = Omit<Outcome, 'elapsedMs'>;

/** What one operation waits for, once started. */
interface Judge {
  /** Already decided at the start (initiate of a CHILD_SA already installed). */
  immediate?: Verdict;
  /** IKE_SA unique ids whose events concern this wait (grows when an IKE_SA rekey moves things). */
  ids: Set<number>;
  /** A verdict, or undefined to keep waiting. */
  judge(e: IkelabEvent): Verdict | undefined;
  timedOut(ms: number): Verdict;
}

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

/**
 * Subscribes before `begin` runs (an operation reports some events synchronously: ike.initiating, the destruction
 * of a half-open IKE_SA), then feeds every event of the judged IKE_SAs to the judge until a verdict, the timeout
 * or the abort, and hands their log lines to onLine meanwhile. Both subscriptions end with the wait, whichever
 * way it ends. A refused request (OpError) rejects.
 */
function settle(ctx: OpsContext, opts: WaitOptions, begin: () => Judge): Promise<Outcome> {
  const t0 = ctx.timers.now();
  const early: IkelabEvent[] = [];
  const earlyLines: LogRecord[] = [];
  let feed = (e: IkelabEvent): void => {
    early.push(e);
  };
  let feedLine = (r: LogRecord): void => {
    earlyLines.push(r);
  };
  const offEvents = ctx.log.onEvent((e) => feed(e));
  // the lines are subscribed as early as the events: `initiating IKE_SA x[1]` is logged inside begin()
  const offLines = opts.onLine ? ctx.log.onLine((r) => feedLine(r), opts.lineLevels ?? { default: 1 }) : () => {};
  const off = () => {
    offEvents();
    offLines();
  };
  if (opts.signal?.aborted) {
    off();
    return Promise.reject(opts.signal.reason);
  }
  let judge: Judge;
  try {
    judge = begin();
  } catch (e) {
    off();
    return Promise.reject(e);
  }
  return new Promise<Outcome>((resolve, reject) => {
    let timer: TimerHandle | undefined;
    let done = false;
    const onAbort = () => end(() => reject(opts.signal!.reason));
    const end = (report: () => void) => {
      if (done) return;
      done = true;
      off();
      ctx.timers.cancel(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      report();
    };
    const finish = (v: Verdict) => end(() => resolve({ ...v, elapsedMs: Math.round(ctx.timers.now() - t0) }));
    const concerns = (ikeId: number | undefined, oldIkeId?: unknown) =>
      ikeId !== undefined && (judge.ids.has(ikeId) || judge.ids.has(Number(oldIkeId)));
    feed = (e) => {
      if (done || !concerns(e.ikeId, e.oldIkeId)) return;
      opts.onEvent?.(e);
      const v = judge.judge(e);
      if (v) finish(v);
    };
    feedLine = (r) => {
      if (!done && concerns(r.ctx?.ikeId)) opts.onLine?.(r);
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (judge.immediate) return finish(judge.immediate);
    // the lines logged while begin() ran came before its events' verdict: they go first
    for (const r of earlyLines.splice(0)) feedLine(r);
    for (const e of early.splice(0)) feed(e);
    const ms = opts.timeoutMs ?? defaultTimeoutMs(ctx);
    if (!done && ms > 0) timer = ctx.timers.after(ms, 'outcome: wait timeout', () => finish(judge.timedOut(ms)));
  });
}

/** The verdicts every wait shares: the IKE_SA failed, its peer stopped answering, or it is gone. */
function ikeEnded(e: IkelabEvent, base: Verdict): Verdict | undefined {
  if (e.event === 'ike.failed') return { ...base, ok: false, notify: e.notify, reason: e.reason ?? 'IKE_SA setup failed' };
  if (e.event === 'dpd.timeout') return { ...base, ok: false, reason: 'peer not responding' };
  if (e.event === 'ike.destroyed') return { ...base, ok: false, reason: `IKE_SA ${e.ike}[${e.ikeId}] ended: ${e.reason ?? 'destroyed'}` };
  return undefined;
}

/**
 * swanctl --initiate: resolves ok when the CHILD_SA is installed (with --ike alone and an IKE_SA already up: when
 * the IKE_SA is established), not ok with the notify the peer refused with, or `peer not responding`. A CHILD_SA
 * already installed (no overrides) is success at once.
 */
export function initiateAndWait(ctx: OpsContext, target: InitiateTarget, opts: WaitOptions = {}): Promise<Outcome> {
  return settle(ctx, opts, () => {
    const { ike, child, overrides } = target;
    const conn = targetConnection(ctx, ike, child);
    const before = new Set(ctx.table.byName(conn.name).map((s) => s.uniqueId));
    const sa = initiate(ctx, ike, child, overrides);
    const fresh = !before.has(sa.uniqueId);
    const o = hasOverrides(overrides);
    // the child initiate brings up: a new IKE_SA always brings one (initiatorChain), a reused one only when named
    const want = child ?? (fresh || o ? conn.children[0]?.name : undefined);
    const base: Verdict = { ok: false, ike: sa.name, ikeId: sa.uniqueId, ...(want ? { child: want } : {}) };
    let immediate: Verdict | undefined;
    if (!fresh && !o && sa.state === 'ESTABLISHED') {
      const up = want ? sa.children.find((c) => c.name === want && c.state === 'INSTALLED') : undefined;
      if (!want) immediate = { ...base, ok: true };
      else if (up) immediate = { ...base, ok: true, childId: up.uniqueId };
    }
    return {
      immediate,
      ids: new Set([sa.uniqueId]),
      judge(e) {
        if (want) {
          if (e.event === 'child.established' && e.child === want) return { ...base, ok: true, childId: e.childId };
          if (e.event === 'child.failed' && (e.child === undefined || e.child === want))
            return {
              ...base,
              notify: e.notify,
              reason: e.reason ?? (e.notify ? `CHILD_SA ${want} refused: ${e.notify}` : `CHILD_SA ${want} failed`),
            };
        } else if (e.event === 'ike.established') return { ...base, ok: true };
        return ikeEnded(e, base);
      },
      timedOut: (ms) => ({ ...base, reason: `not established within ${seconds(ms)} (the initiation goes on in the daemon)` }),
    };
  });
}

/**
 * swanctl --terminate: --ike NAME|ID resolves ok once every matching IKE_SA is gone (deleted, or destroyed when its
 * peer did not answer the DELETE); --child NAME|ID once the peer confirmed every matching CHILD_SA's DELETE (or it
 * went with its IKE_SA).
 */
export function terminateAndWait(ctx: OpsContext, target: TerminateTarget, opts: WaitOptions = {}): Promise<Outcome> {
  return settle(ctx, opts, () => {
    const { ike, child } = target;
    if (ike) {
      const sas = findIke(ctx, ike);
      const left = new Set(sas.map((s) => s.uniqueId));
      const base: Verdict = { ok: false, ike: sas[0]!.name, ikeId: sas[0]!.uniqueId };
      let remark: string | undefined;
      const ids = new Set(left);
      terminate(ctx, ike);
      return {
        ids,
        judge(e) {
          if (e.event === 'dpd.timeout') remark = 'peer not responding: deleted locally';
          if (e.event !== 'ike.destroyed') return undefined;
          left.delete(e.ikeId!);
          return left.size ? undefined : { ...base, ok: true, ...(remark ? { reason: remark } : {}) };
        },
        timedOut: (ms) => ({ ...base, reason: `${left.size} IKE_SA(s) still not gone after ${seconds(ms)}` }),
      };
    }
    if (!child) throw new OpError('terminate needs --ike NAME or --child NAME');
    // the CHILD_SAs terminate() deletes: the same choice, made before it runs
    const kids = new Map<number, IkeSa>();
    for (const sa of ctx.table.list()) {
      if (sa.state !== 'ESTABLISHED') continue;
      for (const c of sa.children) if (c.name === child || `${c.uniqueId}` === child) kids.set(c.uniqueId, sa);
    }
    terminate(ctx, undefined, child); // throws the usual OpError when none matches
    const [firstId, firstSa] = [...kids][0]!;
    const base: Verdict = {
      ok: false,
      ike: firstSa.name,
      ikeId: firstSa.uniqueId,
      child: firstSa.children.find((c) => c.uniqueId === firstId)?.name ?? child,
      childId: firstId,
    };
    const left = new Set(kids.keys());
    // per IKE_SA: the message id of the INFORMATIONAL request carrying our DELETE, once sent
    const deleting = new Map<number, number[]>();
    const pendingSend = new Map<number, number[]>();
    const gone = (ids: number[]) => {
      for (const id of ids) left.delete(id);
      return left.size ? undefined : { ...base, ok: true };
    };
    return {
      ids: new Set([...kids.values()].map((s) => s.uniqueId)),
      judge(e) {
        const ikeId = e.ikeId!;
        if (e.event === 'child.deleted' && e.childId !== undefined && left.has(e.childId)) {
          if (e.direction === 'in') return gone([e.childId]); // the peer deleted it first
          pendingSend.set(ikeId, [...(pendingSend.get(ikeId) ?? []), e.childId]);
        } else if (e.event === 'message.sent' && e.request && e.exchange === 'INFORMATIONAL' && pendingSend.has(ikeId)) {
          deleting.set(Number(e.messageId), pendingSend.get(ikeId)!);
          pendingSend.delete(ikeId);
        } else if (e.event === 'message.received' && e.request === false && deleting.has(Number(e.messageId))) {
          return gone(deleting.get(Number(e.messageId))!);
        } else if (e.event === 'ike.destroyed') {
          return gone([...kids].filter(([, sa]) => sa.uniqueId === ikeId).map(([id]) => id));
        }
        return undefined;
      },
      timedOut: (ms) => ({ ...base, reason: `${left.size} CHILD_SA(s) not confirmed deleted after ${seconds(ms)}` }),
    };
  });
}

/**
 * swanctl --rekey: --child NAME|ID resolves ok once every matching installed CHILD_SA was replaced (childId: the
 * new one; a rekey collision the peer won counts, the CHILD_SA was rekeyed), not ok with the notify of a refused
 * rekey; --ike NAME|ID once every matching established IKE_SA was replaced (ikeId: the new one).
 */
export function rekeyAndWait(ctx: OpsContext, target: RekeyTarget, opts: WaitOptions = {}): Promise<Outcome> {
  return settle(ctx, opts, () => {
    const { ike, child, dh } = target;
    if (ike && dh === undefined) {
      const sas = findIke(ctx, ike).filter((s) => s.state === 'ESTABLISHED');
      rekey(ctx, ike); // throws when none is established
      const left = new Set(sas.map((s) => s.uniqueId));
      const base: Verdict = { ok: false, ike: sas[0]!.name, ikeId: sas[0]!.uniqueId };
      let next: number | undefined;
      return {
        ids: new Set(left),
        judge(e) {
          if (e.event === 'ike.rekeyed' && left.has(Number(e.oldIkeId))) {
            left.delete(Number(e.oldIkeId));
            next ??= e.ikeId;
            return left.size ? undefined : { ...base, ok: true, ikeId: next };
          }
          if (!left.has(e.ikeId!)) return undefined;
          // a refused IKE_SA rekey has no event of its own: the peer's error notify on the CREATE_CHILD_SA
          // exchange (INVALID_KE_PAYLOAD is a retry with another group, not a refusal)
          if (
            e.event === 'notify.received' &&
            e.exchange === 'CREATE_CHILD_SA' &&
            e.request === false &&
            e.notify !== 'INVALID_KE_PAYLOAD' &&
            isErrorNotify(e.notify)
          )
            return { ...base, notify: e.notify, reason: `IKE_SA rekey refused: ${e.notify}` };
          return ikeEnded(e, base);
        },
        timedOut: (ms) => ({ ...base, reason: `not rekeyed within ${seconds(ms)}` }),
      };
    }
    if (!child) {
      rekey(ctx, ike, child, dh); // the usual OpError
      throw new OpError('rekey needs --ike NAME or --child NAME');
    }
    // the CHILD_SAs rekey() starts on: the same choice, made before it runs
    const kids = new Map<number, IkeSa>();
    for (const sa of ctx.table.list()) {
      if (sa.state !== 'ESTABLISHED') continue;
      for (const c of sa.children)
        if ((c.name === child || `${c.uniqueId}` === child) && c.state === 'INSTALLED' && !c.successor) kids.set(c.uniqueId, sa);
    }
    rekey(ctx, undefined, child, dh);
    const [firstId, firstSa] = [...kids][0]!;
    const name = firstSa.children.find((c) => c.uniqueId === firstId)?.name ?? child;
    const base: Verdict = { ok: false, ike: firstSa.name, ikeId: firstSa.uniqueId, child: name, childId: firstId };
    const left = new Set(kids.keys());
    const ids = new Set([...kids.values()].map((s) => s.uniqueId));
    let next: number | undefined;
    return {
      ids,
      judge(e) {
        // the CHILD_SAs move with an IKE_SA rekey: follow them
        if (e.event === 'ike.rekeyed' && ids.has(Number(e.oldIkeId)) && e.ikeId !== undefined) ids.add(e.ikeId);
        if (e.event === 'child.rekeyed' && left.has(Number(e.oldChildId))) {
          left.delete(Number(e.oldChildId));
          if (Number(e.oldChildId) === firstId) next = e.childId;
          return left.size ? undefined : { ...base, ok: true, childId: next ?? e.childId };
        }
        if (e.event === 'child.rekey-failed' && e.childId !== undefined && left.has(e.childId))
          return {
            ...base,
            childId: e.childId,
            notify: e.notify,
            reason: `CHILD_SA rekey failed${e.notify ? `: ${e.notify}` : ''} (retried in ${e.retryIn} s)`,
          };
        if (e.event === 'child.deleted' && e.childId !== undefined && left.has(e.childId))
          return { ...base, childId: e.childId, reason: 'CHILD_SA deleted before its rekey completed' };
        return ikeEnded(e, base);
      },
      timedOut: (ms) => ({ ...base, reason: `not rekeyed within ${seconds(ms)}` }),
    };
  });
}

/** Error notify types are below 16384 (RFC 7296 3.10.1); notify.received also reports some status notifies. */
function isErrorNotify(n: string | undefined): boolean {
  const t = n === undefined ? undefined : (Notify as Readonly<Record<string, number>>)[n];
  return t !== undefined && t <= NOTIFY_ERROR_MAX;
}
