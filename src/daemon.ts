// The composition root: config + sockets + SA table + dispatcher + ESP engine + fault wiring, and the operations
// (src/ops) bound to them. The daemon builds and connects the parts; what the control verbs and in-process callers
// run (initiate, terminate, rekey, list-sas, load, ping, ...) lives in src/ops and is reached through `ops`.
import { execFile } from 'node:child_process';
import { UserspaceBackend } from './ipsec/userspace-backend.js';
import { XfrmBackend, type Exec } from './ipsec/xfrm-backend.js';
import type { IkelabConfig } from './config/types.js';
import { systemRandom, type RandomSource } from './crypto/random.js';
import type { Logger } from './log/logger.js';
import { PcapWriter } from './log/pcap.js';
import { type KeyExport, KeyFileWriter, saveKeysWarning } from './ike/key-export.js';
import { type Endpoint, fmtEndpoint } from './net/endpoint.js';
import { UdpTransport } from './net/udp-transport.js';
import { type EncapSocketConfigurator, SockoptEncapConfigurator } from './net/udp-encap.js';
import { type BypassSocketConfigurator, SockoptBypassConfigurator } from './net/udp-bypass.js';
import { expandListen } from './net/interfaces.js';
import { LogLimiter, type LimitedKind } from './log/rate-limit.js';
import { Dispatcher } from './ike/dispatcher.js';
import { SaTable } from './ike/sa-table.js';
import type { IkeServices } from './ike/services.js';
import type { IkeSa } from './ike/ike-sa.js';
import { FaultWiring } from './faults-wiring.js';
import type { ChildSaBackend } from './ipsec/backend.js';
import { SystemClock, TimerQueue, type Clock } from './util/timer-queue.js';
import { createOps, OpError, type Ops, type OpsContext } from './ops/index.js';
import { findConnection } from './ops/lookup.js';

/** The ops' refusal (src/ops/context.ts OpError), under the name the control layer and tests know it by. */
export { OpError as ControlError };

/** New IKE_SA_INITs shed by the receive queue: a flood path, so a few lines per window and a summary. */
const SHED: LimitedKind = {
  group: 'NET',
  level: 1,
  summary: (n, w) => `dropped ${n} IKE_SA_INIT requests over init_queue_limit in the last ${w} s`,
};

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
  /** Sets UDP_ENCAP on the NAT-T sockets with ipsec_backend xfrm (default: perl, udp-encap.ts); tests record it. */
  encapSockets?: EncapSocketConfigurator;
  /** Sets the IKE bypass policies on every socket with ipsec_backend xfrm (default: perl, udp-bypass.ts); tests record it. */
  bypassSockets?: BypassSocketConfigurator;
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
  /** daemon.pcap: every IKE/ESP datagram sent and received, taken at this composition root (not inside src/ike). */
  private readonly pcap?: PcapWriter;
  /** Told of every IKE_SA as destroy() unregisters it: a shutdown waits for its DELETEs' answers without polling. */
  private readonly destroyedListeners = new Set<(sa: IkeSa) => void>();

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
    // daemon.save_keys / daemon.pcap are read at start-up only (a reload does not turn them on or off)
    let keys: KeyFileWriter | undefined;
    if (cfg.daemon.saveKeys) {
      opts.log.log('CFG', 0, saveKeysWarning(cfg.daemon.saveKeys));
      keys = new KeyFileWriter(cfg.daemon.saveKeys, (m) => opts.log.log('CFG', 1, m));
    }
    if (cfg.daemon.pcap) {
      try {
        this.pcap = new PcapWriter(
          cfg.daemon.pcap,
          () => self.timers.wallAt(self.timers.now()),
          (m) => opts.log.log('NET', 1, m),
        );
      } catch (e) {
        opts.log.log('NET', 0, `pcap: cannot write ${cfg.daemon.pcap}: ${(e as Error).message}`);
      }
    }
    const pcap = this.pcap;
    let backend = opts.backend;
    if (!backend && cfg.daemon.ipsecBackend === 'userspace') {
      this.esp = new UserspaceBackend(
        {
          sendEsp: (p, from, to) => {
            pcap?.datagram(p, from, to);
            if (opts.sendEsp) opts.sendEsp(p, from, to);
            else self.transport?.sendEsp(p, from, to);
          },
        },
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
      sendIke: (data, from, to) => {
        pcap?.datagram(self.onWire(data, from), from, to);
        if (opts.sendIke) opts.sendIke(data, from, to);
        else self.transport?.sendIke(data, from, to);
      },
      get ikePort() {
        return self.cfg.daemon.port;
      },
      get nattPort() {
        return self.cfg.daemon.nattPort;
      },
      nextIkeId: () => ++self.ikeIds,
      nextChildId: () => ++self.childIds,
      registerSa: (sa) => self.table.register(sa),
      // IkeSa.destroy() is the one caller, right after the SA turned DESTROYING
      unregisterSa: (sa) => {
        self.table.remove(sa);
        for (const l of self.destroyedListeners) l(sa);
      },
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
      ...(keys && { keysDerived: (info: KeyExport) => keys.write(info) }),
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

  /** Calls l with every IKE_SA destroyed from now on, until the returned function is called. */
  onIkeSaDestroyed(l: (sa: IkeSa) => void): () => void {
    this.destroyedListeners.add(l);
    return () => this.destroyedListeners.delete(l);
  }

  /**
   * Bind the sockets, then run the start actions. beforeActions runs in between (sockets bound, nothing initiated
   * yet): `ikelab start` announces what it listens on and what it loaded there, as charon does before it acts.
   */
  async start(beforeActions?: () => void): Promise<void> {
    if (!this.opts.sendIke) {
      const d = this.cfg.daemon;
      this.bound = expandListen(d.listen);
      const shedLog = new LogLimiter(this.opts.log, this.timers);
      this.transport = new UdpTransport(
        {
          listen: this.bound,
          port: d.port,
          nattPort: d.nattPort,
          receiveBuffer: d.receiveBuffer,
          // 0 = no bound of its own: only the queue's hard bound (DEFAULT_HARD_LIMIT) sheds
          initQueueLimit: () => this.cfg.daemon.initQueueLimit || Number.POSITIVE_INFINITY,
          // only the kernel's ESP needs it: the userspace engine reads ESP-in-UDP from the socket itself
          encap: d.ipsecBackend === 'xfrm' ? (this.opts.encapSockets ?? new SockoptEncapConfigurator()) : undefined,
          // only the kernel's policies can catch IKE: the userspace engine never sees a datagram it did not seal
          bypass: d.ipsecBackend === 'xfrm' ? (this.opts.bypassSockets ?? new SockoptBypassConfigurator()) : undefined,
        },
        {
          ike: (dg) => this.receive(dg.data, dg.local, dg.remote),
          esp: (packet, local, remote) => this.receiveEsp(packet, local, remote),
          error: (m) => this.opts.log.log('NET', 1, m),
          // a capped buffer is worth the operator's attention (level 1); the granted size is detail (level 2)
          notice: (m, warn) => this.opts.log.log('NET', warn ? 1 : 2, m),
          shed: (remote) => {
            if (shedLog.allow(SHED))
              this.opts.log.log(
                'NET',
                1,
                `dropping IKE_SA_INIT from ${fmtEndpoint(remote)}, ${this.cfg.daemon.initQueueLimit} new IKE_SA_INITs already queued`,
              );
          },
        },
      );
      await this.transport.start();
    }
    beforeActions?.();
    this.ops.startActions();
  }

  /** Datagram entry for in-process wiring (tests). */
  receive(data: Buffer, local: Endpoint, remote: Endpoint): void {
    this.pcap?.datagram(this.onWire(data, local), remote, local);
    this.dispatcher.handle({ data, local, remote });
  }

  /** An IKE message as the UDP payload it is on the wire: with the non-ESP marker on the NAT-T port (RFC 3948). */
  private onWire(ike: Buffer, ours: Endpoint): Buffer {
    const d = this.cfg.daemon;
    return ours.port === d.nattPort && d.nattPort !== d.port ? Buffer.concat([Buffer.alloc(4), ike]) : ike;
  }

  /** ESP-in-UDP entry for in-process wiring (tests). */
  receiveEsp(packet: Buffer, local: Endpoint, remote: Endpoint): void {
    this.pcap?.datagram(packet, remote, local);
    this.esp?.receive(packet, local, remote);
  }

  async stop(): Promise<void> {
    for (const sa of this.table.list()) sa.destroy();
    await this.transport?.close();
    this.pcap?.close();
  }
}
