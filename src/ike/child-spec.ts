// The one place where the IKE side hands a CHILD_SA to the data plane: a plain ChildSaSpec built from the
// ChildSa and its IKE_SA, and the events the backend reports back (inbound ESP counts as IKE_SA liveness).
import type { ChildSaSpec } from '../ipsec/backend.js';
import type { ChildSa } from './child-sa.js';
import type { IkeSa } from './ike-sa.js';

/** What a backend needs of a negotiated CHILD_SA, as of now (endpoints and outboundActive may change later). */
export function childSpec(sa: IkeSa, child: ChildSa): ChildSaSpec {
  if (!child.suite || !child.keys) throw new Error(`CHILD_SA ${child.label} has no negotiated suite or keys`);
  return {
    id: child.uniqueId,
    reqid: child.reqid || child.uniqueId,
    name: child.name,
    connection: sa.name,
    ikeId: sa.uniqueId,
    spiIn: child.spiIn,
    spiOut: child.spiOut,
    suite: child.suite,
    keys: child.keys,
    dhGroup: child.dhGroup,
    localTs: child.localTs,
    remoteTs: child.remoteTs,
    local: { ...sa.local },
    remote: { ...sa.remote },
    encap: child.encap,
    outboundActive: child.outboundActive,
    replayWindow: child.config.replayWindow,
    hostAddrs: child.config.hostAddrs,
    counters: child.counters,
    logCtx: sa.log.ctx,
  };
}

/** States in which the backend holds the CHILD_SA (installed until removeChild). */
export const inBackend = (c: ChildSa): boolean =>
  c.state === 'INSTALLED' || c.state === 'REKEYING' || c.state === 'REKEYED' || c.state === 'DELETING';

/**
 * Install the CHILD_SA in the backend, or bring the installed one up to date (outbound activated, endpoints
 * moved, taken over by a rekeyed IKE_SA): ESP that arrives on it keeps `sa` alive for DPD.
 */
export function pushChild(sa: IkeSa, child: ChildSa): void {
  sa.svc.childBackend.install(childSpec(sa, child), { inbound: () => sa.noteInbound() });
}

/** The peer's address or port changed (RFC 7296 2.23): the installed CHILD_SAs follow the IKE_SA. */
export function followEndpoints(sa: IkeSa): void {
  for (const c of sa.children) if (inBackend(c)) pushChild(sa, c);
}

export function withdrawChild(sa: IkeSa, child: ChildSa): void {
  sa.svc.childBackend.remove(child.uniqueId);
}
