// A CHILD_SA as negotiated: SPIs, selected ESP proposal, narrowed traffic selectors and its keys per direction.
// What carries its traffic is a ChildSaBackend's business (src/ipsec/backend.ts; src/ike/child-spec.ts hands it over).
// Its state changes only through its own methods (installed(), rekeying(), rekeyedBy(), deleting() ...).
import type { ChildConfig } from '../config/types.js';
import type { Proposal, TrafficSelector } from '../wire/types.js';
import type { ChildSuite } from '../crypto/keys.js';
import { zeroCounters, type SaCounters } from '../ipsec/backend.js';
import { keep } from '../wire/keep.js';

/** strongSwan's child_sa_state_t names, as list-sas shows them. */
export type ChildState =
  | 'CREATED'
  | 'ROUTED'
  | 'INSTALLING'
  | 'INSTALLED'
  | 'UPDATING'
  | 'REKEYING'
  | 'REKEYED'
  | 'RETRYING'
  | 'DELETING'
  | 'DELETED'
  | 'DESTROYING';

export interface ChildKeysDirected {
  encrIn: Buffer;
  integIn: Buffer;
  encrOut: Buffer;
  integOut: Buffer;
}

/** Counted by the backend that carries the CHILD_SA (handed over in its ChildSaSpec), read by list-sas. */
export type ChildCounters = SaCounters;

/** A traffic selector whose addresses are kept copies (wire/keep.ts), not views of a received message. */
const keptTs = (ts: TrafficSelector): TrafficSelector => ({ ...ts, startAddr: keep(ts.startAddr), endAddr: keep(ts.endAddr) });

export class ChildSa {
  private _state: ChildState = 'CREATED';
  private _spiOut: Buffer = Buffer.alloc(0);
  private _proposal?: Proposal;
  private _suite?: ChildSuite & { esn: boolean };
  private _dhGroup = 0;
  private _localTs: TrafficSelector[] = [];
  private _remoteTs: TrafficSelector[] = [];
  private _keys?: ChildKeysDirected;
  private _installedAt?: number;
  /** Rekey and expiry deadlines: times on the daemon's timer clock, kept by sa-timers.ts (timer bookkeeping). */
  rekeyAt?: number;
  expireAt?: number;
  private _encap = false;
  private _outboundActive = true;
  private _successor?: ChildSa;
  private _lowerNonce?: Buffer;
  private _reqid = 0;
  counters: ChildCounters = zeroCounters();
  /** An operator's choice (load --apply-to-rekey): the config this CHILD_SA's next rekey negotiates with. */
  rekeyConfig?: ChildConfig;

  /** Our inbound SPI, allocated before anything is proposed. */
  readonly spiIn: Buffer;

  constructor(
    readonly name: string,
    readonly uniqueId: number,
    readonly config: ChildConfig,
    spiIn: Buffer,
  ) {
    this.spiIn = keep(spiIn);
  }

  get label(): string {
    return `${this.name}{${this.uniqueId}}`;
  }
  get state(): ChildState {
    return this._state;
  }
  get spiOut(): Buffer {
    return this._spiOut;
  }
  get proposal(): Proposal | undefined {
    return this._proposal;
  }
  get suite(): (ChildSuite & { esn: boolean }) | undefined {
    return this._suite;
  }
  get dhGroup(): number {
    return this._dhGroup;
  }
  get localTs(): TrafficSelector[] {
    return this._localTs;
  }
  get remoteTs(): TrafficSelector[] {
    return this._remoteTs;
  }
  get keys(): ChildKeysDirected | undefined {
    return this._keys;
  }
  /** When it got installed: a time on the daemon's timer clock. */
  get installedAt(): number | undefined {
    return this._installedAt;
  }
  get encap(): boolean {
    return this._encap;
  }
  /** False between a rekey response we sent and the peer's delete of the old SA (see activateOutbound). */
  get outboundActive(): boolean {
    return this._outboundActive;
  }
  /** The CHILD_SA that replaced this one in a rekey. */
  get successor(): ChildSa | undefined {
    return this._successor;
  }
  /** Lower of the two nonces of the exchange that created this CHILD_SA in a rekey (collision rule). */
  get lowerNonce(): Buffer | undefined {
    return this._lowerNonce;
  }
  /** Our reqid: stays the same across rekeys of one CHILD_SA, like charon's. */
  get reqid(): number {
    return this._reqid;
  }

  // --- setup ----------------------------------------------------------------------------------------------

  /** What the exchange settled: the peer's inbound SPI (our outbound) and the narrowed traffic selectors. */
  negotiated(spiOut: Buffer, localTs: TrafficSelector[], remoteTs: TrafficSelector[]): void {
    // copies of their own: these live as long as the CHILD_SA, the message they came in must not
    this._spiOut = keep(spiOut);
    this._localTs = localTs.map(keptTs);
    this._remoteTs = remoteTs.map(keptTs);
  }

  /** The selected proposal and the keys derived for it (child-setup.ts keyChild). */
  keyed(k: { proposal: Proposal; suite: ChildSuite & { esn: boolean }; dhGroup: number; keys: ChildKeysDirected }): void {
    this._proposal = k.proposal.spi.length ? { ...k.proposal, spi: keep(k.proposal.spi) } : k.proposal;
    this._suite = k.suite;
    this._dhGroup = k.dhGroup;
    this._keys = k.keys;
  }

  /** Created by a rekey exchange whose lowest nonce was `n` (RFC 7296 2.8.1 decides collisions by it). */
  createdByRekey(n: Buffer): void {
    this._lowerNonce = n;
  }

  // --- lifecycle ------------------------------------------------------------------------------------------

  /** Its CREATE_CHILD_SA (or IKE_AUTH) request is on the way. */
  installing(): void {
    this._state = 'INSTALLING';
  }

  /** Handed to the data plane; outbound may wait (rekey responder) until the old SA's delete. */
  installed(i: { at: number; encap: boolean; outboundActive: boolean; reqid: number }): void {
    this._state = 'INSTALLED';
    this._installedAt = i.at;
    this._encap = i.encap;
    this._outboundActive = i.outboundActive;
    this._reqid = i.reqid;
  }

  /** Outbound traffic moves to this CHILD_SA (the one it replaced is gone). */
  outboundActivated(): void {
    this._outboundActive = true;
  }

  /** Our rekey of it is in flight. */
  rekeying(): void {
    this._state = 'REKEYING';
  }

  /** Our rekey did not replace it (refused, or retried with another DH group): it carries on as it was. */
  rekeyAborted(): void {
    this._state = 'INSTALLED';
  }

  /** `next` replaced it in a rekey: it only waits for its DELETE now. */
  rekeyedBy(next: ChildSa): void {
    this._state = 'REKEYED';
    this._successor = next;
  }

  /** A DELETE for it is being sent. */
  deleting(): void {
    this._state = 'DELETING';
  }

  /** Gone (removed from its IKE_SA, or never got installed). */
  destroying(): void {
    this._state = 'DESTROYING';
  }
}

export const spiHex = (spi: Buffer): string => spi.toString('hex');
