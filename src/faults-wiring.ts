// The fault engine (src/faults, pure) connected to the hook points of src/ike (task manager: send and receive) and
// src/ipsec (userspace ESP engine: seal and open), plus NAT-T keepalives. Neither of those layers knows the engine:
// each declares a structural hook interface (FaultHooks in ike/services.ts, EspFaultHooks in ipsec/backend.ts) and
// this module, created by the daemon (the composition root), implements both:
//
// - it builds the engine's context from what the hook point hands over (an IkeSa, a ChildSaSpec),
// - logs every firing charon-style on the SA's log in the decision's group (`[IKE] fault 'dpd-loss': dropped
//   INFORMATIONAL request 7`) with the engine's JSON event as structured fields (the pino sink writes them),
// - and applies the timing of a decision for every hook point alike (carry): drop, delay, duplicate, hold; held
//   datagrams are kept here by hold id, let go when a later decision releases them, when their maxMs timer finds
//   them still held (releaseHeld), or when their rule is cleared.
//
// Content and byte changes (notify, ke, wrong-*, corrupt, truncate, esp-seq-jump, ...) are the hook points' own:
// only they know the message. So is `collide` (receive-faults.ts starts our rekey before the peer's request is
// processed); carry() delivers that request at once, as for any decision without timing.
import {
  applyFaultMode,
  FaultEngine,
  FaultSyntaxError,
  parseImpair,
  parseRuleTexts,
  type FaultDecision,
  type FaultRuleInfo,
  type FaultRuleSpec,
  type RuleTexts,
} from './faults/index.js';
import type { IkeSa } from './ike/ike-sa.js';
import type { FaultHooks, FaultMessageInfo, IkeFaultDecision } from './ike/services.js';
import type { ChildSaSpec, EspFaultDecision, EspFaultHooks } from './ipsec/backend.js';
import type { LogContext, Logger } from './log/logger.js';
import type { TimerHandle, TimerQueue } from './util/timer-queue.js';

/** A rule refused by the control API for a reason outside its syntax (unknown connection, no such rule). */
export class FaultRuleError extends Error {}

const ref = (sa: IkeSa) => ({ name: sa.name, uniqueId: sa.uniqueId });

export interface FaultWiringOptions {
  timers: TimerQueue;
  log: Logger;
  /** The configured connection names: a rule for another (ike=typo) would silently do nothing, so it is refused. */
  connections(): string[];
  /** Whether ESP runs in the userspace engine (the only ESP hook points); ESP rules are refused otherwise. */
  espEngine(): boolean;
}

export class FaultWiring {
  readonly engine: FaultEngine;
  /** Datagrams held by reorder rules, by hold id: how to let each go, and its maxMs timer. */
  private readonly held = new Map<number, { go: () => void; timer: TimerHandle }>();
  /** Rules that came from the config file's `faults:` (a reload replaces them; CLI rules stay). */
  private fromConfig: string[] = [];
  /**
   * Whether the hook points keep received IKE datagrams (replay) and sent / received ESP packets (esp-replay) for
   * the rules that replay them; recomputed whenever the rule set changes. Nothing is kept for other rules.
   */
  private recording = { ike: false, in: false, out: false };

  private rulesChanged(): void {
    const live = this.engine.list().filter((r) => r.state !== 'spent' && r.state !== 'expired');
    const espReplay = (dir: 'in' | 'out') => live.some((r) => r.action.type === 'esp-replay' && (r.match.dir ?? dir) === dir);
    this.recording = { ike: live.some((r) => r.action.type === 'replay'), in: espReplay('in'), out: espReplay('out') };
  }

  constructor(private readonly o: FaultWiringOptions) {
    this.engine = new FaultEngine({ now: () => o.timers.now() });
  }

  // ------------------------------------------------------------------------------------------ hook points

  /** The task manager's send and receive points (IkeServices.faults). */
  readonly ike: FaultHooks = {
    active: (point) => this.engine.active(point),
    records: () => this.recording.ike,
    onSend: (sa, msg) => this.forIke(sa, this.engine.onIkeSend(this.ikeCtx(sa, msg))),
    onReceive: (sa, msg) => this.forIke(sa, this.engine.onIkeReceive(this.ikeCtx(sa, msg))),
    carry: (_sa, d, bytes, go) => this.carry(d, bytes, go),
  };

  /** The userspace ESP engine's seal (out) and open (in) points. */
  readonly esp: EspFaultHooks = {
    active: (dir) => this.engine.active(dir === 'in' ? 'esp-open' : 'esp-seal'),
    records: (dir) => this.recording[dir],
    decide: (dir, spec, spi, seq) => {
      const ctx = { ike: { name: spec.connection, uniqueId: spec.ikeId ?? 0 }, child: spec.name, spi, seq };
      const d = dir === 'in' ? this.engine.onEspOpen(ctx) : this.engine.onEspSeal(ctx);
      this.report(d, spec.logCtx);
      return forEsp(d);
    },
    carry: (_spec: ChildSaSpec, d, bytes, go) => this.carry(d, bytes, go),
  };

  /** A NAT-T keepalive for this IKE_SA is due: false while a `dead` rule covers it (nothing may leave). */
  keepalive(sa: IkeSa): boolean {
    if (!this.engine.active('keepalive')) return true;
    const d = this.engine.onKeepalive({ ike: ref(sa) });
    this.report(d, sa.log.ctx);
    this.letGoAll(d.release);
    return d.kind === 'pass';
  }

  private ikeCtx(sa: IkeSa, msg: FaultMessageInfo) {
    return { ike: ref(sa), ...msg };
  }

  private forIke(sa: IkeSa, d: FaultDecision): IkeFaultDecision {
    this.report(d, sa.log.ctx);
    // ESP decisions never come out of an IKE point; the type cannot know that
    if (d.kind === 'esp-replay' || d.kind === 'esp-seq-jump') return { kind: 'pass', release: d.release };
    return d;
  }

  /** charon-style line on the SA's log, in the decision's group; the JSON event rides along as fields. */
  private report(d: FaultDecision, ctx: LogContext | undefined): void {
    if (d.kind === 'pass') return;
    this.o.log.event(d.firing.group, 1, d.firing.text, { ...d.firing.event }, ctx);
  }

  /**
   * The timing of a decision, the same at every hook point: go(bytes) now, later, several times, when released,
   * or never; then every held datagram this decision released goes, in the order the engine gave.
   */
  private carry(d: IkeFaultDecision | EspFaultDecision, bytes: Buffer, go: (bytes: Buffer) => void): void {
    switch (d.kind) {
      case 'drop':
      case 'dead':
      case 'no-delete':
        break;
      case 'delay':
        this.o.timers.after(d.ms, 'fault delay', () => go(bytes));
        break;
      case 'duplicate':
        go(bytes);
        for (let i = 1; i <= d.copies; i++) {
          if (d.gapMs > 0) this.o.timers.after(i * d.gapMs, 'fault duplicate', () => go(bytes));
          else go(bytes);
        }
        break;
      case 'hold': {
        const id = d.holdId;
        const timer = this.o.timers.after(d.maxMs, 'fault hold', () => {
          if (this.engine.releaseHeld(id)) this.letGo(id);
        });
        this.held.set(id, { go: () => go(bytes), timer });
        break;
      }
      default:
        go(bytes);
    }
    this.letGoAll(d.release);
  }

  private letGoAll(release: readonly unknown[] | undefined): void {
    for (const r of release ?? []) this.letGo((r as { id: number }).id);
  }

  private letGo(id: number): void {
    const h = this.held.get(id);
    if (!h) return;
    this.held.delete(id);
    this.o.timers.cancel(h.timer);
    h.go();
  }

  // ------------------------------------------------------------------------------------------ rules

  /** `fault add`: one rule in the CLI syntax. */
  add(texts: RuleTexts): FaultRuleInfo {
    return this.addAll([parseRuleTexts(texts)], 'added')[0]!;
  }

  /** `fault impair`: libreswan impair names, all or none. */
  impair(items: readonly string[]): FaultRuleInfo[] {
    if (!items.length)
      throw new FaultSyntaxError('impair', 'one or more libreswan impairments (drop-incoming:3, jacob-two-two, ...)', 'nothing');
    return this.addAll(parseImpair(items, 'impair'), 'added');
  }

  /** Add rules, all or none: names and connections are checked before the first one goes in. */
  private addAll(specs: FaultRuleSpec[], verb: string): FaultRuleInfo[] {
    const taken = new Set(this.engine.list().map((r) => r.name));
    for (const s of specs) {
      if (s.name !== undefined && taken.has(s.name))
        throw new FaultRuleError(`a fault rule named '${s.name}' exists; clear it first or pick another name`);
      if (s.name !== undefined) taken.add(s.name);
      const conns = this.o.connections();
      if (s.match.ike !== undefined && !conns.includes(s.match.ike)) {
        throw new FaultRuleError(`no connection named '${s.match.ike}' (configured: ${conns.join(', ') || 'none'})`);
      }
      if (s.match.layer === 'esp' && !this.o.espEngine()) {
        throw new FaultRuleError(
          "ESP rules act in the userspace ESP engine only (daemon.ipsec_backend: userspace); here ESP is not ikelab's",
        );
      }
    }
    const added = specs.map((s) => {
      const info = this.engine.add(s);
      this.o.log.event('CFG', 1, `fault rule '${info.name}' ${verb}: ${info.text}`, {
        event: 'fault.added',
        rule: info.name,
        text: info.text,
      });
      return info;
    });
    this.rulesChanged();
    return added;
  }

  list(): FaultRuleInfo[] {
    return this.engine.list();
  }

  /** `fault clear [NAME]`: held datagrams of the cleared rules go now (a cleared fault must not swallow them). */
  clear(name?: string): string[] {
    if (name !== undefined && !this.engine.list().some((r) => r.name === name)) throw new FaultRuleError(`no fault rule named '${name}'`);
    const { removed, release } = this.engine.clear(name);
    this.fromConfig = this.fromConfig.filter((n) => !removed.includes(n));
    for (const n of removed) this.o.log.event('CFG', 1, `fault rule '${n}' cleared`, { event: 'fault.cleared', rule: n });
    this.rulesChanged();
    this.letGoAll(release);
    return removed;
  }

  /** `fault --mode silent|delay|normal`: the old verb, as rules (faults/mode.ts). */
  mode(mode: string, ike?: string, delayMs?: number): string {
    const { summary, release } = applyFaultMode(this.engine, mode, ike, delayMs);
    this.o.log.log('CFG', 1, `fault mode ${summary}`);
    this.rulesChanged();
    this.letGoAll(release);
    return summary;
  }

  /** The config file's rules, at start and on every reload (replacing the previous file's, keeping CLI rules). */
  setConfigRules(specs: readonly FaultRuleSpec[]): void {
    for (const n of this.fromConfig) if (this.engine.list().some((r) => r.name === n)) this.letGoAll(this.engine.clear(n).release);
    this.fromConfig = [];
    for (const s of specs) {
      try {
        const info = this.engine.add(s);
        this.fromConfig.push(info.name);
        this.o.log.log('CFG', 1, `fault rule '${info.name}' loaded: ${info.text}`);
      } catch (e) {
        // a name taken by a rule added on the control socket: that one stays, the file's is reported and skipped
        this.o.log.log('CFG', 1, `fault rule ${s.name ? `'${s.name}' ` : ''}from the config not loaded: ${(e as Error).message}`);
      }
    }
    this.rulesChanged();
  }
}

/** An engine decision as the ESP hook point takes it (a dead rule is told apart from a plain drop). */
function forEsp(d: FaultDecision): EspFaultDecision {
  switch (d.kind) {
    case 'drop':
      return d.firing.event.action === 'dead' ? { kind: 'dead', release: d.release } : d;
    case 'pass':
    case 'delay':
    case 'duplicate':
    case 'hold':
    case 'corrupt':
    case 'truncate':
    case 'wrong-spi':
    case 'esp-replay':
    case 'esp-seq-jump':
      return d;
    default:
      // IKE content decisions never come out of an ESP point
      return { kind: 'pass', release: d.release };
  }
}
