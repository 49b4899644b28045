// `show crypto ipsec sa` in IOS's layout, for engineers who compare against a router next to ikelab. One
// block per flow (a CHILD_SA and its rekeyed successors share the reqid); like IOS, the packet counters of a
// flow survive rekeys, so they sum the installed SAs and the ones already removed.
import { formatIp } from '../config/ip.js';
import { rangePrefix } from '../config/ts.js';
import type { TrafficSelector } from '../wire/types.js';
import { Encr, Integ } from '../wire/constants.js';
import { specLabel, type SaCounters } from './backend.js';
import type { SaEntry } from './sad.js';

export const flowKey = (e: SaEntry): string => `${e.spec.connection}|${e.spec.name}|${e.spec.reqid || e.spec.id}`;

export type FlowTotals = Required<
  Pick<SaCounters, 'bytesIn' | 'packetsIn' | 'bytesOut' | 'packetsOut' | 'integrityFailures' | 'replayDrops' | 'invalidSpi' | 'malformed'>
>;

export const zeroTotals = (): FlowTotals => ({
  bytesIn: 0,
  packetsIn: 0,
  bytesOut: 0,
  packetsOut: 0,
  integrityFailures: 0,
  replayDrops: 0,
  invalidSpi: 0,
  malformed: 0,
});

export function addCounters(t: FlowTotals, c: SaCounters): void {
  t.bytesIn += c.bytesIn;
  t.packetsIn += c.packetsIn;
  t.bytesOut += c.bytesOut;
  t.packetsOut += c.packetsOut;
  t.integrityFailures += c.integrityFailures;
  t.replayDrops += c.replayDrops;
  t.invalidSpi += c.invalidSpi ?? 0;
  t.malformed += c.malformed ?? 0;
}

/** IOS's ident: (addr/mask/prot/port). */
function ident(ts: TrafficSelector | undefined): string {
  if (!ts || ts.raw) return '(0.0.0.0/0.0.0.0/0/0)';
  const prefix = rangePrefix(ts.startAddr, ts.endAddr);
  const port = ts.startPort === 0 && ts.endPort === 0xffff ? 0 : ts.startPort;
  if (prefix === undefined) return `(${formatIp(ts.startAddr)}..${formatIp(ts.endAddr)}/${ts.ipProtocol}/${port})`;
  if (ts.startAddr.length === 16) return `(${formatIp(ts.startAddr)}/${prefix}/${ts.ipProtocol}/${port})`;
  const mask = Buffer.alloc(4);
  mask.writeUInt32BE(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
  return `(${formatIp(ts.startAddr)}/${formatIp(mask)}/${ts.ipProtocol}/${port})`;
}

/** IOS transform-set names (`esp-256-aes esp-sha256-hmac`). */
export function iosTransform(e: SaEntry): string {
  const s = e.spec.suite;
  const bits = s.encrKeyBits ?? 0;
  const aes = bits === 128 || !bits ? 'esp-aes' : `esp-${bits}-aes`;
  const encr: Record<number, string> = {
    [Encr.AES_CBC]: aes,
    [Encr['3DES']]: 'esp-3des',
    [Encr.AES_GCM_16]: bits === 128 ? 'esp-gcm' : `esp-gcm ${bits}`,
    [Encr.CHACHA20_POLY1305]: 'esp-chacha20-poly1305',
  };
  const integ: Record<number, string> = {
    [Integ.HMAC_MD5_96]: 'esp-md5-hmac',
    [Integ.HMAC_SHA1_96]: 'esp-sha-hmac',
    [Integ.HMAC_SHA2_256_128]: 'esp-sha256-hmac',
    [Integ.HMAC_SHA2_384_192]: 'esp-sha384-hmac',
    [Integ.HMAC_SHA2_512_256]: 'esp-sha512-hmac',
  };
  return [encr[s.encr] ?? `encr-${s.encr}`, s.integ ? (integ[s.integ] ?? `integ-${s.integ}`) : ''].filter(Boolean).join(' ');
}

const spiText = (spi: Buffer): string => `0x${spi.toString('hex').toUpperCase()}(${spi.readUInt32BE(0)})`;

function saLines(e: SaEntry, spi: Buffer, inbound: boolean): string[] {
  const lines = [
    `      spi: ${spiText(spi)}`,
    `        transform: ${iosTransform(e)} ,`,
    `        in use settings ={Tunnel UDP-Encaps, ${e.spec.suite.esn ? 'ESN, ' : ''}}`,
    `        conn id: ${e.spec.id}, crypto map: ${e.spec.connection}, child: ${specLabel(e.spec)}`,
  ];
  if (inbound) {
    const w = e.spec.replayWindow;
    lines.push(`        replay detection support: ${w > 0 ? 'Y' : 'N'}${w > 0 ? `, replay window size: ${w}` : ''}`);
  }
  lines.push(`        Status: ACTIVE${!inbound && !e.spec.outboundActive ? ' (standby: rekey pending)' : ''}`, '');
  return lines;
}

/** The whole view; `removed` holds the counters of SAs already removed, per flowKey. */
export function renderIpsecSa(entries: SaEntry[], removed: Map<string, FlowTotals>): string {
  const flows = new Map<string, SaEntry[]>();
  for (const e of [...entries].sort((a, b) => a.order - b.order)) {
    const k = flowKey(e);
    flows.set(k, [...(flows.get(k) ?? []), e]);
  }
  const out: string[] = ['interface: ikelab (userspace ESP)'];
  for (const [k, list] of flows) {
    const newest = list[list.length - 1]!;
    const t = { ...(removed.get(k) ?? zeroTotals()) };
    for (const e of list) addCounters(t, e.spec.counters);
    const active = [...list].reverse().find((e) => e.spec.outboundActive) ?? newest;
    const s = newest.spec;
    const pfs = s.dhGroup ? `Y, DH group: group${s.dhGroup}` : 'N, DH group: none';
    out.push(
      `    Crypto map tag: ${s.connection}, local addr ${s.local.address}`,
      '',
      '   protected vrf: (none)',
      `   local  ident (addr/mask/prot/port): ${ident(s.localTs[0])}`,
      `   remote ident (addr/mask/prot/port): ${ident(s.remoteTs[0])}`,
      `   current_peer ${s.remote.address} port ${s.remote.port}`,
      '     PERMIT, flags={origin_is_acl,}',
      `    #pkts encaps: ${t.packetsOut}, #pkts encrypt: ${t.packetsOut}, #pkts digest: ${t.packetsOut}`,
      `    #pkts decaps: ${t.packetsIn}, #pkts decrypt: ${t.packetsIn}, #pkts verify: ${t.packetsIn}`,
      `    #bytes encaps: ${t.bytesOut}, #bytes decaps: ${t.bytesIn}`,
      `    #pkts invalid sa (rcv): ${t.invalidSpi}, #pkts verify failed: ${t.integrityFailures}, #pkts invalid len (rcv): ${t.malformed}`,
      `    #pkts replay failed (rcv): ${t.replayDrops}`,
      '',
      `     local crypto endpt.: ${s.local.address}, remote crypto endpt.: ${s.remote.address}`,
      `     current outbound spi: ${spiText(active.spec.spiOut)}`,
      `     PFS (Y/N): ${pfs}`,
      '',
      '     inbound esp sas:',
      ...list.flatMap((e) => saLines(e, e.spec.spiIn, true)),
      '     outbound esp sas:',
      ...list.flatMap((e) => saLines(e, e.spec.spiOut, false)),
    );
  }
  return `${out.join('\n')}\n`;
}
