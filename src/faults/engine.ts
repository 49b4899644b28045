// The fault engine: an ordered list of rules asked at each hook point, answering with a plain decision. It never
// touches a message, a socket or a timer; it keeps only counters, PRNG states and which messages a reorder rule
// holds, so it can be unit-tested with a fake clock and plugged into the task manager and ESP engine later.
//
// Per message, every rule whose window is open and whose criteria and action fit "sees" it (seen+1, its nth
// counter); nth and prob then decide whether it would fire. The first such rule in the order added fires; later
// ones count the message as `shadowed` (visible in list(), so overlapping rules are no mystery). `dead` rules
// are asked first: a dead IKE_SA lets nothing through, whatever else is configured.

import { ACTION_TRAITS } from './actions.js';
import { FaultSyntaxError, Where } from './errors.js';
import { makeFiring } from './firing.js';
import { actionApplies, criteriaMatch, pointLayer, windowState, type Subject } from './match.js';
import { DEFAULT_SEED } from './parse-match.js';
import { formatRule } from './format.js';
import { parseRuleName } from './parse.js';
import { outcomeOf } from './outcome.js';
import { SeededRandom } from './prng.js';
import {
  POINT_DIRECTION,
  type EspPacketCtx,
  type FaultDecision,
  type FaultRule,
  type FaultRuleInfo,
  type FaultRuleSpec,
  type HeldRef,
  type HookPoint,
  type IkeMessageCtx,
  type KeepaliveCtx,
  type RuleState,
} from './model.js';

export interface FaultEngineOptions {
  /** The engine's clock in ms (the daemon's timer queue; a fake clock in tests). Never Date.now() here. */
  now(): number;
}

interface Runtime {
  rule: FaultRule;
  addedAt: number;
  seen: number;
  fired: number;
  shadowed: number;
  lastFiredAt?: number;
  rng?: SeededRandom;
}

interface Hold {
  stream: string;
  remaining: number;
  rule: string;
}

export class FaultEngine {
  private rules: Runtime[] = [];
  /** The order rules are asked in: dead ones first, then the rest as added (kept in step by add and clear). */
  private order: Runtime[] = [];
  private readonly holds = new Map<number, Hold>();
  private nextHoldId = 1;
  private autoName = 0;

  constructor(private readonly opts: FaultEngineOptions) {}

  get size(): number {
    return this.rules.length;
  }

  /** Add a rule at the end of the order. A missing name becomes f1, f2, ...; a taken name is refused. */
  add(spec: FaultRuleSpec): FaultRuleInfo {
    const name = spec.name ?? this.freshName();
    parseRuleName(name, new Where('name'));
    if (this.rules.some((r) => r.rule.name === name))
      throw new FaultSyntaxError('name', 'a name no other rule has', JSON.stringify(name), 'clear it first, or pick another name');
    if (spec.count !== undefined && !(Number.isInteger(spec.count) && spec.count >= 1))
      throw new FaultSyntaxError('count', 'how often the rule may fire, 1 or more', String(spec.count));
    // a copy: the caller's object must not change a running rule behind the engine's back
    const rule: FaultRule = structuredClone({ ...spec, name });
    if (rule.match.prob !== undefined && rule.match.seed === undefined) rule.match.seed = DEFAULT_SEED;
    const rt: Runtime = { rule, addedAt: this.opts.now(), seen: 0, fired: 0, shadowed: 0 };
    if (rule.match.prob !== undefined) rt.rng = new SeededRandom(rule.match.seed!);
    this.rules.push(rt);
    this.reorder();
    return this.info(rt, rt.addedAt);
  }

  list(): FaultRuleInfo[] {
    const now = this.opts.now();
    return this.rules.map((rt) => this.info(rt, now));
  }

  /**
   * Remove one rule (by name) or all. Messages the removed rules still hold are returned: the wiring sends or
   * processes them now (a cleared fault must not swallow what it was only delaying).
   */
  clear(name?: string): { removed: string[]; release: HeldRef[] } {
    const gone = this.rules.filter((rt) => name === undefined || rt.rule.name === name);
    this.rules = this.rules.filter((rt) => !gone.includes(rt));
    this.reorder();
    const names = gone.map((rt) => rt.rule.name);
    const release: HeldRef[] = [];
    for (const [id, h] of this.holds) {
      if (!names.includes(h.rule)) continue;
      this.holds.delete(id);
      release.push({ id, rule: h.rule });
    }
    return { removed: names, release };
  }

  /**
   * Could any rule act at this point now, or is a message held there? false: the hook point may skip building a
   * context (the fast path). Held messages count because only later messages through the point release them.
   */
  active(point: HookPoint): boolean {
    // the common case, asked for every message and ESP packet: no rule, nothing held (add() and clear() keep both)
    if (this.rules.length === 0 && this.holds.size === 0) return false;
    const now = this.opts.now();
    const layer = pointLayer(point);
    const dir = POINT_DIRECTION[point];
    for (const h of this.holds.values()) if (h.stream.startsWith(`${point}|`)) return true;
    return this.rules.some((rt) => {
      const a = rt.rule.action;
      if (this.spent(rt) || windowState(rt.rule.match, rt.addedAt, now) === 'expired') return false;
      if (a.type === 'dead') return true;
      const m = rt.rule.match;
      return layer === m.layer && (m.dir ?? dir) === dir && ACTION_TRAITS[a.type].dirs.includes(dir);
    });
  }

  /** Time's up for a held message (the wiring's maxMs timer): true if it was still held and must go now. */
  releaseHeld(id: number): boolean {
    return this.holds.delete(id);
  }

  onIkeSend(ctx: IkeMessageCtx): FaultDecision {
    return this.decide({ point: 'ike-send', dir: 'out', ike: ctx.ike, msg: ctx });
  }

  onIkeReceive(ctx: IkeMessageCtx): FaultDecision {
    return this.decide({ point: 'ike-receive', dir: 'in', ike: ctx.ike, msg: ctx });
  }

  onEspSeal(ctx: EspPacketCtx): FaultDecision {
    return this.decide({ point: 'esp-seal', dir: 'out', ike: ctx.ike, esp: ctx });
  }

  onEspOpen(ctx: EspPacketCtx): FaultDecision {
    return this.decide({ point: 'esp-open', dir: 'in', ike: ctx.ike, esp: ctx });
  }

  /** NAT-T keepalives: only `dead` acts on them. */
  onKeepalive(ctx: KeepaliveCtx): FaultDecision {
    return this.decide({ point: 'keepalive', dir: 'out', ike: ctx.ike });
  }

  private decide(s: Subject): FaultDecision {
    const now = this.opts.now();
    let winner: Runtime | undefined;
    for (const rt of this.order) {
      if (!this.wouldFire(rt, s, now)) continue;
      if (winner) rt.shadowed++;
      else winner = rt;
    }
    const stream = streamOf(s);
    let decision: FaultDecision;
    if (!winner) decision = { kind: 'pass' };
    else {
      const rule = winner.rule;
      winner.fired++;
      winner.lastFiredAt = now;
      let outcome = outcomeOf(rule.action, s);
      if (outcome.kind === 'hold' && rule.action.type === 'reorder') {
        const holdId = this.nextHoldId++;
        this.holds.set(holdId, { stream, remaining: rule.action.after + 1, rule: rule.name });
        outcome = { ...outcome, holdId };
      }
      decision = { ...outcome, rule: rule.name, firing: makeFiring(rule, outcome, s, winner.fired, now) } as FaultDecision;
    }
    const release = this.advanceHolds(stream);
    if (release.length) decision.release = release;
    return decision;
  }

  /** Window, criteria, applicability, then nth and prob (both stateful: counted/drawn only for fitting messages). */
  private wouldFire(rt: Runtime, s: Subject, now: number): boolean {
    const { match, action } = rt.rule;
    if (this.spent(rt) || windowState(match, rt.addedAt, now) !== 'active') return false;
    if (!criteriaMatch(match, action, s) || !actionApplies(action, s)) return false;
    rt.seen++;
    if (match.nth !== undefined && rt.seen !== match.nth) return false;
    if (rt.rng && !rt.rng.chance(match.prob!)) return false;
    return true;
  }

  /** Every message through a stream moves its held messages one step; those whose turn came are released. */
  private advanceHolds(stream: string): HeldRef[] {
    const out: HeldRef[] = [];
    for (const [id, h] of this.holds) {
      if (h.stream !== stream) continue;
      // a new hold starts at after+1 so that the message it was created for does not count for itself
      if (--h.remaining > 0) continue;
      this.holds.delete(id);
      out.push({ id, rule: h.rule });
    }
    return out;
  }

  private spent(rt: Runtime): boolean {
    const { count, match } = rt.rule;
    return (count !== undefined && rt.fired >= count) || (match.nth !== undefined && rt.seen >= match.nth);
  }

  private state(rt: Runtime, now: number): RuleState {
    return this.spent(rt) ? 'spent' : windowState(rt.rule.match, rt.addedAt, now);
  }

  private reorder(): void {
    const dead = (rt: Runtime): boolean => rt.rule.action.type === 'dead';
    this.order = [...this.rules.filter(dead), ...this.rules.filter((rt) => !dead(rt))];
  }

  private info(rt: Runtime, now: number): FaultRuleInfo {
    const r = rt.rule;
    const info: FaultRuleInfo = {
      name: r.name,
      text: formatRule(r),
      match: structuredClone(r.match),
      action: structuredClone(r.action),
      state: this.state(rt, now),
      seen: rt.seen,
      fired: rt.fired,
      shadowed: rt.shadowed,
      holding: [...this.holds.values()].filter((h) => h.rule === r.name).length,
      addedAt: rt.addedAt,
    };
    if (r.count !== undefined) info.count = r.count;
    if (rt.lastFiredAt !== undefined) info.lastFiredAt = rt.lastFiredAt;
    return info;
  }

  private freshName(): string {
    let name: string;
    do name = `f${++this.autoName}`;
    while (this.rules.some((r) => r.rule.name === name));
    return name;
  }
}

/** Reordering happens within one IKE_SA and direction (IKE), or one SA (ESP). */
function streamOf(s: Subject): string {
  return `${s.point}|${s.ike.uniqueId}${'esp' in s ? `|${s.esp.spi >>> 0}` : ''}`;
}
