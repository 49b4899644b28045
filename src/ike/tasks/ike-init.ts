// IKE_SA_INIT (RFC 7296 1.2, 2.6, 2.7, 2.10, 2.14): SA, KE and Nonce; proposal selection, the DH exchange and
// SKEYSEED. Also the INVALID_KE_PAYLOAD dance (1.2, 2.7): as initiator retry with the requested group, as
// responder ask for our preferred group.
import { generateDh, dhSupported, type DhKeyPair } from '../../crypto/dh.js';
import { CryptoError } from '../../crypto/errors.js';
import { randomInt } from '../../crypto/random.js';
import { deriveIkeKeys, isAead, type IkeSuite } from '../../crypto/keys.js';
import { DhGroup, ExchangeType, Notify, NOTIFY_ERROR_MAX, PayloadType, ProtocolId, TransformType } from '../../wire/constants.js';
import { notifyLongName, proposalToString } from '../../wire/names.js';
import type { KePayload, NoncePayload, NotifyPayload, Proposal, SaPayload } from '../../wire/types.js';
import type { IkeSa } from '../ike-sa.js';
import { firstDhGroup, hasDhGroup, selectProposal, transformOf } from '../proposal-select.js';
import { find, findAll, type InMessage, type OutMessage, type Task, type TaskOutcome, type TaskResult, type TaskStatus } from '../task.js';
import { dhName, invalidKe, notify } from '../notifies.js';

export const NONCE_SIZE = 32; // charon's nonce length

/** charon's delay before a failed IKE_SA or CHILD_SA rekey is tried again: RETRY_INTERVAL - random(RETRY_JITTER) s. */
export function rekeyRetrySeconds(sa: IkeSa): number {
  return 15 - randomInt(sa.svc.random, 10);
}

export function suiteOf(p: Proposal): IkeSuite {
  const encr = transformOf(p, TransformType.ENCR)!;
  const integ = transformOf(p, TransformType.INTEG);
  return {
    encr: encr.id,
    encrKeyBits: encr.keyLength,
    integ: isAead(encr.id) ? undefined : integ?.id,
    prf: transformOf(p, TransformType.PRF)!.id,
    dh: transformOf(p, TransformType.DH)?.id ?? 0,
  };
}

export class IkeInit implements Task {
  readonly type = 'IKE_INIT' as const;
  private dh?: DhKeyPair;
  private group = 0;
  private selected?: Proposal;
  private peerKe?: KePayload;
  private failure?: { notify: number; data?: Buffer };
  private cookie?: Buffer;

  constructor(
    private readonly sa: IkeSa,
    readonly initiator: boolean,
  ) {}

  build(out: OutMessage): TaskStatus {
    if (out.exchange !== ExchangeType.IKE_SA_INIT) return 'NEED_MORE';
    return this.initiator ? this.buildI(out) : this.buildR(out);
  }

  process(msg: InMessage): TaskOutcome {
    if (msg.exchange !== ExchangeType.IKE_SA_INIT) return 'NEED_MORE';
    return this.initiator ? this.processI(msg) : this.processR(msg);
  }

  private buildI(out: OutMessage): TaskStatus {
    const sa = this.sa;
    sa.connecting();
    sa.log.event('IKE', 1, `initiating IKE_SA ${sa.label} to ${sa.remote.address}`, { event: 'ike.initiating', ...sa.eventRef });
    if (!this.group) this.group = firstDhGroup(sa.config.proposals);
    if (!dhSupported(this.group)) {
      this.failI(`DH group ${dhName(this.group)} not supported`);
      return 'FAILED';
    }
    // RFC 7296 2.6: a COOKIE retry repeats every other payload unchanged, KE included (charon keeps its key pair
    // too); only an INVALID_KE_PAYLOAD retry, for another group, needs a new one. A new key per retry broke SAs
    // for real: a late answer to the previous attempt (charon answers each copy of a retransmitted IKE_SA_INIT)
    // was then keyed with the newer private key, and every IKE_AUTH failed charon's integrity check.
    if (!this.dh || this.dh.group !== this.group) this.dh = generateDh(this.group);
    // RFC 7296 2.6: a retry with a COOKIE repeats the other payloads; the responder's cookie may cover Ni (ours
    // does), so keep the nonce of the first attempt, as charon does ("generate nonce only the first time").
    if (!sa.ni.length) sa.useNonces({ ni: sa.svc.random.bytes(NONCE_SIZE) });
    if (this.cookie) out.add(notify(Notify.COOKIE, this.cookie));
    // RFC 7296 2.7: the KE group must be one proposed; strongSwan moves the proposals containing it first.
    const proposals = [...sa.config.proposals].sort((a, b) => Number(hasDhGroup([b], this.group)) - Number(hasDhGroup([a], this.group)));
    out.add(
      { type: PayloadType.SA, proposals: proposals.map((p, i) => ({ ...p, num: i + 1, spi: Buffer.alloc(0) })) },
      { type: PayloadType.KE, group: this.group, data: this.dh.publicKey },
      { type: PayloadType.NONCE, data: sa.ni },
    );
    return 'NEED_MORE';
  }

  /**
   * A COOKIE other than ours while our retry with ours has not been retransmitted yet: an answer to a copy of an
   * earlier attempt. charon answers every copy of a retransmitted IKE_SA_INIT, each with a COOKIE of its own (its
   * cookies carry a time); acting on such a late one restarted the exchange, and the full answer to the retry
   * already on its way then met an initiator whose AUTH signs the newer request: AUTH failed. A responder that
   * really refuses our cookie answers our retransmit with a new one too, and that one is acted on.
   */
  staleResponse(msg: InMessage, retransmitted: number): boolean {
    if (!this.initiator || !this.cookie || retransmitted > 0) return false;
    const c = findAll<NotifyPayload>(msg, PayloadType.NOTIFY).find((n) => n.notifyType === Notify.COOKIE);
    if (!c || c.data.equals(this.cookie)) return false; // the same cookie again: processI ends the loop
    this.sa.log.ike(1, 'ignore response with a different COOKIE, our retry with the last one is still pending');
    return true;
  }

  private processI(msg: InMessage): TaskOutcome {
    const sa = this.sa;
    for (const n of findAll<NotifyPayload>(msg, PayloadType.NOTIFY)) {
      if (n.notifyType === Notify.INVALID_KE_PAYLOAD) {
        const want = n.data.length >= 2 ? n.data.readUInt16BE(0) : 0;
        sa.log.ike(1, `peer didn't accept DH group ${dhName(this.group)}, it requested ${dhName(want)}`);
        if (want === this.group || !hasDhGroup(sa.config.proposals, want) || !dhSupported(want)) {
          this.failI(`requested DH group ${dhName(want)} not contained in our proposals`, n.notifyType);
          return 'FAILED';
        }
        return this.retry(() => (this.group = want));
      }
      if (n.notifyType === Notify.COOKIE) {
        if (this.cookie?.equals(n.data)) {
          // charon: a responder that keeps rejecting our cookie must not keep us in a loop
          this.failI('ignore response with duplicate COOKIE notify');
          return 'FAILED';
        }
        sa.log.ike(2, 'received COOKIE, retrying with it');
        return this.retry(() => (this.cookie = n.data));
      }
      if (n.notifyType <= NOTIFY_ERROR_MAX) {
        this.failI(`received ${notifyLongName(n.notifyType)} notify error`, n.notifyType);
        return 'FAILED';
      }
    }
    // The message rules make SA, KE and Nonce optional once a response carries a notify (an error-only answer), so
    // an answer with status notifies but no SA still reaches this point.
    const saP = find<SaPayload>(msg, PayloadType.SA);
    const ke = find<KePayload>(msg, PayloadType.KE);
    const nonce = find<NoncePayload>(msg, PayloadType.NONCE);
    if (!saP || !ke || !nonce || saP.proposals.length !== 1) {
      this.failI('IKE_SA_INIT response is missing SA, KE or Nonce payloads');
      return 'FAILED';
    }
    // The response must pick one of the proposals we offered (RFC 7296 3.3.6).
    const chosen = selectProposal(sa.config.proposals, saP.proposals);
    if (!chosen) {
      sa.log.cfg(1, () => `received proposals: ${proposalToString(saP.proposals[0]!)}`);
      this.failI('peer chose a proposal we did not offer');
      return 'FAILED';
    }
    sa.log.cfg(1, () => `selected proposal: ${proposalToString(chosen)}`);
    if (ke.group !== this.group || transformOf(chosen, TransformType.DH)?.id !== this.group) {
      this.failI(`DH group ${dhName(ke.group)} in response does not match ${dhName(this.group)}`);
      return 'FAILED';
    }
    sa.useNonces({ nr: nonce.data });
    return this.derive(chosen, ke.data) ? 'SUCCESS' : 'FAILED';
  }

  /** IKE_SA_INIT once more with `change` applied: the manager restarts the exchange (message ID 0, same tasks). */
  private retry(change: () => void): TaskResult {
    change();
    this.sa.initRestarted();
    return { status: 'NEED_MORE', restartInit: true };
  }

  private processR(msg: InMessage): TaskStatus {
    const sa = this.sa;
    sa.log.ike(1, `${sa.remote.address} is initiating an IKE_SA`);
    // Present exactly once each: the IKE_SA_INIT request rule (src/wire/rules.ts, SA/KE/Nonce min 1).
    const saP = find<SaPayload>(msg, PayloadType.SA)!;
    this.peerKe = find<KePayload>(msg, PayloadType.KE)!;
    const nonce = find<NoncePayload>(msg, PayloadType.NONCE)!;
    sa.useNonces({ ni: nonce.data });
    const received = saP.proposals.filter((p) => p.protocol === ProtocolId.IKE);
    this.selected = selectProposal(sa.config.proposals, received);
    const selected = this.selected;
    if (selected) {
      sa.log.cfg(1, () => `selected proposal: ${proposalToString(selected)}`);
    } else {
      sa.log.cfg(1, () => `received proposals: ${received.map(proposalToString).join(', ')}`);
      sa.log.cfg(1, () => `configured proposals: ${sa.config.proposals.map(proposalToString).join(', ')}`);
      this.failure = { notify: Notify.NO_PROPOSAL_CHOSEN };
    }
    return 'NEED_MORE';
  }

  private buildR(out: OutMessage): TaskStatus {
    const sa = this.sa;
    if (this.failure) {
      sa.setupFailed('IKE', 1, 'received proposals unacceptable', {
        reason: 'received proposals unacceptable',
        notify: notifyLongName(this.failure.notify),
        direction: 'out',
      });
      out.fail(this.failure.notify, this.failure.data);
      return 'FAILED';
    }
    const chosen = this.selected!;
    const group = transformOf(chosen, TransformType.DH)?.id ?? DhGroup.NONE;
    if (this.peerKe!.group !== group) {
      sa.log.ike(1, `DH group ${dhName(this.peerKe!.group)} unacceptable, requesting ${dhName(group)}`);
      out.fail(Notify.INVALID_KE_PAYLOAD, invalidKe(group).data);
      return 'FAILED';
    }
    this.group = group;
    this.dh = generateDh(group);
    sa.useNonces({ nr: sa.svc.random.bytes(NONCE_SIZE) });
    sa.assignResponderSpi(sa.svc.random.bytes(8));
    if (!this.derive(chosen, this.peerKe!.data)) {
      out.fail(Notify.INVALID_SYNTAX);
      return 'FAILED';
    }
    sa.svc.registerSa(sa);
    sa.connecting();
    out.add(
      { type: PayloadType.SA, proposals: [chosen] },
      { type: PayloadType.KE, group, data: this.dh.publicKey },
      { type: PayloadType.NONCE, data: sa.nr },
    );
    return 'SUCCESS';
  }

  /** g^ir, SKEYSEED and the seven keys (RFC 7296 2.14). */
  private derive(chosen: Proposal, peerPublic: Buffer): boolean {
    const sa = this.sa;
    try {
      const gir = this.dh!.computeSecret(peerPublic);
      const suite = suiteOf(chosen);
      sa.setKeys(suite, chosen, deriveIkeKeys(suite, gir, sa.ni, sa.nr, sa.spiI, sa.spiR));
      return true;
    } catch (e) {
      const line = `applying DH public value failed: ${e instanceof CryptoError ? e.message : String(e)}`;
      // as responder the caller refuses with INVALID_SYNTAX
      sa.setupFailed('IKE', 1, line, this.initiator ? { reason: line } : { reason: line, notify: 'INVALID_SYNTAX', direction: 'out' });
      return false;
    }
  }

  /** Our IKE_SA_INIT failed as initiator: ike.failed on the line that says why; notify: the peer refused with it. */
  private failI(line: string, refusedWith?: number): void {
    this.sa.setupFailed(
      'IKE',
      1,
      line,
      refusedWith === undefined ? { reason: line } : { reason: line, notify: notifyLongName(refusedWith), direction: 'in' },
    );
  }
}
