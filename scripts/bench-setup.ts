// CPU per IKE_SA+CHILD_SA setup and memory per SA of the ikelab RESPONDER (not a test; see scripts/README.md).
//
//   scripts/bench-setup.sh                         # 3 interleaved runs x {none, userspace}, up to 10,000 SAs held
//   scripts/bench-setup.sh --held 1000,5000 --runs 1 --backends none
//   scripts/bench-setup.sh --runs 1 --cpu-prof /tmp/prof --heap-snapshot /tmp/heap   # profile the responder
//
// Two real ikelab Daemons on loopback UDP (real sockets: the responder pays for its recvmsg/sendmsg as it would in
// the field): the initiator in this process, the responder in a child process of its own, so that
// process.cpuUsage() and the RSS of the child are the responder's alone. The initiator keeps `--window` setups in
// flight (paced, so nothing is dropped and nothing retransmits: this measures the cost of a setup, not overload).
// At each checkpoint of SAs held the child reports its CPU time (user+system, taken BEFORE the forced GC, so the
// benchmark's own full GCs are not charged to the setups), then runs gc() twice and reports RSS and heap. CPU time,
// not wall time, because the machine is shared; runs are interleaved across backends and the median of the runs is
// reported per figure.
import { fork } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';
import { parseConfig } from '../src/config/load.js';
import { Daemon } from '../src/daemon.js';
import { createLogger } from '../src/log/setup.js';
import { Logger } from '../src/log/logger.js';

type Backend = 'none' | 'userspace';
const INITIATOR = '127.0.0.1';
const RESPONDER = '127.0.0.2';

interface Opts {
  held: number[];
  runs: number;
  backends: Backend[];
  window: number;
  ike: string;
  esp: string;
  logLevel: number;
  json?: string;
  cpuProf?: string;
  heapSnapshot?: string;
  /** Allocation sampling of the responder (garbage included), written as a .heapprofile for DevTools. */
  allocProf?: string;
  /** Extra node/V8 flags for the responder's process (V8 flags are refused in NODE_OPTIONS). */
  nodeFlags: string[];
}

const USAGE = `usage: bench-setup [--held 1000,5000,10000] [--runs 3] [--backends none,userspace] [--window 32]
                   [--ike aes256-sha256-ecp256] [--esp aes256-sha256] [--log-level 1] [--json FILE]
                   [--cpu-prof DIR] [--heap-snapshot DIR] [--alloc-prof DIR] [--node-flags '--single-threaded-gc ...']`;

function parseOpts(argv: string[]): Opts {
  const o: Opts = {
    held: [1000, 5000, 10000],
    runs: 3,
    backends: ['none', 'userspace'],
    window: 32,
    ike: 'aes256-sha256-ecp256',
    esp: 'aes256-sha256',
    logLevel: 1,
    nodeFlags: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return x;
    };
    const int = (s: string, min: number): number => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < min) throw new Error(`${a}: expected an integer >= ${min}, got '${s}'`);
      return n;
    };
    if (a === '--held')
      o.held = v()
        .split(',')
        .map((s) => int(s, 1));
    else if (a === '--runs') o.runs = int(v(), 1);
    else if (a === '--window') o.window = int(v(), 1);
    else if (a === '--ike') o.ike = v();
    else if (a === '--esp') o.esp = v();
    else if (a === '--log-level') o.logLevel = int(v(), -1);
    else if (a === '--json') o.json = v();
    else if (a === '--cpu-prof') o.cpuProf = v();
    else if (a === '--heap-snapshot') o.heapSnapshot = v();
    else if (a === '--alloc-prof') o.allocProf = v();
    else if (a === '--node-flags') o.nodeFlags = v().split(/\s+/).filter(Boolean);
    else if (a === '--backends') {
      o.backends = v()
        .split(',')
        .map((b) => {
          if (b !== 'none' && b !== 'userspace') throw new Error(`--backends: 'none' or 'userspace', got '${b}'`);
          return b;
        });
    } else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument '${a}'\n${USAGE}`);
  }
  if (o.held.some((n, i) => i > 0 && n <= o.held[i - 1]!)) throw new Error('--held must be increasing');
  return o;
}

function yaml(side: 'initiator' | 'responder', port: number, o: Opts, backend: Backend, logFile?: string): string {
  const [me, peer] = side === 'initiator' ? [INITIATOR, RESPONDER] : [RESPONDER, INITIATOR];
  const log = logFile ? `{ stdout: false, file: ${JSON.stringify(logFile)}, levels: { default: ${o.logLevel} } }` : '{ stdout: false }';
  // one source address stands for every initiator: the per-address COOKIE and block thresholds are off, as on a
  // headend under a load test; DPD far beyond a run, so its timers exist (memory) but never fire (CPU)
  return `daemon:
  listen: [${me}]
  port: ${port}
  natt_port: ${port + 1}
  control_socket: ${JSON.stringify(join(tmpdir(), `ikelab-bench-setup-${process.pid}-${side}.sock`))}
  ipsec_backend: ${side === 'initiator' ? 'none' : backend}
  cookie_threshold: 0
  cookie_threshold_ip: 0
  block_threshold: 0
  log: ${log}
connections:
  bar:
    local_addrs: [${me}]
    remote_addrs: [${peer}]
    remote_port: ${port}
    proposals: [${o.ike}]
    dpd_delay: 3600s
    rekey_time: 4h
    unique: never
    local: { auth: psk, id: ${me} }
    remote: { auth: psk, id: ${peer} }
    children:
      net:
        local_ts: [${side === 'initiator' ? '10.12.0.0/24' : '10.11.0.0/24'}]
        remote_ts: [${side === 'initiator' ? '10.11.0.0/24' : '10.12.0.0/24'}]
        esp_proposals: [${o.esp}]
        start_action: none
secrets:
  ike-bar:
    id: [${INITIATOR}, ${RESPONDER}]
    secret: bench-setup-secret
`;
}

// ------------------------------------------------------------------------------------------------------------
// The responder (child process)
// ------------------------------------------------------------------------------------------------------------

interface Sample {
  /** process.cpuUsage() user+system in ms, before the forced GC */
  cpuMs: number;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  ikeEstablished: number;
  childInstalled: number;
  retransmits: number;
  /** forced GC's own CPU ms (not charged to setups) */
  gcMs: number;
}

type ToChild = { cmd: 'count' } | { cmd: 'sample' } | { cmd: 'snapshot'; dir: string } | { cmd: 'stop' };

async function responder(): Promise<void> {
  const [port, backend, optsJson, logFile] = process.argv.slice(3);
  const o = JSON.parse(optsJson!) as Opts;
  const cfg = parseConfig(yaml('responder', Number(port), o, backend as Backend, o.logLevel >= 0 ? logFile : undefined), 'responder.yaml');
  const log = o.logLevel >= 0 ? createLogger(cfg.daemon.log) : new Logger({ default: -1 });
  const daemon = new Daemon(cfg, { log });
  await daemon.start();
  const allocations = o.allocProf ? startAllocationSampling() : undefined;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the responder needs --expose-gc');
  const count = () => {
    let ike = 0;
    let child = 0;
    let retransmits = 0;
    for (const sa of daemon.table.list()) {
      if (sa.state === 'ESTABLISHED') ike++;
      retransmits += sa.counters.retransmits;
      for (const c of sa.children) if (c.state === 'INSTALLED') child++;
    }
    return { ikeEstablished: ike, childInstalled: child, retransmits };
  };
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  process.on('message', async (m: ToChild) => {
    if (m.cmd === 'count') process.send!(count());
    else if (m.cmd === 'sample') {
      const cpu = cpuMs();
      const c = count();
      gc();
      gc();
      const mem = process.memoryUsage();
      const s: Sample = {
        cpuMs: cpu,
        ...c,
        rss: mem.rss,
        heapUsed: mem.heapUsed,
        external: mem.external,
        arrayBuffers: mem.arrayBuffers,
        gcMs: 0,
      };
      s.gcMs = cpuMs() - cpu;
      process.send!(s);
    } else if (m.cmd === 'snapshot')
      process.send!({ file: writeHeapSnapshot(join(m.dir, `responder-${backend}-${process.pid}.heapsnapshot`)) });
    else if (m.cmd === 'stop') {
      if (allocations) {
        const kib = allocations.stop(join(o.allocProf!, `responder-${backend}-${process.pid}.heapprofile`));
        const { ikeEstablished } = count();
        console.error(`  responder allocated ~${(kib / Math.max(1, ikeEstablished)).toFixed(1)} KiB per setup (sampled, garbage included)`);
      }
      const t0 = performance.now();
      const c0 = cpuMs();
      await daemon.stop();
      const stopMs = performance.now() - t0;
      const stopCpuMs = cpuMs() - c0;
      await log.close();
      process.send!({ stopMs, stopCpuMs }, () => process.exit(0));
    }
  });
  process.send!({ ready: true });
}

/**
 * V8's sampling heap profiler with the objects that minor and major GCs collected kept in the profile: what a setup
 * allocates, garbage included, by function (--heap-prof keeps only what is still alive at exit). One sample per
 * 4 KiB allocated on average. stop() writes the profile and returns the sampled total in KiB.
 */
function startAllocationSampling(): { stop(file: string): number } {
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.enable');
  session.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return {
    stop(file) {
      let total = 0;
      // an in-process inspector session answers synchronously
      session.post('HeapProfiler.stopSampling', (err, r) => {
        if (err) throw err;
        writeFileSync(file, JSON.stringify(r.profile));
        const walk = (n: { selfSize: number; children: unknown[] }): void => {
          total += n.selfSize;
          for (const c of n.children) walk(c as typeof n);
        };
        walk(r.profile.head);
      });
      session.disconnect();
      return total / 1024;
    },
  };
}

// ------------------------------------------------------------------------------------------------------------
// The initiator and the measurement (this process)
// ------------------------------------------------------------------------------------------------------------

/** A port pair (IKE, NAT-T) free on both loopback addresses right now. */
async function freePorts(): Promise<number> {
  const tryBind = (addr: string, port: number) =>
    new Promise<boolean>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, addr, () => s.close(() => resolve(true)));
    });
  for (let i = 0; i < 200; i++) {
    const p = 20000 + 2 * Math.floor(Math.random() * 15000);
    if (
      (await tryBind(INITIATOR, p)) &&
      (await tryBind(INITIATOR, p + 1)) &&
      (await tryBind(RESPONDER, p)) &&
      (await tryBind(RESPONDER, p + 1))
    )
      return p;
  }
  throw new Error('no free UDP port pair on 127.0.0.1/127.0.0.2');
}

interface Checkpoint {
  held: number;
  /** responder CPU ms per setup from 0 to held (JIT warm-up included) */
  cpuMsPerSetup: number;
  /** responder CPU ms per setup since the previous checkpoint (flat or not) */
  cpuMsPerSetupMarginal: number;
  rssKiBPerSa: number;
  heapKiBPerSa: number;
  /** process.memoryUsage().external: Buffers' memory (arrayBuffers is part of it) and other native memory V8 knows of */
  externalKiBPerSa: number;
  rssMiB: number;
  wallSetupsPerS: number;
}

interface RunResult {
  backend: Backend;
  run: number;
  idleRssMiB: number;
  idleHeapMiB: number;
  checkpoints: Checkpoint[];
  retransmits: { initiator: number; responder: number };
  failed: number;
  stopMs: number;
  stopCpuMs: number;
}

function childRequest<T>(child: ReturnType<typeof fork>, m: ToChild): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (r) => resolve(r as T));
    child.send(m);
  });
}

async function runOnce(o: Opts, backend: Backend, run: number, work: string): Promise<RunResult> {
  const port = await freePorts();
  const execArgv = ['--expose-gc', ...o.nodeFlags];
  if (o.cpuProf) execArgv.push('--cpu-prof', '--cpu-prof-dir', o.cpuProf, '--cpu-prof-name', `responder-${backend}-run${run}.cpuprofile`);
  const child = fork(
    fileURLToPath(import.meta.url),
    ['responder', String(port), backend, JSON.stringify(o), join(work, `responder-${backend}-${run}.log`)],
    {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`responder exited with ${code} before it was ready`)));
    });
    const cfg = parseConfig(yaml('initiator', port, o, backend), 'initiator.yaml');
    const log = new Logger({ default: 0 });
    const init = new Daemon(cfg, { log });
    await init.start();
    let established = 0;
    let failed = 0;
    let started = 0;
    let target = 0;
    let wake: (() => void) | undefined;
    const pump = () => {
      // a load run of k (initiate --count k): a new IKE_SA each, no INITIAL_CONTACT, as from many initiators
      const k = Math.min(target - started, o.window - (started - established - failed));
      if (k > 0) {
        started += k;
        init.ops.initiateMany('bar', 'net', k, 0);
      }
      if (established + failed >= target) wake?.();
    };
    log.onEvent((e) => {
      if (e.event === 'child.established') established++;
      else if (e.event === 'ike.failed' || e.event === 'child.failed') failed++;
      else return;
      // not from inside the daemon's own call stack
      setImmediate(pump);
    });
    const reach = async (n: number) => {
      target = n;
      await new Promise<void>((resolve) => {
        wake = resolve;
        pump();
      });
      // the responder logs its CHILD_SA before its IKE_AUTH response leaves: counts agree once that arrived
      for (;;) {
        const c = await childRequest<{ childInstalled: number }>(child, { cmd: 'count' });
        if (c.childInstalled >= n - failed) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const idle = await childRequest<Sample>(child, { cmd: 'sample' });
    // from the end of the idle sample; the forced GCs of the checkpoints are kept out of the setups' CPU
    const start = idle.cpuMs + idle.gcMs;
    let gcSoFar = 0;
    let prev = { held: 0, cpuMs: start };
    const checkpoints: Checkpoint[] = [];
    let last: Sample = idle;
    let wall = performance.now();
    let wallHeld = 0;
    for (const held of o.held) {
      await reach(held);
      const s = await childRequest<Sample>(child, { cmd: 'sample' });
      const now = performance.now();
      checkpoints.push({
        held,
        cpuMsPerSetup: (s.cpuMs - start - gcSoFar) / held,
        cpuMsPerSetupMarginal: (s.cpuMs - prev.cpuMs) / (held - prev.held),
        rssKiBPerSa: (s.rss - idle.rss) / 1024 / held,
        heapKiBPerSa: (s.heapUsed - idle.heapUsed) / 1024 / held,
        externalKiBPerSa: (s.external - idle.external) / 1024 / held,
        rssMiB: s.rss / 2 ** 20,
        wallSetupsPerS: (held - wallHeld) / ((now - wall) / 1000),
      });
      gcSoFar += s.gcMs;
      prev = { held, cpuMs: s.cpuMs + s.gcMs };
      wall = performance.now();
      wallHeld = held;
      last = s;
      const c = checkpoints.at(-1)!;
      console.error(
        `  run ${run} ${backend.padEnd(9)} held ${String(held).padStart(6)}: ${c.cpuMsPerSetup.toFixed(3)} ms/setup (marginal ${c.cpuMsPerSetupMarginal.toFixed(3)}), ` +
          `RSS ${c.rssKiBPerSa.toFixed(1)} KiB/SA, heap ${c.heapKiBPerSa.toFixed(1)} KiB/SA, ext ${c.externalKiBPerSa.toFixed(1)} KiB/SA, ${c.wallSetupsPerS.toFixed(0)} setups/s wall`,
      );
    }
    if (o.heapSnapshot) await childRequest(child, { cmd: 'snapshot', dir: o.heapSnapshot });
    let initRetransmits = 0;
    for (const sa of init.table.list()) initRetransmits += sa.counters.retransmits;
    const stop = await childRequest<{ stopMs: number; stopCpuMs: number }>(child, { cmd: 'stop' });
    await init.stop();
    return {
      backend,
      run,
      idleRssMiB: idle.rss / 2 ** 20,
      idleHeapMiB: idle.heapUsed / 2 ** 20,
      checkpoints,
      retransmits: { initiator: initRetransmits, responder: last.retransmits },
      failed,
      ...stop,
    };
  } finally {
    // a clean exit writes the --cpu-prof profile; SIGKILL only for a child that hangs
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const o = parseOpts(process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), 'ikelab-bench-setup-'));
  const results: RunResult[] = [];
  try {
    console.error(
      `bench-setup: IKE ${o.ike}, ESP ${o.esp}, held ${o.held.join('/')}, ${o.runs} run(s) x ${o.backends.join(', ')}, window ${o.window}, log level ${o.logLevel}`,
    );
    // interleaved: a slow minute on the shared machine hits every backend, not one
    for (let run = 1; run <= o.runs; run++) for (const b of o.backends) results.push(await runOnce(o, b, run, work));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const summary = o.backends.map((backend) => {
    const rs = results.filter((r) => r.backend === backend);
    return {
      backend,
      runs: rs.length,
      idleRssMiB: median(rs.map((r) => r.idleRssMiB)),
      stopMs: median(rs.map((r) => r.stopMs)),
      stopCpuMs: median(rs.map((r) => r.stopCpuMs)),
      retransmits: rs.reduce((n, r) => n + r.retransmits.initiator + r.retransmits.responder, 0),
      failed: rs.reduce((n, r) => n + r.failed, 0),
      held: o.held.map((held, i) => {
        const cs = rs.map((r) => r.checkpoints[i]!);
        return {
          held,
          cpuMsPerSetup: median(cs.map((c) => c.cpuMsPerSetup)),
          cpuMsPerSetupMarginal: median(cs.map((c) => c.cpuMsPerSetupMarginal)),
          rssKiBPerSa: median(cs.map((c) => c.rssKiBPerSa)),
          heapKiBPerSa: median(cs.map((c) => c.heapKiBPerSa)),
          externalKiBPerSa: median(cs.map((c) => c.externalKiBPerSa)),
        };
      }),
    };
  });
  for (const s of summary) {
    console.log(
      `${s.backend}: idle RSS ${s.idleRssMiB.toFixed(1)} MiB, stop ${s.stopMs.toFixed(0)} ms (${s.stopCpuMs.toFixed(0)} ms CPU), retransmits ${s.retransmits}, failed ${s.failed}`,
    );
    for (const h of s.held) {
      const line = [
        `held=${h.held}`,
        `cpu_ms_per_setup=${h.cpuMsPerSetup.toFixed(3)}`,
        `marginal=${h.cpuMsPerSetupMarginal.toFixed(3)}`,
        `rss_kib_per_sa=${h.rssKiBPerSa.toFixed(1)}`,
        `heap_kib_per_sa=${h.heapKiBPerSa.toFixed(1)}`,
        `external_kib_per_sa=${h.externalKiBPerSa.toFixed(1)}`,
      ];
      console.log(`${s.backend}: ${line.join(' ')}`);
    }
  }
  const out = JSON.stringify(
    { node: process.version, ike: o.ike, esp: o.esp, window: o.window, logLevel: o.logLevel, summary, runs: results },
    null,
    2,
  );
  if (o.json) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(o.json, `${out}\n`);
  } else console.log(out);
}

if (process.argv[2] === 'responder') await responder();
else await main();
