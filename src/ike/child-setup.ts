// Shared steps of creating a CHILD_SA (IKE_AUTH, CREATE_CHILD_SA, rekey): SPIs, config TS resolution, keys,
// install, and charon's "CHILD_SA ... established" line.
import type { ChildConfig } from '../config/types.js';
import type { TsConfig } from '../config/ts.js';
import { formatTs, formatTsList } from '../config/ts.js';
import { parseIp } from '../config/ip.js';
import { deriveChildKeys, isAead } from '../crypto/keys.js';
import { Esn, TransformType } from '../wire/constants.js';
import { proposalToString } from '../wire/names.js';
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
  spi[0]! |= 0xc0;
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

/** A CHILD_SA about to be proposed or accepted, with its inbound SPI already allocated. */
export function newChild(sa: IkeSa, cfg: ChildConfig): ChildSa {
  return new ChildSa(cfg.name, sa.svc.nextChildId(), cfg, allocateSpi(sa));
}

/** How lifecycle events name a CHILD_SA (events.ts: SPIs as 8 hex digits, inbound = ours; TS as charon prints them). */
export function childRef(child: ChildSa): {
  child: string;
  childId: number;
  spiIn: string;
  spiOut: string;
  localTs: string[];
  remoteTs: string[];
  proposal?: string;
} {
  const ref = {
    child: child.name,
    childId: child.uniqueId,
    spiIn: spiHex(child.spiIn),
    spiOut: spiHex(child.spiOut),
    localTs: child.localTs.map(formatTs),
    remoteTs: child.remoteTs.map(formatTs),
  };
  return child.proposal ? { ...ref, proposal: proposalToString(child.proposal) } : ref;
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
  child.keyed({
    proposal,
    suite: { ...suite, esn: transformOf(proposal, TransformType.ESN)?.id === Esn.EXT_SEQ },
    dhGroup: transformOf(proposal, TransformType.DH)?.id ?? 0,
    keys: weInitiated
      ? { encrOut: k.encrI, integOut: k.integI, encrIn: k.encrR, integIn: k.integR }
      : { encrOut: k.encrR, integOut: k.integR, encrIn: k.encrI, integIn: k.integI },
  });
}

const established = (child: ChildSa): string =>
  `CHILD_SA ${child.label} established with SPIs ${spiHex(child.spiIn)}_i ${spiHex(child.spiOut)}_o and TS ${formatTsList(child.localTs)} === ${formatTsList(child.remoteTs)}`;

/**
 * Install a negotiated CHILD_SA. A rekey replacement logs its directions separately as charon does; as rekey
 * responder its outbound waits for the old SA's deletion (outboundOnly later via activateOutbound).
 */
export function installChild(sa: IkeSa, child: ChildSa, rekey?: { old: ChildSa; outboundNow: boolean }): void {
  child.installed({
    at: sa.svc.timers.now(),
    encap: sa.natAny,
    outboundActive: rekey ? rekey.outboundNow : true,
    reqid: rekey ? rekey.old.reqid : child.uniqueId,
  });
  pushChild(sa, child);
  sa.adoptChild(child);
  scheduleChildTimers(sa, child);
  // daemon.save_keys; the addresses are those of now (a later NAT float is not followed, as in charon's save-keys)
  if (child.suite && child.keys)
    sa.svc.keysDerived?.({
      kind: 'child',
      local: sa.local.address,
      remote: sa.remote.address,
      spiIn: child.spiIn,
      spiOut: child.spiOut,
      encr: child.suite.encr,
      encrKeyBits: child.suite.encrKeyBits,
      integ: child.suite.integ,
      ...child.keys,
    });
  // child.established once per CHILD_SA, on its first "established" line (a rekey's replacement included:
  // child.rekeyed follows when it actually replaces the old one, which a lost collision's never does)
  const ev = { event: 'child.established', ...childRef(child) } as const;
  if (!rekey) {
    sa.log.event('IKE', 0, established(child), ev);
    return;
  }
  sa.log.event('IKE', 0, `inbound ${established(child)}`, ev);
  if (rekey.outboundNow) sa.log.ike(0, `outbound ${established(child)}`);
}

export function activateOutbound(sa: IkeSa, child: ChildSa): void {
  if (child.outboundActive || !sa.children.includes(child)) return;
  child.outboundActivated();
  pushChild(sa, child);
  sa.log.ike(0, `outbound ${established(child)}`);
}

/**
 * IKE_SA rekey: the CHILD_SAs now belong to the new IKE_SA (RFC 7296 2.18); their timers go along with the same
 * deadlines (rekeying the IKE_SA rekeys none of its CHILD_SAs).
 */
export function moveChildren(from: IkeSa, to: IkeSa): void {
  for (const c of from.releaseChildren()) {
    to.adoptChild(c);
    pushChild(to, c);
    moveChildTimers(from, to, c);
  }
}

/**
 * `next` replaced `old` in a rekey (RFC 7296 2.8): child.rekeyed, once per replaced CHILD_SA. charon prints no line
 * of its own here (the new SA's "established" lines came at its install). collision: the rekey settled a collision
 * (2.8.1) and whose rekey made `next`: ours (win) or the peer's (lose), in the words of the fault action `collide`,
 * so a scenario can check the outcome it asked for.
 */
export function childRekeyed(sa: IkeSa, old: ChildSa, next: ChildSa, collision?: 'win' | 'lose'): void {
  old.rekeyedBy(next);
  sa.log.event('IKE', 1, '', {
    event: 'child.rekeyed',
    ...childRef(next),
    oldChildId: old.uniqueId,
    ...(collision ? { collision } : {}),
  });
}

/** RFC 7296 2.8.1: of two colliding rekeys, the exchange holding the lowest nonce created the redundant SA. */
export const lowerOf = (a: Buffer, b: Buffer): Buffer => (Buffer.compare(a, b) <= 0 ? a : b);
