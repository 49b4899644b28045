// Responder benchmark under load (issue 16 item 7; not a test, it never fails on a number). strongSwan's own
// load-tester plugin is the neutral initiator; the responders are, one at a time, in the same run:
//   a  Debian's charon + kernel-libipsec        b  ikelab, ipsec_backend: userspace
//   c  charon IKE only (load-tester's fake kernel, nothing installed)   d  ikelab, ipsec_backend: none
// Per run and N: responder CPU ms per setup, RSS per SA over the idle RSS, time until all are up, shutdown time
// (SIGTERM to exit) holding them; a burst (load-tester delay 0) with the UDP drops of the responder's namespace;
// and ikelab's own `initiate --count --id-pattern` as a second load source against a and b. Responder on core 0,
// initiator on core 1 (taskset); runs interleaved (responder order rotated per run); medians; JSON + markdown.
//
// Run it through scripts/bench-load.sh, which says how to build the load-tester and skips without it; see
// scripts/README.md for what each column measures.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cpuMs, grepLog, LoadSampler, LogCounter, type Proc, Rig, rssKiB, sleep, udpCounters, waitQuiet } from './bench-load-lab.js';
import {
  type Daemon,
  ltCharon,
  ltPlugin,
  ltSwanctl,
  type Proposals,
  RESPONDERS,
  type ResponderKey,
  runIkelabLoad,
  startIkelabInitiator,
  startLoadTester,
  startResponder,
  type Tools,
} from './bench-load-peers.js';
import { type Measure, markdown, type Source, summary } from './bench-load-report.js';

const USAGE = `usage: scripts/bench-load.sh [options]        (IKELAB_LOADTESTER_PREFIX=/path/to/strongswan-prefix)
  --sizes LIST        SAs held per paced run, comma-separated (default 1000,5000; the issue's table adds 10000)
  --runs N            interleaved runs; the tables show medians (default 3)
  --rate R            initiations per second of a paced run (default 100: load-tester delay 10 ms, one thread,
                      which gives ~60/s: the delay is a sleep after each initiation)
  --burst N           SAs of the burst run, load-tester delay 0 (default 5000; 0: no burst)
  --burst-timeout S   give a burst up after S seconds (default 180)
  --responders LIST   of a,b,c,d (default a,b,c,d)
  --sources LIST      load-tester and/or ikelab (default load-tester,ikelab; ikelab's initiator loads a and b)
  --ike PROPOSAL      IKE proposal (default aes256-sha256-ecp256)
  --esp PROPOSAL      ESP proposal (default aes256-sha256)
  --timeout S         give a paced run up after 2 N/rate + S seconds (default 60)
  --max-load L        wait for a 1-minute load average below L before each run (default 1.5)
  --load-wait S       ... but at most S seconds before each of the interleaved runs (default 600)
  --load-wait-each S  ... and at most S seconds before each measurement within a run (default 90: the load of
                      the previous measurement decays; a busy machine would otherwise stretch a run to hours)
  --dos-defaults      leave COOKIEs and per-address blocking at the responders' defaults (default: off, as a
                      headend set up for a load test from one address)
  --log-level L       charon-style log level of every daemon (default 0: the established lines only)
  --out FILE          JSON results (default $TMPDIR/ikelab-bench-load-<time>.json; the markdown beside it)
  -h, --help`;

interface Opts {
  sizes: number[];
  runs: number;
  rate: number;
  burst: number;
  burstTimeout: number;
  responders: ResponderKey[];
  sources: Source[];
  p: Proposals;
  timeout: number;
  maxLoad: number;
  loadWait: number;
  loadWaitEach: number;
  logLevel: number;
  dosDefaults: boolean;
  out: string;
}

function parseArgs(argv: string[]): Opts {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const o: Opts = {
    sizes: [1000, 5000],
    runs: 3,
    rate: 100,
    burst: 5000,
    burstTimeout: 180,
    responders: ['a', 'b', 'c', 'd'],
    sources: ['load-tester', 'ikelab'],
    p: { ike: 'aes256-sha256-ecp256', esp: 'aes256-sha256' },
    timeout: 60,
    maxLoad: 1.5,
    loadWait: 600,
    loadWaitEach: 90,
    logLevel: 0,
    dosDefaults: false,
    out: path.join(os.tmpdir(), `ikelab-bench-load-${stamp}.json`),
  };
  const val = (i: number, name: string): string => {
    const v = argv[i];
    if (v === undefined) throw new Error(`${name} needs a value\n${USAGE}`);
    return v;
  };
  const num = (i: number, name: string, min: number, max: number): number => {
    const v = Number(val(i, name));
    if (!Number.isFinite(v) || v < min || v > max) throw new Error(`${name}: expected a number in ${min}..${max}, got '${argv[i]}'`);
    return v;
  };
  const list = <T extends string>(i: number, name: string, allowed: readonly T[]): T[] => {
    const v = val(i, name).split(',');
    for (const x of v) if (!allowed.includes(x as T)) throw new Error(`${name}: '${x}' is not one of ${allowed.join(', ')}`);
    return v as T[];
  };
  const prop = (i: number, name: string): string => {
    const v = val(i, name);
    if (!/^[a-z0-9_]+(-[a-z0-9_]+)*$/i.test(v)) throw new Error(`${name}: not a proposal: '${v}'`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else if (a === '--sizes') {
      o.sizes = val(++i, a)
        .split(',')
        .map((x) => Number(x));
      if (o.sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 100_000))
        throw new Error(`--sizes: integers 1..100000, got '${argv[i]}'`);
    } else if (a === '--runs') o.runs = Math.round(num(++i, a, 1, 20));
    else if (a === '--rate') o.rate = num(++i, a, 1, 1000);
    else if (a === '--burst') o.burst = Math.round(num(++i, a, 0, 100_000));
    else if (a === '--burst-timeout') o.burstTimeout = num(++i, a, 10, 3600);
    else if (a === '--responders') o.responders = list(++i, a, ['a', 'b', 'c', 'd'] as const);
    else if (a === '--sources') o.sources = list(++i, a, ['load-tester', 'ikelab'] as const);
    else if (a === '--ike') o.p.ike = prop(++i, a);
    else if (a === '--esp') o.p.esp = prop(++i, a);
    else if (a === '--timeout') o.timeout = num(++i, a, 5, 3600);
    else if (a === '--max-load') o.maxLoad = num(++i, a, 0.1, 1000);
    else if (a === '--load-wait') o.loadWait = num(++i, a, 0, 3600);
    else if (a === '--load-wait-each') o.loadWaitEach = num(++i, a, 0, 3600);
    else if (a === '--log-level') o.logLevel = Math.round(num(++i, a, -1, 4));
    else if (a === '--dos-defaults') o.dosDefaults = true;
    else if (a === '--out') o.out = path.resolve(val(++i, a));
    else throw new Error(`unknown argument '${a}'\n${USAGE}`);
  }
  return o;
}

/** The binaries, or why the benchmark cannot run (the .sh wrapper checks the load-tester first). */
function tools(): Tools {
  const prefix = process.env.IKELAB_LOADTESTER_PREFIX ?? '';
  const t: Tools = {
    charon: process.env.IKELAB_CHARON || '/usr/lib/ipsec/charon',
    swanctl: 'swanctl',
    ltPrefix: prefix,
    node: process.execPath,
    ikelabCli: process.env.IKELAB_CLI_PATH ?? path.resolve('dist', 'cli.js'),
  };
  const missing: string[] = [];
  if (!prefix) missing.push('IKELAB_LOADTESTER_PREFIX is not set');
  else for (const f of [ltCharon(t), ltPlugin(t), ltSwanctl(t)]) if (!fs.existsSync(f)) missing.push(`${f} missing`);
  if (!fs.existsSync(t.charon)) missing.push(`${t.charon} missing (apt-get install strongswan-charon libcharon-extra-plugins)`);
  if (!fs.existsSync(t.ikelabCli)) missing.push(`${t.ikelabCli} missing (npm run build)`);
  if (process.getuid?.() !== 0) missing.push('not root (network namespaces need root)');
  if (!fs.existsSync('/dev/net/tun')) missing.push('/dev/net/tun missing (kernel-libipsec needs it)');
  if (missing.length) throw new Error(`cannot run: ${missing.join('; ')}`);
  return t;
}

function machine(t: Tools): string {
  const v = (bin: string) => /strongSwan [\d.]+\w*/.exec(`${spawnSync(bin, ['--help'], { encoding: 'utf8', timeout: 5000 }).stdout}`)?.[0];
  const cpu = os.cpus();
  return (
    `${cpu[0]?.model ?? 'cpu?'} x ${cpu.length}, linux ${os.release()}, node ${process.version}; ` +
    `a: ${t.charon} (${v(t.swanctl) ?? 'strongSwan'}, kernel-libipsec); c and load-tester: ${v(ltSwanctl(t)) ?? 'strongSwan'} from ${t.ltPrefix}`
  );
}

const say = (s: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

let seq = 0;

interface Spec {
  kind: Measure['kind'];
  source: Source;
  responder: ResponderKey;
  count: number;
  run: number;
  /** the first measurement of an interleaved run waits longest for a quiet machine */
  firstOfRun?: boolean;
}

/** Until the responder logged count IKE_SAs and CHILD_SAs, the deadline passed, or nothing moved for stallS. */
async function waitEstablished(
  counter: LogCounter,
  count: number,
  resp: Proc,
  source: Proc,
  limits: { deadlineMs: number; stallS: number },
): Promise<{ tFirst: number; tLast: number; why: string }> {
  const udp0 = udpCounters(resp.pid).inDatagrams;
  const t0 = performance.now();
  let tFirst = Number.NaN;
  let tLast = t0;
  let last = 0;
  for (;;) {
    await sleep(Number.isNaN(tFirst) ? 10 : 100);
    const now = performance.now();
    if (Number.isNaN(tFirst) && udpCounters(resp.pid).inDatagrams > udp0) tFirst = now;
    counter.poll();
    const v = counter.ike + counter.child;
    if (v !== last) {
      last = v;
      tLast = now;
    }
    if (counter.ike >= count && counter.child >= count) return { tFirst, tLast, why: '' };
    if (!resp.running) return { tFirst, tLast, why: 'the responder exited' };
    if (now - t0 > limits.deadlineMs) return { tFirst, tLast, why: `gave up after ${((now - t0) / 1000).toFixed(0)} s` };
    if (now - tLast > limits.stallS * 1000 && !Number.isNaN(tFirst))
      return { tFirst, tLast, why: `no progress for ${limits.stallS} s${source.running ? '' : ' (the initiator exited)'}` };
  }
}

const TROUBLE =
  /(retransmit \d+ of|giving up after|deleting half open|failed|error|unknown IKE_SA|no IKE config found|peer not responding|AUTHENTICATION_FAILED)/i;

async function measure(rig: Rig, t: Tools, o: Opts, s: Spec): Promise<Measure> {
  const q = await waitQuiet(o.maxLoad, s.firstOfRun ? o.loadWait : o.loadWaitEach, say);
  const n = ++seq;
  const rate = s.kind === 'burst' ? 0 : o.rate;
  say(
    `run ${s.run}: ${s.kind} ${s.count} SAs from ${s.source}${rate ? ` at ${rate}/s` : ', no pacing'} -> ${RESPONDERS[s.responder].label} (load ${q.load.toFixed(2)})`,
  );
  const notes: string[] = [];
  const resp = await startResponder(rig, t, s.responder, { p: o.p, logLevel: o.logLevel, dosOff: !o.dosDefaults, n });
  let source: Daemon | undefined;
  let cli: { proc: Proc; out: string } | undefined;
  try {
    if (s.source === 'ikelab') source = await startIkelabInitiator(rig, t, { p: o.p, logLevel: o.logLevel, n: String(n) });
    await sleep(1500); // start-up allocations settled: the idle RSS
    const idleRssKiB = rssKiB(resp.proc.pid);
    const counter = new LogCounter(resp.logPath).poll();
    counter.ike = counter.child = 0;
    const sampler = new LoadSampler();
    const udp0 = udpCounters(resp.proc.pid);
    const cpu0 = cpuMs(resp.proc.pid);
    // the load-tester's charon starts below (from 0); ikelab's initiator daemon is already up
    const initCpu0 = source ? cpuMs(source.proc.pid) : 0;
    const tLoad = performance.now();
    if (s.source === 'load-tester') {
      source = startLoadTester(rig, t, {
        count: s.count,
        delayMs: rate ? Math.round(1000 / rate) : 0,
        p: o.p,
        logLevel: o.logLevel,
        n: String(n),
      });
    } else {
      cli = runIkelabLoad(rig, t, source as Daemon & { sock: string }, { count: s.count, rate, n: String(n) });
    }
    // the load-tester sleeps `delay` between initiations on top of the work of one, so it runs below --rate: twice N/rate
    const deadlineMs = s.kind === 'burst' ? o.burstTimeout * 1000 : ((2 * s.count) / rate + o.timeout) * 1000;
    const w = await waitEstablished(counter, s.count, resp.proc, (cli ?? source!).proc, { deadlineMs, stallS: 30 });
    const cpu1 = cpuMs(resp.proc.pid);
    const initCpuMs = cpuMs(source!.proc.pid) - initCpu0;
    const udp1 = udpCounters(resp.proc.pid);
    if (w.why) notes.push(`${w.why} with ${counter.ike} IKE_SAs / ${counter.child} CHILD_SAs established`);
    await sleep(2000); // the last answers sent; RSS with the SAs held
    const rss = rssKiB(resp.proc.pid);
    const load = sampler.finish();
    const stop = await resp.proc.stop(60_000);
    let initiator: Measure['initiator'];
    if (cli) {
      await Promise.race([cli.proc.exited, sleep(5000)]);
      await cli.proc.stop(2000);
      initiator = ikelabSummary(cli.out, notes);
    }
    for (const [who, file] of [
      ['responder', resp.logPath],
      ['initiator', source!.logPath],
    ] as const) {
      const bad = grepLog(file, TROUBLE);
      if (bad.count) notes.push(`${who} log: ${bad.count} lines like ${JSON.stringify(bad.sample[0])}`);
    }
    const { firstOfRun: _, ...spec } = s;
    const m: Measure = {
      ...spec,
      rate,
      load: { before: q.load, waitedS: Math.round(q.waitedS), max: load.max, end: load.end },
      idleRssKiB,
      rssKiB: rss,
      cpuMs: cpu1 - cpu0,
      initiatorBusy: initCpuMs / (w.tLast - tLoad),
      establishS: (w.tLast - w.tFirst) / 1000,
      ike: counter.ike,
      child: counter.child,
      complete: !w.why,
      udp: {
        inDatagrams: udp1.inDatagrams - udp0.inDatagrams,
        inErrors: udp1.inErrors - udp0.inErrors,
        rcvbufErrors: udp1.rcvbufErrors - udp0.rcvbufErrors,
      },
      shutdownMs: stop.ms,
      shutdownKilled: stop.killed,
      initiator,
      notes,
    };
    say(
      `  ${m.ike}/${m.child} up in ${m.establishS.toFixed(1)} s, CPU ${(m.cpuMs / Math.max(1, m.ike)).toFixed(2)} ms/setup, ` +
        `initiator ${(m.initiatorBusy * 100).toFixed(0)} % busy, RSS ${((m.rssKiB - m.idleRssKiB) / Math.max(1, m.ike)).toFixed(1)} KiB/SA (idle ${(m.idleRssKiB / 1024).toFixed(1)} MiB), ` +
        `rcvbuf drops ${m.udp.rcvbufErrors}, shutdown ${(m.shutdownMs / 1000).toFixed(2)} s${m.shutdownKilled ? ' (SIGKILL)' : ''}, ` +
        `load ${q.load.toFixed(2)}..${load.max.toFixed(2)}${notes.length ? `\n    ${notes.join('\n    ')}` : ''}`,
    );
    return m;
  } finally {
    await resp.proc.stop(60_000);
    await cli?.proc.stop(2000);
    await source?.proc.stop(15_000);
  }
}

function ikelabSummary(file: string, notes: string[]): Measure['initiator'] {
  try {
    const text = fs.readFileSync(file, 'utf8');
    const line = text.split('\n').find((l) => l.startsWith('{'));
    const j = JSON.parse(line ?? '');
    return { established: j.established, failed: j.failed, p50: j.setupMs?.p50, p99: j.setupMs?.p99 };
  } catch {
    notes.push(`no summary from ikelab initiate: ${fs.existsSync(file) ? fs.readFileSync(file, 'utf8').slice(0, 200) : '(none)'}`);
    return undefined;
  }
}

function plan(o: Opts): Spec[] {
  const specs: Spec[] = [];
  for (let run = 1; run <= o.runs; run++) {
    // rotate the order each run, so a drift in the machine's load does not always hit the same responder
    const rot = (xs: ResponderKey[]) => xs.map((_, i) => xs[(i + run - 1) % xs.length]!);
    const order = rot(o.responders);
    if (o.sources.includes('load-tester'))
      for (const count of o.sizes)
        for (const responder of order) specs.push({ kind: 'paced', source: 'load-tester', responder, count, run });
    if (o.burst > 0 && o.sources.includes('load-tester'))
      for (const responder of order) specs.push({ kind: 'burst', source: 'load-tester', responder, count: o.burst, run });
    if (o.sources.includes('ikelab'))
      for (const count of o.sizes)
        for (const responder of rot(o.responders.filter((r) => r === 'a' || r === 'b')))
          specs.push({ kind: 'paced', source: 'ikelab', responder, count, run });
  }
  for (let i = 0; i < specs.length; i++) specs[i]!.firstOfRun = i === 0 || specs[i]!.run !== specs[i - 1]!.run;
  return specs;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  let t: Tools;
  try {
    t = tools();
  } catch (e) {
    console.log(`bench-load: skipped: ${(e as Error).message}`);
    return;
  }
  const specs = plan(o);
  const head = [
    '# bench-load',
    '',
    `machine: ${machine(t)}`,
    `IKE ${o.p.ike}, ESP ${o.p.esp}, PSK, distinct IDi; paced at ${o.rate}/s; responder on core 0, initiator on core 1; ` +
      `${o.runs} interleaved runs, median (min-max when the runs differ); log level ${o.logLevel}.`,
  ];
  console.log(head.slice(2).join('\n'));
  say(`${specs.length} measurements; results go to ${o.out}`);
  const rig = Rig.create();
  const measures: Measure[] = [];
  const save = () => {
    fs.writeFileSync(o.out, `${JSON.stringify({ machine: machine(t), options: o, summary: summary(measures), measures }, null, 1)}\n`);
    fs.writeFileSync(`${o.out.replace(/\.json$/, '')}.md`, markdown(measures, head));
  };
  for (const s of specs) {
    try {
      measures.push(await measure(rig, t, o, s));
    } catch (e) {
      say(`  failed: ${(e as Error).message}`);
    }
    save(); // an interrupted benchmark keeps what it measured
  }
  rig.destroySync();
  console.log(`\n${markdown(measures, head)}`);
  console.log(`JSON: ${o.out}\nmarkdown: ${o.out.replace(/\.json$/, '')}.md`);
}

main().catch((e) => {
  console.error(`bench-load: ${(e as Error).message}`);
  process.exit(1);
});
