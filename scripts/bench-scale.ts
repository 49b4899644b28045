// IKE_SA scale benchmark (not a test): ikelab as a load-test initiator brings up N IKE_SAs (each with its first
// CHILD_SA) against a responder, holds them with DPD running, and reports time, CPU and memory per SA.
// A benchmark, not a test: it never fails on a number. Run it through scripts/bench-scale.sh (compiles this file
// into a temp dir; see scripts/README.md).
//
//   run A   ikelab initiator (ns k, ipsec_backend none) -> strongSwan responder (ns s, kernel-libipsec)
//   run B   ikelab initiator (ns k, ipsec_backend none) -> ikelab responder (ns s, ipsec_backend userspace)
//   Both runs: `initiate --ike bar --count N --rate R` on the initiator, wait until N IKE_SAs and N CHILD_SAs are
//   established on both sides, then hold them for --hold seconds with the initiator's DPD (--dpd) firing.
//
// Network: only the two namespaces test/helpers/lab.ts creates (veth 10.98.0.1 <-> 10.98.0.2), deleted at the end,
// also on Ctrl-C / SIGTERM. Processes: only the ones started here (charon and ikelab through the lab, the ikelab
// responder of run B by this script, killed by PID).
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { interopAvailability, Lab, type Charon, type Ikelab } from '../test/helpers/lab.js';
import { CLK_TCK, killMine, machine, sleep, spawnIn, stopChild } from './bench-common.js';

let lab: Lab | undefined;

const REPO = process.env.IKELAB_REPO ?? process.cwd();
const IKELAB_CLI = process.env.IKELAB_CLI_PATH ?? path.join(REPO, 'dist', 'cli.js');

// ------------------------------------------------------------------------------------------------------------
// Arguments
// ------------------------------------------------------------------------------------------------------------

const USAGE = `usage: scripts/bench-scale.sh [options]
  --count N        IKE_SAs to bring up per run (default 10000; 1..100000)
  --rate R         initiations per second (default 200: what strongSwan keeps up with on a 2-core VM)
  --hold S         seconds to hold the SAs with DPD active after they are up (default 30)
  --dpd S          the initiator's dpd_delay in seconds (default 10; responders use 30s)
  --timeout S      give up waiting for the SAs after N/R + S seconds (default 60)
  --ike PROPOSAL   IKE proposal (default aes128-sha256-ecp256)
  --esp PROPOSAL   ESP proposal (default aes128gcm16)
  --no-child       childless IKE_SAs (only if both peers support RFC 6023; strongSwan 5.9.8 does)
  --resp-backend none|userspace   ipsec_backend of the ikelab responder in run B (default userspace, which
                   keeps the CHILD_SAs' ESP state like strongSwan's libipsec does)
  --log-level L    charon-style log level (default group) for all daemons (default 1, as the interop lab)
  --only A|B|AB    which runs (default AB)
  -h, --help`;

interface Opts {
  count: number;
  rate: number;
  hold: number;
  dpd: number;
  timeout: number;
  ike: string;
  esp: string;
  child: boolean;
  respBackend: 'none' | 'userspace';
  logLevel: number;
  runA: boolean;
  runB: boolean;
}

function parseArgs(argv: string[]): Opts {
  const o: Opts = {
    count: 10000,
    rate: 200,
    hold: 30,
    dpd: 10,
    timeout: 60,
    ike: 'aes128-sha256-ecp256',
    esp: 'aes128gcm16',
    child: true,
    respBackend: 'userspace',
    logLevel: 1,
    runA: true,
    runB: true,
  };
  const num = (i: number, name: string, min: number, max: number): number => {
    const v = Number(argv[i]);
    if (argv[i] === undefined || !Number.isFinite(v) || v < min || v > max)
      throw new Error(`${name}: expected a number in ${min}..${max}\n${USAGE}`);
    return v;
  };
  const prop = (i: number, name: string): string => {
    const v = argv[i] ?? '';
    if (!/^[a-z0-9_]+(-[a-z0-9_]+)*$/i.test(v)) throw new Error(`${name}: not a proposal: ${v}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else if (a === '--count') o.count = Math.round(num(++i, a, 1, 100_000));
    else if (a === '--rate') o.rate = num(++i, a, 1, 100_000);
    else if (a === '--hold') o.hold = num(++i, a, 0, 600);
    else if (a === '--dpd') o.dpd = Math.round(num(++i, a, 0, 3600));
    else if (a === '--timeout') o.timeout = num(++i, a, 5, 3600);
    else if (a === '--ike') o.ike = prop(++i, a);
    else if (a === '--esp') o.esp = prop(++i, a);
    else if (a === '--no-child') o.child = false;
    else if (a === '--resp-backend') {
      const v = argv[++i];
      if (v !== 'none' && v !== 'userspace') throw new Error(`--resp-backend: none or userspace\n${USAGE}`);
      o.respBackend = v;
    } else if (a === '--log-level') o.logLevel = Math.round(num(++i, a, -1, 4));
    else if (a === '--only') {
      const v = (argv[++i] ?? '').toUpperCase();
      if (!/^(A|B|AB|BA)$/.test(v)) throw new Error(`--only: A, B or AB\n${USAGE}`);
      o.runA = v.includes('A');
      o.runB = v.includes('B');
    } else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  return o;
}

async function waitUntil(fn: () => boolean, ms: number, every = 50): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (fn()) return true;
    await sleep(every);
  }
  return fn();
}

// ------------------------------------------------------------------------------------------------------------
// /proc, control socket, logs
// ------------------------------------------------------------------------------------------------------------

/** utime + stime of a process (all its threads), in seconds; NaN once it is gone. */
function cpuSec(pid: number): number {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** VmRSS and VmHWM (peak) in kB. */
function mem(pid: number): { rss: number; hwm: number } {
  try {
    const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(st)?.[1] ?? NaN);
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

function comm(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** One request on ikelab's control socket (one JSON line each way); also returns the round-trip time. */
function ctl(sock: string, cmd: string, timeoutMs = 60_000): Promise<{ result: any; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const s = net.connect(sock);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`ikelab control ${cmd}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('connect', () => s.write(`${JSON.stringify({ id: 1, cmd, args: {} })}\n`));
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      if (d.indexOf(10) < 0) return;
      clearTimeout(timer);
      s.destroy();
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        const r = JSON.parse(text.slice(0, text.indexOf('\n')));
        if (!r.ok) return reject(new Error(`ikelab control ${cmd}: ${r.error}`));
        resolve({ result: r.result, ms: performance.now() - t0 });
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** Counts charon-style "IKE_SA x[n] established between" / "CHILD_SA x{n} established" lines as a log grows. */
class LogCounter {
  private off = 0;
  private rest = '';
  ike = 0;
  child = 0;
  constructor(readonly file: string) {
    try {
      this.off = fs.statSync(file).size; // only lines written from now on
    } catch {
      this.off = 0;
    }
  }
  poll(): void {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      return;
    }
    try {
      const buf = Buffer.alloc(1 << 20);
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, this.off);
        if (n <= 0) break;
        this.off += n;
        const lines = (this.rest + buf.toString('utf8', 0, n)).split('\n');
        this.rest = lines.pop() ?? '';
        for (const l of lines) {
          if (/IKE_SA \S+\[\d+\] established between/.test(l)) this.ike++;
          else if (/CHILD_SA \S+\{\d+\} established with SPIs/.test(l) && !/bound CHILD_SA/.test(l)) this.child++;
        }
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}

// ------------------------------------------------------------------------------------------------------------
// Configurations
// ------------------------------------------------------------------------------------------------------------

const S_ADDR = '10.98.0.1';
const K_ADDR = '10.98.0.2';

/**
 * strongSwan as a headend would be set up for a load test: a hashed IKE_SA table (the default is one bucket),
 * no COOKIE / per-IP half-open blocking (all N SAs come from one address), unique = never (INITIAL_CONTACT from
 * the load generator must not tear down the SAs already up).
 */
const CHARON_TUNING = [
  'ikesa_table_size = 32768',
  'ikesa_table_segments = 16',
  'dos_protection = no',
  'cookie_threshold = 1000000',
  'block_threshold = 1000000',
].join('\n');

function swanResponderConf(o: Opts): string {
  return `connections {
  bar {
    local_addrs = ${S_ADDR}
    remote_addrs = ${K_ADDR}
    version = 2
    proposals = ${o.ike}
    dpd_delay = 30s
    rekey_time = 4h
    unique = never
    local { auth = psk
            id = ${S_ADDR} }
    remote { auth = psk
             id = ${K_ADDR} }
    children { net { local_ts = 10.11.0.0/24
                     remote_ts = 10.12.0.0/24
                     esp_proposals = ${o.esp}
                     start_action = none } }
  }
}
secrets { ike-bar { id-1 = ${S_ADDR}
                    id-2 = ${K_ADDR}
                    secret = "barsecret" } }
`;
}

function ikelabConf(o: Opts, side: 'initiator' | 'responder', sock: string): string {
  const [me, peer, lts, rts] =
    side === 'initiator' ? [K_ADDR, S_ADDR, '10.12.0.0/24', '10.11.0.0/24'] : [S_ADDR, K_ADDR, '10.11.0.0/24', '10.12.0.0/24'];
  const backend = side === 'initiator' ? 'none' : o.respBackend;
  const children = o.child
    ? `    children:
      net:
        local_ts: [${lts}]
        remote_ts: [${rts}]
        esp_proposals: [${o.esp}]
        start_action: none
`
    : '';
  return `daemon:
  listen: [${me}]
  port: 500
  natt_port: 4500
  control_socket: ${sock}
  ipsec_backend: ${backend}
  log: { stdout: true, levels: { default: ${o.logLevel} } }
connections:
  bar:
    local_addrs: [${me}]
    remote_addrs: [${peer}]
    version: 2
    proposals: [${o.ike}]
    dpd_delay: ${side === 'initiator' ? `${o.dpd}s` : '30s'}
    rekey_time: 4h
    unique: never
    local: { auth: psk, id: ${me} }
    remote: { auth: psk, id: ${peer} }
${children}secrets:
  ike-bar:
    id: [${S_ADDR}, ${K_ADDR}]
    secret: barsecret
`;
}

// ------------------------------------------------------------------------------------------------------------
// A responder handle: strongSwan (via the lab) or ikelab in s (started here)
// ------------------------------------------------------------------------------------------------------------

interface Responder {
  kind: 'strongSwan' | 'ikelab';
  pid: number;
  logPath: string;
  /** cheap count while establishing: IKE_SAs in the table (any state) and half-open ones if known */
  quick(): Promise<{ total: number; halfOpen?: number; timers?: number; ms?: number }>;
  /** exact count: IKE_SAs ESTABLISHED, CHILD_SAs INSTALLED */
  exact(): Promise<{ ike: number; child: number; states: Record<string, number> }>;
  stats?(): Promise<any>;
  stop(): Promise<void>;
  alive(): boolean;
}

function countStates(list: string[]): Record<string, number> {
  const m: Record<string, number> = {};
  for (const s of list) m[s] = (m[s] ?? 0) + 1;
  return m;
}

function swanResponder(c: Charon): Responder {
  return {
    kind: 'strongSwan',
    pid: c.pid,
    logPath: c.logPath,
    async quick() {
      const r = await c.swanctl(['--stats'], 30_000);
      const m = /IKE_SAs:\s+(\d+) total, (\d+) half-open/.exec(r.stdout);
      return { total: m ? Number(m[1]) : NaN, halfOpen: m ? Number(m[2]) : NaN };
    },
    async exact() {
      const r = await c.swanctl(['--list-sas'], 120_000);
      if (r.code !== 0) throw new Error(`swanctl --list-sas failed (${r.code}): ${r.stderr.slice(0, 300)}`);
      const ikeStates = [...r.stdout.matchAll(/^\S+: #\d+, (\w+), IKEv2/gm)].map((x) => x[1]!);
      const childStates = [...r.stdout.matchAll(/^\s+\S+: #\d+, reqid \d+, (\w+),/gm)].map((x) => x[1]!);
      return {
        ike: ikeStates.filter((s) => s === 'ESTABLISHED').length,
        child: childStates.filter((s) => s === 'INSTALLED').length,
        states: countStates(ikeStates),
      };
    },
    stop: () => c.stop(),
    alive: () => c.running,
  };
}

function ikelabCounts(sas: any[]): { ike: number; child: number; states: Record<string, number> } {
  let child = 0;
  for (const s of sas) for (const c of s.children ?? []) if (c.state === 'INSTALLED') child++;
  return { ike: sas.filter((s) => s.state === 'ESTABLISHED').length, child, states: countStates(sas.map((s) => String(s.state))) };
}

async function startIkelabResponder(o: Opts): Promise<Responder> {
  const sock = lab!.path('s', 'ikelab.sock');
  const conf = lab!.path('s', 'ikelab.yaml');
  const logPath = lab!.path('s', 'ikelab.log');
  fs.writeFileSync(conf, ikelabConf(o, 'responder', sock));
  const c = spawnIn(lab!, 's', [process.execPath, IKELAB_CLI, 'start', '--config', conf], logPath);
  const running = () => c.exitCode === null && c.signalCode === null;
  const up = await waitUntil(() => {
    if (!running()) return true;
    try {
      return fs.statSync(sock).isSocket();
    } catch {
      return false;
    }
  }, 10_000);
  if (!up || !running()) {
    await stopChild(c, 5000);
    throw new Error(`ikelab responder did not start:\n${fs.readFileSync(logPath, 'utf8').slice(-2000)}`);
  }
  return {
    kind: 'ikelab',
    pid: c.pid!,
    logPath,
    async quick() {
      const r = await ctl(sock, 'stats');
      return { total: r.result.sas, timers: r.result.timers, ms: r.ms };
    },
    async exact() {
      return ikelabCounts((await ctl(sock, 'list-sas', 180_000)).result);
    },
    stats: async () => (await ctl(sock, 'stats')).result,
    stop: () => stopChild(c, 5000),
    alive: running,
  };
}

// ------------------------------------------------------------------------------------------------------------
// One run
// ------------------------------------------------------------------------------------------------------------

interface RunResult {
  name: string;
  responder: string;
  ok: boolean;
  note: string[];
  establishS: number; // initiate until N IKE_SAs (and CHILD_SAs) established on both sides
  reached: { initIke: number; initChild: number; respIke: number; respChild: number };
  respCpuEst: number; // CPU seconds during establish
  initCpuEst: number;
  respRss0: number; // kB before initiate
  respRss1: number; // kB after establish
  respHwm: number;
  initRss0: number;
  initRss1: number;
  initHwm: number;
  afterEst?: { init: ReturnType<typeof ikelabCounts>; resp: ReturnType<typeof ikelabCounts> };
  afterHold?: { init: ReturnType<typeof ikelabCounts>; resp: ReturnType<typeof ikelabCounts> };
  holdS: number;
  respCpuHold: number; // CPU seconds during hold
  initCpuHold: number;
  respRssHold: number;
  initRssHold: number;
  initTimers: number;
  respTimers?: number;
  initStatsHold?: { received: number; retransmits?: number };
  dpdPerS?: number; // initiator's received IKE messages per second during hold (DPD responses)
  ctlMaxMs: { init: number; resp?: number }; // slowest `stats` round trip on the control socket (event-loop stalls)
  listMs?: { init: number; resp: number };
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(1)}%` : 'n/a';
}

async function oneRun(o: Opts, which: 'A' | 'B'): Promise<RunResult> {
  const N = o.count;
  const res: RunResult = {
    name: which,
    responder: which === 'A' ? 'strongSwan' : 'ikelab',
    ok: false,
    note: [],
    establishS: NaN,
    reached: { initIke: 0, initChild: 0, respIke: 0, respChild: 0 },
    respCpuEst: NaN,
    initCpuEst: NaN,
    respRss0: NaN,
    respRss1: NaN,
    respHwm: NaN,
    initRss0: NaN,
    initRss1: NaN,
    initHwm: NaN,
    holdS: 0,
    respCpuHold: NaN,
    initCpuHold: NaN,
    respRssHold: NaN,
    initRssHold: NaN,
    initTimers: NaN,
    ctlMaxMs: { init: 0 },
  };
  let resp: Responder | undefined;
  let init: Ikelab | undefined;
  const log = (s: string) => console.log(`  [${which} ${new Date().toISOString().slice(11, 19)}] ${s}`);
  try {
    if (which === 'A') {
      const c = await lab!.startCharon({ swanctlConf: swanResponderConf(o), strongswanConfExtra: CHARON_TUNING, debugLog: false });
      resp = swanResponder(c);
    } else {
      resp = await startIkelabResponder(o);
    }
    const initSock = lab!.path('k', `ikelab-${which}.sock`);
    init = await lab!.startIkelab(ikelabConf(o, 'initiator', initSock));
    log(`responder ${resp.kind} pid ${resp.pid} (${comm(resp.pid)}), initiator ikelab pid ${init.pid} (${comm(init.pid)})`);
    await sleep(1000); // let both settle (JIT, config load) before the baseline
    const initCount = new LogCounter(init.logPath);
    const respCount = new LogCounter(resp.logPath);
    res.respRss0 = mem(resp.pid).rss;
    res.initRss0 = mem(init.pid).rss;
    const cpu0 = { r: cpuSec(resp.pid), i: cpuSec(init.pid) };
    const t0 = performance.now();
    const r = await init.cli(['initiate', '--ike', 'bar', '--count', String(N), '--rate', String(o.rate)], 30_000);
    if (r.code !== 0) throw new Error(`initiate failed (${r.code}): ${r.stdout}${r.stderr}`);
    const want = (c: LogCounter) => c.ike >= N && (!o.child || c.child >= N);
    const deadline = t0 + (N / o.rate + o.timeout) * 1000;
    let lastPrint = 0;
    let lastProgress = { v: -1, t: t0 };
    for (;;) {
      await sleep(250);
      initCount.poll();
      respCount.poll();
      const now = performance.now();
      if (want(initCount) && want(respCount)) {
        res.establishS = (now - t0) / 1000;
        res.respCpuEst = cpuSec(resp.pid) - cpu0.r;
        res.initCpuEst = cpuSec(init.pid) - cpu0.i;
        break;
      }
      if (!resp.alive() || !init.running)
        throw new Error(`${!init.running ? 'ikelab initiator' : `${resp.kind} responder`} exited while establishing`);
      const v = initCount.ike + respCount.ike + initCount.child + respCount.child;
      if (v !== lastProgress.v) lastProgress = { v, t: now };
      if (now - lastPrint >= 5000) {
        lastPrint = now;
        const [q, s] = await Promise.all([resp.quick().catch(() => undefined), ctl(initSock, 'stats').catch(() => undefined)]);
        if (s) res.ctlMaxMs.init = Math.max(res.ctlMaxMs.init, s.ms);
        if (q?.ms !== undefined) res.ctlMaxMs.resp = Math.max(res.ctlMaxMs.resp ?? 0, q.ms);
        log(
          `${((now - t0) / 1000).toFixed(1)}s: established IKE/CHILD initiator ${initCount.ike}/${initCount.child}, responder ${respCount.ike}/${respCount.child}; ` +
            `responder table ${q?.total ?? '?'}${q?.halfOpen !== undefined ? ` (${q.halfOpen} half-open)` : ''}, initiator table ${s?.result.sas ?? '?'}, ` +
            `cpu resp ${(cpuSec(resp.pid) - cpu0.r).toFixed(1)}s init ${(cpuSec(init.pid) - cpu0.i).toFixed(1)}s` +
            `${s ? `, ctl rtt init ${s.ms.toFixed(0)} ms` : ''}${q?.ms !== undefined ? ` resp ${q.ms.toFixed(0)} ms` : ''}`,
        );
      }
      if (now > deadline) {
        res.note.push(`timed out after ${((now - t0) / 1000).toFixed(0)} s`);
        res.respCpuEst = cpuSec(resp.pid) - cpu0.r;
        res.initCpuEst = cpuSec(init.pid) - cpu0.i;
        break;
      }
      if (now - lastProgress.t > 20_000 && now > t0 + (N / o.rate) * 1000 + 10_000) {
        res.note.push(`no progress for 20 s after ${((now - t0) / 1000).toFixed(0)} s`);
        res.respCpuEst = cpuSec(resp.pid) - cpu0.r;
        res.initCpuEst = cpuSec(init.pid) - cpu0.i;
        break;
      }
    }
    res.reached = { initIke: initCount.ike, initChild: initCount.child, respIke: respCount.ike, respChild: respCount.child };
    const m1r = mem(resp.pid);
    const m1i = mem(init.pid);
    res.respRss1 = m1r.rss;
    res.initRss1 = m1i.rss;
    log(
      `established lines: initiator ${initCount.ike}/${initCount.child}, responder ${respCount.ike}/${respCount.child} after ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );

    // exact state on both sides (outside the CPU windows; a full listing is expensive at this size)
    await sleep(2000); // stragglers: retransmits, last CHILD_SAs
    const tl = performance.now();
    const ie = ikelabCounts((await ctl(initSock, 'list-sas', 180_000)).result);
    const tl2 = performance.now();
    // strongSwan's full listing costs ~25 s of charon CPU at 10,000 SAs: only its counters here, the listing after the hold
    const re =
      resp.kind === 'ikelab'
        ? await resp.exact()
        : await resp.quick().then((q) => ({
            ike: q.total - (q.halfOpen ?? 0),
            child: NaN,
            states: { 'total-halfopen (swanctl --stats)': q.total - (q.halfOpen ?? 0), 'half-open': q.halfOpen ?? NaN } as Record<
              string,
              number
            >,
          }));
    res.listMs = { init: tl2 - tl, resp: performance.now() - tl2 };
    res.afterEst = { init: ie, resp: re };
    log(
      `list-sas: initiator ${ie.ike} IKE ESTABLISHED / ${ie.child} CHILD INSTALLED ${JSON.stringify(ie.states)} (${res.listMs.init.toFixed(0)} ms); responder ${re.ike} / ${re.child} ${JSON.stringify(re.states)} (${res.listMs.resp.toFixed(0)} ms)`,
    );

    // hold with DPD
    if (o.hold > 0) {
      await sleep(1000);
      const s0 = (await ctl(initSock, 'stats')).result;
      const h0 = { r: cpuSec(resp.pid), i: cpuSec(init.pid), t: performance.now() };
      log(`holding ${o.hold} s with the initiator's DPD every ${o.dpd} s ...`);
      const holdEnd = h0.t + o.hold * 1000;
      let nextRss = h0.t + 10_000;
      const rssLine = () => `rss resp ${(mem(resp!.pid).rss / 1024).toFixed(0)} MB, init ${(mem(init!.pid).rss / 1024).toFixed(0)} MB`;
      log(`hold start: ${rssLine()}`);
      while (performance.now() < holdEnd) {
        if (performance.now() >= nextRss) {
          nextRss += 10_000;
          log(
            `hold ${((performance.now() - h0.t) / 1000).toFixed(0)}s: ${rssLine()}, cpu resp ${(cpuSec(resp.pid) - h0.r).toFixed(1)}s init ${(cpuSec(init.pid) - h0.i).toFixed(1)}s`,
          );
        }
        await sleep(Math.min(2000, Math.max(0, holdEnd - performance.now())));
        if (!resp.alive() || !init.running)
          throw new Error(`${!init.running ? 'ikelab initiator' : `${resp.kind} responder`} exited while holding`);
        // cheap probes only: the control socket's round trip shows event-loop stalls
        const [s, q] = await Promise.all([
          ctl(initSock, 'stats').catch(() => undefined),
          resp.kind === 'ikelab' ? resp.quick().catch(() => undefined) : Promise.resolve(undefined),
        ]);
        if (s) res.ctlMaxMs.init = Math.max(res.ctlMaxMs.init, s.ms);
        if (q?.ms !== undefined) res.ctlMaxMs.resp = Math.max(res.ctlMaxMs.resp ?? 0, q.ms);
      }
      const h1 = { r: cpuSec(resp.pid), i: cpuSec(init.pid), t: performance.now() };
      const s1 = (await ctl(initSock, 'stats')).result;
      res.holdS = (h1.t - h0.t) / 1000;
      res.respCpuHold = h1.r - h0.r;
      res.initCpuHold = h1.i - h0.i;
      res.initTimers = s1.timers;
      res.initStatsHold = { received: s1.dispatcher.received - s0.dispatcher.received };
      res.dpdPerS = res.initStatsHold.received / res.holdS;
      if (resp.stats) res.respTimers = (await resp.stats()).timers;
      res.respRssHold = mem(resp.pid).rss;
      res.initRssHold = mem(init.pid).rss;
      log(
        `hold: cpu resp ${pct((res.respCpuHold / res.holdS) * 100)} init ${pct((res.initCpuHold / res.holdS) * 100)}, initiator received ${res.initStatsHold.received} IKE messages ` +
          `(${res.dpdPerS.toFixed(0)}/s), timers init ${res.initTimers}${res.respTimers !== undefined ? ` resp ${res.respTimers}` : ''}`,
      );
      const ih = ikelabCounts((await ctl(initSock, 'list-sas', 180_000)).result);
      const rh = await resp.exact();
      res.afterHold = { init: ih, resp: rh };
      log(
        `after hold list-sas: initiator ${ih.ike} / ${ih.child} ${JSON.stringify(ih.states)}; responder ${rh.ike} / ${rh.child} ${JSON.stringify(rh.states)}`,
      );
    } else {
      res.initTimers = (await ctl(initSock, 'stats')).result.timers;
      if (resp.stats) res.respTimers = (await resp.stats()).timers;
    }
    res.respHwm = mem(resp.pid).hwm;
    res.initHwm = mem(init.pid).hwm;
    const full = (c?: { ike: number; child: number }) => !!c && c.ike === N && (!o.child || Number.isNaN(c.child) || c.child === N);
    res.ok =
      Number.isFinite(res.establishS) &&
      full(res.afterEst?.init) &&
      full(res.afterEst?.resp) &&
      (o.hold === 0 || (full(res.afterHold?.init) && full(res.afterHold?.resp)));
    if (!res.ok && Number.isFinite(res.establishS)) res.note.push('not all SAs up on both sides at every check (see the list-sas lines)');
    // anything the daemons complained about (a sample), to explain drops
    for (const [who, file] of [
      ['initiator', init.logPath],
      ['responder', resp.logPath],
    ] as const) {
      const bad = grepLog(
        file,
        /(retransmit \d+ of|giving up after|destroying duplicate|deleting half open|failed|error|unknown IKE_SA|out of sync)/i,
        3,
      );
      if (bad.count) res.note.push(`${who} log: ${bad.count} lines like ${JSON.stringify(bad.sample)}`);
    }
  } catch (e) {
    res.note.push((e as Error).message.split('\n').slice(0, 3).join(' | '));
    for (const [who, p] of [
      ['initiator', init?.logPath],
      ['responder', resp?.logPath],
    ] as const) {
      if (p) res.note.push(`${who} log tail: ${tailLines(p, 3).join(' | ')}`);
    }
  } finally {
    // initiator first (it would otherwise DPD a vanished responder), then the responder
    const ts = performance.now();
    await init?.stop();
    await resp?.stop();
    log(`stopped both in ${((performance.now() - ts) / 1000).toFixed(1)} s`);
  }
  return res;
}

function grepLog(file: string, re: RegExp, max: number): { count: number; sample: string[] } {
  let count = 0;
  const sample: string[] = [];
  try {
    for (const l of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!re.test(l)) continue;
      count++;
      if (sample.length < max) sample.push(l.replace(/^\w{3} [ \d]\d \d\d:\d\d:\d\d /, '').slice(0, 160));
    }
  } catch {
    /* no log */
  }
  return { count, sample };
}

function tailLines(file: string, n: number): string[] {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n);
  } catch {
    return [];
  }
}

// ------------------------------------------------------------------------------------------------------------
// Output
// ------------------------------------------------------------------------------------------------------------

function table(o: Opts, runs: RunResult[]): void {
  const N = o.count;
  const f = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
  const rows: [string, (r: RunResult) => number, number, string][] = [
    // label, value, decimals, unit/comment
    ['establish time (s)', (r) => r.establishS, 1, `initiate until ${N} IKE${o.child ? '+CHILD' : ''}_SAs established on both sides`],
    ['SAs/s', (r) => N / r.establishS, 0, `paced at ${o.rate}/s by the initiator, so at most ~${o.rate}`],
    ['resp CPU ms/SA', (r) => (r.respCpuEst / N) * 1000, 3, 'responder CPU while establishing, per SA'],
    ['init CPU ms/SA', (r) => (r.initCpuEst / N) * 1000, 3, 'ikelab initiator CPU while establishing, per SA'],
    ['resp RSS kB/SA', (r) => (r.respRss1 - r.respRss0) / N, 2, 'responder RSS growth / N (after establish)'],
    ['init RSS kB/SA', (r) => (r.initRss1 - r.initRss0) / N, 2, 'ikelab initiator RSS growth / N'],
    [
      'resp RSS MB',
      (r) => (Number.isFinite(r.respRssHold) ? r.respRssHold : r.respRss1) / 1024,
      1,
      'responder RSS at the end (peak in notes)',
    ],
    ['init RSS MB', (r) => (Number.isFinite(r.initRssHold) ? r.initRssHold : r.initRss1) / 1024, 1, 'ikelab initiator RSS at the end'],
    ['resp idle CPU % (DPD)', (r) => (r.respCpuHold / r.holdS) * 100, 1, `responder, % of one core while holding, answering DPD`],
    ['init idle CPU % (DPD)', (r) => (r.initCpuHold / r.holdS) * 100, 1, `ikelab initiator, sending DPD every ${o.dpd}s per SA`],
    [
      'DPD exchanges/s',
      (r) => r.dpdPerS ?? NaN,
      0,
      `IKE messages the initiator received while holding (expected ~N/dpd = ${(N / Math.max(1, o.dpd)).toFixed(0)})`,
    ],
    ['resp CPU us/DPD', (r) => (r.respCpuHold / r.holdS / (r.dpdPerS ?? NaN)) * 1e6, 0, 'responder CPU per DPD exchange answered'],
    [
      'IKE ESTABLISHED end, resp',
      (r) => r.afterHold?.resp.ike ?? r.afterEst?.resp.ike ?? NaN,
      0,
      `from a full listing after the hold (want ${N})`,
    ],
    ['IKE ESTABLISHED end, init', (r) => r.afterHold?.init.ike ?? r.afterEst?.init.ike ?? NaN, 0, 'the same on the ikelab initiator'],
    ['CHILD INSTALLED end, resp', (r) => r.afterHold?.resp.child ?? NaN, 0, ''],
    ['init timers', (r) => r.initTimers, 0, 'ikelab initiator `stats` timers (one heap for all SAs)'],
    ['init timers/SA', (r) => r.initTimers / N, 2, ''],
    ['resp timers', (r) => r.respTimers ?? NaN, 0, 'ikelab responder `stats` timers (run B)'],
    ['init ctl max rtt ms', (r) => r.ctlMaxMs.init, 0, 'slowest `stats` round trip on the control socket: event-loop stalls'],
    ['resp ctl max rtt ms', (r) => r.ctlMaxMs.resp ?? NaN, 0, 'the same on the ikelab responder (run B)'],
  ];
  const A = runs.find((r) => r.name === 'A');
  const B = runs.find((r) => r.name === 'B');
  const ratioRows = new Set([
    'establish time (s)',
    'SAs/s',
    'resp CPU ms/SA',
    'resp RSS kB/SA',
    'resp RSS MB',
    'resp idle CPU % (DPD)',
    'resp CPU us/DPD',
  ]);
  const w0 = 26;
  console.log('');
  console.log(`${`${`N = ${N}`}`.padEnd(w0)} | ${'A: strongSwan resp'.padStart(18)} | ${'B: ikelab resp'.padStart(14)} |    B/A | `);
  console.log('-'.repeat(w0 + 3 + 18 + 3 + 14 + 3 + 6 + 3 + 50));
  for (const [label, fn, d, comment] of rows) {
    const a = A ? fn(A) : NaN;
    const b = B ? fn(B) : NaN;
    const ratio = ratioRows.has(label) && Number.isFinite(a) && Number.isFinite(b) && a !== 0 ? `${(b / a).toFixed(2)}x` : '';
    console.log(
      `${label.padEnd(w0)} | ${(A ? f(a, d) : '-').padStart(18)} | ${(B ? f(b, d) : '-').padStart(14)} | ${ratio.padStart(6)} | ${comment}`,
    );
  }
  console.log('');
  for (const r of runs) {
    const extra = [
      `peak RSS resp ${f(r.respHwm / 1024)} MB, init ${f(r.initHwm / 1024)} MB`,
      r.listMs ? `post-establish check took init ${f(r.listMs.init, 0)} ms, resp ${f(r.listMs.resp, 0)} ms` : '',
      `establish-phase CPU resp ${f(r.respCpuEst)} s, init ${f(r.initCpuEst)} s`,
    ].filter(Boolean);
    console.log(`run ${r.name} (${r.responder} responder): ${r.ok ? 'all SAs up at every check' : 'INCOMPLETE'}; ${extra.join('; ')}`);
    for (const n of r.note) console.log(`  note: ${n}`);
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const tStart = Date.now();
  const a = interopAvailability();
  if (!a.ok) throw new Error(`needs the interop lab: ${a.reason}`);
  if (!fs.existsSync(IKELAB_CLI)) throw new Error(`${IKELAB_CLI} missing: run \`npm run build\` first`);
  console.log(
    `ikelab IKE_SA scale: ${o.count} IKE_SAs${o.child ? ' (each with one CHILD_SA)' : ''} at ${o.rate}/s, IKE ${o.ike}, ESP ${o.esp}; hold ${o.hold} s, initiator dpd_delay ${o.dpd}s`,
  );
  console.log(`machine: ${machine()}`);
  console.log(
    `initiator: ikelab (ipsec_backend none) in ns k; responders in ns s: A strongSwan kernel-libipsec, B ikelab (ipsec_backend ${o.respBackend})`,
  );
  lab = await Lab.create();
  const runs: RunResult[] = [];
  for (const w of ['A', 'B'] as const) {
    if ((w === 'A' && !o.runA) || (w === 'B' && !o.runB)) continue;
    console.log(`\nrun ${w}: ikelab initiator -> ${w === 'A' ? 'strongSwan' : 'ikelab'} responder`);
    runs.push(await oneRun(o, w));
  }
  await lab.destroy();
  lab = undefined;
  table(o, runs);
  console.log(`
Notes: CPU = utime+stime from /proc/PID/stat (all threads; charon runs 16 worker threads). RSS from /proc/PID/status.
strongSwan is tuned as a headend would be for this (${CHARON_TUNING.replace(/\n/g, ', ')}; unique = never).
The initiator paces initiations at --rate, so establish time >= N/rate; raise --rate to find where a responder falls
behind. Both runs share this machine's ${os.cpus().length} cores with the initiator. Not a test: compare columns of one run.
total ${((Date.now() - tStart) / 1000).toFixed(0)} s`);
}

main().catch(async (e) => {
  console.error(`bench-scale: ${(e as Error).message}`);
  killMine();
  try {
    await lab?.destroy();
  } catch {
    /* exit handler retries synchronously */
  }
  process.exit(1);
});
