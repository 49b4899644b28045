// What bench-load.ts measured, its medians over the interleaved runs, and the markdown tables with the ratios
// ikelab/charon (b/a: with ESP state, d/c: IKE only). Pure: no process, no file.
import { RESPONDERS, type ResponderKey } from './bench-load-peers.js';

export type Source = 'load-tester' | 'ikelab';

export interface LoadSeen {
  /** 1-minute load average when the run began, after waiting for quiet (waitedS) */
  before: number;
  waitedS: number;
  /** sampled every 2 s while the run went */
  max: number;
  end: number;
}

/** One measured run: one responder, one load source, N SAs. */
export interface Measure {
  kind: 'paced' | 'burst';
  source: Source;
  responder: ResponderKey;
  count: number;
  run: number;
  /** initiations per second asked of the source (0: no pacing) */
  rate: number;
  load: LoadSeen;
  idleRssKiB: number;
  /** VmRSS with the SAs held, 2 s after the last was established */
  rssKiB: number;
  /** responder utime+stime from the start of the load until the last SA established (or the give-up) */
  cpuMs: number;
  /** the initiator's CPU over the same time, as a share of its one core: near 1, the initiator set the pace */
  initiatorBusy: number;
  /** from the first datagram the responder's namespace received to its last "established" line */
  establishS: number;
  /** established lines in the responder's log: IKE_SAs, CHILD_SAs */
  ike: number;
  child: number;
  complete: boolean;
  /** Udp counters of the responder's namespace over the run: datagrams, receive errors, receive-buffer drops */
  udp: { inDatagrams: number; inErrors: number; rcvbufErrors: number };
  /** SIGTERM to exit of the responder holding the SAs; killed: it needed SIGKILL */
  shutdownMs: number;
  shutdownKilled: boolean;
  /** the ikelab initiator's own summary (source ikelab): setup latency */
  initiator?: { established: number; failed: number; p50?: number; p99?: number };
  notes: string[];
}

export const cpuPerSetup = (m: Measure): number => (m.ike > 0 ? m.cpuMs / m.ike : Number.NaN);
export const kibPerSa = (m: Measure): number => (m.ike > 0 ? (m.rssKiB - m.idleRssKiB) / m.ike : Number.NaN);

export function median(xs: number[]): number {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return Number.NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

interface Stat {
  med: number;
  min: number;
  max: number;
  n: number;
}

function stat(xs: number[]): Stat {
  const v = xs.filter(Number.isFinite);
  return { med: median(v), min: v.length ? Math.min(...v) : Number.NaN, max: v.length ? Math.max(...v) : Number.NaN, n: v.length };
}

const fmt = (x: number, d: number): string => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
/** median, and the range when runs disagree, so a noisy figure shows as one */
function cell(s: Stat, d: number): string {
  if (!s.n) return 'n/a';
  if (s.n === 1 || fmt(s.min, d) === fmt(s.max, d)) return fmt(s.med, d);
  return `${fmt(s.med, d)} (${fmt(s.min, d)}-${fmt(s.max, d)})`;
}
const ratio = (num: Stat, den: Stat): string => (num.n && den.n && den.med > 0 ? `${(num.med / den.med).toFixed(2)}x` : 'n/a');

type Group = { kind: Measure['kind']; source: Source; responder: ResponderKey; count: number; runs: Measure[] };

export function groups(ms: Measure[]): Group[] {
  const by = new Map<string, Group>();
  for (const m of ms) {
    const k = `${m.kind}/${m.source}/${m.responder}/${m.count}`;
    let g = by.get(k);
    if (!g) by.set(k, (g = { kind: m.kind, source: m.source, responder: m.responder, count: m.count, runs: [] }));
    g.runs.push(m);
  }
  return [...by.values()];
}

/** The medians per group, for the JSON file. */
export function summary(ms: Measure[]): object[] {
  return groups(ms).map((g) => ({
    kind: g.kind,
    source: g.source,
    responder: g.responder,
    label: RESPONDERS[g.responder].label,
    count: g.count,
    runs: g.runs.length,
    complete: g.runs.filter((r) => r.complete).length,
    cpuMsPerSetup: stat(g.runs.map(cpuPerSetup)),
    kibPerSa: stat(g.runs.map(kibPerSa)),
    idleRssKiB: stat(g.runs.map((r) => r.idleRssKiB)),
    establishS: stat(g.runs.map((r) => r.establishS)),
    rcvbufErrors: stat(g.runs.map((r) => r.udp.rcvbufErrors)),
    shutdownMs: stat(g.runs.map((r) => r.shutdownMs)),
    loadMax: stat(g.runs.map((r) => r.load.max)),
  }));
}

const loadCell = (g: Group): string => {
  const before = g.runs.map((r) => r.load.before);
  const max = g.runs.map((r) => r.load.max);
  return `${fmt(Math.min(...before), 1)}-${fmt(Math.max(...max), 1)}`;
};
const doneCell = (g: Group): string => `${g.runs.filter((r) => r.complete).length}/${g.runs.length}`;

function pacedTable(gs: Group[], source: Source): string[] {
  const rows = gs.filter((g) => g.kind === 'paced' && g.source === source);
  if (!rows.length) return [];
  const out = [
    '| responder | SAs held | CPU ms per setup | KiB per IKE_SA+CHILD_SA | idle RSS MiB | up in s | SAs/s | initiator busy % | shutdown s (SIGTERM) | complete | load avg |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const g of rows.sort((a, b) => a.responder.localeCompare(b.responder) || a.count - b.count)) {
    out.push(
      `| ${RESPONDERS[g.responder].label} | ${g.count.toLocaleString('en')} | ${cell(stat(g.runs.map(cpuPerSetup)), 2)} | ` +
        `${cell(stat(g.runs.map(kibPerSa)), 1)} | ${cell(stat(g.runs.map((r) => r.idleRssKiB / 1024)), 1)} | ` +
        `${cell(stat(g.runs.map((r) => r.establishS)), 1)} | ${cell(stat(g.runs.map((r) => r.ike / r.establishS)), 0)} | ` +
        `${cell(stat(g.runs.map((r) => r.initiatorBusy * 100)), 0)} | ` +
        `${cell(stat(g.runs.map((r) => r.shutdownMs / 1000)), 2)}` +
        `${g.runs.some((r) => r.shutdownKilled) ? ' (SIGKILL)' : ''} | ${doneCell(g)} | ${loadCell(g)} |`,
    );
  }
  // ikelab/charon: the same kind of data plane on both sides of the ratio
  const pairs: [ResponderKey, ResponderKey][] = [
    ['b', 'a'],
    ['d', 'c'],
  ];
  const ratios: string[] = [];
  for (const [ik, ch] of pairs) {
    for (const gi of rows.filter((g) => g.responder === ik)) {
      const gc = rows.find((g) => g.responder === ch && g.count === gi.count);
      if (!gc) continue;
      ratios.push(
        `| ${ik}/${ch} | ${gi.count.toLocaleString('en')} | ${ratio(stat(gi.runs.map(cpuPerSetup)), stat(gc.runs.map(cpuPerSetup)))} | ` +
          `${ratio(stat(gi.runs.map(kibPerSa)), stat(gc.runs.map(kibPerSa)))} | ` +
          `${ratio(stat(gi.runs.map((r) => r.idleRssKiB)), stat(gc.runs.map((r) => r.idleRssKiB)))} | ` +
          `${ratio(stat(gi.runs.map((r) => r.establishS)), stat(gc.runs.map((r) => r.establishS)))} | ` +
          `${ratio(stat(gi.runs.map((r) => r.shutdownMs)), stat(gc.runs.map((r) => r.shutdownMs)))} |`,
      );
    }
  }
  if (ratios.length)
    out.push(
      '',
      'Ratios ikelab/charon (medians; b/a with ESP state, d/c IKE only):',
      '',
      '| ratio | SAs held | CPU per setup | KiB per SA | idle RSS | up in | shutdown |',
      '|---|---|---|---|---|---|---|',
      ...ratios,
    );
  return out;
}

function burstTable(gs: Group[]): string[] {
  const rows = gs.filter((g) => g.kind === 'burst');
  if (!rows.length) return [];
  const out = [
    '| responder | SAs | all up in s | established (IKE/CHILD) | UDP receive-buffer drops | UDP InErrors | CPU ms per setup | initiator busy % | complete | load avg |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const g of rows.sort((a, b) => a.responder.localeCompare(b.responder))) {
    out.push(
      `| ${RESPONDERS[g.responder].label} | ${g.count.toLocaleString('en')} | ${cell(stat(g.runs.map((r) => r.establishS)), 1)} | ` +
        `${cell(stat(g.runs.map((r) => r.ike)), 0)} / ${cell(stat(g.runs.map((r) => r.child)), 0)} | ` +
        `${cell(stat(g.runs.map((r) => r.udp.rcvbufErrors)), 0)} | ${cell(stat(g.runs.map((r) => r.udp.inErrors)), 0)} | ` +
        `${cell(stat(g.runs.map(cpuPerSetup)), 2)} | ${cell(stat(g.runs.map((r) => r.initiatorBusy * 100)), 0)} | ${doneCell(g)} | ${loadCell(g)} |`,
    );
  }
  for (const [ik, ch] of [
    ['b', 'a'],
    ['d', 'c'],
  ] as const) {
    const gi = rows.find((g) => g.responder === ik);
    const gc = rows.find((g) => g.responder === ch);
    if (gi && gc)
      out.push(
        `| ratio ${ik}/${ch} | | ${ratio(stat(gi.runs.map((r) => r.establishS)), stat(gc.runs.map((r) => r.establishS)))} | | | | ` +
          `${ratio(stat(gi.runs.map(cpuPerSetup)), stat(gc.runs.map(cpuPerSetup)))} | | | |`,
      );
  }
  return out;
}

function ikelabSourceTable(gs: Group[]): string[] {
  const rows = gs.filter((g) => g.kind === 'paced' && g.source === 'ikelab');
  if (!rows.length) return [];
  const out = pacedTable(gs, 'ikelab');
  out.push('', '| responder | SAs | initiator: established | failed | setup p50 ms | setup p99 ms |', '|---|---|---|---|---|---|');
  for (const g of rows) {
    const i = g.runs.map((r) => r.initiator).filter((x) => x !== undefined);
    out.push(
      `| ${RESPONDERS[g.responder].label} | ${g.count.toLocaleString('en')} | ${cell(stat(i.map((x) => x.established)), 0)} | ` +
        `${cell(stat(i.map((x) => x.failed)), 0)} | ${cell(stat(i.map((x) => x.p50 ?? Number.NaN)), 0)} | ${cell(stat(i.map((x) => x.p99 ?? Number.NaN)), 0)} |`,
    );
  }
  return out;
}

export function markdown(ms: Measure[], head: string[]): string {
  const gs = groups(ms);
  const sections: string[][] = [
    head,
    ['## strongSwan load-tester as initiator, paced', '', ...pacedTable(gs, 'load-tester')],
    ['## Burst: load-tester with delay = 0', '', ...burstTable(gs)],
    ["## ikelab's own initiator (`initiate --count --id-pattern`) as the load source", '', ...ikelabSourceTable(gs)],
  ];
  return `${sections
    .filter((s) => s.length > 2 || s === head)
    .map((s) => s.join('\n'))
    .join('\n\n')}\n`;
}
