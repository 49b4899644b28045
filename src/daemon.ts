// The composition root: config + sockets + SA table + dispatcher + control. The daemon is also the control
// API's implementation (initiate, terminate, list-sas, reload), so the CLI and tests drive the same object.
import { execFile } from 'node:child_process';
import { UserspaceBackend } from './ipsec/userspace-backend.js';
import { XfrmBackend, type Exec } from './ipsec/xfrm-backend.js';
import type { PingOptions, PingResult } from './ipsec/ping.js';
import type { ConnectionConfig, IkelabConfig } from './config/types.js';
import { systemRandom, type RandomSource } from './crypto/random.js';
import type { Logger } from './log/logger.js';
import type { Endpoint } from './net/endpoint.js';
import { UdpTransport } from './net/udp-transport.js';
import { expandListen, pickSource } from './net/interfaces.js';
import { Dispatcher } from './ike/dispatcher.js';
import { IkeSa } from './ike/ike-sa.js';
import { SaTable } from './ike/sa-table.js';
import type { IkeServices } from './ike/services.js';
import { FaultWiring } from './faults-wiring.js';
import type { ChildSaBackend } from './ipsec/backend.js';
import { initiatorChain } from './ike/responder-tasks.js';
import { ChildCreate } from './ike/tasks/child-create.js';
import { ChildDelete } from './ike/tasks/child-delete.js';
import { IkeDelete } from './ike/tasks/ike-delete.js';
import { IkeRekey } from './ike/tasks/ike-rekey.js';
import { ChildRekey } from './ike/tasks/child-rekey.js';
import { SystemClock, TimerQueue, type Clock } from './util/timer-queue.js';
import { describeSa, type SaJson } from './control/sa-json.js';

export class ControlError extends Error {}

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
        { nattPort: () => self.cfg.daemon.nattPort },
      );
      this.esp.faults = this.faults.esp;
      backend = this.esp;
    } else if (!backend && cfg.daemon.ipsecBackend === 'xfrm') {
      backend = new XfrmBackend(runIp, opts.log);
    }
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
      findConnection: (local, remote) => self.findConnection(local, remote),
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
      childBackend: backend ?? nullBackend,
      // userspace ESP only travels in UDP: make the peer encapsulate, as charon's kernel-libipsec does
      forceEncap: cfg.daemon.ipsecBackend === 'userspace',
      sendKeepalive: (sa) => {
        if (!self.faults.keepalive(sa)) return;
        sa.counters.keepalivesOut++;
        if (opts.sendKeepalive) opts.sendKeepalive(sa.local, sa.remote);
        else self.transport?.sendKeepalive(sa.local, sa.remote);
      },
      faults: this.faults.ike,
      trapChild: (name, child) => self.trap(name, child),
      initiateConnection: (name, child) => {
        try {
          self.initiate(name, child);
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
    this.startActions();
  }

  /**
   * Trap policies (charon's "routed" CHILD_SAs): traffic for such a child with no SA up triggers an initiation
   * (an acquire). With the userspace engine that traffic is ikelab's own (ikelab ping).
   */
  readonly traps = new Set<string>();

  /** start_action = start: bring those children up now; trap: route them (like charon after loading a config). */
  startActions(): void {
    for (const c of this.cfg.connections) {
      for (const ch of c.children) {
        if (ch.startAction === 'start') this.initiate(c.name, ch.name);
        else if (ch.startAction === 'trap') this.trap(c.name, ch.name);
      }
    }
  }

  trap(conn: string, child: string): void {
    const key = `${conn}/${child}`;
    if (this.traps.has(key)) return;
    this.traps.add(key);
    this.opts.log.log('CFG', 1, `installed trap policy for CHILD_SA ${child} of ${conn}`);
  }

  /** ESP-in-UDP entry for in-process wiring (tests). */
  receiveEsp(packet: Buffer, local: Endpoint, remote: Endpoint): void {
    this.esp?.receive(packet, local, remote);
  }

  /** ikelab ping: ICMP echo through a CHILD_SA from the virtual host; acquires a trapped CHILD_SA first. */
  async ping(o: PingOptions): Promise<PingResult> {
    if (!this.esp) throw new ControlError('ping needs daemon.ipsec_backend: userspace');
    const up = () =>
      this.table
        .list()
        .some(
          (sa) =>
            sa.state === 'ESTABLISHED' && sa.children.some((c) => (c.name === o.child || c.label === o.child) && c.state === 'INSTALLED'),
        );
    const trapped = [...this.traps].find((t) => t.endsWith(`/${o.child}`));
    if (!up() && trapped) {
      const [conn, child] = trapped.split('/') as [string, string];
      this.opts.log.log('KNL', 1, `creating acquire job for CHILD_SA ${child} of ${conn} (traffic to ${o.dst})`);
      this.initiate(conn, child);
      const end = Date.now() + 10_000;
      while (!up() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    }
    return this.esp.ping(o);
  }

  ipsecSaView(): string {
    if (!this.esp) throw new ControlError('the IOS view needs daemon.ipsec_backend: userspace');
    return this.esp.ipsecSaView();
  }

  /** Datagram entry for in-process wiring (tests). */
  receive(data: Buffer, local: Endpoint, remote: Endpoint): void {
    this.dispatcher.handle({ data, local, remote });
  }

  private findConnection(local: Endpoint, remote: Endpoint): ConnectionConfig | undefined {
    const ok = (list: string[], addr: string) =>
      list.length === 0 || list.some((a) => a === '%any' || a === addr || a === '0.0.0.0' || a === '::');
    return this.cfg.connections.find((c) => ok(c.localAddrs, local.address) && ok(c.remoteAddrs, remote.address));
  }

  connection(name: string): ConnectionConfig {
    const c = this.cfg.connections.find((x) => x.name === name);
    if (!c)
      throw new ControlError(`no connection named '${name}' (configured: ${this.cfg.connections.map((x) => x.name).join(', ') || 'none'})`);
    return c;
  }

  private connectionOfChild(child: string): ConnectionConfig {
    const c = this.cfg.connections.find((x) => x.children.some((ch) => ch.name === child));
    if (!c) throw new ControlError(`no child named '${child}' in any connection`);
    return c;
  }

  /** swanctl --initiate: --child NAME (its connection comes up first if needed) or --ike NAME. */
  initiate(ike?: string, child?: string): IkeSa {
    const conn = ike ? this.connection(ike) : child ? this.connectionOfChild(child) : undefined;
    if (!conn) throw new ControlError('initiate needs --child NAME or --ike NAME');
    if (child && !conn.children.some((c) => c.name === child)) throw new ControlError(`connection '${conn.name}' has no child '${child}'`);
    const existing = this.table.byName(conn.name).find((s) => s.state === 'ESTABLISHED' || s.state === 'CONNECTING');
    if (existing && child) {
      if (existing.state === 'ESTABLISHED' && existing.children.some((c) => c.name === child && c.state === 'INSTALLED')) return existing;
      const cfg = conn.children.find((c) => c.name === child)!;
      existing.manager.queue(new ChildCreate(existing, true, cfg));
      existing.manager.initiate();
      return existing;
    }
    if (existing) return existing;
    return this.startIke(conn, child);
  }

  /**
   * Load-test peer for headends: bring up `count` more IKE_SAs of one connection (each with its first CHILD_SA),
   * paced at `rate` per second on the timer queue, regardless of SAs that already exist.
   */
  initiateMany(ike: string | undefined, child: string | undefined, count: number, rate: number): number {
    const conn = ike ? this.connection(ike) : child ? this.connectionOfChild(child) : undefined;
    if (!conn) throw new ControlError('initiate needs --child NAME or --ike NAME');
    if (!(count >= 1 && count <= 100_000)) throw new ControlError('--count must be 1..100000');
    const gap = rate > 0 ? 1000 / rate : 0;
    for (let i = 0; i < count; i++) {
      this.timers.after(i * gap, `initiate ${conn.name} #${i + 1}`, () => {
        try {
          this.startIke(conn, child);
        } catch (e) {
          this.opts.log.log('IKE', 1, `initiating ${conn.name} failed: ${(e as Error).message}`);
        }
      });
    }
    return count;
  }

  private startIke(conn: ConnectionConfig, child?: string): IkeSa {
    const remoteAddr = conn.remoteAddrs.find((a) => a !== '%any');
    if (!remoteAddr) throw new ControlError(`connection '${conn.name}' has no remote address to initiate to`);
    const configured = conn.localAddrs.find((a) => a !== '%any');
    const source = configured ?? pickSource(remoteAddr, this.bound ?? this.cfg.daemon.listen) ?? this.cfg.daemon.listen[0]!;
    const local: Endpoint = { address: source, port: conn.localPort };
    const sa = new IkeSa(this.svc, conn, true, local, { address: remoteAddr, port: conn.remotePort }, this.svc.random.bytes(8));
    this.table.register(sa);
    for (const t of initiatorChain(sa, child)) sa.manager.queue(t);
    sa.manager.initiate();
    return sa;
  }

  private findIke(name: string): IkeSa[] {
    const byId = /^\d+$/.test(name) ? this.table.byUniqueId(Number(name)) : undefined;
    const found = byId ? [byId] : this.table.byName(name);
    if (found.length === 0) throw new ControlError(`no IKE_SA named '${name}' found`);
    return found;
  }

  /** swanctl --terminate --ike NAME | --child NAME */
  terminate(ike?: string, child?: string): number {
    if (ike) {
      const sas = this.findIke(ike);
      for (const sa of sas) {
        if (sa.state === 'ESTABLISHED') {
          sa.manager.queue(new IkeDelete(sa, true));
          sa.manager.initiate();
        } else {
          sa.log.ike(1, `deleting IKE_SA ${sa.label} in state ${sa.state}`);
          sa.destroy();
        }
      }
      return sas.length;
    }
    if (child) {
      let n = 0;
      for (const sa of this.table.list()) {
        const kids = sa.children.filter((c) => c.name === child || `${c.uniqueId}` === child);
        if (!kids.length || sa.state !== 'ESTABLISHED') continue;
        sa.manager.queue(new ChildDelete(sa, true, kids));
        sa.manager.initiate();
        n += kids.length;
      }
      if (!n) throw new ControlError(`no CHILD_SA named '${child}' found`);
      return n;
    }
    throw new ControlError('terminate needs --ike NAME or --child NAME');
  }

  /**
   * swanctl --rekey: --child NAME (every CHILD_SA of that name) or --ike NAME. dh (--child only): the DH group of
   * this one rekey instead of the configured one, 0 = none (no KE, no PFS); forgotten after it.
   */
  rekey(ike?: string, child?: string, dh?: number): number {
    if (dh !== undefined && !child) throw new ControlError('rekey --dh needs --child NAME');
    if (ike) {
      const sas = this.findIke(ike).filter((s) => s.state === 'ESTABLISHED');
      if (!sas.length) throw new ControlError(`IKE_SA '${ike}' is not established`);
      for (const sa of sas) {
        sa.manager.queue(new IkeRekey(sa, true));
        sa.manager.initiate();
      }
      return sas.length;
    }
    if (child) {
      let n = 0;
      for (const sa of this.table.list()) {
        if (sa.state !== 'ESTABLISHED') continue;
        for (const c of sa.children.filter(
          (x) => (x.name === child || `${x.uniqueId}` === child) && x.state === 'INSTALLED' && !x.successor,
        )) {
          sa.manager.queue(new ChildRekey(sa, true, c, dh));
          n++;
        }
        sa.manager.initiate();
      }
      if (!n) throw new ControlError(`no installed CHILD_SA named '${child}' found`);
      return n;
    }
    throw new ControlError('rekey needs --ike NAME or --child NAME');
  }

  /**
   * Failure reproduction, the old `fault --mode` verb (now shorthand for fault rules, faults/mode.ts): 'silent'
   * makes this daemon a dead peer for the named connection (or all): received messages are dropped before
   * processing, so nothing is answered; 'delay' holds every received message delayMs; 'normal' undoes both.
   */
  setFault(mode: 'silent' | 'normal' | 'delay', ike?: string, delayMs?: number): string {
    if (ike) this.connection(ike);
    return this.faults.mode(mode, ike, delayMs);
  }

  listSas(): SaJson[] {
    return this.table
      .list()
      .filter((s) => s.state !== 'DESTROYING')
      .map((s) => describeSa(s, this.timers.now()));
  }

  /** Replace the configuration; SAs keep running on the config they were made with. */
  reload(cfg: IkelabConfig): void {
    this.cfg = cfg;
    this.opts.log.setLevels(cfg.daemon.log.levels);
    this.faults.setConfigRules(cfg.faults);
  }

  stats() {
    return {
      sas: this.table.size,
      halfOpen: this.table.halfOpenCount(),
      rss: process.memoryUsage.rss(),
      timers: this.timers.size,
      dispatcher: this.dispatcher.counters,
      transport: this.transport?.counters,
      esp: this.esp?.counters,
    };
  }

  async stop(): Promise<void> {
    for (const sa of this.table.list()) sa.destroy();
    await this.transport?.close();
  }
}
