// Rekeying the IKE_SA (RFC 7296 1.3.2, 2.18): CREATE_CHILD_SA with an IKE proposal carrying the new SPI, Nonce
// and KE; SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr). The CHILD_SAs move to the new IKE_SA and the
// rekey initiator deletes the old one. The new IKE_SA's initiator is whoever initiated the rekey.
// Collision (RFC 7296 2.8.2): when the peer rekeys the IKE_SA while our rekey is in flight, its task makes its new
// IKE_SA but leaves the CHILD_SAs where they are, and the manager hands it to ours (collide); when our response
// arrives, the exchange with the lowest nonce made the redundant IKE_SA, which its initiator deletes.
import { generateDh, type DhKeyPair } from '../../crypto/dh.js';
import { deriveRekeyedIkeKeys } from '../../crypto/keys.js';
import { ExchangeType, Notify, PayloadType, ProtocolId, TransformType } from '../../wire/constants.js';
import { notifyLongName, proposalToString } from '../../wire/names.js';
import type { KePayload, NoncePayload, NotifyPayload, Proposal, SaPayload } from '../../wire/types.js';
import type { IkeSa } from '../ike-sa.js';
import { hasDhGroup, firstDhGroup, selectProposal, transformOf } from '../proposal-select.js';
import { find, findAll, type InMessage, type OutMessage, type Task, type TaskOutcome, type TaskStatus } from '../task.js';
import { IkeDelete } from './ike-delete.js';
import { NONCE_SIZE, rekeyRetrySeconds, suiteOf } from './ike-init.js';
import { lowerOf } from '../child-setup.js';
import { dhName, invalidKe, notify, peerSecret, responseErrors } from '../notifies.js';

export class IkeRekey implements Task {
  readonly type = 'IKE_REKEY' as const;
  readonly exchange = ExchangeType.CREATE_CHILD_SA;
  private fresh?: IkeSa;
  private dh?: DhKeyPair;
  private myNonce: Buffer = Buffer.alloc(0);
  private request?: InMessage;
  /** Responder: the lower nonce of this exchange (collision rule). */
  private lowerNonce?: Buffer;
  /** The peer's rekey of this IKE_SA that crossed ours (collide): it made its new IKE_SA as responder. */
  private collision?: { sa: IkeSa; lowerNonce: Buffer };
  group?: number;

  constructor(
    private readonly sa: IkeSa,
    readonly initiator: boolean,
  ) {}

  build(out: OutMessage): TaskStatus {
    return this.initiator ? this.buildI(out) : this.buildR(out);
  }

  process(msg: InMessage): TaskOutcome {
    if (!this.initiator) {
      this.request = msg;
      return 'NEED_MORE';
    }
    return this.processI(msg);
  }

  private buildI(out: OutMessage): TaskStatus {
    const old = this.sa;
    if (old.state !== 'ESTABLISHED') return 'SUCCESS';
    old.rekeying();
    const fresh = (this.fresh = old.successor(true, old.svc.random.bytes(8)));
    old.log.ike(1, `initiating IKE_SA ${fresh.label} to ${old.remote.address}`);
    const group = this.group ?? firstDhGroup(old.config.proposals);
    this.dh = generateDh(group);
    this.myNonce = old.svc.random.bytes(NONCE_SIZE);
    const proposals = [...old.config.proposals].sort((a, b) => Number(hasDhGroup([b], group)) - Number(hasDhGroup([a], group)));
    out.add(
      { type: PayloadType.SA, proposals: proposals.map((p, i) => ({ ...p, num: i + 1, spi: fresh.spiI })) },
      { type: PayloadType.NONCE, data: this.myNonce },
      { type: PayloadType.KE, group, data: this.dh.publicKey },
    );
    return 'NEED_MORE';
  }

  /**
   * charon's collide(): the peer's rekey of this IKE_SA, answered while our request is in flight. Only one that
   * made its new IKE_SA counts; which of the two new IKE_SAs survives is decided when our response arrives.
   */
  collide(other: Task): boolean {
    if (!this.initiator || !(other instanceof IkeRekey) || other.initiator || !other.fresh || !other.lowerNonce) return false;
    this.collision = { sa: other.fresh, lowerNonce: other.lowerNonce };
    return true;
  }

  /** The rekey failed: the IKE_SA stays, and its rekey is tried again in 10..15 s (charon). */
  private retryLater(): TaskOutcome {
    const old = this.sa;
    old.rekeyAborted();
    const retry = rekeyRetrySeconds(old);
    old.log.ike(1, `IKE_SA rekeying failed, trying again in ${retry} seconds`);
    return { status: 'SUCCESS', retry: { afterMs: retry * 1000, exchange: { kind: 'IKE_REKEY' } } };
  }

  private processI(msg: InMessage): TaskOutcome {
    const old = this.sa;
    const errors = responseErrors(
      findAll<NotifyPayload>(msg, PayloadType.NOTIFY),
      (g) => this.group === undefined && hasDhGroup(old.config.proposals, g),
    );
    if (errors && 'retryGroup' in errors) {
      const want = errors.retryGroup;
      old.log.ike(1, `peer didn't accept DH group ${dhName(this.dh!.group)}, it requested ${dhName(want)}`);
      old.rekeyAborted();
      const again = new IkeRekey(old, true);
      again.group = want;
      return { status: 'SUCCESS', followUps: [again] };
    }
    if (errors) {
      old.log.ike(1, `received ${notifyLongName(errors.error)} notify error`);
      return this.retryLater();
    }
    const saP = find<SaPayload>(msg, PayloadType.SA);
    const nonce = find<NoncePayload>(msg, PayloadType.NONCE);
    const ke = find<KePayload>(msg, PayloadType.KE);
    const chosen = saP && saP.proposals.length === 1 ? selectProposal(old.config.proposals, saP.proposals) : undefined;
    if (chosen?.spi.length !== 8 || !nonce || !ke || ke.group !== this.dh!.group) {
      old.log.ike(1, 'invalid IKE_SA rekey response');
      return this.retryLater();
    }
    old.log.cfg(1, `selected proposal: ${proposalToString(chosen)}`);
    const fresh = this.fresh!;
    fresh.assignResponderSpi(chosen.spi);
    const passive = this.collision;
    const mine = lowerOf(this.myNonce, nonce.data);
    const lost = passive !== undefined && passive.sa.state === 'ESTABLISHED' && Buffer.compare(mine, passive.lowerNonce) < 0;
    const gir = peerSecret(old, this.dh!, ke.data);
    if (!gir) return this.retryLater();
    this.finish(fresh, chosen, gir, this.myNonce, nonce.data, !lost);
    if (lost) {
      // Our new IKE_SA is redundant: delete it; the CHILD_SAs live on in the peer's; the peer deletes the old one.
      old.log.ike(1, `IKE_SA rekey collision lost, deleting redundant IKE_SA ${fresh.label}`);
      old.rekeyedBy(passive.sa);
      return { status: 'SUCCESS', handOver: { sa: fresh, tasks: [new IkeDelete(fresh, true)] } };
    }
    if (passive) old.log.ike(1, `IKE_SA rekey collision won, waiting for delete for redundant IKE_SA ${passive.sa.label}`);
    return { status: 'SUCCESS', followUps: [new IkeDelete(old, true)] };
  }

  /** Keys, state, timers and CHILD_SAs of the new IKE_SA; then charon's "rekeyed between" line. */
  private finish(fresh: IkeSa, chosen: Proposal, gir: Buffer, ni: Buffer, nr: Buffer, takeChildren = true): void {
    const old = this.sa;
    const suite = suiteOf(chosen);
    fresh.useNonces({ ni, nr });
    fresh.setKeys(suite, chosen, deriveRekeyedIkeKeys(suite, old.suite!.prf, old.keys!.skD, gir, ni, nr, fresh.spiI, fresh.spiR));
    fresh.inherit(old);
    old.svc.registerSa(fresh);
    fresh.established();
    // ike/ikeId name the new IKE_SA although the line is the old one's (charon logs it there)
    old.log.event('IKE', 0, `IKE_SA ${fresh.label} rekeyed between ${fresh.between}`, {
      event: 'ike.rekeyed',
      ike: fresh.name,
      ikeId: fresh.uniqueId,
      oldIkeId: old.uniqueId,
      ...fresh.eventRef,
    });
    if (takeChildren) old.rekeyedBy(fresh);
  }

  private buildR(out: OutMessage): TaskStatus {
    const old = this.sa;
    const msg = this.request!;
    const fail = (t: number, data: Buffer = Buffer.alloc(0)): TaskStatus => {
      out.add(notify(t, data));
      return 'SUCCESS';
    };
    old.log.ike(1, `${old.remote.address} is initiating an IKE_SA`);
    const collision = old.state === 'REKEYING';
    if (collision) old.log.ike(1, 'detected IKE_REKEY collision with IKE_REKEY');
    else if (old.state !== 'ESTABLISHED') return fail(Notify.TEMPORARY_FAILURE);
    // SA and Nonce once each: the CREATE_CHILD_SA request rule (src/wire/rules.ts); KE is optional there.
    const saP = find<SaPayload>(msg, PayloadType.SA)!;
    const nonce = find<NoncePayload>(msg, PayloadType.NONCE)!;
    const ke = find<KePayload>(msg, PayloadType.KE);
    if (!ke) return fail(Notify.INVALID_SYNTAX);
    const received = saP.proposals.filter((p) => p.protocol === ProtocolId.IKE && p.spi.length === 8);
    const chosen = selectProposal(old.config.proposals, received);
    if (!chosen) {
      old.log.cfg(1, `received proposals: ${received.map(proposalToString).join(', ')}`);
      old.log.cfg(1, `configured proposals: ${old.config.proposals.map(proposalToString).join(', ')}`);
      old.log.ike(1, 'received proposals unacceptable');
      return fail(Notify.NO_PROPOSAL_CHOSEN);
    }
    old.log.cfg(1, `selected proposal: ${proposalToString(chosen)}`);
    const group = transformOf(chosen, TransformType.DH)?.id ?? 0;
    if (ke.group !== group) {
      old.log.ike(1, `DH group ${dhName(ke.group)} unacceptable, requesting ${dhName(group)}`);
      return fail(Notify.INVALID_KE_PAYLOAD, invalidKe(group).data);
    }
    this.dh = generateDh(group);
    const gir = peerSecret(old, this.dh, ke.data);
    if (!gir) return fail(Notify.INVALID_SYNTAX);
    const fresh = (this.fresh = old.successor(false, chosen.spi));
    fresh.assignResponderSpi(old.svc.random.bytes(8));
    this.myNonce = old.svc.random.bytes(NONCE_SIZE);
    // In a collision the CHILD_SAs stay: the manager hands this task to our own rekey (collide), which decides
    // when its response arrives which new IKE_SA survives.
    this.lowerNonce = lowerOf(nonce.data, this.myNonce);
    this.finish(fresh, chosen, gir, nonce.data, this.myNonce, !collision);
    out.add(
      { type: PayloadType.SA, proposals: [{ ...chosen, spi: fresh.spiR }] },
      { type: PayloadType.NONCE, data: this.myNonce },
      { type: PayloadType.KE, group, data: this.dh.publicKey },
    );
    return 'SUCCESS';
  }
}
