// Shared steps of creating a CHILD_SA (IKE_AUTH, CREATE_CHILD_SA, rekey): SPIs, config TS resolution, keys,
// install, and charon's "CHILD_SA ... established" line.
import type { ChildConfig } from '../config/types.js';
import type { TsConfig } from '../config/ts.js';
import { formatTsList } from '../config/ts.js';
import { parseIp } from '../config/ip.js';
import { deriveChildKeys, isAead } from '../crypto/keys.js';
import { Esn, TransformType } from '../wire/constants.js';
import type { Proposal, TrafficSelector } from '../wire/types.js';
import { ChildSa, spiHex } from './child-sa.js';
import type { IkeSa } from './ike-sa.js';
import { transformOf } from './proposal-select.js';
import { hostTs } from './ts-narrow.js';
import { moveChildTimers, scheduleChildTimers } from './sa-timers.js';
import { pushChild } from './child-spec.js';

/** An inbound SPI: random, never 0..255 (reserved, RFC 4303 2.1), high bit set like charon's allocations. */
export function allocateSpi(sa: IkeSa): Buffer {
  const spi = sa.svc.random.bytes(4);
  spi[0] |= 0xc0;
  return spi;
}

export function resolveTs(list: TsConfig[], address: string): TrafficSelector[] {
  return list.map((t) => {
    if (!t.dynamic)
      return {
        tsType: t.tsType,
        ipProtocol: t.ipProtocol,
        startPort: t.startPort,
        endPort: t.endPort,
        startAddr: t.startAddr,
        endAddr: t.endAddr,
      };
    return hostTs(parseIp(address)!, t.ipProtocol, t.startPort, t.endPort);
  });
}

export function newChild(sa: IkeSa, cfg: ChildConfig): ChildSa {
  return new ChildSa(cfg.name, sa.svc.nextChildId(), cfg);
}

/**
 * KEYMAT = prf+(SK_d, [g^ir |] Ni | Nr) (RFC 7296 2.17); the exchange initiator's outbound keys come first.
 * weInitiated: we sent the request of the exchange that creates this CHILD_SA.
 */
export function keyChild(sa: IkeSa, child: ChildSa, proposal: Proposal, ni: Buffer, nr: Buffer, weInitiated: boolean, gir?: Buffer): void {
  const encr = transformOf(proposal, TransformType.ENCR)!;
  const integ = transformOf(proposal, TransformType.INTEG);
  const suite = { encr: encr.id, encrKeyBits: encr.keyLength, integ: isAead(encr.id) ? undefined : integ?.id };
  const k = deriveChildKeys(sa.suite!.prf, sa.keys!.skD, suite, ni, nr, gir);
  child.proposal = proposal;
  child.suite = { ...suite, esn: transformOf(proposal, TransformType.ESN)?.id === Esn.EXT_SEQ };
  child.dhGroup = transformOf(proposal, TransformType.DH)?.id ?? 0;
  child.keys = weInitiated
    ? { encrOut: k.encrI, integOut: k.integI, encrIn: k.encrR, integIn: k.integR }
    : { encrOut: k.encrR, integOut: k.integR, encrIn: k.encrI, integIn: k.integI };
}

const established = (child: ChildSa): string =>
  `CHILD_SA ${child.label} established with SPIs ${spiHex(child.spiIn)}_i ${spiHex(child.spiOut)}_o and TS ${formatTsList(child.localTs)} === ${formatTsList(child.remoteTs)}`;

/**
 * Install a negotiated CHILD_SA. A rekey replacement logs its directions separately as charon does; as rekey
 * responder its outbound waits for the old SA's deletion (outboundOnly later via activateOutbound).
 */
export function installChild(sa: IkeSa, child: ChildSa, rekey?: { old: ChildSa; outboundNow: boolean }): void {
  child.encap = sa.natAny;
  child.state = 'INSTALLED';
  child.installedAt = sa.svc.timers.now();
  child.outboundActive = rekey ? rekey.outboundNow : true;
  child.reqid = rekey ? rekey.old.reqid : child.uniqueId;
  pushChild(sa, child);
  if (!sa.children.includes(child)) sa.children.push(child);
  scheduleChildTimers(sa, child);
  if (!rekey) {
    sa.log.ike(0, established(child));
    return;
  }
  sa.log.ike(0, `inbound ${established(child)}`);
  if (rekey.outboundNow) sa.log.ike(0, `outbound ${established(child)}`);
}

export function activateOutbound(sa: IkeSa, child: ChildSa): void {
  if (child.outboundActive || !sa.children.includes(child)) return;
  child.outboundActive = true;
  pushChild(sa, child);
  sa.log.ike(0, `outbound ${established(child)}`);
}

/**
 * IKE_SA rekey: the CHILD_SAs now belong to the new IKE_SA (RFC 7296 2.18); their timers go along with the same
 * deadlines (rekeying the IKE_SA rekeys none of its CHILD_SAs).
 */
export function moveChildren(from: IkeSa, to: IkeSa): void {
  for (const c of from.children.splice(0)) {
    to.children.push(c);
    pushChild(to, c);
    moveChildTimers(from, to, c);
  }
}

/** RFC 7296 2.8.1: of two colliding rekeys, the exchange holding the lowest nonce created the redundant SA. */
export const lowerOf = (a: Buffer, b: Buffer): Buffer => (Buffer.compare(a, b) <= 0 ? a : b);
