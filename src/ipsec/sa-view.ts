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

/** One ESP SA of a flow (`ikelab ipsec-sa --json`). */
export interface IpsecEspSaJson {
  /** 8 hex digits, like list-sas' spiIn / spiOut. */
  spi: string;
  /** IOS transform-set names. */
  transform: string;
  esn: boolean;
  /** IOS's conn id: the CHILD_SA's unique id. */
  connId: number;
  /** The CHILD_SA as charon names it: net{3}. */
  child: string;
  /** Inbound SAs: the anti-replay window (0: none). */
  replayWindow?: number;
  /** Outbound SAs: false while a rekey's new SA is installed but not yet used (IOS: standby). */
  active?: boolean;
}

/** One flow of `show crypto ipsec sa`: a CHILD_SA and its rekeyed successors, counters summed across rekeys. */
export interface IpsecSaFlowJson {
  connection: string;
  child: string;
  localAddress: string;
  remoteAddress: string;
  remotePort: number;
  /** IOS's (addr/mask/prot/port) of the first local / remote traffic selector. */
  localIdent: string;
  remoteIdent: string;
  counters: FlowTotals;
  /** The outbound SPI in use (8 hex digits). */
  currentOutboundSpi: string;
  /** The PFS group of the newest SA, null: none. */
  dhGroup: number | null;
  inbound: IpsecEspSaJson[];
  outbound: IpsecEspSaJson[];
}

function espSaJson(e: SaEntry, inbound: boolean): IpsecEspSaJson {
  const base = {
    spi: (inbound ? e.spec.spiIn : e.spec.spiOut).toString('hex'),
    transform: iosTransform(e),
    esn: e.spec.suite.esn === true,
    connId: e.spec.id,
    child: specLabel(e.spec),
  };
  return inbound ? { ...base, replayWindow: e.spec.replayWindow } : { ...base, active: e.spec.outboundActive };
}

/** The view's data; `removed` holds the counters of SAs already removed, per flowKey. */
export function ipsecSaFlows(entries: SaEntry[], removed: Map<string, FlowTotals>): IpsecSaFlowJson[] {
  const flows = new Map<string, SaEntry[]>();
  for (const e of [...entries].sort((a, b) => a.order - b.order)) {
    const k = flowKey(e);
    flows.set(k, [...(flows.get(k) ?? []), e]);
  }
  return [...flows].map(([k, list]) => {
    const newest = list[list.length - 1]!;
    const t = { ...(removed.get(k) ?? zeroTotals()) };
    for (const e of list) addCounters(t, e.spec.counters);
    const active = [...list].reverse().find((e) => e.spec.outboundActive) ?? newest;
    const s = newest.spec;
    return {
      connection: s.connection,
      child: s.name,
      localAddress: s.local.address,
      remoteAddress: s.remote.address,
      remotePort: s.remote.port,
      localIdent: ident(s.localTs[0]),
      remoteIdent: ident(s.remoteTs[0]),
      counters: t,
      currentOutboundSpi: active.spec.spiOut.toString('hex'),
      dhGroup: s.dhGroup || null,
      inbound: list.map((e) => espSaJson(e, true)),
      outbound: list.map((e) => espSaJson(e, false)),
    };
  });
}

const spiText = (hex: string): string => `0x${hex.toUpperCase()}(${Number.parseInt(hex, 16)})`;

function saLines(f: IpsecSaFlowJson, sa: IpsecEspSaJson, inbound: boolean): string[] {
  const lines = [
    `      spi: ${spiText(sa.spi)}`,
    `        transform: ${sa.transform} ,`,
    `        in use settings ={Tunnel UDP-Encaps, ${sa.esn ? 'ESN, ' : ''}}`,
    `        conn id: ${sa.connId}, crypto map: ${f.connection}, child: ${sa.child}`,
  ];
  if (inbound) {
    const w = sa.replayWindow ?? 0;
    lines.push(`        replay detection support: ${w > 0 ? 'Y' : 'N'}${w > 0 ? `, replay window size: ${w}` : ''}`);
  }
  lines.push(`        Status: ACTIVE${!inbound && !sa.active ? ' (standby: rekey pending)' : ''}`, '');
  return lines;
}

/** The whole view as IOS prints it; `removed` holds the counters of SAs already removed, per flowKey. */
export function renderIpsecSa(entries: SaEntry[], removed: Map<string, FlowTotals>): string {
  const out: string[] = ['interface: ikelab (userspace ESP)'];
  for (const f of ipsecSaFlows(entries, removed)) {
    const t = f.counters;
    const pfs = f.dhGroup ? `Y, DH group: group${f.dhGroup}` : 'N, DH group: none';
    out.push(
      `    Crypto map tag: ${f.connection}, local addr ${f.localAddress}`,
      '',
      '   protected vrf: (none)',
      `   local  ident (addr/mask/prot/port): ${f.localIdent}`,
      `   remote ident (addr/mask/prot/port): ${f.remoteIdent}`,
      `   current_peer ${f.remoteAddress} port ${f.remotePort}`,
      '     PERMIT, flags={origin_is_acl,}',
      `    #pkts encaps: ${t.packetsOut}, #pkts encrypt: ${t.packetsOut}, #pkts digest: ${t.packetsOut}`,
      `    #pkts decaps: ${t.packetsIn}, #pkts decrypt: ${t.packetsIn}, #pkts verify: ${t.packetsIn}`,
      `    #bytes encaps: ${t.bytesOut}, #bytes decaps: ${t.bytesIn}`,
      `    #pkts invalid sa (rcv): ${t.invalidSpi}, #pkts verify failed: ${t.integrityFailures}, #pkts invalid len (rcv): ${t.malformed}`,
      `    #pkts replay failed (rcv): ${t.replayDrops}`,
      '',
      `     local crypto endpt.: ${f.localAddress}, remote crypto endpt.: ${f.remoteAddress}`,
      `     current outbound spi: ${spiText(f.currentOutboundSpi)}`,
      `     PFS (Y/N): ${pfs}`,
      '',
      '     inbound esp sas:',
      ...f.inbound.flatMap((sa) => saLines(f, sa, true)),
      '     outbound esp sas:',
      ...f.outbound.flatMap((sa) => saLines(f, sa, false)),
    );
  }
  return `${out.join('\n')}\n`;
}
