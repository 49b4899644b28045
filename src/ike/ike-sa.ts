// One IKE_SA: identity, keys, endpoints, CHILD_SAs, timers. Exchanges happen in tasks driven by its TaskManager.
import type { ConnectionConfig } from '../config/types.js';
import { createSkCipher, type SkCipher } from '../crypto/sk.js';
import type { IkeKeys, IkeSuite } from '../crypto/keys.js';
import type { BoundLogger } from '../log/logger.js';
import { type Endpoint, fmtEndpoint } from '../net/endpoint.js';
import type { TimerHandle } from '../util/timer-queue.js';
import type { Proposal } from '../wire/types.js';
import type { ChildSa } from './child-sa.js';
import { inBackend, withdrawChild } from './child-spec.js';
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

export class IkeSa {
  state: IkeState = 'CREATED';
  readonly uniqueId: number;
  readonly log: BoundLogger;
  readonly manager: TaskManager;
  spiI: Buffer;
  spiR: Buffer = Buffer.alloc(8);
  /** Local and remote endpoints currently in use (port floats to NAT-T). */
  local: Endpoint;
  remote: Endpoint;
  localId = '';
  remoteId = '';
  suite?: IkeSuite;
  proposal?: Proposal;
  keys?: IkeKeys;
  skIn?: SkCipher;
  skOut?: SkCipher;
  ni: Buffer = Buffer.alloc(0);
  nr: Buffer = Buffer.alloc(0);
  /** IKE_SA_INIT request and response as sent/received: RFC 7296 2.15 signs them. */
  initRequest: Buffer = Buffer.alloc(0);
  initResponse: Buffer = Buffer.alloc(0);
  natLocal = false;
  natRemote = false;
  /** Peer announced features we track. */
  peerMobike = false;
  /** The peer sent INITIAL_CONTACT in its IKE_AUTH request. */
  initialContact = false;
  /** SET_WINDOW_SIZE from the peer (RFC 7296 2.3); we use a window of 1 ourselves. */
  peerWindow = 1;
  readonly children: ChildSa[] = [];
  /** When it got established, and its rekey and expiry deadlines: times on svc.timers' clock (sa-timers.ts). */
  establishedAt?: number;
  rekeyAt?: number;
  expireAt?: number;
  lastInbound = 0;
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
    public config: ConnectionConfig,
    /** Original initiator of this IKE_SA (RFC 7296 I flag). */
    readonly initiator: boolean,
    local: Endpoint,
    remote: Endpoint,
    spiI?: Buffer,
  ) {
    this.uniqueId = svc.nextIkeId();
    this.local = { ...local };
    this.remote = { ...remote };
    this.spiI = spiI ?? Buffer.alloc(8);
    this.log = svc.log.with({ thread: 1 + ((this.uniqueId - 1) % 16), ikeName: config.name, ikeId: this.uniqueId });
    this.manager = new TaskManager(this);
  }

  get name(): string {
    return this.config.name;
  }
  get label(): string {
    return `${this.name}[${this.uniqueId}]`;
  }
  /** The peer's SPI (all zero while an IKE_SA_INIT we sent is unanswered). */
  get peerSpi(): Buffer {
    return this.initiator ? this.spiR : this.spiI;
  }
  /** Our SPI: the key of the daemon's lookup table. */
  get localSpi(): Buffer {
    return this.initiator ? this.spiI : this.spiR;
  }
  get natAny(): boolean {
    return this.natLocal || this.natRemote;
  }
  /** "10.98.0.2[10.98.0.2]...10.98.0.1[10.98.0.1]" as charon prints an IKE_SA between two peers. */
  get between(): string {
    return `${this.local.address}[${this.localId}]...${this.remote.address}[${this.remoteId}]`;
  }
  get endpoints(): string {
    return `from ${fmtEndpoint(this.local)} to ${fmtEndpoint(this.remote)}`;
  }

  setKeys(suite: IkeSuite, proposal: Proposal, keys: IkeKeys): void {
    this.suite = suite;
    this.proposal = proposal;
    this.keys = keys;
    const mine = { e: this.initiator ? keys.skEi : keys.skEr, a: this.initiator ? keys.skAi : keys.skAr };
    const theirs = { e: this.initiator ? keys.skEr : keys.skEi, a: this.initiator ? keys.skAr : keys.skAi };
    this.skOut = createSkCipher(suite, mine.e, mine.a);
    this.skIn = createSkCipher(suite, theirs.e, theirs.a);
  }

  /**
   * The IKE_SA that replaces this one in an IKE_SA rekey (RFC 7296 2.18): same services, connection and
   * endpoints; `initiator` is its I flag (who initiated the rekey), spiI the initiator's new SPI.
   */
  successor(initiator: boolean, spiI: Buffer): IkeSa {
    return new IkeSa(this.svc, this.config, initiator, this.local, this.remote, spiI);
  }

  /**
   * The IKE_SA is up (IKE_AUTH done, or the new IKE_SA of a rekey). As charon's set_state(ESTABLISHED) this starts
   * its lifetime, DPD and keepalive timers and ends the half-open timeout (sa-timers.ts).
   */
  established(): void {
    this.state = 'ESTABLISHED';
    this.establishedAt = this.svc.timers.now();
    startIkeTimers(this);
  }

  /** Something authentic arrived from the peer (an IKE message, or ESP on one of our CHILD_SAs): DPD stays quiet. */
  noteInbound(): void {
    this.lastInbound = this.svc.timers.now();
  }

  /** Switch both ends to the NAT-T port (RFC 7296 2.23: after IKE_SA_INIT when a NAT was detected). */
  floatToNatt(): void {
    if (this.local.port === this.svc.nattPort) return;
    this.local = { ...this.local, port: this.svc.nattPort };
    if (this.remote.port === 500 || this.remote.port === this.svc.ikePort)
      this.remote = { ...this.remote, port: this.config.remotePort === 500 ? 4500 : this.svc.nattPort };
  }

  /** Named timers on the daemon's single timer queue; setting one replaces the previous of that name. */
  setTimer(name: string, delayMs: number, fn: () => void): void {
    this.clearTimer(name);
    const h = this.svc.timers.after(delayMs, `${this.label}:${name}`, () => {
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

  findChild(pred: (c: ChildSa) => boolean): ChildSa | undefined {
    return this.children.find(pred);
  }

  removeChild(c: ChildSa): void {
    clearChildTimers(this, c);
    const i = this.children.indexOf(c);
    if (i >= 0) this.children.splice(i, 1);
    if (inBackend(c)) withdrawChild(this, c);
    c.state = 'DESTROYING';
  }

  /** Tear down locally: timers, CHILD_SAs, lookup entry. Idempotent. */
  destroy(): void {
    if (this.state === 'DESTROYING') return;
    this.state = 'DESTROYING';
    for (const name of [...this.timers.keys()]) this.clearTimer(name);
    for (const c of [...this.children]) this.removeChild(c);
    this.manager.abortAll('IKE_SA destroyed');
    this.svc.unregisterSa(this);
  }
}
