// list-sas --json: one object per IKE_SA, states named as strongSwan names them (the `list-sas` operation and the
// CLI's text view of it).
import { formatTs } from '../config/ts.js';
import { proposalToString } from '../wire/names.js';
import type { IkeSa } from '../ike/ike-sa.js';

export interface ChildJson {
  name: string;
  uniqueId: number;
  state: string;
  spiIn: string;
  spiOut: string;
  localTs: string[];
  remoteTs: string[];
  proposal: string;
  dhGroup: number;
  encap: boolean;
  installedAt?: string;
  rekeyAt?: string;
  expireAt?: string;
  reqid: number;
  counters: Record<string, number | undefined>;
}

export interface SaJson {
  name: string;
  uniqueId: number;
  state: string;
  initiator: boolean;
  local: string;
  remote: string;
  localId: string;
  remoteId: string;
  spiI: string;
  spiR: string;
  proposal: string;
  nat: { local: boolean; remote: boolean };
  establishedAt?: string;
  rekeyAt?: string;
  expireAt?: string;
  lastInboundMsAgo?: number;
  messageIds: { nextRequest: number; nextExpected: number };
  counters: Record<string, number>;
  children: ChildJson[];
}

/**
 * `now`: the daemon's timer clock (sa.svc.timers.now()). The SAs keep their times on that clock (sa-timers.ts); they
 * become dates only here, through the clock's wall time (TimerQueue.wallAt).
 */
export function describeSa(sa: IkeSa, now: number): SaJson {
  const iso = (t?: number): string | undefined => (t === undefined ? undefined : new Date(sa.svc.timers.wallAt(t)).toISOString());
  return {
    name: sa.name,
    uniqueId: sa.uniqueId,
    state: sa.state,
    initiator: sa.initiator,
    local: `${sa.local.address}[${sa.local.port}]`,
    remote: `${sa.remote.address}[${sa.remote.port}]`,
    localId: sa.localId,
    remoteId: sa.remoteId,
    spiI: sa.spiI.toString('hex'),
    spiR: sa.spiR.toString('hex'),
    proposal: sa.proposal ? proposalToString(sa.proposal) : '',
    nat: { local: sa.natLocal, remote: sa.natRemote },
    establishedAt: iso(sa.establishedAt),
    rekeyAt: iso(sa.rekeyAt),
    expireAt: iso(sa.expireAt),
    lastInboundMsAgo: sa.lastInbound ? Math.round(now - sa.lastInbound) : undefined,
    messageIds: { nextRequest: sa.manager.myMid, nextExpected: sa.manager.peerMid },
    counters: { ...sa.counters },
    children: sa.children.map((c) => ({
      name: c.name,
      uniqueId: c.uniqueId,
      state: c.state,
      spiIn: c.spiIn.toString('hex'),
      spiOut: c.spiOut.toString('hex'),
      localTs: c.localTs.map(formatTs),
      remoteTs: c.remoteTs.map(formatTs),
      proposal: c.proposal ? proposalToString(c.proposal) : '',
      dhGroup: c.dhGroup,
      encap: c.encap,
      installedAt: iso(c.installedAt),
      rekeyAt: iso(c.rekeyAt),
      expireAt: iso(c.expireAt),
      reqid: c.reqid,
      counters: { ...c.counters },
    })),
  };
}

/** Text view in the spirit of swanctl --list-sas. */
export function formatSasText(sas: SaJson[]): string {
  const lines: string[] = [];
  for (const s of sas) {
    lines.push(`${s.name}: #${s.uniqueId}, ${s.state}, IKEv2, ${s.spiI}_i${s.initiator ? '*' : ''} ${s.spiR}_r${s.initiator ? '' : '*'}`);
    lines.push(`  local  '${s.localId}' @ ${s.local}`);
    lines.push(`  remote '${s.remoteId}' @ ${s.remote}`);
    if (s.proposal) lines.push(`  ${s.proposal}`);
    if (s.establishedAt) lines.push(`  established ${s.establishedAt}${s.rekeyAt ? `, rekeying ${s.rekeyAt}` : ''}`);
    for (const c of s.children) {
      lines.push(`  ${c.name}: #${c.uniqueId}, ${c.state}, TUNNEL${c.encap ? '-in-UDP' : ''}, ESP SPIs: ${c.spiIn}_i ${c.spiOut}_o`);
      if (c.proposal) lines.push(`    ${c.proposal}`);
      lines.push(`    in  ${c.spiIn}, ${c.counters.bytesIn} bytes, ${c.counters.packetsIn} packets`);
      lines.push(`    out ${c.spiOut}, ${c.counters.bytesOut} bytes, ${c.counters.packetsOut} packets`);
      lines.push(
        `    dropped: ${c.counters.integrityFailures ?? 0} integrity failures, ${c.counters.replayDrops ?? 0} replay failed, ${c.counters.invalidSpi ?? 0} invalid SPI`,
      );
      lines.push(`    local  ${c.localTs.join(' ')}`);
      lines.push(`    remote ${c.remoteTs.join(' ')}`);
    }
  }
  return lines.join('\n');
}
