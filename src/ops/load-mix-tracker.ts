// The failure mix of one load run (load-mix.ts) while it runs: which class each SA has, what that changes when it
// is initiated, silencing the silent-after-auth ones once up, and the counts per class for the summary.
//
// The counts are flat counters keyed by class (and by "class: outcome"), so that summaries of runs made by several
// processes merge by adding them up, like `failures`.
//
// silent-after-auth: a `dead` fault rule scoped to that one IKE_SA (ike-id=N), added on its ike.established. The
// rule outlives the run (the peer's DPD takes its time to give up); it is cleared when its IKE_SA is destroyed, so
// rules never pile up over runs.
import type { IkeSa } from '../ike/ike-sa.js';
import type { IkelabEvent } from '../log/events.js';
import type { OpsContext } from './context.js';
import { type ClassOverrides, EXPECTED_OUTCOME, formatMix, GOOD, type MixClass, type MixShare, planCounts, placeMix } from './load-mix.js';
import type { InitiateOverrides } from './overrides.js';

/** What a mixed run adds to its status (all absent without --mix). */
export interface MixStatus {
  /** The mix as given, canonical (`wrong-psk=5%,no-proposal=2%`). */
  mix: string;
  /** The placement's seed: `--mix-seed` with it places every class on the same SAs again. */
  mixSeed: number;
  /** SAs per class, `good` included (the rest of the run). */
  mixPlanned: Record<string, number>;
  /** SAs per class that came to their class's outcome (EXPECTED_OUTCOME; good: established). */
  mixAsPlanned: Record<string, number>;
  /** SAs per `class: outcome` (`wrong-psk: failed AUTHENTICATION_FAILED`), settled ones only. */
  mixOutcomes: Record<string, number>;
}

export class MixTracker {
  private readonly slots: (MixClass | undefined)[];
  private readonly settled: boolean[];
  private readonly planned: Record<string, number> = {};
  private readonly asPlanned: Record<string, number> = {};
  private readonly outcomes: Record<string, number> = {};
  /** The PSK of wrong-psk SAs: random per run, so no headend can have it. */
  private readonly wrongPsk: Buffer;

  constructor(
    private readonly ctx: OpsContext,
    private readonly runId: number,
    private readonly shares: readonly MixShare[],
    private readonly overrides: ClassOverrides,
    readonly seed: number,
    count: number,
  ) {
    const counts = planCounts(shares, count);
    this.slots = placeMix(counts, count, seed);
    this.settled = new Array(count).fill(false);
    let bad = 0;
    for (const [cls, n] of counts) {
      this.planned[cls] = n;
      this.asPlanned[cls] = 0;
      bad += n;
    }
    this.planned[GOOD] = count - bad;
    this.asPlanned[GOOD] = 0;
    this.wrongPsk = Buffer.from(`ikelab-wrong-psk-${ctx.svc.random.bytes(12).toString('hex')}`);
  }

  /** SA #index (from 1): its class, undefined when good. */
  classOf(index: number): MixClass | undefined {
    return this.slots[index - 1];
  }

  /** The run's overrides with the class's on top. */
  overridesFor(index: number, base: InitiateOverrides | undefined): InitiateOverrides | undefined {
    const cls = this.classOf(index);
    const own = cls ? this.overrides[cls] : undefined;
    return own ? { ...base, ...own } : base;
  }

  /** Before the IKE_SA sends anything. The wrong PSK is set here, not as an override: the log must not call it the user's. */
  prepare(index: number, sa: IkeSa): void {
    const cls = this.classOf(index);
    if (!cls) return;
    if (cls === 'wrong-psk') sa.pskOverride = this.wrongPsk;
    sa.log.cfg(1, `load run ${this.runId}: SA #${index} is a '${cls}' of the failure mix`);
  }

  /** SA #index reached ike.established. */
  established(index: number, ikeId: number): void {
    if (this.classOf(index) === 'silent-after-auth') this.silence(ikeId);
  }

  /** SA #index came to `outcome` ('failed X', 'established', 'established, CHILD_SA refused X'); once per SA. */
  settle(index: number, outcome: string): void {
    if (this.settled[index - 1] !== false) return;
    this.settled[index - 1] = true;
    const cls = this.classOf(index) ?? GOOD;
    const seen =
      cls === 'silent-after-auth' && outcome.startsWith('established')
        ? outcome.replace('established', 'established, then silenced')
        : outcome;
    const key = `${cls}: ${seen}`;
    this.outcomes[key] = (this.outcomes[key] ?? 0) + 1;
    if (seen === EXPECTED_OUTCOME[cls]) this.asPlanned[cls] = (this.asPlanned[cls] ?? 0) + 1;
  }

  /** The run ended early (timeout, stop): every SA not settled yet counts as `failed <why>`. */
  settleOpen(why: string): void {
    for (let i = 1; i <= this.settled.length; i++) this.settle(i, `failed ${why}`);
  }

  status(): MixStatus {
    return {
      mix: formatMix(this.shares),
      mixSeed: this.seed,
      mixPlanned: { ...this.planned },
      mixAsPlanned: { ...this.asPlanned },
      mixOutcomes: { ...this.outcomes },
    };
  }

  // ------------------------------------------------------------------------------------ silent-after-auth

  private readonly silenced = new Map<number, string>();
  private offSilenced?: () => void;

  private silence(ikeId: number): void {
    const name = `load${this.runId}-silent-${ikeId}`;
    try {
      this.ctx.faults.add({ name, match: `ike-id=${ikeId}`, action: 'dead' });
    } catch (e) {
      // a rule of that name left by the user: the SA is not silenced, and its outcome will say so
      this.ctx.log.log('CFG', 1, `load run ${this.runId}: could not silence IKE_SA ${ikeId}: ${(e as Error).message}`);
      return;
    }
    this.silenced.set(ikeId, name);
    this.offSilenced ??= this.ctx.log.onEvent((e) => this.onSilencedEvent(e));
  }

  private onSilencedEvent(e: IkelabEvent): void {
    if (e.event !== 'ike.destroyed' || e.ikeId === undefined) return;
    const name = this.silenced.get(e.ikeId);
    if (name === undefined) return;
    this.silenced.delete(e.ikeId);
    // the user may have cleared it already (fault clear)
    if (this.ctx.faults.list().some((r) => r.name === name)) this.ctx.faults.clear(name);
    if (this.silenced.size === 0) {
      this.offSilenced?.();
      this.offSilenced = undefined;
    }
  }
}
