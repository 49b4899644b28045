// Proposal selection (RFC 7296 2.7, 3.3.6). Like charon's default (prefer_configured_proposals = yes), our
// configured proposals are walked in order and the first one that intersects a received proposal wins; within
// a transform type our algorithm order decides. Both proposals must carry the same transform types, so an ESP
// proposal with a DH group never matches one without (the PFS mismatch charon reports at rekey).
//
// Never negotiate what cannot run: config already refuses (and strips from `default`) transforms ikelab cannot run
// (src/config/proposal-support.ts), and selection applies the same predicates again, so even a configured
// AES-CTR or AES-CCM is never picked; a peer offering only such transforms gets no proposal (NO_PROPOSAL_CHOSEN).
import { runnableShape, transformSupportFor, type IpsecBackend } from '../config/proposal-support.js';
import { DhGroup, Integ, TransformType } from '../wire/constants.js';
import type { Proposal, Transform } from '../wire/types.js';

export interface SelectOptions {
  /** Who runs ESP transforms (daemon.ipsec_backend); the strictest, the userspace engine, when not given. */
  ipsecBackend?: IpsecBackend;
}

/** Transform types that count for matching: DH "NONE" and INTEG "NONE" mean absent. */
function typesOf(p: Proposal): Map<number, Transform[]> {
  const m = new Map<number, Transform[]>();
  for (const t of p.transforms) {
    if (t.type === TransformType.DH && t.id === DhGroup.NONE) continue;
    if (t.type === TransformType.INTEG && t.id === Integ.NONE) continue;
    const l = m.get(t.type) ?? [];
    l.push(t);
    m.set(t.type, l);
  }
  return m;
}

const same = (a: Transform, b: Transform): boolean => a.type === b.type && a.id === b.id && (a.keyLength ?? 0) === (b.keyLength ?? 0);

/**
 * Intersect one configured with one received proposal: one transform per type, or undefined. Only transforms
 * ikelab can run for the protocol (and backend) are candidates.
 */
export function matchProposal(ours: Proposal, theirs: Proposal, opts: SelectOptions = {}): Proposal | undefined {
  if (ours.protocol !== theirs.protocol) return undefined;
  const support = transformSupportFor(ours.protocol, opts.ipsecBackend);
  if (!support) return undefined;
  const a = typesOf(ours);
  const b = typesOf(theirs);
  if (a.size !== b.size) return undefined;
  const picked: Transform[] = [];
  for (const [type, mine] of a) {
    const other = b.get(type);
    if (!other) return undefined;
    const hit = mine.find((t) => support.supports(t) && other.some((o) => same(t, o)));
    if (!hit) return undefined;
    picked.push({ ...hit });
  }
  picked.sort((x, y) => x.type - y.type);
  const chosen = { num: theirs.num, protocol: theirs.protocol, spi: theirs.spi, transforms: picked };
  return runnableShape(chosen) ? chosen : undefined;
}

export function selectProposal(configured: Proposal[], received: Proposal[], opts: SelectOptions = {}): Proposal | undefined {
  for (const ours of configured) {
    for (const theirs of received) {
      const m = matchProposal(ours, theirs, opts);
      if (m) return m;
    }
  }
  return undefined;
}

/** IKE_AUTH creates the first CHILD_SA without a KE payload: DH groups are dropped from ESP proposals (2.17). */
export function withoutDh(ps: Proposal[]): Proposal[] {
  return ps.map((p) => ({ ...p, transforms: p.transforms.filter((t) => t.type !== TransformType.DH) }));
}

export function firstDhGroup(ps: Proposal[]): number {
  for (const p of ps) for (const t of p.transforms) if (t.type === TransformType.DH && t.id !== 0) return t.id;
  return 0;
}

export function hasDhGroup(ps: Proposal[], group: number): boolean {
  return ps.some((p) => p.transforms.some((t) => t.type === TransformType.DH && t.id === group));
}

export const transformOf = (p: Proposal, type: number): Transform | undefined => p.transforms.find((t) => t.type === type);
