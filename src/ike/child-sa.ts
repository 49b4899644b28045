// A CHILD_SA as negotiated: SPIs, selected ESP proposal, narrowed traffic selectors and its keys per direction.
// What carries its traffic is a ChildSaBackend's business (src/ipsec/backend.ts; src/ike/child-spec.ts hands it over).
import type { ChildConfig } from '../config/types.js';
import type { Proposal, TrafficSelector } from '../wire/types.js';
import type { ChildSuite } from '../crypto/keys.js';
import { zeroCounters, type SaCounters } from '../ipsec/backend.js';

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

export class ChildSa {
  state: ChildState = 'CREATED';
  spiIn: Buffer = Buffer.alloc(0);
  spiOut: Buffer = Buffer.alloc(0);
  proposal?: Proposal;
  suite?: ChildSuite & { esn: boolean };
  dhGroup = 0;
  localTs: TrafficSelector[] = [];
  remoteTs: TrafficSelector[] = [];
  keys?: ChildKeysDirected;
  /** When it got installed, and its rekey and expiry deadlines: times on the daemon's timer clock (sa-timers.ts). */
  installedAt?: number;
  rekeyAt?: number;
  expireAt?: number;
  encap = false;
  /** False between a rekey response we sent and the peer's delete of the old SA (see activateOutbound). */
  outboundActive = true;
  /** The CHILD_SA that replaced this one in a rekey. */
  successor?: ChildSa;
  /** Lower of the two nonces of the exchange that created this CHILD_SA in a rekey (collision rule). */
  lowerNonce?: Buffer;
  /** Our reqid: stays the same across rekeys of one CHILD_SA, like charon's. */
  reqid = 0;
  counters: ChildCounters = zeroCounters();

  constructor(
    readonly name: string,
    readonly uniqueId: number,
    readonly config: ChildConfig,
  ) {}

  get label(): string {
    return `${this.name}{${this.uniqueId}}`;
  }
}

export const spiHex = (spi: Buffer): string => spi.toString('hex');
