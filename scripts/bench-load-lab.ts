// The rig of bench-load.ts: two network namespaces joined by a veth pair (r = responder, i = initiator), the
// processes the benchmark starts in them (pinned to one core each, killed by PID only), and what it reads from
// /proc. Mirrors test/helpers/lab.ts without importing test code: a benchmark must run without vitest.
//
// Clean-up: every process started here carries PR_SET_PDEATHSIG=KILL (setpriv) and is SIGKILLed by PID on every
// way out; the namespaces (named after this process's PID) are deleted on 'exit', which SIGINT/SIGTERM/SIGHUP
// reach through process.exit.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Responder and initiator addresses on the veth; the CHILD_SAs' subnets sit on lo for kernel-libipsec's routes. */
export const ADDR = { r: '10.97.0.1', i: '10.97.0.2', rNet: '10.11.0.0/24', iNet: '10.12.0.0/24' } as const;
/** The responder gets core 0, every initiator core 1 (two cores on the project's VMs). */
export const CORE = { r: 0, i: 1 } as const;

export type Side = 'r' | 'i';

function tool(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

function hasPdeathsig(): boolean {
  try {
    return tool('setpriv', ['--help']).includes('--pdeathsig');
  } catch {
    return false;
  }
}
const PDEATH = hasPdeathsig() ? ['setpriv', '--pdeathsig', 'KILL'] : [];

/** A process this benchmark started: it knows whether it exited, so a recycled PID is never signalled. */
export class Proc {
  readonly pid: number;
  readonly exited: Promise<void>;
  private done = false;
  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    if (child.pid === undefined) throw new Error(`could not start ${name}`);
    this.pid = child.pid;
    this.exited = new Promise((r) => {
      child.once('exit', () => {
        this.done = true;
        r();
      });
    });
  }
  get running(): boolean {
    return !this.done && this.child.exitCode === null && this.child.signalCode === null;
  }
  signal(sig: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, sig);
    } catch {
      /* gone */
    }
  }
  /** SIGTERM, SIGKILL after graceMs; resolves with the ms from SIGTERM to the exit and whether it had to be killed. */
  async stop(graceMs: number): Promise<{ ms: number; killed: boolean }> {
    if (!this.running) return { ms: 0, killed: false };
    const t0 = performance.now();
    let killed = false;
    this.signal('SIGTERM');
    const t = setTimeout(() => {
      killed = true;
      this.signal('SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(t);
    return { ms: performance.now() - t0, killed };
  }
}

const mine = new Set<Proc>();
const rigs = new Set<Rig>();

function cleanUpSync(): void {
  for (const p of mine) p.signal('SIGKILL');
  mine.clear();
  for (const r of rigs) r.destroySync();
}
process.on('exit', cleanUpSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    process.stderr.write(`\n${sig}: cleaning up\n`);
    process.exit(130);
  });
}

export class Rig {
  readonly ns: Record<Side, string>;
  readonly dir: string;
  private created: string[] = [];

  private constructor(tag: string) {
    this.ns = { r: `ikelab-bl-${tag}-r`, i: `ikelab-bl-${tag}-i` };
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `ikelab-bench-load-${process.pid}-`));
    rigs.add(this);
  }

  static create(): Rig {
    const tag = process.pid.toString(36);
    const rig = new Rig(tag);
    const ip = (...a: string[]) => tool('ip', a);
    const veth = { r: `bl${tag}r`, i: `bl${tag}i` };
    for (const s of ['r', 'i'] as const) {
      ip('netns', 'add', rig.ns[s]);
      rig.created.push(rig.ns[s]);
    }
    // created inside the namespaces: nothing of the rig ever lives in the root namespace
    ip('link', 'add', 'name', veth.r, 'netns', rig.ns.r, 'type', 'veth', 'peer', 'name', veth.i, 'netns', rig.ns.i);
    for (const s of ['r', 'i'] as const) {
      ip('-n', rig.ns[s], 'addr', 'add', `${ADDR[s]}/24`, 'dev', veth[s]);
      ip('-n', rig.ns[s], 'link', 'set', 'lo', 'up');
      ip('-n', rig.ns[s], 'link', 'set', veth[s], 'up');
      ip('-n', rig.ns[s], 'addr', 'add', `${(s === 'r' ? ADDR.rNet : ADDR.iNet).replace(/0\/24$/, '1')}/32`, 'dev', 'lo');
    }
    return rig;
  }

  path(file: string): string {
    return path.join(this.dir, file);
  }

  /**
   * Start cmd in a namespace, pinned to one core, output appended to logPath. privateRun gives the process its own
   * tmpfs on /run, so charon's PID file and sockets never meet another charon's on this machine.
   */
  spawn(
    name: string,
    side: Side,
    cmd: string[],
    logPath: string,
    opts: { env?: NodeJS.ProcessEnv; privateRun?: boolean; core?: number } = {},
  ): Proc {
    const core = String(opts.core ?? CORE[side]);
    const run = opts.privateRun
      ? ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs tmpfs /run && exec "$0" "$@"', ...cmd]
      : cmd;
    const fd = fs.openSync(logPath, 'a');
    try {
      const child = spawn('ip', ['netns', 'exec', this.ns[side], ...PDEATH, 'taskset', '-c', core, ...run], {
        env: opts.env ?? process.env,
        stdio: ['ignore', fd, fd],
      });
      const p = new Proc(name, child);
      mine.add(p);
      void p.exited.then(() => mine.delete(p));
      return p;
    } finally {
      fs.closeSync(fd);
    }
  }

  destroySync(): void {
    for (const n of this.created.splice(0)) {
      try {
        tool('ip', ['netns', 'del', n]);
      } catch {
        /* already gone */
      }
    }
    if (process.env.IKELAB_KEEP_LAB === '1') process.stderr.write(`bench-load: kept ${this.dir}\n`);
    else fs.rmSync(this.dir, { recursive: true, force: true });
    rigs.delete(this);
  }
}

// ------------------------------------------------------------------------------------------------------------
// /proc
// ------------------------------------------------------------------------------------------------------------

const CLK_TCK = (() => {
  try {
    return Number(tool('getconf', ['CLK_TCK']).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process, all its threads, in ms; NaN once it is gone. */
export function cpuMs(pid: number): number {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) / CLK_TCK) * 1000;
  } catch {
    return Number.NaN;
  }
}

/** VmRSS in KiB; NaN once the process is gone. */
export function rssKiB(pid: number): number {
  try {
    const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(st)?.[1] ?? Number.NaN);
  } catch {
    return Number.NaN;
  }
}

export interface UdpCounters {
  inDatagrams: number;
  inErrors: number;
  rcvbufErrors: number;
}

/** The Udp: line of /proc/PID/net/snmp: the counters of the namespace that process runs in. */
export function udpCounters(pid: number): UdpCounters {
  try {
    const lines = fs
      .readFileSync(`/proc/${pid}/net/snmp`, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Udp: '));
    const names = (lines[0] ?? '').split(/\s+/);
    const values = (lines[1] ?? '').split(/\s+/).map(Number);
    const get = (n: string) => values[names.indexOf(n)] ?? Number.NaN;
    return { inDatagrams: get('InDatagrams'), inErrors: get('InErrors'), rcvbufErrors: get('RcvbufErrors') };
  } catch {
    return { inDatagrams: Number.NaN, inErrors: Number.NaN, rcvbufErrors: Number.NaN };
  }
}

// ------------------------------------------------------------------------------------------------------------
// A shared machine: wait for quiet, record the load while measuring
// ------------------------------------------------------------------------------------------------------------

export const load1 = (): number => os.loadavg()[0] ?? Number.NaN;

/** Wait until the 1-minute load average is below max, at most waitS seconds; returns what was seen. */
export async function waitQuiet(max: number, waitS: number, say: (s: string) => void): Promise<{ load: number; waitedS: number }> {
  const t0 = performance.now();
  let next = 0;
  for (;;) {
    const l = load1();
    const waited = (performance.now() - t0) / 1000;
    if (l < max) return { load: l, waitedS: waited };
    if (waited >= waitS) {
      say(`load average still ${l.toFixed(2)} after ${waited.toFixed(0)} s: measuring anyway (noted in the results)`);
      return { load: l, waitedS: waited };
    }
    if (waited >= next) {
      say(`waiting for the 1-minute load average (${l.toFixed(2)}) to drop below ${max} ...`);
      next += 60;
    }
    await sleep(5000);
  }
}

/** The load average sampled while a run goes: first, highest, last. */
export class LoadSampler {
  readonly samples: number[] = [];
  private timer: NodeJS.Timeout;
  constructor() {
    this.samples.push(load1());
    this.timer = setInterval(() => this.samples.push(load1()), 2000);
  }
  finish(): { start: number; max: number; end: number } {
    clearInterval(this.timer);
    this.samples.push(load1());
    return { start: this.samples[0]!, max: Math.max(...this.samples), end: this.samples[this.samples.length - 1]! };
  }
}

/** Counts charon-style "IKE_SA x[n] established between" and "CHILD_SA x{n} established with SPIs" lines. */
export class LogCounter {
  private off = 0;
  private rest = '';
  ike = 0;
  child = 0;
  constructor(readonly file: string) {}
  poll(): this {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      return this;
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
          // a rekey's "inbound/outbound CHILD_SA ..." lines are not new CHILD_SAs
          else if (/(^|\] |\s)CHILD_SA \S+\{\d+\} established with SPIs/.test(l) && !/(inbound|outbound) CHILD_SA/.test(l)) this.child++;
        }
      }
    } finally {
      fs.closeSync(fd);
    }
    return this;
  }
}

/** Lines of a log matching re: how many, and a few of them. */
export function grepLog(file: string, re: RegExp, max = 2): { count: number; sample: string[] } {
  let count = 0;
  const sample: string[] = [];
  try {
    for (const l of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!re.test(l)) continue;
      count++;
      if (sample.length < max) sample.push(l.slice(0, 160));
    }
  } catch {
    /* no log */
  }
  return { count, sample };
}

export function tailOf(file: string, n = 5): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join(' | ');
  } catch {
    return `(no ${file})`;
  }
}
