// Creating a CHILD_SA (RFC 7296 1.3, 2.9, 2.17): piggybacked on IKE_AUTH, or its own CREATE_CHILD_SA exchange
// (with Nonce and, for PFS, KE). Failures that concern only the CHILD_SA (NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE)
// keep the IKE_SA, exactly as charon: "failed to establish CHILD_SA, keeping IKE_SA".
import type { ChildConfig } from '../../config/types.js';
import { formatTsList } from '../../config/ts.js';
import { generateDh, type DhKeyPair } from '../../crypto/dh.js';
import { ExchangeType, Notify, PayloadType, ProtocolId } from '../../wire/constants.js';
import { notifyLongName, proposalToString } from '../../wire/names.js';
import type { KePayload, NoncePayload, NotifyPayload, Proposal, SaPayload, TsPayload } from '../../wire/types.js';
import type { ChildSa } from '../child-sa.js';
import { installChild, keyChild, newChild, resolveTs } from '../child-setup.js';
import type { IkeSa } from '../ike-sa.js';
import { firstDhGroup, hasDhGroup, selectProposal, transformOf, withoutDh } from '../proposal-select.js';
import { isSubset, narrow } from '../ts-narrow.js';
import { find, findAll, type InMessage, type OutMessage, type Task, type TaskOutcome, type TaskStatus } from '../task.js';
import { NONCE_SIZE } from './ike-init.js';
import { TransformType } from '../../wire/constants.js';
import { dhName, habitChildNotifies, invalidKe, logChildNotifies, notify, peerSecret, responseErrors } from '../notifies.js';

export class ChildCreate implements Task {
  readonly type = 'CHILD_CREATE' as const;
  readonly exchange = ExchangeType.CREATE_CHILD_SA;
  private child?: ChildSa;
  private request?: InMessage;
  private dh?: DhKeyPair;
  private myNonce: Buffer = Buffer.alloc(0);
  /** DH group requested by the peer with INVALID_KE_PAYLOAD. */
  group?: number;

  /** cfg: the child to create (initiator); undefined for a responder, which picks it from the TS. */
  constructor(
    private readonly sa: IkeSa,
    readonly initiator: boolean,
    private cfg?: ChildConfig,
  ) {}

  private proposals(exchange: number): Proposal[] {
    const ps = this.cfg!.espProposals;
    return exchange === ExchangeType.IKE_AUTH ? withoutDh(ps) : ps;
  }

  build(out: OutMessage): TaskStatus {
    if (out.exchange === ExchangeType.IKE_SA_INIT) return 'NEED_MORE';
    return this.initiator ? this.buildI(out) : this.buildR(out);
  }

  process(msg: InMessage): TaskOutcome {
    if (msg.exchange === ExchangeType.IKE_SA_INIT) return 'NEED_MORE';
    if (find<SaPayload>(msg, PayloadType.SA)) logChildNotifies(this.sa, findAll<NotifyPayload>(msg, PayloadType.NOTIFY));
    if (!this.initiator) {
      this.request = msg;
      return 'NEED_MORE';
    }
    return this.processI(msg);
  }

  private buildI(out: OutMessage): TaskStatus {
    const sa = this.sa;
    const cfg = this.cfg!;
    const child = (this.child = newChild(sa, cfg));
    child.installing();
    sa.log.ike(1, `establishing CHILD_SA ${child.label}`);
    const spi = child.spiIn;
    const proposals = this.proposals(out.exchange).map((p, i) => ({ ...p, num: i + 1, spi }));
    out.add({ type: PayloadType.SA, proposals });
    if (out.exchange === ExchangeType.CREATE_CHILD_SA) {
      this.myNonce = sa.svc.random.bytes(NONCE_SIZE);
      out.add({ type: PayloadType.NONCE, data: this.myNonce });
      const group = this.group ?? firstDhGroup(cfg.espProposals);
      if (group) {
        this.dh = generateDh(group);
        out.add({ type: PayloadType.KE, group, data: this.dh.publicKey });
      }
    }
    if (cfg.mode === 'transport') out.add(notify(Notify.USE_TRANSPORT_MODE));
    out.add(...habitChildNotifies(sa));
    out.add(
      { type: PayloadType.TSi, selectors: resolveTs(cfg.localTs, sa.local.address) },
      { type: PayloadType.TSr, selectors: resolveTs(cfg.remoteTs, sa.remote.address) },
    );
    return 'NEED_MORE';
  }

  /**
   * The CHILD_SA is not built, the IKE_SA stays: child.failed on charon's line. notify: what the peer answered with
   * (direction 'in') or what we refuse its request with ('out').
   */
  private failChild(why: { reason?: string; notify?: number; direction?: 'in' | 'out' } = {}): TaskStatus {
    const sa = this.sa;
    const child = this.child;
    const name = child ? { child: child.name, childId: child.uniqueId } : this.cfg ? { child: this.cfg.name } : {};
    sa.log.event('IKE', 1, 'failed to establish CHILD_SA, keeping IKE_SA', {
      event: 'child.failed',
      ...name,
      ...(why.notify === undefined ? {} : { notify: notifyLongName(why.notify) }),
      ...(why.direction ? { direction: why.direction } : {}),
      ...(why.reason ? { reason: why.reason } : {}),
    });
    child?.destroying();
    return 'SUCCESS';
  }

  private processI(msg: InMessage): TaskOutcome {
    const sa = this.sa;
    const errors = responseErrors(
      findAll<NotifyPayload>(msg, PayloadType.NOTIFY),
      () => msg.exchange === ExchangeType.CREATE_CHILD_SA && this.group === undefined,
    );
    if (errors && 'retryGroup' in errors) {
      // RFC 7296 1.3: retry once with the group the responder asked for, if we proposed it.
      const want = errors.retryGroup;
      sa.log.ike(1, `peer didn't accept DH group ${dhName(this.dh?.group ?? 0)}, it requested ${dhName(want)}`);
      if (!hasDhGroup(this.cfg!.espProposals, want))
        return this.failChild({ notify: Notify.INVALID_KE_PAYLOAD, direction: 'in', reason: `DH group ${dhName(want)} not proposed` });
      const again = new ChildCreate(sa, true, this.cfg);
      again.group = want;
      this.child?.destroying();
      return { status: 'SUCCESS', followUps: [again] };
    }
    if (errors) {
      sa.log.ike(1, `received ${notifyLongName(errors.error)} notify, no CHILD_SA built`);
      return this.failChild({ notify: errors.error, direction: 'in' });
    }
    // The response rules waive SA (and Nonce) once a notify is present, and TS are optional: all checked here.
    const saP = find<SaPayload>(msg, PayloadType.SA);
    const tsi = find<TsPayload>(msg, PayloadType.TSi);
    const tsr = find<TsPayload>(msg, PayloadType.TSr);
    if (!saP || !tsi || !tsr || saP.proposals.length !== 1) {
      sa.log.ike(1, 'response is missing SA or TS payloads, no CHILD_SA built');
      return this.failChild({ reason: 'response is missing SA or TS payloads' });
    }
    const chosen = selectProposal(this.proposals(msg.exchange), saP.proposals, { ipsecBackend: sa.svc.config().daemon.ipsecBackend });
    if (chosen?.spi.length !== 4) {
      sa.log.cfg(1, () => `received proposals: ${saP.proposals.map(proposalToString).join(', ')}`);
      sa.log.ike(1, 'peer chose a proposal we did not offer');
      return this.failChild({ reason: 'peer chose a proposal we did not offer' });
    }
    sa.log.cfg(1, () => `selected proposal: ${proposalToString(chosen)}`);
    const child = this.child!;
    const myTsi = resolveTs(this.cfg!.localTs, sa.local.address);
    const myTsr = resolveTs(this.cfg!.remoteTs, sa.remote.address);
    if (!isSubset(tsi.selectors, myTsi) || !isSubset(tsr.selectors, myTsr)) {
      sa.log.ike(
        1,
        `received traffic selectors ${formatTsList(tsi.selectors)} === ${formatTsList(tsr.selectors)} not contained in proposal`,
      );
      return this.failChild({ reason: 'traffic selectors not contained in proposal' });
    }
    child.negotiated(chosen.spi, tsi.selectors, tsr.selectors);
    let ni = sa.ni,
      nr = sa.nr,
      gir: Buffer | undefined;
    if (msg.exchange === ExchangeType.CREATE_CHILD_SA) {
      const nonce = find<NoncePayload>(msg, PayloadType.NONCE);
      if (!nonce) return this.failChild({ reason: 'Nonce payload missing' });
      ni = this.myNonce;
      nr = nonce.data;
      if (this.dh) {
        const ke = find<KePayload>(msg, PayloadType.KE);
        if (!ke || ke.group !== this.dh.group) return this.failChild({ reason: 'KE payload missing or of another DH group' });
        gir = peerSecret(sa, this.dh, ke.data);
        if (!gir) return this.failChild({ reason: 'applying DH public value failed' });
      }
    }
    keyChild(sa, child, chosen, ni, nr, true, gir);
    installChild(sa, child);
    return 'SUCCESS';
  }

  private buildR(out: OutMessage): TaskStatus {
    const sa = this.sa;
    const msg = this.request;
    if (!msg) return 'SUCCESS';
    if (msg.exchange === ExchangeType.IKE_AUTH && sa.state !== 'ESTABLISHED') return 'SUCCESS';
    const saP = find<SaPayload>(msg, PayloadType.SA);
    const tsi = find<TsPayload>(msg, PayloadType.TSi);
    const tsr = find<TsPayload>(msg, PayloadType.TSr);
    if (!saP || !tsi || !tsr) return 'SUCCESS'; // childless IKE_AUTH (RFC 6023)
    const refuse = (t: number): TaskStatus => {
      out.add(notify(t));
      return this.failChild({ notify: t, direction: 'out' });
    };
    // Pick the child config whose selectors intersect what the initiator proposed (charon: best TS match).
    let best: { cfg: ChildConfig; tsi: ReturnType<typeof narrow>; tsr: ReturnType<typeof narrow> } | undefined;
    for (const cfg of sa.config.children) {
      const ni = narrow(tsi.selectors, resolveTs(cfg.remoteTs, sa.remote.address));
      const nr = narrow(tsr.selectors, resolveTs(cfg.localTs, sa.local.address));
      if (ni.length && nr.length) {
        best = { cfg, tsi: ni, tsr: nr };
        break;
      }
    }
    if (!best) {
      sa.log.ike(1, `traffic selectors ${formatTsList(tsr.selectors)} === ${formatTsList(tsi.selectors)} unacceptable`);
      return refuse(Notify.TS_UNACCEPTABLE);
    }
    this.cfg = best.cfg;
    const limit = sa.svc.config().daemon.maxChildSas;
    if (msg.exchange === ExchangeType.CREATE_CHILD_SA && sa.children.filter((c) => c.state !== 'DESTROYING').length >= limit) {
      sa.log.ike(1, `refusing CHILD_SA: IKE_SA ${sa.label} already holds ${limit} CHILD_SAs (daemon.max_child_sas)`);
      return refuse(Notify.NO_ADDITIONAL_SAS);
    }
    const received = saP.proposals.filter((p) => p.protocol === ProtocolId.ESP && p.spi.length === 4);
    const chosen = selectProposal(this.proposals(msg.exchange), received, { ipsecBackend: sa.svc.config().daemon.ipsecBackend });
    if (!chosen) {
      sa.log.cfg(1, () => `received proposals: ${received.map(proposalToString).join(', ')}`);
      sa.log.cfg(1, () => `configured proposals: ${this.proposals(msg.exchange).map(proposalToString).join(', ')}`);
      sa.log.ike(1, 'no acceptable proposal found');
      return refuse(Notify.NO_PROPOSAL_CHOSEN);
    }
    sa.log.cfg(1, () => `selected proposal: ${proposalToString(chosen)}`);
    const child = (this.child = newChild(sa, best.cfg));
    child.negotiated(chosen.spi, best.tsr, best.tsi);
    let ni = sa.ni,
      nr = sa.nr,
      gir: Buffer | undefined;
    let ke: KePayload | undefined;
    if (msg.exchange === ExchangeType.CREATE_CHILD_SA) {
      // present once: the CREATE_CHILD_SA request rule (src/wire/rules.ts, Nonce min 1)
      const nonce = find<NoncePayload>(msg, PayloadType.NONCE)!;
      ni = nonce.data;
      nr = this.myNonce = sa.svc.random.bytes(NONCE_SIZE);
      const group = transformOf(chosen, TransformType.DH)?.id ?? 0;
      if (group) {
        const theirs = find<KePayload>(msg, PayloadType.KE);
        if (!theirs || theirs.group !== group) {
          sa.log.ike(1, `DH group ${dhName(theirs?.group ?? 0)} unacceptable, requesting ${dhName(group)}`);
          out.add(invalidKe(group));
          return 'SUCCESS';
        }
        this.dh = generateDh(group);
        gir = peerSecret(sa, this.dh, theirs.data);
        if (!gir) return refuse(Notify.INVALID_SYNTAX);
        ke = { type: PayloadType.KE, group, data: this.dh.publicKey };
      }
    }
    keyChild(sa, child, chosen, ni, nr, false, gir);
    installChild(sa, child);
    out.add({ type: PayloadType.SA, proposals: [{ ...chosen, spi: child.spiIn }] });
    if (msg.exchange === ExchangeType.CREATE_CHILD_SA) out.add({ type: PayloadType.NONCE, data: nr });
    if (ke) out.add(ke);
    out.add({ type: PayloadType.TSi, selectors: child.remoteTs }, { type: PayloadType.TSr, selectors: child.localTs });
    out.add(...habitChildNotifies(sa));
    return 'SUCCESS';
  }

  abort(reason: string): void {
    if (this.initiator && this.child && this.child.state === 'INSTALLING')
      this.sa.log.ike(2, `CHILD_SA ${this.child.label} not established: ${reason}`);
  }
}
