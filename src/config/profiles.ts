// Peer profiles: `profile: strongswan | vedge | ios-xe` on a connection gives it the defaults that kind of peer
// ships with, so ikelab can stand in for one kind while another is under test. A profile only fills in what the
// connection (or, for retransmits, daemon.retransmit) leaves out: a written key always wins. Each value and where it
// comes from (documentation, observed output, or a guess) is in docs/PROFILES.md; keep the two in step.
// The wire habits of a profile (vendor IDs, extra notifies, payload order) are IKE's business: src/ike/habits.ts.

import type { Proposal } from '../wire/types.js';
import { filterRunnable, type IpsecBackend } from './proposal-support.js';
import { parseProposals, type ProposalProtocol } from './proposals.js';
import type { RetransmitConfig } from './types.js';

export const PEER_PROFILES = ['strongswan', 'vedge', 'ios-xe'] as const;
export type PeerProfile = (typeof PEER_PROFILES)[number];

/** Seconds. Lifetimes given together: a profile's rand/over/life values only fit its own rekey_time. */
export interface ProfileLifetimes {
  rekeyTime: number;
  /** IKE: over_time; CHILD: life_time. undefined: derived from rekeyTime as charon does. */
  hardEnd?: number;
}

export interface ProfileDefaults {
  /** strongSwan proposal strings, in the peer's order of preference; undefined: charon's `default`. */
  proposals?: readonly string[];
  espProposals?: readonly string[];
  ikeLifetime?: ProfileLifetimes;
  childLifetime?: ProfileLifetimes;
  replayWindow?: number;
  dpdDelay?: number;
  mobike?: boolean;
  fragmentation?: 'yes' | 'no' | 'accept' | 'force';
  /** Retransmit timing of this kind of peer, given the connection's effective DPD delay (vEdge ties them). */
  retransmit?: (dpdDelay: number) => RetransmitConfig;
}

/** vEdge's DPD interval default (seconds); its retransmit timeout follows the interval in use. */
const VEDGE_DPD_DELAY = 10;

const PROFILES: Record<PeerProfile, ProfileDefaults> = {
  // charon 5.9's own defaults: exactly what a connection without a profile gets
  strongswan: {},
  // Cisco SD-WAN vEdge: strongSwan's charon with the vEdge IPsec interface defaults
  vedge: {
    proposals: ['aes256-sha1-modp4096'],
    espProposals: ['aes256gcm16-modp4096'],
    ikeLifetime: { rekeyTime: 14400 },
    childLifetime: { rekeyTime: 3600 },
    replayWindow: 512,
    dpdDelay: VEDGE_DPD_DELAY,
    // observed: "retransmit 3 of request ... (tries=3, timeout=30 ...)" with a 30 s DPD interval: a constant timeout
    retransmit: (dpd) => ({ timeout: dpd > 0 ? dpd : VEDGE_DPD_DELAY, base: 1, tries: 3, jitter: 0, limit: 0 }),
  },
  // IOS XE with IKEv2 smart defaults (FlexVPN)
  'ios-xe': {
    proposals: [
      'aes256-sha512-sha384-prfsha512-prfsha384-ecp256-modp2048-ecp521-modp1536',
      'aes256gcm16-prfsha512-prfsha384-ecp256-modp2048-ecp521-modp1536',
    ],
    espProposals: ['aes128-sha1'],
    // IKEv2 SA lifetime 86400 s and IPsec SA lifetime 3600 s are hard ends; IOS rekeys ahead of them
    ikeLifetime: { rekeyTime: 77760, hardEnd: 8640 },
    childLifetime: { rekeyTime: 3240, hardEnd: 3600 },
    replayWindow: 64,
    dpdDelay: 0,
    mobike: false,
    fragmentation: 'no',
    retransmit: () => ({ timeout: 2, base: 2, tries: 5, jitter: 0, limit: 0 }),
  },
};

/** The defaults of a profile; no profile: none (today's charon defaults apply). */
export function profileDefaults(profile: PeerProfile | undefined): ProfileDefaults {
  return profile ? PROFILES[profile] : {};
}

/**
 * A profile's proposals as the schema would have parsed them, filtered to what ikelab (and the ESP backend) can
 * run, like charon's `default`: a profile lists a peer's habits, not a demand on ikelab.
 */
export function profileProposals(
  texts: readonly string[],
  protocol: ProposalProtocol,
  backend: IpsecBackend,
): { texts: string[]; proposals: Proposal[] } {
  const parsed = texts.flatMap((t) => parseProposals([t], protocol));
  return { texts: [...texts], proposals: filterRunnable(parsed, protocol, backend) };
}
