// ESP throughput per transform: ikelab's engine alone, and through a real tunnel against strongSwan's
// kernel-libipsec, measured in the same run. A benchmark, not a test: it never fails on a number.
// Run it through scripts/bench-tunnel.sh (compiles this file into a temp dir; see scripts/README.md).
//
// Per transform:
//   engine  scripts/bench-esp.ts --only T --no-esn: ikelab's EspOutbound.seal + EspInbound.open in-process, one core.
//   run A   strongSwan (ns s) <-> strongSwan (ns k); a UDP echo server (scripts/bench-udp.mjs) on 10.12.0.1:7 in k.
//   run B   strongSwan (ns s) <-> ikelab (ns k); ikelab's virtual host 10.12.0.7 answers UDP echo itself.
//   In both runs a load generator in s (scripts/bench-udp.mjs load) sends from 10.11.0.1 through the CHILD_SA
//   with a bounded window in flight for a fixed time and counts the echoes.
//
// Network: only the two namespaces test/helpers/lab.ts creates (veth 10.98.0.1 <-> 10.98.0.2), deleted at the end,
// also on Ctrl-C / SIGTERM. Processes: only the ones started here (charon, ikelab, echo server, load generator).
import { execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { established, interopAvailability, Lab, type Charon, type Ikelab } from '../test/helpers/lab.js';
import { ikelabYaml, swanctlConf } from '../test/helpers/scenario.js';
import { CLK_TCK, killMine, PDEATH, machine, sleep, spawnIn, stopChild } from './bench-common.js';

let lab: Lab | undefined;

const HERE = path.dirname(fileURLToPath(import.meta.url)); // compiled: <tmp>/scripts
const REPO = process.env.IKELAB_REPO ?? process.cwd();
const UDP_TOOL = path.join(REPO, 'scripts', 'bench-udp.mjs');
const BENCH_ESP = path.join(HERE, 'bench-esp.js');
const IKELAB_CLI = process.env.IKELAB_CLI_PATH ?? path.join(REPO, 'dist', 'cli.js');

const SWAN_SRC = '10.11.0.1'; // on lo in s, inside strongSwan's local_ts
const ECHO_A = '10.12.0.1'; // on lo in k (run A: a real UDP echo server)
const ECHO_B = '10.12.0.7'; // ikelab's virtual host (run B)
const ECHO_PORT = 7;
const DEFAULT_TRANSFORMS = ['aes128-sha1', 'aes256-sha256', 'aes128gcm16', 'aes256gcm16', 'chacha20poly1305', '3des-sha1'];

// ------------------------------------------------------------------------------------------------------------
// Arguments
// ------------------------------------------------------------------------------------------------------------

const USAGE = `usage: scripts/bench-tunnel.sh [options] [transform ...]
  transforms      ESP proposals (default: ${DEFAULT_TRANSFORMS.join(' ')})
  --size N        inner IP packet bytes, 64..1400 (default 1400; libipsec's TUN MTU is 1400)
  --duration S    measured seconds per tunnel run (default 5)
  --warmup S      unmeasured seconds before that (default 1)
  --window N      datagrams in flight (default 64)
  --engine-packets N   packets per engine measurement (default 20000)
  --only A|B|AB   which tunnel runs (default AB)
  --no-engine     skip the in-process engine benchmark
  --no-baseline   skip the plain-UDP (no IPsec) ceiling measurement
  -h, --help`;

interface Opts {
  transforms: string[];
  size: number;
  duration: number;
  warmup: number;
  window: number;
  enginePackets: number;
  runA: boolean;
  runB: boolean;
  engine: boolean;
  baseline: boolean;
}

function parseArgs(argv: string[]): Opts {
  const o: Opts = {
    transforms: [],
    size: 1400,
    duration: 5,
    warmup: 1,
    window: 64,
    enginePackets: 20000,
    runA: true,
    runB: true,
    engine: true,
    baseline: true,
  };
  const num = (i: number, name: string, min: number, max: number): number => {
    const v = Number(argv[i]);
    if (argv[i] === undefined || !Number.isFinite(v) || v < min || v > max)
      throw new Error(`${name}: expected a number in ${min}..${max}\n${USAGE}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else if (a === '--size') o.size = Math.round(num(++i, a, 64, 1400));
    else if (a === '--duration') o.duration = num(++i, a, 0.5, 60);
    else if (a === '--warmup') o.warmup = num(++i, a, 0, 30);
    else if (a === '--window') o.window = Math.round(num(++i, a, 1, 4096));
    else if (a === '--engine-packets') o.enginePackets = Math.round(num(++i, a, 100, 10_000_000));
    else if (a === '--only') {
      const v = (argv[++i] ?? '').toUpperCase();
      if (!/^(A|B|AB|BA)$/.test(v)) throw new Error(`--only: A, B or AB\n${USAGE}`);
      o.runA = v.includes('A');
      o.runB = v.includes('B');
    } else if (a === '--no-engine') o.engine = false;
    else if (a === '--no-baseline') o.baseline = false;
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}\n${USAGE}`);
    else if (!/^[a-z0-9_]+(-[a-z0-9_]+)*$/i.test(a)) throw new Error(`not an ESP proposal: ${a}`);
    else o.transforms.push(a);
  }
  if (!o.transforms.length) o.transforms = DEFAULT_TRANSFORMS;
  if (o.transforms.length > 20) throw new Error('at most 20 transforms per run');
  return o;
}

// ------------------------------------------------------------------------------------------------------------
// Measurements
// ------------------------------------------------------------------------------------------------------------

interface Rate {
  pps: number;
  mbps: number;
  lost?: number;
  rttP50?: number | null;
  /** CPU of the s-side charon / the k-side peer (charon or ikelab) during the measured interval, % of one core. */
  cpuS?: number;
  cpuK?: number;
  note?: string;
}

async function engineRates(o: Opts): Promise<Map<string, Rate>> {
  const out = new Map<string, Rate>();
  // bench-esp knows a fixed list; ask only for those (the others print n/a)
  const list = execFileSync(process.execPath, [BENCH_ESP, '--list'], { encoding: 'utf8', timeout: 30_000 }).split('\n');
  const known = o.transforms.filter((t) => list.includes(t));
  if (!known.length) return out;
  const text = execFileSync(
    process.execPath,
    [BENCH_ESP, String(o.enginePackets), '--size', String(o.size), '--only', known.join(','), '--no-esn', '--json'],
    {
      encoding: 'utf8',
      timeout: 300_000,
    },
  );
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    const r = JSON.parse(line) as { transform: string; bothPps: number };
    out.set(r.transform, { pps: r.bothPps, mbps: (r.bothPps * o.size * 8) / 1e6 });
  }
  return out;
}

/** utime + stime of a process (all its threads), in clock ticks; undefined once it is gone. */
function cpuTicks(pid: number): number | undefined {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' '); // f[0] = field 3 (state)
    return Number(f[11]) + Number(f[12]);
  } catch {
    return undefined;
  }
}

/**
 * The load generator in s against dst:7 (bounded by its own timer and by execIn's timeout). While it measures,
 * the CPU use of the given processes is sampled (percent of one core over the measured interval).
 */
async function load(o: Opts, src: string, dst: string, watch: { s?: number; k?: number } = {}): Promise<Rate> {
  const sample = () => ({ t: performance.now(), s: watch.s && cpuTicks(watch.s), k: watch.k && cpuTicks(watch.k) });
  let first: ReturnType<typeof sample> | undefined;
  let last: ReturnType<typeof sample> | undefined;
  const t1 = setTimeout(() => (first = sample()), o.warmup * 1000 + 100);
  const t2 = setTimeout(() => (last = sample()), (o.warmup + o.duration) * 1000);
  const r = await lab!.execIn(
    's',
    [
      ...PDEATH,
      process.execPath,
      UDP_TOOL,
      'load',
      src,
      dst,
      String(ECHO_PORT),
      String(o.size),
      String(o.warmup),
      String(o.duration),
      String(o.window),
    ],
    (o.warmup + o.duration) * 1000 + 15_000,
  );
  clearTimeout(t1);
  clearTimeout(t2);
  const pct = (side: 's' | 'k') => {
    const a = first?.[side];
    const b = last?.[side];
    if (!first || !last || typeof a !== 'number' || typeof b !== 'number' || last.t <= first.t) return undefined;
    return ((b - a) / CLK_TCK / ((last.t - first.t) / 1000)) * 100;
  };
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (r.code !== 0 || !line)
    return { pps: NaN, mbps: NaN, note: `load generator failed (${r.code}): ${(r.stderr || r.stdout).trim().slice(0, 300)}` };
  const j = JSON.parse(line) as { pps: number; mbps: number; lost: number; rttMs: { p50: number | null } };
  return {
    pps: j.pps,
    mbps: j.mbps,
    lost: j.lost,
    rttP50: j.rttMs.p50,
    cpuS: pct('s'),
    cpuK: pct('k'),
    note: j.pps === 0 ? 'no echo came back' : undefined,
  };
}

/** swanctl.conf for the strongSwan in k: the mirror image of scenario.ts's swanctlConf. */
function swanctlConfK(esp: string): string {
  return swanctlConf({ espProposals: esp })
    .replace(/10\.98\.0\.1/g, '@@S@@')
    .replace(/10\.98\.0\.2/g, '10.98.0.1')
    .replace(/@@S@@/g, '10.98.0.2')
    .replace('local_ts = 10.11.0.0/24', 'local_ts = @@TS@@')
    .replace('remote_ts = 10.12.0.0/24', 'remote_ts = 10.11.0.0/24')
    .replace('@@TS@@', '10.12.0.0/24');
}

const CHARON_OPTS = { debugLog: false } as const;

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(`${what}: timed out after ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(t);
  }
}

async function runA(o: Opts, esp: string): Promise<Rate> {
  let s: Charon | undefined;
  let k: Charon | undefined;
  let echo: ChildProcess | undefined;
  try {
    s = await lab!.startCharon({ swanctlConf: swanctlConf({ espProposals: esp }), ...CHARON_OPTS });
    k = await lab!.startCharonIn('k', { swanctlConf: swanctlConfK(esp), ...CHARON_OPTS });
    echo = spawnIn(
      lab!,
      'k',
      [process.execPath, UDP_TOOL, 'echo', ECHO_A, String(ECHO_PORT), String(Math.ceil(o.warmup + o.duration + 60))],
      lab!.path('k', 'echo.log'),
    );
    const init = await s.swanctl(['--initiate', '--child', 'net'], 15_000);
    if (init.code !== 0) return { pps: NaN, mbps: NaN, note: `initiate failed: ${init.stdout.split('\n').slice(-3).join(' ')}` };
    await s.waitFor((x) => established(x, 'bar', 'net'), 8000);
    await k.waitFor((x) => established(x, 'bar', 'net'), 5000);
    if (echo.exitCode !== null) return { pps: NaN, mbps: NaN, note: 'echo server exited' };
    return await load(o, SWAN_SRC, ECHO_A, { s: s.pid, k: k.pid });
  } catch (e) {
    return { pps: NaN, mbps: NaN, note: (e as Error).message.split('\n')[0] };
  } finally {
    if (echo) await stopChild(echo);
    await Promise.all([s?.stop(), k?.stop()]);
  }
}

async function runB(o: Opts, esp: string): Promise<Rate> {
  let s: Charon | undefined;
  let ike: Ikelab | undefined;
  try {
    s = await lab!.startCharon({ swanctlConf: swanctlConf({ espProposals: esp }), ...CHARON_OPTS });
    ike = await lab!.startIkelab(
      ikelabYaml({ espProposals: esp, hostAddrs: [ECHO_B], ikelabStart: 'none' }, lab!.path('k', 'ikelab.sock')),
    );
    const init = await s.swanctl(['--initiate', '--child', 'net'], 15_000);
    if (init.code !== 0) return { pps: NaN, mbps: NaN, note: `initiate failed: ${init.stdout.split('\n').slice(-3).join(' ')}` };
    await s.waitFor((x) => established(x, 'bar', 'net'), 8000);
    await ike.waitFor((x) => x.length === 1 && x[0].children.some((c: any) => c.state === 'INSTALLED'), 5000);
    const r = await load(o, SWAN_SRC, ECHO_B, { s: s.pid, k: ike.pid });
    // ikelab's own view of the run: drops it counted (integrity, replay) would explain a low number
    try {
      const [sa] = await ike.listSas();
      const c = sa?.children?.find((x: any) => x.state === 'INSTALLED')?.counters;
      if (c && (c.integrityFailures || c.replayDrops))
        r.note = `ikelab counted integrity failures ${c.integrityFailures}, replay drops ${c.replayDrops}`;
    } catch {
      /* informational only */
    }
    return r;
  } catch (e) {
    return { pps: NaN, mbps: NaN, note: (e as Error).message.split('\n')[0] };
  } finally {
    await Promise.all([s?.stop(), ike?.stop()]);
  }
}

/** Plain UDP echo over the veth, no IPsec: the ceiling of load generator + echo server on this machine. */
async function baseline(o: Opts): Promise<Rate> {
  const echo = spawnIn(
    lab!,
    'k',
    [process.execPath, UDP_TOOL, 'echo', '10.98.0.2', String(ECHO_PORT), String(Math.ceil(o.warmup + o.duration + 60))],
    lab!.path('k', 'echo-plain.log'),
  );
  try {
    await sleep(300);
    return await load(o, '10.98.0.1', '10.98.0.2');
  } finally {
    await stopChild(echo);
  }
}

// ------------------------------------------------------------------------------------------------------------
// Output
// ------------------------------------------------------------------------------------------------------------

const f0 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(0));
const f1 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(1));
const fk = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 'n/a' : (v / 1000).toFixed(1));
const cell = (r: Rate | undefined) => (r ? `${f0(r.mbps).padStart(6)} ${fk(r.pps).padStart(6)}` : `${'-'.padStart(6)} ${'-'.padStart(6)}`);
const cpu = (r: Rate | undefined) =>
  (r && (r.cpuS !== undefined || r.cpuK !== undefined) ? `${f0(r.cpuS)}/${f0(r.cpuK)}%` : '-').padStart(9);
/** CPU microseconds the k-side peer spent per echoed round trip (one open + one seal there). */
const usK = (r: Rate | undefined) => (r && r.cpuK !== undefined && r.pps > 0 ? (r.cpuK / 100 / r.pps) * 1e6 : undefined);
const tunnelCell = (r: Rate | undefined) => `${cell(r)} ${cpu(r)} ${(r ? f1(usK(r)) : '-').padStart(5)}`;
const progress = (r: Rate) =>
  !Number.isFinite(r.pps)
    ? `n/a (${r.note})`
    : `${f0(r.mbps)} Mbit/s, ${fk(r.pps)} kpps, lost ${r.lost}, rtt p50 ${r.rttP50} ms, cpu s ${f0(r.cpuS)}% k ${f0(r.cpuK)}% (${f1(usK(r))} us/pkt)${r.note ? ` (${r.note})` : ''}`;

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const tStart = Date.now();
  const needLab = o.runA || o.runB || o.baseline;
  if (needLab) {
    const a = interopAvailability();
    if (!a.ok) throw new Error(`tunnel runs need the interop lab: ${a.reason}`);
    if (!fs.existsSync(IKELAB_CLI) && o.runB) throw new Error(`${IKELAB_CLI} missing: run \`npm run build\` first`);
  }
  console.log(`ikelab ESP throughput, ${o.size}-byte inner IPv4 packets (UDP payload ${o.size - 28} B)`);
  console.log(`machine: ${machine()}`);
  console.log(
    `tunnel runs: ${o.warmup}s warm-up + ${o.duration}s measured, window ${o.window} in flight; engine: ${o.enginePackets} packets per measurement`,
  );
  console.log('');

  const engine = o.engine
    ? (console.log('engine micro-benchmark (scripts/bench-esp.ts) ...'), await engineRates(o))
    : new Map<string, Rate>();
  if (needLab) lab = await Lab.create();
  let plain: Rate | undefined;
  if (o.baseline) {
    process.stdout.write('plain UDP echo over the veth, no IPsec ... ');
    plain = await baseline(o);
    console.log(`${f0(plain.mbps)} Mbit/s, ${fk(plain.pps)} kpps`);
  }
  const rows: { t: string; e?: Rate; a?: Rate; b?: Rate }[] = [];
  for (const t of o.transforms) {
    const row: (typeof rows)[number] = { t, e: engine.get(t) };
    if (o.runA) {
      process.stdout.write(`${t}: A strongSwan<->strongSwan ... `);
      row.a = await withTimeout(runA(o, t), (o.warmup + o.duration) * 1000 + 60_000, 'run A');
      console.log(progress(row.a));
    }
    if (o.runB) {
      process.stdout.write(`${t}: B strongSwan<->ikelab ... `);
      row.b = await withTimeout(runB(o, t), (o.warmup + o.duration) * 1000 + 60_000, 'run B');
      console.log(progress(row.b));
    }
    rows.push(row);
  }
  await lab?.destroy();
  lab = undefined;

  const ratio = (b?: Rate, a?: Rate) =>
    b && a && Number.isFinite(b.pps) && Number.isFinite(a.pps) && a.pps > 0 ? `${(b.pps / a.pps).toFixed(2)}x` : 'n/a';
  const rateHdr = `${'Mbit/s'.padStart(6)} ${'kpps'.padStart(6)}`;
  const tunHdr = `${rateHdr} ${'cpu s/k'.padStart(9)} ${'k us'.padStart(5)}`;
  const hdr1 = `${''.padEnd(18)} | ${'ikelab engine'.padEnd(19)} | ${'A strongSwan<->strongSwan'.padEnd(29)} | ${'B strongSwan<->ikelab'.padEnd(29)} |`;
  const hdr2 = `${'transform'.padEnd(18)} | ${rateHdr} ${'us'.padStart(5)} | ${tunHdr} | ${tunHdr} |   B/A`;
  console.log('');
  console.log(hdr1);
  console.log(hdr2);
  console.log('-'.repeat(hdr2.length + 3));
  for (const r of rows)
    console.log(
      `${r.t.padEnd(18)} | ${cell(r.e)} ${(r.e ? f1(1e6 / r.e.pps) : '-').padStart(5)} | ${tunnelCell(r.a)} | ${tunnelCell(r.b)} | ${ratio(r.b, r.a).padStart(5)}`,
    );
  if (plain) console.log(`${'(no IPsec)'.padEnd(18)} | ${''.padEnd(19)} | ${cell(plain)}  (plain UDP echo over the veth, no tunnel)`);
  console.log(`
Columns (Mbit/s = packets/s x ${o.size} B x 8, inner IP packets; kpps = thousands of packets/s):
  ikelab engine  ikelab's EspOutbound.seal + EspInbound.open in-process on one core, no I/O, no ESN
                 (1 / (1/seal rate + 1/open rate)): what one ikelab peer spends per packet and direction;
                 us = CPU microseconds for that one seal + one open.
  A, B           echoed UDP round trips per second through the CHILD_SA, from 10.11.0.1 in namespace s; each
                 round trip is one seal + one open on *each* peer, so the number is comparable with the engine
                 column. ESP-in-UDP on 4500 (libipsec forces encapsulation), ${o.window} datagrams in flight.
  A              strongSwan kernel-libipsec on both ends, a Node UDP echo server behind the k end.
  B              strongSwan kernel-libipsec in s, ikelab in k answering the echo from its virtual host.
  cpu s/k        CPU of the s-side charon / the k-side peer (charon in A, ikelab in B) while measuring, in % of
                 one core (charon's libipsec uses several threads, so it can exceed 100%; ikelab's ESP runs on
                 Node's one main thread, so ~100% there means ikelab is the limit).
  k us           CPU microseconds the k-side peer spent per echoed round trip (one open + one seal + I/O
                 there); compare with the engine's us to see how much of ikelab's cost is crypto. It moves
                 less with machine load than the rates, but a starved peer handles fewer packets per wake-up,
                 so on a busy machine it rises too (both peers alike).
  B/A            ratio of the two tunnels. B's bottleneck may be either side: ikelab or strongSwan's libipsec in
                 s; everything (both peers, load generator, echo server) shares this machine's ${os.cpus().length} cores.
  (no IPsec)     the same load generator and echo server over the bare veth: the ceiling of the harness.
Not a test: numbers move with machine load; compare columns of the same run, not across machines.
total ${((Date.now() - tStart) / 1000).toFixed(0)} s`);
}

main().catch(async (e) => {
  console.error(`bench-tunnel: ${(e as Error).message}`);
  killMine();
  try {
    await lab?.destroy();
  } catch {
    /* exit handler retries synchronously */
  }
  process.exit(1);
});
