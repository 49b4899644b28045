// The composition root: config + sockets + SA table + dispatcher + ESP engine + fault wiring, and the operations
// (src/ops) bound to them. The daemon builds and connects the parts; what the control verbs and in-process callers
// run (initiate, terminate, rekey, list-sas, load, ping, ...) lives in src/ops and is reached through `ops`.
import { execFile } from 'node:child_process';
import { UserspaceBackend } from './ipsec/userspace-backend.js';
import { XfrmBackend, type Exec } from './ipsec/xfrm-backend.js';
import type { IkelabConfig } from './config/types.js';
import { systemRandom, type RandomSource } from './crypto/random.js';
import type { Logger } from './log/logger.js';
import type { Endpoint } from './net/endpoint.js';
import { UdpTransport } from './net/udp-transport.js';
import { expandListen } from './net/interfaces.js';
import { Dispatcher } from './ike/dispatcher.js';
import { SaTable } from './ike/sa-table.js';
import type { IkeServices } from './ike/services.js';
import { FaultWiring } from './faults-wiring.js';
import type { ChildSaBackend } from './ipsec/backend.js';
import { SystemClock, TimerQueue, type Clock } from './util/timer-queue.js';
import { createOps, OpError, type Ops, type OpsContext } from './ops/index.js';
import { findConnection } from './ops/lookup.js';

/** The ops' refusal (src/ops/context.ts OpError), under the name the control layer and tests know it by. */
export { OpError as ControlError };

/** daemon.ipsec_backend = none: IKE only, CHILD_SAs are negotiated but carry nothing. */
export const nullBackend: ChildSaBackend = { install() {}, remove() {} };

/** `ip xfrm ...` for the xfrm backend, run without a shell. */
const runIp: Exec = (argv) =>
  new Promise((resolve, reject) =>
    execFile(argv[0]!, argv.slice(1), { timeout: 10_000 }, (err, _out, stderr) =>
      err ? reject(new Error(stderr.trim() || err.message)) : resolve(),
    ),
  );

export interface DaemonOptions {
  log: Logger;
  clock?: Clock;
  random?: RandomSource;
  backend?: ChildSaBackend;
  /** Replace the UDP transport (tests wire two daemons back to back). */
  sendIke?: (data: Buffer, from: Endpoint, to: Endpoint) => void;
  sendEsp?: (packet: Buffer, from: Endpoint, to: Endpoint) => void;
  sendKeepalive?: (from: Endpoint, to: Endpoint) => void;
}

export class Daemon {
  readonly table = new SaTable();
  readonly timers: TimerQueue;
  readonly dispatcher: Dispatcher;
  /** The fault engine and its hooks into IKE, ESP and keepalives (faults-wiring.ts); the control API's `fault` verbs. */
  readonly faults: FaultWiring;
  transport?: UdpTransport;
  /** The addresses actually bound (wildcards expanded to the host's addresses). */
  bound?: string[];
  private ikeIds = 0;
  private childIds = 0;
  readonly svc: IkeServices;
  /** The operations (src/ops) on this daemon's parts: what the control verbs run. */
  readonly ops: Ops;

  /** The userspace ESP engine when daemon.ipsec_backend is 'userspace' (ping, IOS view, ESP input). */
  readonly esp?: UserspaceBackend;

  constructor(
    private cfg: IkelabConfig,
    private readonly opts: DaemonOptions,
  ) {
    this.timers = new TimerQueue(opts.clock ?? new SystemClock());
    // log timestamps from the same clock as every deadline (a test's fake clock shows test time)
    opts.log.useWallClock(() => this.timers.wallAt(this.timers.now()));
    const self = this;
    this.faults = new FaultWiring({
      timers: this.timers,
      log: opts.log,
      connections: () => self.cfg.connections.map((c) => c.name),
      espEngine: () => self.esp !== undefined,
    });
    this.faults.setConfigRules(cfg.faults);
    let backend = opts.backend;
    if (!backend && cfg.daemon.ipsecBackend === 'userspace') {
      this.esp = new UserspaceBackend(
        { sendEsp: (p, from, to) => (opts.sendEsp ? opts.sendEsp(p, from, to) : self.transport?.sendEsp(p, from, to)) },
        opts.log,
        { nattPort: () => self.cfg.daemon.nattPort, now: () => self.timers.now() },
      );
      this.esp.faults = this.faults.esp;
      backend = this.esp;
    } else if (!backend && cfg.daemon.ipsecBackend === 'xfrm') {
      backend = new XfrmBackend(runIp, opts.log);
    }
    // the ops hear of every CHILD_SA install (a ping waiting for the SA it acquired), without polling
    const installed = new Set<() => void>();
    const inner = backend ?? nullBackend;
    const childBackend: ChildSaBackend = {
      install(spec, events) {
        inner.install(spec, events);
        for (const l of [...installed]) l();
      },
      remove: (id) => inner.remove(id),
    };
    const ctx: OpsContext = {
      table: this.table,
      get svc() {
        return self.svc;
      },
      timers: this.timers,
      log: opts.log,
      faults: this.faults,
      esp: this.esp,
      traps: new Set(),
      config: () => self.cfg,
      setConfig: (c) => {
        self.cfg = c;
      },
      bound: () => self.bound,
      onChildInstalled: (l) => {
        installed.add(l);
        return () => installed.delete(l);
      },
      counters: () => ({ dispatcher: self.dispatcher.counters, transport: self.transport?.counters }),
    };
    this.ops = createOps(ctx);
    this.svc = {
      log: opts.log,
      timers: this.timers,
      random: opts.random ?? systemRandom,
      config: () => self.cfg,
      sendIke: (data, from, to) => (opts.sendIke ? opts.sendIke(data, from, to) : self.transport?.sendIke(data, from, to)),
      get ikePort() {
        return self.cfg.daemon.port;
      },
      get nattPort() {
        return self.cfg.daemon.nattPort;
      },
      nextIkeId: () => ++self.ikeIds,
      nextChildId: () => ++self.childIds,
      registerSa: (sa) => self.table.register(sa),
      unregisterSa: (sa) => self.table.remove(sa),
      leftHalfOpen: (sa) => self.table.leaveHalfOpen(sa),
      findConnection: (local, remote) => findConnection(ctx, local, remote),
      hasSaWithPeer: (sa) => {
        for (const o of self.table.withPeer(sa.remote.address)) if (o !== sa && o.state === 'ESTABLISHED') return true;
        return false;
      },
      dropStaleSas: (sa) => {
        for (const o of [...self.table.withPeer(sa.remote.address)]) {
          if (o === sa || o.remoteId !== sa.remoteId || o.state === 'DESTROYING' || o.state === 'CONNECTING' || o.state === 'CREATED')
            continue;
          sa.log.ike(1, `destroying duplicate IKE_SA ${o.label} for peer '${o.remoteId}', received INITIAL_CONTACT`);
          o.destroy();
        }
      },
      childBackend,
      // userspace ESP only travels in UDP: make the peer encapsulate, as charon's kernel-libipsec does
      forceEncap: cfg.daemon.ipsecBackend === 'userspace',
      sendKeepalive: (sa) => {
        if (!self.faults.keepalive(sa)) return;
        sa.counters.keepalivesOut++;
        if (opts.sendKeepalive) opts.sendKeepalive(sa.local, sa.remote);
        else self.transport?.sendKeepalive(sa.local, sa.remote);
      },
      faults: this.faults.ike,
      trapChild: (name, child) => self.ops.trap(name, child),
      initiateConnection: (name, child) => {
        try {
          self.ops.initiate(name, child);
        } catch (e) {
          opts.log.log('IKE', 1, `re-initiating ${name} failed: ${(e as Error).message}`);
        }
      },
    };
    this.dispatcher = new Dispatcher(this.svc, this.table, opts.log);
  }

  get config(): IkelabConfig {
    return this.cfg;
  }

  async start(): Promise<void> {
    if (!this.opts.sendIke) {
      const d = this.cfg.daemon;
      this.bound = expandListen(d.listen);
      this.transport = new UdpTransport(
        { listen: this.bound, port: d.port, nattPort: d.nattPort },
        {
          ike: (dg) => this.dispatcher.handle(dg),
          esp: (packet, local, remote) => this.esp?.receive(packet, local, remote),
          error: (m) => this.opts.log.log('NET', 1, m),
        },
      );
      await this.transport.start();
    }
    this.ops.startActions();
  }

  /** Datagram entry for in-process wiring (tests). */
  receive(data: Buffer, local: Endpoint, remote: Endpoint): void {
    this.dispatcher.handle({ data, local, remote });
  }

  /** ESP-in-UDP entry for in-process wiring (tests). */
  receiveEsp(packet: Buffer, local: Endpoint, remote: Endpoint): void {
    this.esp?.receive(packet, local, remote);
  }

  async stop(): Promise<void> {
    for (const sa of this.table.list()) sa.destroy();
    await this.transport?.close();
  }

  // In-process callers (tests, demo.ts) name the ops on the daemon too; these only hand out `ops`' functions.
  get initiate(): Ops['initiate'] {
    return this.ops.initiate;
  }
  get initiateMany(): Ops['initiateMany'] {
    return this.ops.initiateMany;
  }
  get terminate(): Ops['terminate'] {
    return this.ops.terminate;
  }
  get rekey(): Ops['rekey'] {
    return this.ops.rekey;
  }
  get setFault(): Ops['setFault'] {
    return this.ops.setFault;
  }
  get listSas(): Ops['listSas'] {
    return this.ops.listSas;
  }
  get stats(): Ops['stats'] {
    return this.ops.stats;
  }
  get ping(): Ops['ping'] {
    return this.ops.ping;
  }
  get reload(): Ops['reload'] {
    return this.ops.reload;
  }
  get startActions(): Ops['startActions'] {
    return this.ops.startActions;
  }
  get traps(): Ops['traps'] {
    return this.ops.traps;
  }
}
