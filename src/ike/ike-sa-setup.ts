// What setting an IKE_SA up negotiated and learnt about the peer: identities, algorithms and keys (with the SK
// ciphers per direction), nonces, the IKE_SA_INIT messages AUTH signs, NAT detection, the peer's announced features.
// IkeSa (ike-sa.ts) extends this and keeps the lifecycle (state, endpoints, timers, CHILD_SAs, events). A base
// class, not a member object, so that callers keep reading sa.keys, sa.ni, ... and an IKE_SA stays one object
// (memory per IKE_SA is measured, issue 16). As in IkeSa, the fields are readable everywhere and written only
// through these methods, which are IkeSa's own.
import { createSkCipher, type SkCipher } from '../crypto/sk.js';
import type { IkeKeys, IkeSuite } from '../crypto/keys.js';
import { keep } from '../wire/keep.js';
import type { Proposal } from '../wire/types.js';
import type { IkeServices } from './services.js';

const NO_BYTES = Buffer.alloc(0);

export abstract class IkeSaSetup {
  // Provided by IkeSa: setKeys needs the key direction (our I flag) and both SPIs for svc.keysDerived.
  abstract readonly svc: IkeServices;
  abstract readonly initiator: boolean;
  abstract readonly spiI: Buffer;
  abstract readonly spiR: Buffer;

  private _localId = '';
  private _remoteId = '';
  private _suite?: IkeSuite;
  private _proposal?: Proposal;
  private _keys?: IkeKeys;
  private _skIn?: SkCipher;
  private _skOut?: SkCipher;
  private _ni: Buffer = Buffer.alloc(0);
  private _nr: Buffer = Buffer.alloc(0);
  private _initRequest: Buffer = Buffer.alloc(0);
  private _initResponse: Buffer = Buffer.alloc(0);
  private _natLocal = false;
  private _natRemote = false;
  private _peerMobike = false;
  private _peerFragmentation = false;
  private _initialContact = false;
  private _peerWindow = 1;

  get localId(): string {
    return this._localId;
  }
  get remoteId(): string {
    return this._remoteId;
  }
  get suite(): IkeSuite | undefined {
    return this._suite;
  }
  get proposal(): Proposal | undefined {
    return this._proposal;
  }
  get keys(): IkeKeys | undefined {
    return this._keys;
  }
  get skIn(): SkCipher | undefined {
    return this._skIn;
  }
  get skOut(): SkCipher | undefined {
    return this._skOut;
  }
  get ni(): Buffer {
    return this._ni;
  }
  get nr(): Buffer {
    return this._nr;
  }
  /** IKE_SA_INIT request and response as sent/received: RFC 7296 2.15 signs them. */
  get initRequest(): Buffer {
    return this._initRequest;
  }
  get initResponse(): Buffer {
    return this._initResponse;
  }
  get natLocal(): boolean {
    return this._natLocal;
  }
  get natRemote(): boolean {
    return this._natRemote;
  }
  get natAny(): boolean {
    return this._natLocal || this._natRemote;
  }
  /** The peer announced MOBIKE. */
  get peerMobike(): boolean {
    return this._peerMobike;
  }
  /** The peer sent IKEV2_FRAGMENTATION_SUPPORTED in IKE_SA_INIT (RFC 7383 2.3). */
  get peerFragmentation(): boolean {
    return this._peerFragmentation;
  }
  /** The peer sent INITIAL_CONTACT in its IKE_AUTH request. */
  get initialContact(): boolean {
    return this._initialContact;
  }
  /** SET_WINDOW_SIZE from the peer (RFC 7296 2.3); we use a window of 1 ourselves. */
  get peerWindow(): number {
    return this._peerWindow;
  }

  /** Nonces of the exchange that created this IKE_SA (IKE_SA_INIT, or the CREATE_CHILD_SA of a rekey). */
  useNonces(n: { ni?: Buffer; nr?: Buffer }): void {
    if (n.ni) this._ni = keep(n.ni);
    if (n.nr) this._nr = keep(n.nr);
  }

  /** The IKE_SA_INIT request or response as it went over the wire (AUTH signs them). */
  keepInitMessage(which: 'request' | 'response', bytes: Buffer): void {
    if (which === 'request') this._initRequest = bytes;
    else this._initResponse = bytes;
  }

  /**
   * IKE_AUTH is over both ways: the IKE_SA_INIT messages AUTH signed (RFC 7296 2.15) are needed no more. Dropping
   * them saves about 0.6 KiB per IKE_SA. (The nonces stay: they are 64 bytes, and tests recompute keys from them.)
   * Called by the TaskManager once a message leaves the IKE_SA established; idempotent.
   */
  setupDone(): void {
    if (this._initRequest.length === 0 && this._initResponse.length === 0) return;
    this._initRequest = this._initResponse = NO_BYTES;
  }

  setKeys(suite: IkeSuite, proposal: Proposal, keys: IkeKeys): void {
    this._suite = suite;
    // the chosen proposal's SPI may be a view of the received message: keep a copy, not the message
    this._proposal = proposal.spi.length ? { ...proposal, spi: keep(proposal.spi) } : proposal;
    this._keys = keys;
    const mine = { e: this.initiator ? keys.skEi : keys.skEr, a: this.initiator ? keys.skAi : keys.skAr };
    const theirs = { e: this.initiator ? keys.skEr : keys.skEi, a: this.initiator ? keys.skAr : keys.skAi };
    this._skOut = createSkCipher(suite, mine.e, mine.a);
    this._skIn = createSkCipher(suite, theirs.e, theirs.a);
    // both SPIs are known here (IKE_SA_INIT response processed / rekey's new SPIs), as the tables need
    this.svc.keysDerived?.({
      kind: 'ike',
      spiI: this.spiI,
      spiR: this.spiR,
      encr: suite.encr,
      encrKeyBits: suite.encrKeyBits,
      integ: suite.integ,
      skEi: keys.skEi,
      skEr: keys.skEr,
      skAi: keys.skAi,
      skAr: keys.skAr,
    });
  }

  /** Our identity and the peer's as far as known (IKE_AUTH); undefined leaves one as it is. */
  identify(ids: { local?: string; remote?: string }): void {
    if (ids.local !== undefined) this._localId = ids.local;
    if (ids.remote !== undefined) this._remoteId = ids.remote;
  }

  /** Result of NAT detection (RFC 7296 2.23); `local` true also when we only pretend to be behind a NAT. */
  natDetected(local: boolean, remote: boolean): void {
    this._natLocal = local;
    this._natRemote = remote;
  }

  /** What the peer announced that we keep track of. */
  peerAnnounced(a: { mobike?: boolean; window?: number; initialContact?: boolean; fragmentation?: boolean }): void {
    if (a.mobike !== undefined) this._peerMobike = a.mobike;
    if (a.fragmentation !== undefined) this._peerFragmentation = a.fragmentation;
    if (a.window !== undefined) this._peerWindow = a.window;
    if (a.initialContact !== undefined) this._initialContact = a.initialContact;
  }

  /** IkeSa.inherit()'s part here: the identities, NAT results and peer features a rekey does not renegotiate. */
  protected inheritSetup(old: IkeSaSetup): void {
    this._localId = old._localId;
    this._remoteId = old._remoteId;
    this._natLocal = old._natLocal;
    this._natRemote = old._natRemote;
    this._peerMobike = old._peerMobike;
    this._peerFragmentation = old._peerFragmentation;
  }
}
