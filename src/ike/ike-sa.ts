// One IKE_SA: identity, endpoints, CHILD_SAs, timers. Exchanges happen in tasks driven by its TaskManager.
// Its state changes only through its own methods (connecting(), authenticated(), rekeyedBy(), deleting(), destroy()
// ...): the fields are readable everywhere, so a reader finds every transition, and the lifecycle events that go with
// them (src/log/events.ts), here and nowhere else. What its setup negotiated (keys, nonces, identities, NAT, peer
// features) and the methods that record it are inherited from IkeSaSetup (ike-sa-setup.ts).
import type { ConnectionConfig } from '../config/types.js';
import type { LogGroup } from '../log/groups.js';
import type { BoundLogger } from '../log/logger.js';
import { type Endpoint, fmtEndpoint } from '../net/endpoint.js';
import type { TimerHandle } from '../util/timer-queue.js';
import { keep } from '../wire/keep.js';
import type { ChildSa } from './child-sa.js';
import { followEndpoints, inBackend, withdrawChild } from './child-spec.js';
import { moveChildren } from './child-setup.js';
import { habitsFor, type WireHabits } from './habits.js';
import { IkeSaSetup } from './ike-sa-setup.js';
import { clearChildTimers, startIkeTimers } from './sa-timers.js';
import type { IkeServices } from './services.js';
import { TaskManager } from './task-manager.js';

/** strongSwan's ike_sa_state_t names, as list-sas shows them. */
export type IkeState = 'CREATED' | 'CONNECTING' | 'ESTABLISHED' | 'PASSIVE' | 'REKEYING' | 'REKEYED' | 'DELETING' | 'DESTROYING';

export interface IkeCounters {
  messagesIn: number;
  messagesOut: number;
  retransmits: number;
  responsesRetransmitted: number;
  integrityFailures: number;
  invalidMessages: number;
  /** Messages dropped by a state gate or as fake retransmits: never processed, never answered. */
  dropped: number;
  /** Retransmitted requests not answered because the cached response was resent less than 1 s ago. */
  retransmitsSuppressed: number;
  /** Exceptions thrown by a task while handling a message (answered or the SA ended, never wedged). */
  handlerErrors: number;
  /** RFC 3948 NAT-T keepalives sent for this IKE_SA's endpoints. */
  keepalivesOut: number;
}

/** How lifecycle events name an IKE_SA besides its name and id (events.ts: SPIs as 16 hex digits, address[port]). */
export interface IkeEventRef {
  spiI: string;
  spiR: string;
  local: string;
  peer: string;
}

export class IkeSa extends IkeSaSetup {
  private _state: IkeState = 'CREATED';
  readonly uniqueId: number;
  /** charon's `bar[3]`: name and unique id never change, and every log line and timer uses it. */
  readonly label: string;
  readonly log: BoundLogger;
  readonly manager: TaskManager;
  /** What this IKE_SA sends because its connection's profile (peer kind) does: vendor IDs, notifies, payload order. */
  readonly habits: WireHabits;
  readonly spiI: Buffer;
  private _spiR: Buffer = Buffer.alloc(8);
  private _local: Endpoint;
  private _remote: Endpoint;
  private readonly _children: ChildSa[] = [];
  private _establishedAt?: number;
  /** Rekey and expiry deadlines: times on svc.timers' clock, kept by sa-timers.ts (timer bookkeeping, not state). */
  rekeyAt?: number;
  expireAt?: number;
  private _lastInbound = 0;
  /** The IKE_SA that took over this one's CHILD_SAs in a rekey (RFC 7296 2.18). */
  private _rekeyedTo?: IkeSa;
  /** An operator's PSK for this IKE_SA only (initiate --psk), set before it starts; else the secrets' choice. */
  pskOverride?: Buffer;
  /** Why this IKE_SA is ending, once something decided it (ike.destroyed's reason when destroy() gets none). */
  private endCause?: string;
  readonly counters: IkeCounters = {
    messagesIn: 0,
    messagesOut: 0,
    retransmits: 0,
    responsesRetransmitted: 0,
    integrityFailures: 0,
    invalidMessages: 0,
    dropped: 0,
    retransmitsSuppressed: 0,
    handlerErrors: 0,
    keepalivesOut: 0,
  };
  readonly timers = new Map<string, TimerHandle>();

  constructor(
    readonly svc: IkeServices,
    readonly config: ConnectionConfig,
    /** Original initiator of this IKE_SA (RFC 7296 I flag). */
    readonly initiator: boolean,
    local: Endpoint,
    remote: Endpoint,
    spiI?: Buffer,
  ) {
    super();
    this.uniqueId = svc.nextIkeId();
    this.label = `${config.name}[${this.uniqueId}]`;
    this._local = { ...local };
    this._remote = { ...remote };
    this.spiI = spiI ? keep(spiI) : Buffer.alloc(8);
    this.log = svc.log.with({ thread: 1 + ((this.uniqueId - 1) % 16), ikeName: config.name, ikeId: this.uniqueId });
    this.habits = habitsFor(config.profile);
    this.manager = new TaskManager(this);
  }

  get state(): IkeState {
    return this._state;
  }
  get spiR(): Buffer {
    return this._spiR;
  }
  /** Local and remote endpoints currently in use (port floats to NAT-T, follows the peer's NAT mapping). */
  get local(): Readonly<Endpoint> {
    return this._local;
  }
  get remote(): Readonly<Endpoint> {
    return this._remote;
  }
  get children(): readonly ChildSa[] {
    return this._children;
  }
  /** When it got established: a time on svc.timers' clock. */
  get establishedAt(): number | undefined {
    return this._establishedAt;
  }
  get lastInbound(): number {
    return this._lastInbound;
  }
  get rekeyedTo(): IkeSa | undefined {
    return this._rekeyedTo;
  }

  get name(): string {
    return this.config.name;
  }
  /** The peer's SPI (all zero while an IKE_SA_INIT we sent is unanswered). */
  get peerSpi(): Buffer {
    return this.initiator ? this._spiR : this.spiI;
  }
  /** Our SPI: the key of the daemon's lookup table. */
  get localSpi(): Buffer {
    return this.initiator ? this.spiI : this._spiR;
  }
  /** "10.98.0.2[10.98.0.2]...10.98.0.1[10.98.0.1]" as charon prints an IKE_SA between two peers. */
  get between(): string {
    return `${this._local.address}[${this.localId}]...${this._remote.address}[${this.remoteId}]`;
  }
  get endpoints(): string {
    return `from ${fmtEndpoint(this._local)} to ${fmtEndpoint(this._remote)}`;
  }
  /** SPIs and endpoints as the lifecycle events carry them. */
  get eventRef(): IkeEventRef {
    return {
      spiI: this.spiI.toString('hex'),
      spiR: this._spiR.toString('hex'),
      local: fmtEndpoint(this._local),
      peer: fmtEndpoint(this._remote),
    };
  }

  // --- setup material -------------------------------------------------------------------------------------

  /** The responder's SPI: chosen by us as responder, learnt from the IKE_SA_INIT response as initiator. */
  assignResponderSpi(spi: Buffer): void {
    this._spiR = keep(spi);
  }

  /**
   * The IKE_SA that replaces this one in an IKE_SA rekey (RFC 7296 2.18): same services, connection and
   * endpoints; `initiator` is its I flag (who initiated the rekey), spiI the initiator's new SPI.
   */
  successor(initiator: boolean, spiI: Buffer): IkeSa {
    return new IkeSa(this.svc, this.config, initiator, this._local, this._remote, spiI);
  }

  /** A rekey's new IKE_SA takes what the exchange did not renegotiate from the old one: identities, NAT, peer features. */
  inherit(old: IkeSa): void {
    this.inheritSetup(old);
    this._lastInbound = old._lastInbound;
  }

  // --- lifecycle ------------------------------------------------------------------------------------------

  /** IKE_SA_INIT is under way (sent as initiator, answered as responder). */
  connecting(): void {
    this._state = 'CONNECTING';
  }

  /** IKE_SA_INIT starts over (INVALID_KE_PAYLOAD, COOKIE): no responder SPI yet, nothing negotiated. */
  initRestarted(): void {
    this._spiR = Buffer.alloc(8);
    this._state = 'CREATED';
  }

  /**
   * IKE_AUTH completed both ways: charon's "established between" line, the end of half-open state, swanctl's
   * unique policy ('no' honours INITIAL_CONTACT, 'replace' always replaces, 'never' never does), then the timers.
   */
  authenticated(): void {
    this._state = 'ESTABLISHED';
    this.log.event('IKE', 0, `IKE_SA ${this.label} established between ${this.between}`, {
      event: 'ike.established',
      ...this.eventRef,
      localId: this.localId,
      remoteId: this.remoteId,
    });
    this.svc.leftHalfOpen?.(this);
    const u = this.config.unique;
    if ((u === 'no' && this.initialContact) || u === 'replace') this.svc.dropStaleSas(this);
    this.established();
  }

  /**
   * The IKE_SA is up (IKE_AUTH done, or the new IKE_SA of a rekey). As charon's set_state(ESTABLISHED) this starts
   * its lifetime, DPD and keepalive timers and ends the half-open timeout (sa-timers.ts).
   */
  established(): void {
    this._state = 'ESTABLISHED';
    this._establishedAt = this.svc.timers.now();
    startIkeTimers(this);
  }

  /** A rekey of this IKE_SA is in flight (ours). */
  rekeying(): void {
    this._state = 'REKEYING';
  }

  /** Our rekey did not happen (refused, or retried with another DH group): the IKE_SA carries on as it was. */
  rekeyAborted(): void {
    this._state = 'ESTABLISHED';
  }

  /** `next` replaced this IKE_SA (RFC 7296 2.18): the CHILD_SAs move there; this one only waits for its DELETE. */
  rekeyedBy(next: IkeSa): void {
    moveChildren(this, next);
    this._state = 'REKEYED';
    this._rekeyedTo = next;
    this.endCause = `rekeyed by ${next.label}`;
  }

  /** A DELETE for this IKE_SA was sent ('out') or received ('in'): it is going away. */
  deleting(direction: 'in' | 'out'): void {
    this._state = 'DELETING';
    this.endCause = direction === 'out' ? 'deleted' : 'deleted by peer';
  }

  /**
   * Setting the IKE_SA up failed (the manager destroys it): ike.failed riding on the charon line that says why
   * (message '' when that line was printed elsewhere). notify: what the peer refused with (direction 'in'), or
   * what we refused the peer's request with (direction 'out').
   */
  setupFailed(group: LogGroup, level: number, message: string, f: { reason: string; notify?: string; direction?: 'in' | 'out' }): void {
    this.endCause = `setup failed: ${f.reason}`;
    this.log.event(group, level, message, { event: 'ike.failed', ...this.eventRef, ...f });
  }

  /** The peer's authenticated messages come from here now (RFC 7296 2.23): the installed CHILD_SAs follow. */
  followPeer(local: Endpoint, remote: Endpoint): void {
    this._remote = { ...remote };
    this._local = { ...local };
    followEndpoints(this);
  }

  /** Something authentic arrived from the peer (an IKE message, or ESP on one of our CHILD_SAs): DPD stays quiet. */
  noteInbound(): void {
    this._lastInbound = this.svc.timers.now();
  }

  /** Switch both ends to the NAT-T port (RFC 7296 2.23: after IKE_SA_INIT when a NAT was detected). */
  floatToNatt(): void {
    if (this._local.port === this.svc.nattPort) return;
    this._local = { ...this._local, port: this.svc.nattPort };
    if (this._remote.port === 500 || this._remote.port === this.svc.ikePort)
      this._remote = { ...this._remote, port: this.config.remotePort === 500 ? 4500 : this.svc.nattPort };
  }

  /** Named timers on the daemon's single timer queue; setting one replaces the previous of that name. */
  setTimer(name: string, delayMs: number, fn: () => void): void {
    this.clearTimer(name);
    const h = this.svc.timers.after(delayMs, name, () => {
      this.timers.delete(name);
      fn();
    });
    this.timers.set(name, h);
  }

  clearTimer(name: string): void {
    const h = this.timers.get(name);
    if (h) this.svc.timers.cancel(h);
    this.timers.delete(name);
  }

  // --- CHILD_SAs ------------------------------------------------------------------------------------------

  /**
   * The fault action `collide` (receive-faults.ts) makes our CHILD_SA rekey cross the peer's and decides RFC 7296
   * 2.8.1's "lowest of the four nonces" through our two nonces instead of chance: one for the rekey request we start
   * (`initiator`), one for our response to the peer's (`responder`). Each is taken once by the next ChildRekey that
   * makes a nonce in that role; the fault point drops whatever is left once it has handled the peer's request, so a
   * plan never reaches a later, unrelated rekey. Nothing else sets nonces.
   */
  private rekeyNonces: { initiator?: Buffer; responder?: Buffer } = {};

  planRekeyNonces(plan: { initiator: Buffer; responder: Buffer }): void {
    this.rekeyNonces = { ...plan };
  }

  /** The planned nonce for this role, once; undefined (use a random one) without a plan. */
  takeRekeyNonce(role: 'initiator' | 'responder'): Buffer | undefined {
    const n = this.rekeyNonces[role];
    delete this.rekeyNonces[role];
    return n;
  }

  dropRekeyNonces(): void {
    this.rekeyNonces = {};
  }

  findChild(pred: (c: ChildSa) => boolean): ChildSa | undefined {
    return this._children.find(pred);
  }

  /** A CHILD_SA now belongs to this IKE_SA (installed here, or moved here by an IKE_SA rekey). */
  adoptChild(c: ChildSa): void {
    if (!this._children.includes(c)) this._children.push(c);
  }

  /** Hand every CHILD_SA over (IKE_SA rekey): the caller adopts them elsewhere. */
  releaseChildren(): ChildSa[] {
    return this._children.splice(0);
  }

  removeChild(c: ChildSa): void {
    clearChildTimers(this, c);
    const i = this._children.indexOf(c);
    if (i >= 0) this._children.splice(i, 1);
    if (inBackend(c)) withdrawChild(this, c);
    c.destroying();
  }

  /**
   * Tear down locally: timers, CHILD_SAs, lookup entry; ike.destroyed (no charon line of its own) with `reason`, or
   * what ended it as far as this IKE_SA knows. Idempotent.
   */
  destroy(reason?: string): void {
    if (this._state === 'DESTROYING') return;
    this._state = 'DESTROYING';
    for (const name of [...this.timers.keys()]) this.clearTimer(name);
    for (const c of [...this._children]) this.removeChild(c);
    this.manager.abortAll('IKE_SA destroyed');
    this.svc.unregisterSa(this);
    this.log.event('IKE', 1, '', { event: 'ike.destroyed', ...this.eventRef, reason: reason ?? this.endCause ?? 'destroyed' });
  }
}
