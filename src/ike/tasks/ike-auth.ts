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

export class IkeAuth implements Task {
  readonly type = 'IKE_AUTH' as const;
  private authFailed = false;

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
    const k = findPsk(sa.svc.config(), sa.localId, sa.remoteId);
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
    if (!this.initiator && this.authFailed) {
      out.fail(Notify.AUTHENTICATION_FAILED);
      return 'FAILED';
    }
    const id = this.myId();
    sa.localId = formatIdentity(id);
    if (this.initiator) sa.remoteId = sa.config.remote.id && sa.config.remote.id !== '%any' ? sa.config.remote.id : sa.remote.address;
    const psk = this.psk();
    if (!psk) {
      if (!this.initiator) out.fail(Notify.AUTHENTICATION_FAILED);
      return 'FAILED';
    }
    sa.log.ike(1, `authentication of '${sa.localId}' (myself) with pre-shared key`);
    const idType = this.initiator ? PayloadType.IDi : PayloadType.IDr;
    out.add({ type: idType, idType: id.idType, data: id.data } as IdPayload);
    if (this.initiator) {
      if (!sa.svc.hasSaWithPeer(sa)) out.add(notify(Notify.INITIAL_CONTACT));
      const rid = sa.config.remote.id;
      if (rid && rid !== '%any') {
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

  process(msg: InMessage): TaskStatus {
    if (msg.exchange !== ExchangeType.IKE_AUTH) return 'NEED_MORE';
    return this.initiator ? this.processI(msg) : this.processR(msg);
  }

  private processR(msg: InMessage): TaskStatus {
    const sa = this.sa;
    const idi = find<IdPayload>(msg, PayloadType.IDi);
    const idr = find<IdPayload>(msg, PayloadType.IDr);
    const auth = find<AuthPayload>(msg, PayloadType.AUTH);
    if (!idi || !auth) {
      sa.log.ike(1, 'IDi or AUTH payload missing');
      this.authFailed = true;
      return 'NEED_MORE';
    }
    const peer: Identity = { idType: idi.idType, data: idi.data };
    sa.remoteId = formatIdentity(peer);
    const want = idr ? formatIdentity({ idType: idr.idType, data: idr.data }) : '%any';
    sa.log.cfg(1, `looking for peer configs matching ${sa.local.address}[${want}]...${sa.remote.address}[${sa.remoteId}]`);
    if (!identityMatches(sa.config.remote.id || sa.remote.address, peer)) {
      sa.log.cfg(1, 'no matching peer config found');
      this.authFailed = true;
      return 'NEED_MORE';
    }
    sa.log.cfg(1, `selected peer config '${sa.name}'`);
    sa.localId = formatIdentity(this.myId());
    const psk = this.psk();
    if (!psk || auth.method !== AuthMethod.SHARED_KEY_MIC) {
      this.authFailed = true;
      return 'NEED_MORE';
    }
    if (!this.verify(psk, peer, true, auth.data)) {
      sa.log.ike(1, `tried 1 shared key for '${sa.localId}' - '${sa.remoteId}', but MAC mismatched`);
      this.authFailed = true;
      return 'NEED_MORE';
    }
    sa.log.ike(1, `authentication of '${sa.remoteId}' with pre-shared key successful`);
    // RFC 7296 2.4: INITIAL_CONTACT says the peer lost all state; its older IKE_SAs with us are stale.
    sa.initialContact = findAll<NotifyPayload>(msg, PayloadType.NOTIFY).some((n) => n.notifyType === Notify.INITIAL_CONTACT);
    return 'NEED_MORE';
  }

  private processI(msg: InMessage): TaskStatus {
    const sa = this.sa;
    for (const n of findAll<NotifyPayload>(msg, PayloadType.NOTIFY)) {
      if (n.notifyType <= NOTIFY_ERROR_MAX && !CHILD_ERRORS.has(n.notifyType)) {
        sa.log.ike(1, `received ${notifyLongName(n.notifyType)} notify error`);
        return 'FAILED';
      }
    }
    const idr = find<IdPayload>(msg, PayloadType.IDr);
    const auth = find<AuthPayload>(msg, PayloadType.AUTH);
    if (!idr || !auth) {
      sa.log.ike(1, 'IDr or AUTH payload missing');
      return 'FAILED';
    }
    const peer: Identity = { idType: idr.idType, data: idr.data };
    if (!identityMatches(sa.config.remote.id || sa.remote.address, peer)) {
      sa.log.ike(1, `IDr '${formatIdentity(peer)}' does not match configured '${sa.config.remote.id}'`);
      return 'FAILED';
    }
    sa.remoteId = formatIdentity(peer);
    const psk = this.psk();
    if (!psk) return 'FAILED';
    if (auth.method !== AuthMethod.SHARED_KEY_MIC || !this.verify(psk, peer, false, auth.data)) {
      sa.log.ike(1, `tried 1 shared key for '${sa.localId}' - '${sa.remoteId}', but MAC mismatched`);
      return 'FAILED';
    }
    sa.log.ike(1, `authentication of '${sa.remoteId}' with pre-shared key successful`);
    return 'SUCCESS';
  }
}
