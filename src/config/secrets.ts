// Choosing the pre-shared key for a pair of identities like charon does (credential_manager get_shared over
// mem_cred's shared_filter): every secret's owner list is matched against both IDs; the best match for the remote
// ID wins, ties go to the better match for the local ID, then to the first secret in the file. A secret matching
// neither ID is never used.

import { parseIp } from './ip.js';
import type { IkelabConfig } from './types.js';

/** identification_t match levels (utils/identification.h). */
const MATCH_NONE = 0;
const MATCH_ANY = 1;
const MATCH_ONE_WILDCARD = 19;
const MATCH_PERFECT = 20;

/** How well an owner identity of a secret matches the identity of a peer (id->matches(id, owner)). */
export function matchId(id: string, owner: string): number {
  if (owner === '%any' || owner === '*') return MATCH_ANY;
  if (sameId(id, owner)) return MATCH_PERFECT;
  // one leading '*' wildcard in FQDN/email owners: *.example.com, *@example.com
  if (owner.startsWith('*') && owner.length > 1 && id.toLowerCase().endsWith(owner.slice(1).toLowerCase())) {
    return MATCH_ONE_WILDCARD;
  }
  return MATCH_NONE;
}

function sameId(a: string, b: string): boolean {
  if (a === b) return true; // the common case, without parsing both as addresses (per IKE_AUTH, per owner)
  const ipa = parseIp(a);
  const ipb = parseIp(b);
  if (ipa && ipb) return ipa.equals(ipb); // 2001:db8::1 == 2001:DB8:0::1
  return a === b;
}

export function findPsk(cfg: IkelabConfig, localId: string, remoteId: string): Buffer | undefined {
  let found: Buffer | undefined;
  let bestMe = MATCH_NONE;
  let bestOther = MATCH_NONE;
  for (const s of cfg.secrets) {
    if (s.type !== 'ike') continue;
    const me = Math.max(MATCH_NONE, ...s.ids.map((o) => matchId(localId, o)));
    const other = Math.max(MATCH_NONE, ...s.ids.map((o) => matchId(remoteId, o)));
    if (me === MATCH_NONE && other === MATCH_NONE) continue;
    if (other > bestOther || (other === bestOther && me > bestMe)) {
      found = s.secret;
      bestMe = me;
      bestOther = other;
    }
    if (bestMe === MATCH_PERFECT && bestOther === MATCH_PERFECT) break;
  }
  return found;
}
