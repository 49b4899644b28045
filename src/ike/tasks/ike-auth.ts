// IKE_AUTH with pre-shared keys (RFC 7296 1.2, 2.15): IDi/IDr and AUTH over the IKE_SA_INIT messages.
// As responder, authentication failures are answered with AUTHENTICATION_FAILED only (2.21.2).
import { pskAuth, signedOctets, verifyPskAuth } from '../../crypto/auth.js';
import { findPsk } from '../../config/secrets.js';
import { AuthMethod, ExchangeType, Notify, NOTIFY_ERROR_MAX, PayloadType } from '../../wire/constants.js';
import { notifyLongName } from '../../wire/names.js';
import type { AuthPayload, IdPayload, NotifyPayload } from '../../wire/types.js';
import type { IkeSa } from '../ike-sa.js';
import { formatIdentity, idBody, identityMatches, parseIdentity, type Identity } from '../identity.js';
import { find, findAll, type InMessage, type OutMessage, type Task, type TaskStatus } from '../task.js';
import { notify } from '../notifies.js';

/** Errors that concern the CHILD_SA only; child_create reports them and the IKE_SA stays (RFC 7296 2.21.2). */
export const CHILD_ERRORS = new Set<number>([
  Notify.NO_PROPOSAL_CHOSEN,
  Notify.SINGLE_PAIR_REQUIRED,
  Notify.NO_ADDITIONAL_SAS,
  Notify.INTERNAL_ADDRESS_FAILURE,
  Notify.FAILED_CP_REQUIRED,
  Notify.TS_UNACCEPTABLE,
  Notify.INVALID_SELECTORS,
]);

/**
 * IKE_SAs that must not send INITIAL_CONTACT: load-test SAs (src/ops/load-run.ts). The notify tells the peer we
 * lost all state, so it drops every other IKE_SA with our identities: a headend would keep 1 of N load SAs.
 */
const NO_INITIAL_CONTACT = new WeakSet<IkeSa>();

/** This IKE_SA's IKE_AUTH goes without INITIAL_CONTACT (call before it is sent). */
export function withoutInitialContact(sa: IkeSa): void {
  NO_INITIAL_CONTACT.add(sa);
}

export class IkeAuth implements Task {
  readonly type = 'IKE_AUTH' as const;
  /** Responder: why we refuse the peer's IKE_AUTH (answered with AUTHENTICATION_FAILED only, RFC 7296 2.21.2). */
  private refusal?: string;

  constructor(
    private readonly sa: IkeSa,
    readonly initiator: boolean,
  ) {}

  private myId(): Identity {
    const id = this.sa.config.local.id;
    return parseIdentity(id && id !== '%any' ? id : this.sa.local.address);
  }

  private psk(): Buffer | undefined {
    const sa = this.sa;
    const k = sa.pskOverride ?? findPsk(sa.svc.config(), sa.localId, sa.remoteId);
    if (!k) sa.log.ike(1, `no shared key found for '${sa.localId}' - '${sa.remoteId}'`);
    return k;
  }

  /** <message> | <peer nonce> | prf(SK_p, IDx') for the initiator's or the responder's AUTH. */
  private octets(id: Identity, ofInitiator: boolean): Buffer {
    const sa = this.sa;
    const keys = sa.keys!;
    const msg = ofInitiator ? sa.initRequest : sa.initResponse;
    const nonce = ofInitiator ? sa.nr : sa.ni;
    const skP = ofInitiator ? keys.skPi : keys.skPr;
    return signedOctets(sa.suite!.prf, msg, nonce, skP, idBody(id));
  }

  /** Constant-time check of a received AUTH (crypto/auth). */
  private verify(psk: Buffer, peer: Identity, ofInitiator: boolean, received: Buffer): boolean {
    return verifyPskAuth(this.sa.suite!.prf, psk, this.octets(peer, ofInitiator), received);
  }

  build(out: OutMessage): TaskStatus {
    if (out.exchange !== ExchangeType.IKE_AUTH) return 'NEED_MORE';
    const sa = this.sa;
    if (!this.initiator && this.refusal) return this.refuse(out, this.refusal);
    const id = this.myId();
    sa.identify({ local: formatIdentity(id) });
    if (this.initiator)
      sa.identify({ remote: sa.config.remote.id && sa.config.remote.id !== '%any' ? sa.config.remote.id : sa.remote.address });
    const psk = this.psk();
    if (!psk) {
      if (!this.initiator) return this.refuse(out, 'no shared key found');
      sa.setupFailed('IKE', 1, '', { reason: 'no shared key found' });
      return 'FAILED';
    }
    sa.log.ike(1, `authentication of '${sa.localId}' (myself) with pre-shared key`);
    const idType = this.initiator ? PayloadType.IDi : PayloadType.IDr;
    out.add({ type: idType, idType: id.idType, data: id.data } as IdPayload);
    if (this.initiator) {
      if (!sa.svc.hasSaWithPeer(sa) && !NO_INITIAL_CONTACT.has(sa)) out.add(notify(Notify.INITIAL_CONTACT));
      const rid = sa.config.remote.id;
      if (rid && rid !== '%any' && sa.habits.idrInRequest) {
        const r = parseIdentity(rid);
        out.add({ type: PayloadType.IDr, idType: r.idType, data: r.data } as IdPayload);
      }
    }
    out.add({
      type: PayloadType.AUTH,
      method: AuthMethod.SHARED_KEY_MIC,
      data: pskAuth(sa.suite!.prf, psk, this.octets(id, this.initiator)),
    } as AuthPayload);
    return this.initiator ? 'NEED_MORE' : 'SUCCESS';
  }

  /** We refuse the peer's IKE_AUTH: ike.failed (the lines saying why came while processing it). */
  private refuse(out: OutMessage, reason: string): TaskStatus {
    this.sa.setupFailed('IKE', 1, '', { reason, notify: 'AUTHENTICATION_FAILED', direction: 'out' });
    out.fail(Notify.AUTHENTICATION_FAILED);
    return 'FAILED';
  }

  /** The peer's IKE_AUTH response ends our setup: ike.failed on the line that says why. */
  private failI(line: string, refusedWith?: number): TaskStatus {
    this.sa.setupFailed(
      'IKE',
      1,
      line,
      refusedWith === undefined ? { reason: line } : { reason: line, notify: notifyLongName(refusedWith), direction: 'in' },
    );
    return 'FAILED';
  }

  process(msg: InMessage): TaskStatus {
    if (msg.exchange !== ExchangeType.IKE_AUTH) return 'NEED_MORE';
    return this.initiator ? this.processI(msg) : this.processR(msg);
  }

  private processR(msg: InMessage): TaskStatus {
    const sa = this.sa;
    // The IKE_AUTH request rule lets AUTH (or EAP) alone complete a request and makes IDi optional: check both.
    const idi = find<IdPayload>(msg, PayloadType.IDi);
    const idr = find<IdPayload>(msg, PayloadType.IDr);
    const auth = find<AuthPayload>(msg, PayloadType.AUTH);
    if (!idi || !auth) {
      sa.log.ike(1, 'IDi or AUTH payload missing');
      this.refusal = 'IDi or AUTH payload missing';
      return 'NEED_MORE';
    }
    const peer: Identity = { idType: idi.idType, data: idi.data };
    sa.identify({ remote: formatIdentity(peer) });
    const want = idr ? formatIdentity({ idType: idr.idType, data: idr.data }) : '%any';
    sa.log.cfg(1, `looking for peer configs matching ${sa.local.address}[${want}]...${sa.remote.address}[${sa.remoteId}]`);
    if (!identityMatches(sa.config.remote.id || sa.remote.address, peer)) {
      sa.log.cfg(1, 'no matching peer config found');
      this.refusal = 'no matching peer config found';
      return 'NEED_MORE';
    }
    sa.log.cfg(1, `selected peer config '${sa.name}'`);
    sa.identify({ local: formatIdentity(this.myId()) });
    const psk = this.psk();
    if (!psk || auth.method !== AuthMethod.SHARED_KEY_MIC) {
      this.refusal = psk ? 'authentication method not supported' : 'no shared key found';
      return 'NEED_MORE';
    }
    if (!this.verify(psk, peer, true, auth.data)) {
      const line = `tried 1 shared key for '${sa.localId}' - '${sa.remoteId}', but MAC mismatched`;
      sa.log.ike(1, line);
      this.refusal = line;
      return 'NEED_MORE';
    }
    sa.log.ike(1, `authentication of '${sa.remoteId}' with pre-shared key successful`);
    // RFC 7296 2.4: INITIAL_CONTACT says the peer lost all state; its older IKE_SAs with us are stale.
    sa.peerAnnounced({
      initialContact: findAll<NotifyPayload>(msg, PayloadType.NOTIFY).some((n) => n.notifyType === Notify.INITIAL_CONTACT),
    });
    return 'NEED_MORE';
  }

  private processI(msg: InMessage): TaskStatus {
    const sa = this.sa;
    for (const n of findAll<NotifyPayload>(msg, PayloadType.NOTIFY)) {
      if (n.notifyType <= NOTIFY_ERROR_MAX && !CHILD_ERRORS.has(n.notifyType))
        return this.failI(`received ${notifyLongName(n.notifyType)} notify error`, n.notifyType);
    }
    // The IKE_AUTH response rule lets a notify alone complete a response and makes IDr optional: check both.
    const idr = find<IdPayload>(msg, PayloadType.IDr);
    const auth = find<AuthPayload>(msg, PayloadType.AUTH);
    if (!idr || !auth) return this.failI('IDr or AUTH payload missing');
    const peer: Identity = { idType: idr.idType, data: idr.data };
    if (!identityMatches(sa.config.remote.id || sa.remote.address, peer))
      return this.failI(`IDr '${formatIdentity(peer)}' does not match configured '${sa.config.remote.id}'`);
    sa.identify({ remote: formatIdentity(peer) });
    const psk = this.psk();
    if (!psk) {
      sa.setupFailed('IKE', 1, '', { reason: 'no shared key found' });
      return 'FAILED';
    }
    if (auth.method !== AuthMethod.SHARED_KEY_MIC || !this.verify(psk, peer, false, auth.data))
      return this.failI(`tried 1 shared key for '${sa.localId}' - '${sa.remoteId}', but MAC mismatched`);
    sa.log.ike(1, `authentication of '${sa.remoteId}' with pre-shared key successful`);
    return 'SUCCESS';
  }
}
