// Interop lab: two network namespaces joined by a veth pair, a real strongSwan (charon) in one, ikelab (or a second
// charon) in the other. See test/interop/README.md and test/fixtures/LAB.md.
//
// Safety rules this file enforces:
// - only namespaces / veths / temp dirs it created itself are deleted (names carry pid + counter);
// - only PIDs it spawned itself are signalled, and only while Node has not yet seen them exit (no PID reuse races);
// - every lab is registered for a synchronous clean-up on process 'exit' and on SIGINT/SIGTERM/SIGHUP;
// - spawned daemons carry PR_SET_PDEATHSIG=KILL (setpriv --pdeathsig), so they die even if the worker is SIGKILLed.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { compareLogs } from '../../src/log/compare.js';
import { REFERENCE_LOGS_DIR } from './fixtures.js';

// ---------------------------------------------------------------------------------------------------------------
// Paths and constants
// ---------------------------------------------------------------------------------------------------------------

/** Repository root, resolved from this file: test/helpers/lab.ts. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Reference charon logs and configs (test/fixtures/charon-logs). */
export { REFERENCE_LOGS_DIR };
export const CHARON_BIN = process.env.IKELAB_CHARON || '/usr/lib/ipsec/charon';
export const IKELAB_CLI = process.env.IKELAB_CLI_PATH || path.join(REPO_ROOT, 'dist', 'cli.js');

/** The plugin list from LAB.md: kernel-libipsec must come before kernel-netlink (the kernel has no XFRM ESP). */
export const CHARON_LOAD =
  'random nonce openssl pem pkcs1 x509 revocation constraints pubkey kdf aes sha1 sha2 hmac gcm curve25519 chapoly ' +
  'ctr ccm cmac kernel-libipsec kernel-netlink socket-default vici updown';

/** Retransmit settings every reference scenario was captured with (NOTES.md). Handy as strongswanConfExtra. */
export const FAST_RETRANSMIT = 'retransmit_timeout = 1.0\nretransmit_base = 1.4\nretransmit_tries = 3';

const keepLab = (): boolean => process.env.IKELAB_KEEP_LAB === '1';

// ---------------------------------------------------------------------------------------------------------------
// Small process helpers
// ---------------------------------------------------------------------------------------------------------------

export interface ExecResult {
  code: number; // exit code; -1 when killed by a signal / timed out / could not be started
  stdout: string;
  stderr: string;
}

/** execFile that never rejects. On timeout the child (which we started) gets SIGKILL. */
export function run(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', env: opts.env ?? process.env, cwd: opts.cwd, maxBuffer: 32 << 20, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) return resolve({ code: 0, stdout, stderr });
        const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: string };
        let code = typeof e.code === 'number' ? e.code : -1;
        let extra = '';
        if (e.killed || e.signal) {
          code = -1;
          extra = `\n[${cmd} ${args.join(' ')}: killed (${e.signal ?? 'timeout'}) after ${timeoutMs} ms limit]`;
        } else if (typeof e.code === 'string') {
          extra = `\n[${cmd}: ${e.message}]`;
        }
        resolve({ code, stdout: stdout ?? '', stderr: (stderr ?? '') + extra });
      },
    );
  });
}

function which(bin: string): string | null {
  for (const dir of (process.env.PATH || '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(dir, bin);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function tail(file: string, lines = 30): string {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  } catch {
    return `(no ${file})`;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Availability: probes (impure) + decision (pure, unit-tested without root)
// ---------------------------------------------------------------------------------------------------------------

export interface InteropProbes {
  isRoot: boolean;
  hasIp: boolean; // iproute2 `ip` binary
  netnsOk: boolean; // `ip netns list` works
  hasUnshare: boolean;
  hasCharon: boolean; // /usr/lib/ipsec/charon executable
  hasStandardPlugins: boolean; // charon's openssl + gcm plugins (MODP, ECP, AES-GCM): libstrongswan-standard-plugins
  hasSwanctl: boolean;
  hasTun: boolean; // /dev/net/tun (kernel-libipsec needs it)
  hasPython: boolean; // python3 for the attack tests' packet sniffer (attacker.mjs)
}

/** Pure: turn probe results into ok / reason. */
export function availabilityFromProbes(p: InteropProbes): { ok: true } | { ok: false; reason: string } {
  const missing: string[] = [];
  if (!p.isRoot) missing.push('not running as root (network namespaces need root)');
  if (!p.hasIp) missing.push('iproute2 `ip` not found');
  else if (!p.netnsOk) missing.push('`ip netns` does not work here');
  if (!p.hasUnshare) missing.push('`unshare` (util-linux) not found');
  if (!p.hasCharon)
    missing.push(`strongSwan charon not found at ${CHARON_BIN} (apt-get install strongswan-charon libcharon-extra-plugins)`);
  if (p.hasCharon && !p.hasStandardPlugins)
    missing.push('charon has no openssl/gcm plugins: no MODP, ECP or AES-GCM (apt-get install libstrongswan-standard-plugins)');
  if (!p.hasSwanctl) missing.push('`swanctl` not found (apt-get install strongswan-swanctl)');
  if (!p.hasTun) missing.push('/dev/net/tun missing (kernel-libipsec needs a TUN device)');
  if (!p.hasPython) missing.push("python3 not found (the attack tests' packet sniffer needs it)");
  return missing.length ? { ok: false, reason: missing.join('; ') } : { ok: true };
}

/** Pure: does the environment demand that interop tests run (fail instead of skip)? */
export function interopRequired(env: NodeJS.ProcessEnv): boolean {
  return (env.CI !== undefined && env.CI !== '') || env.IKELAB_REQUIRE_INTEROP === '1';
}

export type InteropDecision = { action: 'run' } | { action: 'skip'; message: string } | { action: 'fail'; message: string };

/** Pure: run / skip loudly / fail. */
export function decideInterop(avail: { ok: true } | { ok: false; reason: string }, env: NodeJS.ProcessEnv): InteropDecision {
  if (avail.ok) return { action: 'run' };
  if (interopRequired(env)) {
    const why = env.IKELAB_REQUIRE_INTEROP === '1' ? 'IKELAB_REQUIRE_INTEROP=1' : `CI=${env.CI}`;
    return {
      action: 'fail',
      message: `INTEROP TESTS REQUIRED (${why}) BUT UNAVAILABLE: ${avail.reason}`,
    };
  }
  return { action: 'skip', message: `INTEROP TESTS SKIPPED: ${avail.reason}` };
}

export function boxed(message: string): string {
  const width = Math.min(100, Math.max(40, message.length + 4));
  const words = message.split(' ');
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && cur.length + 1 + w.length > width - 4) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  const bar = '!'.repeat(width);
  return [bar, ...lines.map((l) => `! ${l.padEnd(width - 4)} !`), bar].join('\n');
}

export function probeInterop(): InteropProbes {
  const ip = which('ip');
  let netnsOk = false;
  if (ip) {
    try {
      execFileSync(ip, ['netns', 'list'], { stdio: 'ignore', timeout: 5000 });
      netnsOk = true;
    } catch {
      netnsOk = false;
    }
  }
  let hasCharon = false;
  try {
    fs.accessSync(CHARON_BIN, fs.constants.X_OK);
    hasCharon = true;
  } catch {
    /* no */
  }
  return {
    isRoot: typeof process.getuid === 'function' && process.getuid() === 0,
    hasIp: !!ip,
    netnsOk,
    hasUnshare: !!which('unshare'),
    hasCharon,
    hasStandardPlugins: ['openssl', 'gcm'].every((n) =>
      fs.existsSync(path.join(path.dirname(CHARON_BIN), 'plugins', `libstrongswan-${n}.so`)),
    ),
    hasSwanctl: !!which('swanctl'),
    hasTun: fs.existsSync('/dev/net/tun'),
    hasPython: !!which('python3'),
  };
}

let cachedAvailability: { ok: true } | { ok: false; reason: string } | undefined;
export function interopAvailability(): { ok: true } | { ok: false; reason: string } {
  return (cachedAvailability ??= availabilityFromProbes(probeInterop()));
}

/**
 * true = run the interop tests; false = skip them (a boxed notice went to stderr);
 * throws when CI / IKELAB_REQUIRE_INTEROP=1 demand them and the lab is unavailable.
 * Use at module level: `const RUN = requireInterop(); describe.skipIf(!RUN)(...)`.
 */
export function requireInterop(
  env: NodeJS.ProcessEnv = process.env,
  avail: { ok: true } | { ok: false; reason: string } = interopAvailability(),
): boolean {
  const d = decideInterop(avail, env);
  if (d.action === 'run') return true;
  if (d.action === 'fail') {
    process.stderr.write(`\n${boxed(d.message)}\n\n`);
    throw new Error(d.message);
  }
  process.stderr.write(`\n${boxed(d.message)}\n\n`);
  return false;
}

// ---------------------------------------------------------------------------------------------------------------
// Clean-up registry (process 'exit' / signals): synchronous, only our own PIDs / namespaces / dirs
// ---------------------------------------------------------------------------------------------------------------

const liveLabs = new Set<Lab>();
let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const lab of [...liveLabs]) lab.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = () => {
      for (const lab of [...liveLabs]) lab.destroySync();
      // restore default behaviour if nobody else handles this signal
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.once(sig, handler);
  }
  // vitest 'forks' workers talk to the runner over IPC: if the runner dies (Ctrl-C, CI cancel), the worker would
  // otherwise keep our daemons and namespaces until its test times out.
  if (typeof process.send === 'function') {
    process.once('disconnect', () => {
      for (const lab of [...liveLabs]) lab.destroySync();
    });
  }
}

/** A child process we spawned. Knows whether it already exited, so we never signal a recycled PID. */
class Spawned {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private done = false;
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; logPath: string }) {
    const fd = fs.openSync(opts.logPath, 'a');
    try {
      this.child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['ignore', fd, fd] });
    } finally {
      fs.closeSync(fd);
    }
    if (this.child.pid === undefined) {
      throw new Error(`could not start ${cmd} ${args.join(' ')}`);
    }
    this.pid = this.child.pid;
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.done = true;
        this.exitInfo = { code, signal };
        resolve({ code, signal });
      });
      this.child.once('error', () => {
        this.done = true;
        this.exitInfo = { code: -1, signal: null };
        resolve({ code: -1, signal: null });
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
      /* already gone */
    }
  }

  /** SIGTERM (plus SIGCONT in case it is frozen), SIGKILL after graceMs, then wait for the exit. */
  async stop(graceMs = 3000): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    this.signal('SIGCONT');
    const t = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(t);
    }
  }
}

/** Wrap a command so the kernel SIGKILLs it when our process dies (if setpriv supports --pdeathsig). */
let pdeathsigPrefix: string[] | undefined;
function deathSigPrefix(): string[] {
  if (pdeathsigPrefix) return pdeathsigPrefix;
  pdeathsigPrefix = [];
  const sp = which('setpriv');
  if (sp) {
    try {
      const help = execFileSync(sp, ['--help'], { encoding: 'utf8', timeout: 5000 });
      if (help.includes('--pdeathsig')) pdeathsigPrefix = [sp, '--pdeathsig', 'KILL'];
    } catch {
      /* no setpriv */
    }
  }
  return pdeathsigPrefix;
}

// ---------------------------------------------------------------------------------------------------------------
// swanctl --list-sas --pretty parsing
// ---------------------------------------------------------------------------------------------------------------

export type ViciValue = string | string[] | ViciSection;
export interface ViciSection {
  [key: string]: ViciValue;
}

/**
 * Parse swanctl's `--pretty` output: a sequence of `<event name> {` … `}` blocks with `key = value` lines,
 * nested `name {` sections and `key = [` … `]` lists (one item per line). Returns the blocks in order.
 */
export function parseVicPretty(text: string): { event: string; body: ViciSection }[] {
  const out: { event: string; body: ViciSection }[] = [];
  const stack: ViciSection[] = [];
  let list: string[] | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (list) {
      if (line === ']') list = null;
      else list.push(line);
      continue;
    }
    if (line === '}') {
      stack.pop();
      continue;
    }
    if (line.endsWith('{') && !line.includes(' = ')) {
      const name = line.slice(0, -1).trim();
      const sec: ViciSection = {};
      if (stack.length === 0) out.push({ event: name, body: sec });
      else stack[stack.length - 1]![name] = sec;
      stack.push(sec);
      continue;
    }
    const eq = line.indexOf(' = ');
    if (eq < 0 || stack.length === 0) continue; // noise (e.g. a warning line)
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 3);
    if (value === '[') {
      list = [];
      stack[stack.length - 1]![key] = list;
    } else {
      stack[stack.length - 1]![key] = value;
    }
  }
  return out;
}

export interface SwanChildSa {
  name: string; // config name, e.g. "net"
  key: string; // vici key, e.g. "net-1"
  uniqueId: number;
  reqid: number;
  state: string; // INSTALLED, REKEYED, DELETING, …
  mode: string;
  protocol: string;
  encap: boolean;
  spiIn: string;
  spiOut: string;
  encrAlg?: string;
  encrKeysize?: number;
  integAlg?: string;
  dhGroup?: string;
  esn?: boolean;
  bytesIn: number;
  packetsIn: number;
  bytesOut: number;
  packetsOut: number;
  localTs: string[];
  remoteTs: string[];
  raw: ViciSection;
}

export interface SwanSa {
  name: string;
  uniqueId: number;
  version: number;
  state: string; // ESTABLISHED, CONNECTING, DELETING, …
  initiator: boolean;
  localHost: string;
  localPort: number;
  localId: string;
  remoteHost: string;
  remotePort: number;
  remoteId: string;
  spiI: string;
  spiR: string;
  encrAlg?: string;
  encrKeysize?: number;
  integAlg?: string;
  prfAlg?: string;
  dhGroup?: string;
  natRemote: boolean;
  natAny: boolean;
  children: SwanChildSa[];
  raw: ViciSection;
}

const str = (v: ViciValue | undefined): string => (typeof v === 'string' ? v : '');
const num = (v: ViciValue | undefined): number => (typeof v === 'string' && v !== '' ? Number(v) : NaN);
const optStr = (v: ViciValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
const optNum = (v: ViciValue | undefined): number | undefined => (typeof v === 'string' ? Number(v) : undefined);
const arr = (v: ViciValue | undefined): string[] => (Array.isArray(v) ? v : typeof v === 'string' ? [v] : []);

/** Parse `swanctl --list-sas --pretty` into typed IKE_SAs. */
export function parseListSas(text: string): SwanSa[] {
  const sas: SwanSa[] = [];
  for (const { event, body } of parseVicPretty(text)) {
    if (event !== 'list-sa event') continue;
    for (const [name, v] of Object.entries(body)) {
      if (typeof v !== 'object' || Array.isArray(v)) continue;
      const ike = v;
      const children: SwanChildSa[] = [];
      const cs = ike['child-sas'];
      if (cs && typeof cs === 'object' && !Array.isArray(cs)) {
        for (const [key, c] of Object.entries(cs)) {
          if (typeof c !== 'object' || Array.isArray(c)) continue;
          children.push({
            name: str(c.name) || key.replace(/-\d+$/, ''),
            key,
            uniqueId: num(c.uniqueid),
            reqid: num(c.reqid),
            state: str(c.state),
            mode: str(c.mode),
            protocol: str(c.protocol),
            encap: c.encap === 'yes',
            spiIn: str(c['spi-in']),
            spiOut: str(c['spi-out']),
            encrAlg: optStr(c['encr-alg']),
            encrKeysize: optNum(c['encr-keysize']),
            integAlg: optStr(c['integ-alg']),
            dhGroup: optStr(c['dh-group']),
            esn: c.esn === undefined ? undefined : c.esn === '1' || c.esn === 'yes',
            bytesIn: num(c['bytes-in']),
            packetsIn: num(c['packets-in']),
            bytesOut: num(c['bytes-out']),
            packetsOut: num(c['packets-out']),
            localTs: arr(c['local-ts']),
            remoteTs: arr(c['remote-ts']),
            raw: c,
          });
        }
      }
      sas.push({
        name,
        uniqueId: num(ike.uniqueid),
        version: num(ike.version),
        state: str(ike.state),
        initiator: ike.initiator === 'yes',
        localHost: str(ike['local-host']),
        localPort: num(ike['local-port']),
        localId: str(ike['local-id']),
        remoteHost: str(ike['remote-host']),
        remotePort: num(ike['remote-port']),
        remoteId: str(ike['remote-id']),
        spiI: str(ike['initiator-spi']),
        spiR: str(ike['responder-spi']),
        encrAlg: optStr(ike['encr-alg']),
        encrKeysize: optNum(ike['encr-keysize']),
        integAlg: optStr(ike['integ-alg']),
        prfAlg: optStr(ike['prf-alg']),
        dhGroup: optStr(ike['dh-group']),
        natRemote: ike['nat-remote'] === 'yes',
        natAny: ike['nat-any'] === 'yes',
        children,
        raw: ike,
      });
    }
  }
  return sas;
}

/** Convenience predicate: an IKE_SA `name` ESTABLISHED with a CHILD_SA `child` INSTALLED. */
export function established(sas: SwanSa[], name?: string, child?: string): boolean {
  return sas.some(
    (sa) =>
      (!name || sa.name === name) &&
      sa.state === 'ESTABLISHED' &&
      sa.children.some((c) => (!child || c.name === child) && c.state === 'INSTALLED'),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// logdiff
// ---------------------------------------------------------------------------------------------------------------

/**
 * Parse the text report of `ikelab log-compare --show` (the layout charon-logdiff printed): `missing: …` lines,
 * last line `M/N reference lines matched in order (P%)`.
 */
export function parseLogdiffOutput(out: string): { score: number; matched: number; total: number; missing: string[] } {
  const lines = out.split('\n').filter((l) => l.trim() !== '');
  const last = lines[lines.length - 1] ?? '';
  const m = /^(\d+)\/(\d+) reference lines matched/.exec(last);
  if (!m) throw new Error(`log-compare: unexpected output (last line ${JSON.stringify(last)})`);
  const matched = Number(m[1]);
  const total = Number(m[2]);
  return {
    score: total > 0 ? matched / total : 0,
    matched,
    total,
    missing: lines.filter((l) => l.startsWith('missing: ')).map((l) => l.slice('missing: '.length)),
  };
}

/**
 * Compare our log against a reference charon log (src/log/compare.ts, what `ikelab log-compare` runs).
 * score = matched / reference lines (0..1); missing = shapes of the reference lines without partner
 * (normalised, e.g. `[ENC] generating INFORMATIONAL request N [ D ]`).
 */
export function logdiff(
  referenceLog: string,
  oursLog: string,
  opts: { payloads?: boolean } = {},
): { score: number; missing: string[]; matched: number; total: number } {
  const r = compareLogs(fs.readFileSync(referenceLog, 'utf8'), fs.readFileSync(oursLog, 'utf8'), { payloads: opts.payloads });
  return { score: r.score, missing: r.missing.map((l) => l.shape), matched: r.matched, total: r.total };
}

// ---------------------------------------------------------------------------------------------------------------
// Charon and ikelab handles
// ---------------------------------------------------------------------------------------------------------------

export interface Charon {
  pid: number;
  ns: 's' | 'k';
  logPath: string; // filelog at default = 1 (comparable with the reference logs)
  debugLogPath: string; // filelog at default = 2 (empty if debugLog: false)
  viciSocket: string;
  confPath: string; // strongswan.conf
  swanctlConfPath: string;
  startupMs: number; // spawn until the vici socket appeared
  swanctl(args: string[], timeoutMs?: number): Promise<ExecResult>;
  /** swanctl --load-all again (after rewriting swanctl.conf, or with a new text). */
  reload(swanctlConf?: string): Promise<void>;
  listSas(): Promise<SwanSa[]>;
  waitFor(pred: (sas: SwanSa[]) => boolean, timeoutMs?: number): Promise<SwanSa[]>;
  freeze(): void; // SIGSTOP
  thaw(): void; // SIGCONT
  stop(): Promise<void>;
  log(): string;
  readonly running: boolean;
}

export interface Ikelab {
  pid: number;
  logPath: string;
  configPath: string;
  cli(args: string[], timeoutMs?: number): Promise<ExecResult>;
  listSas(): Promise<any[]>;
  waitFor(pred: (sas: any[]) => boolean, timeoutMs?: number): Promise<any[]>;
  log(): string;
  stop(): Promise<void>;
  readonly running: boolean;
}

export interface LabOptions {
  strongswanAddr?: string; // on the veth in s, default 10.98.0.1
  ikelabAddr?: string; // on the veth in k, default 10.98.0.2
  strongswanTsAddr?: string | null; // on lo in s, default 10.11.0.1 (null: none)
  ikelabTsAddr?: string | null; // on lo in k, default 10.12.0.1 (null: none)
}

export interface CharonOptions {
  swanctlConf: string;
  /** extra lines inside charon { }, e.g. FAST_RETRANSMIT */
  strongswanConfExtra?: string;
  /** second filelog at level 2 (charon-debug.log); default true */
  debugLog?: boolean;
  /** which namespace; default 's' */
  ns?: 's' | 'k';
  /** ms to wait for the vici socket; default 10000 */
  startTimeoutMs?: number;
}

let labCounter = 0;

function cidr(addr: string, v4len: number, v6len: number): string {
  return addr.includes('/') ? addr : addr.includes(':') ? `${addr}/${v6len}` : `${addr}/${v4len}`;
}

async function waitUntil<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  intervalMs: number,
): Promise<T | undefined> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() >= end) return undefined;
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Lab
// ---------------------------------------------------------------------------------------------------------------

export class Lab {
  readonly dir: string;
  /** Namespace names: s = strongSwan side, k = ikelab side. */
  readonly ns: { s: string; k: string };
  readonly veth: { s: string; k: string };
  readonly addrs: { s: string; k: string; sTs: string | null; kTs: string | null };
  private readonly procs: Spawned[] = [];
  private nsCreated: string[] = [];
  private destroyed = false;
  private charonStarts = { s: 0, k: 0 };
  private ikelabStarts = 0;

  private constructor(dir: string, id: string, tag: string, opts: LabOptions) {
    this.dir = dir;
    this.ns = { s: `ikelab-${id}-s`, k: `ikelab-${id}-k` };
    this.veth = { s: `${tag}s`, k: `${tag}k` };
    this.addrs = {
      s: opts.strongswanAddr ?? '10.98.0.1',
      k: opts.ikelabAddr ?? '10.98.0.2',
      sTs: opts.strongswanTsAddr === undefined ? '10.11.0.1' : opts.strongswanTsAddr,
      kTs: opts.ikelabTsAddr === undefined ? '10.12.0.1' : opts.ikelabTsAddr,
    };
  }

  /** Two namespaces s and k, a veth pair between them, addresses, lo up. */
  static async create(opts: LabOptions = {}): Promise<Lab> {
    const a = interopAvailability();
    if (!a.ok) throw new Error(`interop lab unavailable: ${a.reason}`);
    installExitHandlers();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ikelab-lab-${process.pid}-`));
    fs.mkdirSync(path.join(dir, 's'));
    fs.mkdirSync(path.join(dir, 'k'));
    let lastErr = '';
    for (let attempt = 0; attempt < 5; attempt++) {
      const n = ++labCounter;
      const id = `${process.pid}-${n}`;
      // veth names <= 15 chars: "il" + pid(base36, <= 5) + counter(base36) + s|k
      const tag = `il${process.pid.toString(36)}x${n.toString(36)}`;
      const lab = new Lab(dir, id, tag, opts);
      liveLabs.add(lab);
      try {
        await lab.setup();
        return lab;
      } catch (e) {
        lastErr = (e as Error).message;
        await lab.teardownNetwork();
        liveLabs.delete(lab);
        if (!/File exists|already exists/i.test(lastErr)) break; // stale names from a dead pid: try next counter
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`Lab.create failed: ${lastErr}`);
  }

  private async ip(args: string[]): Promise<void> {
    const r = await run('ip', args, { timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`);
  }

  private async setup(): Promise<void> {
    const { s, k } = this.ns;
    await this.ip(['netns', 'add', s]);
    this.nsCreated.push(s);
    await this.ip(['netns', 'add', k]);
    this.nsCreated.push(k);
    // created directly inside the namespaces: nothing ever lives in the root namespace
    await this.ip(['link', 'add', 'name', this.veth.s, 'netns', s, 'type', 'veth', 'peer', 'name', this.veth.k, 'netns', k]);
    const v6 = (a: string) => (a.includes(':') ? ['nodad'] : []);
    await this.ip(['-n', s, 'addr', 'add', cidr(this.addrs.s, 24, 64), 'dev', this.veth.s, ...v6(this.addrs.s)]);
    await this.ip(['-n', k, 'addr', 'add', cidr(this.addrs.k, 24, 64), 'dev', this.veth.k, ...v6(this.addrs.k)]);
    await this.ip(['-n', s, 'link', 'set', 'lo', 'up']);
    await this.ip(['-n', k, 'link', 'set', 'lo', 'up']);
    await this.ip(['-n', s, 'link', 'set', this.veth.s, 'up']);
    await this.ip(['-n', k, 'link', 'set', this.veth.k, 'up']);
    if (this.addrs.sTs) await this.ip(['-n', s, 'addr', 'add', cidr(this.addrs.sTs, 32, 128), 'dev', 'lo', ...v6(this.addrs.sTs)]);
    if (this.addrs.kTs) await this.ip(['-n', k, 'addr', 'add', cidr(this.addrs.kTs, 32, 128), 'dev', 'lo', ...v6(this.addrs.kTs)]);
  }

  /** Path inside the lab dir. */
  path(ns: 's' | 'k', file: string): string {
    return path.join(this.dir, ns, file);
  }

  /** Run a command inside namespace s or k (bounded; the child is SIGKILLed at the limit). */
  execIn(ns: 's' | 'k', cmd: string[], timeoutMs = 15_000): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', this.ns[ns], ...cmd], { timeoutMs });
  }

  /** strongSwan in namespace s (or o.ns). */
  startCharon(o: CharonOptions): Promise<Charon> {
    return this.startCharonIn(o.ns ?? 's', o);
  }

  /** strongSwan in a given namespace, e.g. 'k' to run strongSwan on both sides. */
  async startCharonIn(ns: 's' | 'k', o: Omit<CharonOptions, 'ns'>): Promise<Charon> {
    if (this.destroyed) throw new Error('lab destroyed');
    const n = ++this.charonStarts[ns];
    const sfx = n === 1 ? '' : `.${n}`;
    const d = path.join(this.dir, ns);
    const logPath = path.join(d, `charon${sfx}.log`);
    const debugLogPath = path.join(d, `charon-debug${sfx}.log`);
    const stdoutPath = path.join(d, `charon-stdout${sfx}.log`);
    const viciSocket = path.join(d, `charon${sfx}.vici`);
    const confPath = path.join(d, `strongswan${sfx}.conf`);
    const swanctlConfPath = path.join(d, `swanctl${sfx}.conf`);
    if (Buffer.byteLength(viciSocket) > 100) throw new Error(`vici socket path too long for AF_UNIX: ${viciSocket}`);
    const debug = o.debugLog ?? true;
    const conf = [
      'charon {',
      `  load = ${CHARON_LOAD}`,
      '  filelog {',
      `    lab { path = ${logPath}`,
      '          default = 1',
      '          flush_line = yes',
      '          time_format = %b %e %T }',
      ...(debug
        ? [
            `    debug { path = ${debugLogPath}`,
            '            default = 2',
            '            flush_line = yes',
            '            time_format = %b %e %T }',
          ]
        : []),
      '  }',
      `  plugins { vici { socket = unix://${viciSocket} } }`,
      ...(o.strongswanConfExtra ? o.strongswanConfExtra.split('\n').map((l) => `  ${l}`) : []),
      '}',
      '',
    ].join('\n');
    fs.writeFileSync(confPath, conf);
    fs.writeFileSync(swanctlConfPath, o.swanctlConf);
    // swanctl --load-all scans these dirs beside the --file; create them to keep its stderr quiet
    for (const sub of [
      'x509',
      'x509ca',
      'x509ocsp',
      'x509aa',
      'x509ac',
      'x509crl',
      'pubkey',
      'private',
      'rsa',
      'ecdsa',
      'bliss',
      'pkcs8',
      'pkcs12',
    ]) {
      fs.mkdirSync(path.join(d, sub), { recursive: true });
    }
    const env = { ...process.env, STRONGSWAN_CONF: confPath };
    const t0 = Date.now();
    const proc = new Spawned(
      'ip',
      [
        'netns',
        'exec',
        this.ns[ns],
        ...deathSigPrefix(),
        'unshare',
        '-m',
        '--propagation',
        'private',
        'sh',
        '-c',
        `mount -t tmpfs tmpfs /run && exec ${CHARON_BIN}`,
      ],
      { env, logPath: stdoutPath },
    );
    this.procs.push(proc);

    const swanctl = (args: string[], timeoutMs = 15_000) => run('swanctl', [...args, '--uri', `unix://${viciSocket}`], { env, timeoutMs });
    const charonTail = () => `--- ${logPath} (tail) ---\n${tail(logPath)}\n--- ${stdoutPath} (tail) ---\n${tail(stdoutPath, 10)}`;

    const ready = await waitUntil(
      () => {
        if (!proc.running) return false;
        try {
          return fs.statSync(viciSocket).isSocket() ? true : undefined;
        } catch {
          return undefined;
        }
      },
      o.startTimeoutMs ?? 10_000,
      20,
    );
    if (ready !== true) {
      const why = proc.running ? 'vici socket did not appear' : `charon exited (${JSON.stringify(proc.exitInfo)})`;
      await proc.stop(1000);
      throw new Error(`charon in ${ns} did not start: ${why} after ${Date.now() - t0} ms\n${charonTail()}`);
    }
    const startupMs = Date.now() - t0;

    const load = async (text?: string) => {
      if (text !== undefined) fs.writeFileSync(swanctlConfPath, text);
      const r = await swanctl(['--load-all', '--file', swanctlConfPath]);
      if (r.code !== 0) throw new Error(`swanctl --load-all failed (${r.code}):\n${r.stdout}${r.stderr}\n${charonTail()}`);
    };
    try {
      await load();
    } catch (e) {
      await proc.stop(1000);
      throw e;
    }

    const listSas = async (): Promise<SwanSa[]> => {
      const r = await swanctl(['--list-sas', '--pretty']);
      if (r.code !== 0) throw new Error(`swanctl --list-sas failed (${r.code}): ${r.stdout}${r.stderr}`);
      return parseListSas(r.stdout);
    };

    const charon: Charon = {
      pid: proc.pid,
      ns,
      logPath,
      debugLogPath: debug ? debugLogPath : '',
      viciSocket,
      confPath,
      swanctlConfPath,
      startupMs,
      swanctl,
      reload: load,
      listSas,
      async waitFor(pred, timeoutMs = 10_000) {
        let last: SwanSa[] = [];
        const got = await waitUntil(
          async () => {
            last = await listSas();
            return pred(last) ? last : undefined;
          },
          timeoutMs,
          100,
        );
        if (got) return got;
        throw new Error(
          `charon (${ns}) waitFor timed out after ${timeoutMs} ms; SAs now:\n${JSON.stringify(
            last.map(({ raw, children, ...sa }) => ({ ...sa, children: children.map(({ raw: _r, ...c }) => c) })),
            null,
            1,
          )}\n${charonTail()}`,
        );
      },
      freeze: () => proc.signal('SIGSTOP'),
      thaw: () => proc.signal('SIGCONT'),
      stop: () => proc.stop(),
      log: () => {
        try {
          return fs.readFileSync(logPath, 'utf8');
        } catch {
          return '';
        }
      },
      get running() {
        return proc.running;
      },
    };
    return charon;
  }

  /**
   * ikelab in namespace k: writes the YAML to dir/k/ikelab.yaml and runs `node dist/cli.js start --config FILE`
   * (stdout + stderr to dir/k/ikelab.log). If the YAML names daemon.control_socket, waits for that socket.
   */
  async startIkelab(yamlText: string, opts: { readyTimeoutMs?: number } = {}): Promise<Ikelab> {
    if (this.destroyed) throw new Error('lab destroyed');
    if (!fs.existsSync(IKELAB_CLI)) throw new Error(`${IKELAB_CLI} missing: run \`npm run build\` first`);
    const configPath = path.join(this.dir, 'k', 'ikelab.yaml');
    // a fresh log per start: each test's assertions and logdiff see only that daemon's lines
    const n = ++this.ikelabStarts;
    const logPath = path.join(this.dir, 'k', n === 1 ? 'ikelab.log' : `ikelab.${n}.log`);
    fs.writeFileSync(configPath, yamlText);
    const ctl = controlSocketOf(yamlText);
    // the socket a previous daemon of this lab left behind would pass the readiness check below before the new one
    // listens (a client then gets ECONNREFUSED); that daemon is stopped, so its socket file is ours to remove
    if (ctl) fs.rmSync(ctl, { force: true });
    const proc = new Spawned(
      'ip',
      ['netns', 'exec', this.ns.k, ...deathSigPrefix(), process.execPath, IKELAB_CLI, 'start', '--config', configPath],
      { logPath },
    );
    this.procs.push(proc);
    const readLog = () => {
      try {
        return fs.readFileSync(logPath, 'utf8');
      } catch {
        return '';
      }
    };
    if (ctl) {
      const ok = await waitUntil(
        () => {
          if (!proc.running) return false;
          try {
            return fs.statSync(ctl).isSocket() ? true : undefined;
          } catch {
            return undefined;
          }
        },
        opts.readyTimeoutMs ?? 10_000,
        25,
      );
      if (ok !== true) {
        const why = proc.running ? `control socket ${ctl} did not appear` : `ikelab exited (${JSON.stringify(proc.exitInfo)})`;
        await proc.stop(1000);
        throw new Error(`ikelab did not start: ${why}\n--- ${logPath} (tail) ---\n${tail(logPath)}`);
      }
    }
    const cli = (args: string[], timeoutMs = 15_000) =>
      this.execIn('k', [process.execPath, IKELAB_CLI, ...args, '--config', configPath], timeoutMs);
    const listSas = async (): Promise<any[]> => {
      const r = await cli(['list-sas', '--json']);
      if (r.code !== 0) throw new Error(`ikelab list-sas failed (${r.code}): ${r.stdout}${r.stderr}`);
      return parseJsonArray(r.stdout);
    };
    return {
      pid: proc.pid,
      logPath,
      configPath,
      cli,
      listSas,
      async waitFor(pred, timeoutMs = 10_000) {
        let last: any[] = [];
        let lastErr = '';
        const got = await waitUntil(
          async () => {
            try {
              last = await listSas();
              lastErr = '';
            } catch (e) {
              lastErr = (e as Error).message;
              return undefined;
            }
            return pred(last) ? last : undefined;
          },
          timeoutMs,
          150,
        );
        if (got) return got;
        throw new Error(
          `ikelab waitFor timed out after ${timeoutMs} ms; SAs now: ${JSON.stringify(last)}${lastErr ? `\nlast error: ${lastErr}` : ''}\n--- ${logPath} (tail) ---\n${tail(logPath)}`,
        );
      },
      log: readLog,
      stop: () => proc.stop(),
      get running() {
        return proc.running;
      },
    };
  }

  private async teardownNetwork(): Promise<void> {
    for (const n of this.nsCreated.splice(0)) await run('ip', ['netns', 'del', n], { timeoutMs: 10_000 });
  }

  /** Stop every charon and ikelab this lab started (frozen ones included); the namespaces stay for the next test. */
  async stopAll(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop(2000)));
  }

  /** Stop everything we started, delete our namespaces and (unless IKELAB_KEEP_LAB=1) the lab dir. Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    try {
      await Promise.all(this.procs.map((p) => p.stop(2000)));
      await this.teardownNetwork();
    } finally {
      liveLabs.delete(this);
      this.removeDir();
    }
  }

  /** Synchronous last-resort clean-up (process 'exit' / signals). */
  destroySync(): void {
    this.destroyed = true;
    for (const p of this.procs) {
      p.signal('SIGCONT');
      p.signal('SIGKILL');
    }
    for (const n of this.nsCreated.splice(0)) {
      try {
        execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore', timeout: 5000 });
      } catch {
        /* ignore */
      }
    }
    liveLabs.delete(this);
    this.removeDir();
  }

  private removeDir(): void {
    if (!fs.existsSync(this.dir)) return;
    if (keepLab()) {
      process.stderr.write(`[lab] IKELAB_KEEP_LAB=1: kept lab dir ${this.dir}\n`);
      return;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function controlSocketOf(yamlText: string): string | undefined {
  // Deliberately tiny: `control_socket: PATH` under daemon (avoid depending on the daemon's config loader).
  const m = /^\s*control_socket:\s*["']?([^"'\s#]+)["']?/m.exec(yamlText);
  return m?.[1];
}

function parseJsonArray(stdout: string): any[] {
  const t = stdout.trim();
  try {
    const v = JSON.parse(t);
    if (Array.isArray(v)) return v;
  } catch {
    /* maybe log noise around it */
  }
  const a = t.indexOf('[');
  const b = t.lastIndexOf(']');
  if (a >= 0 && b > a) {
    const v = JSON.parse(t.slice(a, b + 1));
    if (Array.isArray(v)) return v;
  }
  throw new Error(`ikelab list-sas --json: not a JSON array: ${t.slice(0, 500)}`);
}

/**
 * The hooks every interop file needs: one Lab for the describe block (created before its tests, destroyed after),
 * and every charon/ikelab a test started stopped after that test. `ready` receives the lab once it exists.
 */
export function useLab(ready: (lab: Lab) => void | Promise<void>, opts?: LabOptions): void {
  let lab: Lab | undefined;
  beforeAll(async () => {
    lab = await Lab.create(opts);
    await ready(lab);
  });
  afterEach(async () => {
    await lab?.stopAll();
  });
  afterAll(async () => {
    await lab?.destroy();
  });
}
