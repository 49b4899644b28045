// Rekeying a CHILD_SA (RFC 7296 1.3.3, 2.8): CREATE_CHILD_SA with N(REKEY_SA) naming the old SA, new SPIs,
// a fresh Nonce, and a KE when the ESP proposal has a DH group (PFS). Once the new SA is installed the
// initiator deletes the old one. A refused rekey (NO_PROPOSAL_CHOSEN, e.g. a PFS group mismatch) keeps the old
// CHILD_SA and the IKE_SA and retries later, exactly like charon.
// A one-off DH override (`ikelab rekey --child NAME --dh none|GROUP`) replaces the configured DH choice for this
// exchange only (and its INVALID_KE retry): 0 = no KE and ESP proposals without DH, else only that group.
// Collision (RFC 7296 2.8.1): when the peer rekeys the same CHILD_SA while our rekey is in flight, its task answers
// without retiring the old SA, and the manager hands it to ours (collide); when our response arrives, the exchange
// with the lowest of the four nonces made the redundant CHILD_SA, and its initiator deletes that one.
import { formatTsList } from '../../config/ts.js';
import { generateDh, type DhKeyPair } from '../../crypto/dh.js';
import { ExchangeType, Notify, PayloadType, ProtocolId, TransformType } from '../../wire/constants.js';
import { notifyLongName, proposalToString } from '../../wire/names.js';
import type { KePayload, NoncePayload, NotifyPayload, Proposal, SaPayload, TsPayload } from '../../wire/types.js';
import { spiHex, type ChildSa } from '../child-sa.js';
import { childRekeyed, installChild, keyChild, lowerOf, newChild } from '../child-setup.js';
import type { IkeSa } from '../ike-sa.js';
import { firstDhGroup, hasDhGroup, selectProposal, transformOf } from '../proposal-select.js';
import { isSubset, narrow } from '../ts-narrow.js';
import { find, findAll, type InMessage, type OutMessage, type Task, type TaskOutcome, type TaskStatus } from '../task.js';
import { ChildDelete } from './child-delete.js';
import { NONCE_SIZE, rekeyRetrySeconds } from './ike-init.js';
import { dhName, habitChildNotifies, invalidKe, logChildNotifies, notify, peerSecret, responseErrors } from '../notifies.js';

/** The config a rekey of `old` negotiates and creates its successor with (ChildSa.rekeyConfig, else its own). */
const nextConfig = (old: ChildSa) => old.rekeyConfig ?? old.config;

export class ChildRekey implements Task {
  readonly type = 'CHILD_REKEY' as const;
  readonly exchange = ExchangeType.CREATE_CHILD_SA;
  private fresh?: ChildSa;
  private dh?: DhKeyPair;
  private myNonce: Buffer = Buffer.alloc(0);
  private request?: InMessage;
  /** DH group to use instead of the configured first one (after INVALID_KE_PAYLOAD). */
  private group?: number;
  /** The peer's rekey of the same CHILD_SA that crossed ours (collide): it made `fresh` as responder. */
  private collision?: ChildRekey;
  /** The peer deleted the CHILD_SA we are rekeying while our request was in flight (collide; RFC 7296 2.25.1). */
  private deletedByPeer = false;

  /**
   * old: the CHILD_SA we rekey (initiator); responder finds it from N(REKEY_SA). dhOverride (initiator): the DH
   * group for this rekey only instead of the configured one, 0 = none (no PFS).
   */
  constructor(
    private readonly sa: IkeSa,
    readonly initiator: boolean,
    private old?: ChildSa,
    private readonly dhOverride?: number,
  ) {}

  /** The ESP proposals we offer: the configured ones, or with their DH transforms replaced by the override. */
  private offered(): Proposal[] {
    const configured = nextConfig(this.old!).espProposals;
    const group = this.dhOverride;
    if (group === undefined) return configured;
    const seen = new Set<string>();
    const out: Proposal[] = [];
    for (const p of configured) {
      const transforms = p.transforms.filter((t) => t.type !== TransformType.DH);
      const esn = transforms.findIndex((t) => t.type === TransformType.ESN);
      if (group) transforms.splice(esn < 0 ? transforms.length : esn, 0, { type: TransformType.DH, id: group });
      const q = { ...p, transforms };
      const key = proposalToString(q);
      if (!seen.has(key)) {
        seen.add(key);
        out.push(q);
      }
    }
    return out;
  }

  build(out: OutMessage): TaskStatus {
    return this.initiator ? this.buildI(out) : this.buildR(out);
  }

  process(msg: InMessage): TaskOutcome {
    if (find<SaPayload>(msg, PayloadType.SA)) logChildNotifies(this.sa, findAll<NotifyPayload>(msg, PayloadType.NOTIFY));
    if (!this.initiator) {
      this.request = msg;
      return 'NEED_MORE';
    }
    return this.processI(msg);
  }

  private buildI(out: OutMessage): TaskStatus {
    const sa = this.sa;
    const old = this.old!;
    if (!sa.children.includes(old) || old.state !== 'INSTALLED') return 'SUCCESS';
    old.rekeying();
    const child = (this.fresh = newChild(sa, nextConfig(old)));
    if (this.dhOverride !== undefined)
      sa.log.cfg(1, `CHILD_SA ${old.label} rekey with DH override: ${this.dhOverride ? dhName(this.dhOverride) : 'none'}`);
    sa.log.ike(1, `establishing CHILD_SA ${child.label} reqid ${old.reqid}`);
    out.add(notify(Notify.REKEY_SA, Buffer.alloc(0), ProtocolId.ESP, old.spiIn));
    const offered = this.offered();
    out.add({ type: PayloadType.SA, proposals: offered.map((p, i) => ({ ...p, num: i + 1, spi: child.spiIn })) });
    // a fault rule's chosen nonce (collide: decides the collision it makes), else a random one
    this.myNonce = sa.takeRekeyNonce('initiator') ?? sa.svc.random.bytes(NONCE_SIZE);
    out.add({ type: PayloadType.NONCE, data: this.myNonce });
    const group = this.group ?? firstDhGroup(offered);
    if (group) {
      this.dh = generateDh(group);
      out.add({ type: PayloadType.KE, group, data: this.dh.publicKey });
    }
    out.add({ type: PayloadType.TSi, selectors: old.localTs }, { type: PayloadType.TSr, selectors: old.remoteTs });
    out.add(...habitChildNotifies(sa));
    return 'NEED_MORE';
  }

  /**
   * charon's collide(), for a task of the peer answered while our request is in flight: its delete of the CHILD_SA
   * we are rekeying, or its rekey of it (only one that got as far as a new CHILD_SA counts). Both are acted on when
   * our response arrives.
   */
  collide(other: Task): boolean {
    const old = this.old;
    if (!this.initiator || !old || other.initiator) return false;
    if (other instanceof ChildDelete && other.deletes(old)) {
      this.deletedByPeer = true;
      return true;
    }
    if (!(other instanceof ChildRekey) || other.old !== old || !other.fresh || other.fresh.state !== 'INSTALLED') return false;
    this.collision = other;
    return true;
  }

  /**
   * The rekey failed: the old CHILD_SA stays, and its rekey is tried again in 10..15 s (charon); child.rekey-failed
   * on charon's "trying again" line. notify: what the peer refused with.
   */
  private failed(refusedWith?: number): TaskOutcome {
    const sa = this.sa;
    sa.log.ike(1, 'failed to establish CHILD_SA, keeping IKE_SA');
    const old = this.old!;
    if (!sa.children.includes(old)) return 'SUCCESS';
    old.rekeyAborted();
    const retry = rekeyRetrySeconds(sa);
    sa.log.event('IKE', 1, `CHILD_SA rekeying failed, trying again in ${retry} seconds`, {
      event: 'child.rekey-failed',
      child: old.name,
      childId: old.uniqueId,
      spiIn: spiHex(old.spiIn),
      spiOut: spiHex(old.spiOut),
      ...(refusedWith === undefined ? {} : { notify: notifyLongName(refusedWith) }),
      retryIn: retry,
    });
    return { status: 'SUCCESS', retry: { afterMs: retry * 1000, exchange: { kind: 'CHILD_REKEY', child: old } } };
  }

  private processI(msg: InMessage): TaskOutcome {
    const sa = this.sa;
    const old = this.old!;
    const errors = responseErrors(
      findAll<NotifyPayload>(msg, PayloadType.NOTIFY),
      (g) => this.group === undefined && hasDhGroup(this.offered(), g),
    );
    if (errors && 'retryGroup' in errors) {
      const want = errors.retryGroup;
      sa.log.ike(1, `peer didn't accept DH group ${dhName(this.dh?.group ?? 0)}, it requested ${dhName(want)}`);
      // Retry once with the requested group (RFC 7296 1.3): a fresh task with the same old SA.
      const again = new ChildRekey(sa, true, old, this.dhOverride);
      again.group = want;
      old.rekeyAborted();
      return { status: 'SUCCESS', followUps: [again] };
    }
    if (errors) {
      sa.log.ike(1, `received ${notifyLongName(errors.error)} notify, no CHILD_SA built`);
      return this.failed(errors.error);
    }
    // The response rules waive SA and Nonce once a notify is present, and TS are optional: all checked here.
    const saP = find<SaPayload>(msg, PayloadType.SA);
    const nonce = find<NoncePayload>(msg, PayloadType.NONCE);
    const tsi = find<TsPayload>(msg, PayloadType.TSi);
    const tsr = find<TsPayload>(msg, PayloadType.TSr);
    if (!saP || !nonce || !tsi || !tsr || saP.proposals.length !== 1) return this.failed();
    const chosen = selectProposal(this.offered(), saP.proposals, { ipsecBackend: sa.svc.config().daemon.ipsecBackend });
    if (chosen?.spi.length !== 4) {
      sa.log.ike(1, 'peer chose a proposal we did not offer');
      return this.failed();
    }
    sa.log.cfg(1, `selected proposal: ${proposalToString(chosen)}`);
    if (!isSubset(tsi.selectors, old.localTs) || !isSubset(tsr.selectors, old.remoteTs)) return this.failed();
    let gir: Buffer | undefined;
    const group = transformOf(chosen, TransformType.DH)?.id ?? 0;
    if (group) {
      const ke = find<KePayload>(msg, PayloadType.KE);
      if (!this.dh || !ke || ke.group !== group || this.dh.group !== group) return this.failed();
      gir = peerSecret(sa, this.dh, ke.data);
      if (!gir) return this.failed();
    }
    const child = this.fresh!;
    child.negotiated(chosen.spi, tsi.selectors, tsr.selectors);
    keyChild(sa, child, chosen, this.myNonce, nonce.data, true, gir);
    child.createdByRekey(lowerOf(this.myNonce, nonce.data));
    installChild(sa, child, { old, outboundNow: true });
    if (this.deletedByPeer || !sa.children.includes(old)) {
      // RFC 7296 2.25.1: the peer deleted the SA while our rekey was in flight; its replacement goes too.
      sa.log.ike(1, `closing CHILD_SA ${child.label} we tried to rekey because the peer deleted ${old.label}`);
      return { status: 'SUCCESS', followUps: [new ChildDelete(sa, true, [child])] };
    }
    const passive = this.collision?.fresh;
    if (passive && sa.children.includes(passive) && Buffer.compare(child.lowerNonce!, passive.lowerNonce!) < 0) {
      // We lost: our new SA is the redundant one. The peer deletes the old SA, which moves outbound to its SA.
      childRekeyed(sa, old, passive, 'lose');
      sa.log.ike(1, `CHILD_SA rekey collision lost, deleting redundant child ${child.label}`);
      return { status: 'SUCCESS', followUps: [new ChildDelete(sa, true, [child])] };
    }
    childRekeyed(sa, old, child, passive ? 'win' : undefined);
    if (passive) sa.log.ike(1, `CHILD_SA rekey collision won, deleting old child ${old.label}`);
    return { status: 'SUCCESS', followUps: [new ChildDelete(sa, true, [old])] };
  }

  private buildR(out: OutMessage): TaskStatus {
    const sa = this.sa;
    const msg = this.request!;
    const rekey = findAll<NotifyPayload>(msg, PayloadType.NOTIFY).find((n) => n.notifyType === Notify.REKEY_SA);
    const old = rekey ? sa.findChild((c) => c.spiOut.equals(rekey.spi)) : undefined;
    const fail = (t: number, data?: Buffer): TaskStatus => {
      out.add(notify(t, data));
      // child.failed where charon reports a failed CHILD_SA; the other refusals are about the state of the old one
      if (t === Notify.NO_PROPOSAL_CHOSEN || t === Notify.TS_UNACCEPTABLE)
        sa.log.event('IKE', 1, 'failed to establish CHILD_SA, keeping IKE_SA', {
          event: 'child.failed',
          ...(old ? { child: old.name, oldChildId: old.uniqueId } : {}),
          notify: notifyLongName(t),
          direction: 'out',
          reason: 'rekey refused',
        });
      return 'SUCCESS';
    };
    if (!old) {
      sa.log.ike(1, `unable to rekey, ESP CHILD_SA with SPI ${rekey ? spiHex(rekey.spi) : '?'} not found`);
      return fail(Notify.CHILD_SA_NOT_FOUND);
    }
    if (old.state === 'DELETING' || old.state === 'REKEYED' || old.successor) {
      sa.log.ike(1, `unable to rekey CHILD_SA ${old.label}, we are deleting it`);
      return fail(Notify.TEMPORARY_FAILURE);
    }
    this.old = old;
    const collision = old.state === 'REKEYING';
    if (collision) sa.log.ike(1, `detected rekey collision for CHILD_SA ${old.label}`);
    // SA and Nonce once each: the CREATE_CHILD_SA request rule (src/wire/rules.ts); TS are optional there.
    const saP = find<SaPayload>(msg, PayloadType.SA)!;
    const nonce = find<NoncePayload>(msg, PayloadType.NONCE)!;
    const tsi = find<TsPayload>(msg, PayloadType.TSi);
    const tsr = find<TsPayload>(msg, PayloadType.TSr);
    if (!tsi || !tsr) return fail(Notify.INVALID_SYNTAX);
    const received = saP.proposals.filter((p) => p.protocol === ProtocolId.ESP && p.spi.length === 4);
    const chosen = selectProposal(nextConfig(old).espProposals, received, { ipsecBackend: sa.svc.config().daemon.ipsecBackend });
    if (!chosen) {
      sa.log.cfg(1, `received proposals: ${received.map(proposalToString).join(', ')}`);
      sa.log.cfg(1, `configured proposals: ${nextConfig(old).espProposals.map(proposalToString).join(', ')}`);
      sa.log.ike(1, 'no acceptable proposal found');
      return fail(Notify.NO_PROPOSAL_CHOSEN);
    }
    const localTs = narrow(tsr.selectors, old.localTs);
    const remoteTs = narrow(tsi.selectors, old.remoteTs);
    if (!localTs.length || !remoteTs.length) {
      sa.log.ike(1, `traffic selectors ${formatTsList(tsr.selectors)} === ${formatTsList(tsi.selectors)} unacceptable`);
      return fail(Notify.TS_UNACCEPTABLE);
    }
    const group = transformOf(chosen, TransformType.DH)?.id ?? 0;
    const theirKe = find<KePayload>(msg, PayloadType.KE);
    if (group && (!theirKe || theirKe.group !== group)) {
      sa.log.ike(1, `DH group ${dhName(theirKe?.group ?? 0)} unacceptable, requesting ${dhName(group)}`);
      out.add(invalidKe(group));
      return 'SUCCESS';
    }
    sa.log.cfg(1, `selected proposal: ${proposalToString(chosen)}`);
    let gir: Buffer | undefined;
    if (group) {
      this.dh = generateDh(group);
      gir = peerSecret(sa, this.dh, theirKe!.data);
      if (!gir) return fail(Notify.INVALID_SYNTAX);
    }
    const child = (this.fresh = newChild(sa, nextConfig(old)));
    child.negotiated(chosen.spi, localTs, remoteTs);
    this.myNonce = sa.takeRekeyNonce('responder') ?? sa.svc.random.bytes(NONCE_SIZE);
    keyChild(sa, child, chosen, nonce.data, this.myNonce, false, gir);
    child.createdByRekey(lowerOf(nonce.data, this.myNonce));
    installChild(sa, child, { old, outboundNow: false });
    // In a collision the old SA stays as it is: the manager hands this task to our own rekey of it (collide),
    // which decides when its response arrives.
    if (!collision) childRekeyed(sa, old, child);
    out.add({ type: PayloadType.SA, proposals: [{ ...chosen, spi: child.spiIn }] }, { type: PayloadType.NONCE, data: this.myNonce });
    if (this.dh) out.add({ type: PayloadType.KE, group, data: this.dh.publicKey });
    out.add({ type: PayloadType.TSi, selectors: remoteTs }, { type: PayloadType.TSr, selectors: localTs });
    out.add(...habitChildNotifies(sa));
    return 'SUCCESS';
  }
}
