// startPeer: one Daemon (the composition root) on real UDP sockets, with its operations (src/ops) behind
// promises. No control socket: a test drives the peer through this object, and parallel suites do not fight over
// a socket path.
import { formatCharonLine } from '../log/charon-sink.js';
import type { IkelabEvent } from '../log/events.js';
import type { Logger } from '../log/logger.js';
import { createLogger } from '../log/setup.js';
import type { IkelabConfig } from '../config/types.js';
import { Daemon } from '../daemon.js';
import { OpError, type InitiateOverrideText, type Outcome } from '../ops/index.js';
import { parseOverrides } from '../ops/overrides.js';
import { deleteAll, SHUTDOWN_DELETE_WAIT_MS, warnIfSecretsExposed } from '../run-daemon.js';
import { PeerError } from './errors.js';
import { resolveConfig } from './config.js';
import { onEvents, waitForEvent } from './events.js';
import { faultsOf } from './faults.js';
import type {
  ConfigInput,
  EventPattern,
  InitiateRequest,
  InitiateResult,
  LoadRunRequest,
  LoadSummary,
  Peer,
  PeerFaults,
  RekeyOptions,
  SaTarget,
  StartPeerOptions,
  StormRunRequest,
  StormSummary,
  WaitForOptions,
} from './types.js';

function loggerFor(cfg: IkelabConfig, o: StartPeerOptions): Logger {
  const target = o.log ?? 'silent';
  const log = createLogger({ ...cfg.daemon.log, stdout: target === 'stdout' });
  if (typeof target === 'function') {
    const fmt = { timeFormat: cfg.daemon.log.timeFormat, syslogPrefix: cfg.daemon.log.syslogPrefix, hostname: cfg.daemon.log.hostname };
    log.addSink({ write: (r) => target(formatCharonLine(r, fmt)) });
  }
  return log;
}

/**
 * Start a peer: load the config (a path, YAML text or an object in the YAML's shape; a ConfigError names the key),
 * bind its addresses and ports, run its start actions. Resolves once it listens.
 */
export async function startPeer(config: ConfigInput, options: StartPeerOptions = {}): Promise<Peer> {
  const cfg = resolveConfig(config, options.name);
  const log = loggerFor(cfg, options);
  warnIfSecretsExposed(cfg, log);
  const daemon = new Daemon(cfg, { log });
  try {
    await daemon.start();
  } catch (e) {
    await daemon.stop().catch(() => undefined);
    await log.close();
    throw e;
  }
  return new ApiPeer(daemon, log);
}

const list = (v: string | readonly string[] | undefined): string | undefined =>
  v === undefined || typeof v === 'string' ? v : v.join(',');

function targetOf(t: SaTarget): { ike?: string; child?: string } {
  if (typeof t === 'string') return { child: t };
  if (t.ike !== undefined) return { ike: t.ike };
  if (t.child !== undefined) return { child: t.child };
  throw new OpError('expected a child name, { ike: NAME } or { child: NAME }');
}

/** The ops report a failure as an outcome; a promise API rejects with it. */
function accept(what: string, o: Outcome): Outcome {
  if (o.ok) return o;
  throw new PeerError(what, { reason: o.reason ?? 'failed', notify: o.notify, outcome: o });
}

class ApiPeer implements Peer {
  /** Aborted by stop(): every wait still pending rejects instead of holding a test until its timeout. */
  private readonly stopped = new AbortController();
  private stopping?: Promise<void>;
  readonly fault: PeerFaults;

  constructor(
    private readonly daemon: Daemon,
    private readonly log: Logger,
  ) {
    this.fault = faultsOf(daemon.ops.faults);
  }

  get config(): IkelabConfig {
    return this.daemon.config;
  }

  private wait(timeoutMs: number | undefined) {
    return { signal: this.stopped.signal, ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
  }

  /** The overrides of an initiate or load request (ikelab initiate --psk/--proposals/...), parsed as the CLI does. */
  private overrides(r: Omit<InitiateRequest, 'timeoutMs'>) {
    const text: InitiateOverrideText = {
      psk: r.psk,
      proposals: list(r.proposals),
      espProposals: list(r.espProposals),
      localTs: list(r.localTs),
      remoteTs: list(r.remoteTs),
    };
    for (const k of Object.keys(text) as (keyof InitiateOverrideText)[]) if (text[k] === undefined) delete text[k];
    return parseOverrides(text, this.daemon.config.daemon.ipsecBackend);
  }

  /** A promise that rejects once the peer is stopped: what a run's summary races against. */
  private untilStopped<T>(p: Promise<T>): Promise<T> {
    const signal = this.stopped.signal;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      p.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  }

  async load(r: LoadRunRequest): Promise<LoadSummary> {
    // a request the daemon refuses throws its OpError here, as initiate's does
    const first = this.daemon.ops.startLoad({
      ike: r.ike,
      child: r.child,
      count: r.count,
      rate: r.rate ?? 0,
      overrides: this.overrides(r),
      initialContact: r.initialContact,
      idPattern: r.idPattern,
      sourcePool: r.sourcePool,
      timeoutMs: r.timeoutMs,
      mix: r.mix,
      mixSeed: r.mixSeed,
      maxHalfOpen: r.maxHalfOpen,
    });
    return this.untilStopped(this.daemon.ops.loadDone(first.id));
  }

  async storm(r: StormRunRequest): Promise<StormSummary> {
    const first = this.daemon.ops.startStorm({ kind: r.kind, scope: r.scope, rate: r.rate ?? 0, timeoutMs: r.timeoutMs, ike: r.ike });
    return this.untilStopped(this.daemon.ops.stormDone(first.id));
  }

  async initiate(target: string | InitiateRequest): Promise<InitiateResult> {
    const r: InitiateRequest = typeof target === 'string' ? { child: target } : target;
    const what = `initiate ${[r.ike, r.child].filter(Boolean).join('/')}`;
    const overrides = this.overrides(r);
    const o = accept(what, await this.daemon.ops.initiateAndWait({ ike: r.ike, child: r.child, overrides }, this.wait(r.timeoutMs)));
    const ike = this.daemon.ops.listSas().find((s) => s.uniqueId === o.ikeId);
    if (!ike) throw new PeerError(what, { reason: `IKE_SA ${o.ike}[${o.ikeId}] is gone again`, outcome: o });
    const child = o.childId === undefined ? undefined : ike.children.find((c) => c.uniqueId === o.childId);
    return child ? { ike, child } : { ike };
  }

  async terminate(target: SaTarget, options: { timeoutMs?: number } = {}): Promise<Outcome> {
    const t = targetOf(target);
    return accept(`terminate ${t.ike ?? t.child}`, await this.daemon.ops.terminateAndWait(t, this.wait(options.timeoutMs)));
  }

  async rekey(target: SaTarget, options: RekeyOptions = {}): Promise<Outcome> {
    const t = targetOf(target);
    const o = await this.daemon.ops.rekeyAndWait({ ...t, dh: options.dh }, this.wait(options.timeoutMs));
    return accept(`rekey ${t.ike ?? t.child}`, o);
  }

  on(pattern: EventPattern, listener: (e: IkelabEvent) => void): () => void {
    return onEvents(this.log, pattern, listener);
  }

  waitFor(pattern: EventPattern, options?: WaitForOptions): Promise<IkelabEvent> {
    return waitForEvent(this.log, this.stopped.signal, pattern, options);
  }

  listSas() {
    return this.daemon.ops.listSas();
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped.abort(new OpError('the peer was stopped'));
      // as `ikelab start` on SIGTERM: DELETE every established IKE_SA and wait (bounded) for the answers, so the
      // other peer of a test sees a clean end instead of a dead peer
      await deleteAll(this.daemon, this.log, SHUTDOWN_DELETE_WAIT_MS);
      await this.daemon.stop();
      await this.log.close();
    })();
    return this.stopping;
  }
}
