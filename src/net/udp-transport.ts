// UDP sockets for IKE (port 500) and NAT-T (port 4500): one socket per listen address and port, shared by
// every SA (no per-SA sockets). On the NAT-T port, RFC 3948 demultiplexing: a 4-byte zero non-ESP marker
// prefixes IKE, a single 0xFF byte is a NAT-T keepalive, anything else is ESP-in-UDP. IKE and ESP then wait in the
// ReceiveQueue (receive-queue.ts: existing SAs first, new IKE_SA_INITs shed over a bound) before the handlers run.
import dgram from 'node:dgram';
import dns from 'node:dns';
import { isIP } from 'node:net';
import { type Endpoint, family } from './endpoint.js';
import type { BypassSocketConfigurator } from './udp-bypass.js';
import type { EncapSocketConfigurator } from './udp-encap.js';
import { ReceiveQueue, type QueuedDatagram, type ReceiveQueueStats } from './receive-queue.js';

export interface IkeDatagram {
  data: Buffer; // IKE message, non-ESP marker removed
  local: Endpoint;
  remote: Endpoint;
}

export interface TransportOptions {
  listen: string[];
  port: number;
  nattPort: number;
  /**
   * SO_RCVBUF per socket in bytes (daemon.receive_buffer). Linux caps it at net.core.rmem_max (Node cannot use
   * SO_RCVBUFFORCE); the size in effect is reported through notice(). Absent: the system default.
   */
  receiveBuffer?: number;
  /** New IKE_SA_INITs allowed to wait in the receive queue (daemon.init_queue_limit); read per datagram. */
  initQueueLimit?(): number;
  /**
   * The kernel carries ESP (daemon.ipsec_backend: xfrm): each NAT-T socket gets UDP_ENCAP_ESPINUDP (udp-encap.ts)
   * before start() resolves. The kernel then keeps ESP and keepalives arriving there; IKE still comes up.
   */
  encap?: EncapSocketConfigurator;
  /**
   * The kernel carries ESP: every socket (IKE and NAT-T port, each address) gets charon's IKE bypass policies
   * (udp-bypass.ts) before start() resolves, so no CHILD_SA's xfrm policy tunnels or drops IKE itself.
   */
  bypass?: BypassSocketConfigurator;
}

export interface TransportHandlers {
  ike(d: IkeDatagram): void;
  esp?(packet: Buffer, local: Endpoint, remote: Endpoint): void;
  /** Something went wrong at socket level (logged by the caller); the transport keeps running. */
  error?(msg: string): void;
  /** Start-up facts worth a log line (the receive buffer in effect); warn: the operator should act on it. */
  notice?(msg: string, warn: boolean): void;
  /** A new IKE_SA_INIT was shed by the receive queue (the caller logs it, rate-limited; it is already counted). */
  shed?(remote: Endpoint): void;
}

/** daemon.init_queue_limit's default when the caller gives none. */
export const DEFAULT_INIT_QUEUE_LIMIT = 1000;

export interface TransportCounters {
  rxIke: number;
  rxEsp: number;
  rxKeepalive: number;
  rxRunt: number;
  tx: number;
  txErrors: number;
  queue: ReceiveQueueStats;
}

interface From {
  local: Endpoint;
  remote: Endpoint;
}

const NON_ESP_MARKER = Buffer.alloc(4);
const KEEPALIVE = Buffer.from([0xff]);

/**
 * dgram's lookup for send(): an IP literal (every address ikelab sends to) is answered at once. dns.lookup would
 * answer it too, but a tick later, so each datagram cost a deferred callback before it reached the socket.
 */
function literalLookup(
  host: string,
  options: dns.LookupOneOptions | number,
  cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const f = isIP(host);
  if (f) cb(null, host, f);
  else if (typeof options === 'number') dns.lookup(host, options, cb);
  else dns.lookup(host, options, cb);
}

export class UdpTransport {
  private readonly sockets = new Map<string, dgram.Socket>();
  /** The same sockets by port, then address: found per datagram sent without building a key string. */
  private readonly byPort = new Map<number, Map<string, dgram.Socket>>();
  private readonly queue: ReceiveQueue<From>;
  /** `queue` is the receive queue's own stats object (queued, shed, overflow, maxDepth, batches), live. */
  readonly counters: TransportCounters;

  constructor(
    private readonly opts: TransportOptions,
    private readonly h: TransportHandlers,
  ) {
    this.queue = new ReceiveQueue<From>({
      deliver: (d) => this.deliver(d),
      initLimit: () => opts.initQueueLimit?.() ?? DEFAULT_INIT_QUEUE_LIMIT,
      shed: (d) => h.shed?.(d.ctx.remote),
      error: (e) => h.error?.(`processing a datagram failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`),
    });
    this.counters = { rxIke: 0, rxEsp: 0, rxKeepalive: 0, rxRunt: 0, tx: 0, txErrors: 0, queue: this.queue.stats };
  }

  get nattPort(): number {
    return this.opts.nattPort;
  }
  get ikePort(): number {
    return this.opts.port;
  }

  async start(): Promise<void> {
    for (const address of this.opts.listen) {
      for (const port of new Set([this.opts.port, this.opts.nattPort])) {
        const s = await this.bind(address, port);
        // charon's order: the bypass policies first, then UDP decapsulation
        if (this.opts.bypass) await this.installBypass(this.opts.bypass, s, address, port);
        if (this.opts.encap && port === this.opts.nattPort && port !== this.opts.port)
          await this.enableDecap(this.opts.encap, s, address, port);
      }
    }
  }

  /**
   * charon logs "installing IKE bypass policy failed" and goes on; so does ikelab, saying what is at stake: IKE is
   * fine until a CHILD_SA's policies cover this socket's own traffic (0.0.0.0/0 traffic selectors).
   */
  private async installBypass(bypass: BypassSocketConfigurator, s: dgram.Socket, address: string, port: number): Promise<void> {
    const at = `socket ${address}[${port}]`;
    try {
      await bypass.bypassIpsec(s, { address, port });
      this.h.notice?.(`${at}: IKE bypass policies installed (socket policies in and out, action allow)`, false);
    } catch (e) {
      this.h.error?.(
        `${at}: installing IKE bypass policy failed, CHILD_SA policies covering this address (0.0.0.0/0 traffic selectors) would catch IKE itself: ${(e as Error).message}`,
      );
    }
  }

  /**
   * Like charon, a failure is logged and the daemon keeps running: IKE works, and only a NAT-T CHILD_SA's ESP is
   * lost, which the line names so the operator knows where to look.
   */
  private async enableDecap(encap: EncapSocketConfigurator, s: dgram.Socket, address: string, port: number): Promise<void> {
    const at = `socket ${address}[${port}]`;
    try {
      await encap.enableEspInUdp(s, { address, port });
      this.h.notice?.(`${at}: UDP decapsulation enabled (UDP_ENCAP_ESPINUDP): the kernel takes ESP-in-UDP here`, false);
    } catch (e) {
      this.h.error?.(
        `${at}: enabling UDP decapsulation failed, ESP-in-UDP of NAT-T CHILD_SAs will not reach the kernel's xfrm states: ${(e as Error).message}`,
      );
    }
  }

  private bind(address: string, port: number): Promise<dgram.Socket> {
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket({ type: family(address), reuseAddr: false, lookup: literalLookup });
      const natt = port === this.opts.nattPort && port !== this.opts.port;
      // One local endpoint per socket, handed out with every datagram it receives (endpoints are never mutated).
      const local: Endpoint = { address, port };
      s.once('error', reject);
      s.on('message', (msg, rinfo) => this.receive(msg, local, rinfo, natt));
      s.bind({ address, port, exclusive: true }, () => {
        s.off('error', reject);
        s.on('error', (e) => this.h.error?.(`socket ${address}[${port}]: ${e.message}`));
        this.sizeReceiveBuffer(s, address, port);
        this.sockets.set(`${address}|${port}`, s);
        let at = this.byPort.get(port);
        if (!at) this.byPort.set(port, (at = new Map()));
        at.set(address, s);
        resolve(s);
      });
    });
  }

  /**
   * The default (about 208 KiB) held a few hundred datagrams: a burst of IKE_SA_INITs overflowed it while the
   * process was mostly idle. Linux reports twice what it granted (its bookkeeping overhead) and silently caps a
   * request at net.core.rmem_max, so the size in effect is read back and said.
   */
  private sizeReceiveBuffer(s: dgram.Socket, address: string, port: number): void {
    const want = this.opts.receiveBuffer;
    if (!want) return;
    const at = `socket ${address}[${port}]`;
    try {
      s.setRecvBufferSize(want);
    } catch (e) {
      this.h.error?.(`${at}: setting the receive buffer to ${want} bytes failed: ${(e as Error).message}`);
    }
    let got: number;
    try {
      got = s.getRecvBufferSize();
    } catch {
      return;
    }
    this.h.notice?.(
      got < want
        ? `${at}: receive buffer ${got} bytes, below the ${want} requested (capped by net.core.rmem_max: sysctl -w net.core.rmem_max=${want})`
        : `${at}: receive buffer ${got} bytes`,
      got < want,
    );
  }

  /**
   * Classify and queue only: the work happens in the queue's batches (receive-queue.ts). ESP gets dgram's rinfo
   * as its remote endpoint (address and port, plus fields nobody reads), IKE a plain copy, since an IKE_SA keeps it.
   */
  private receive(msg: Buffer, local: Endpoint, rinfo: dgram.RemoteInfo, natt: boolean): void {
    if (!natt) {
      this.counters.rxIke++;
      this.queue.push('ike', msg, { local, remote: { address: rinfo.address, port: rinfo.port } });
      return;
    }
    if (msg.length === 1 && msg[0] === 0xff) {
      this.counters.rxKeepalive++;
      return;
    }
    if (msg.length < 4) {
      this.counters.rxRunt++;
      return;
    }
    if (msg.readUInt32BE(0) === 0) {
      this.counters.rxIke++;
      this.queue.push('ike', msg.subarray(4), { local, remote: { address: rinfo.address, port: rinfo.port } });
    } else {
      this.counters.rxEsp++;
      if (this.h.esp) this.queue.push('esp', msg, { local, remote: rinfo });
    }
  }

  private deliver(d: QueuedDatagram<From>): void {
    if (d.kind === 'ike') this.h.ike({ data: d.data, local: d.ctx.local, remote: d.ctx.remote });
    else this.h.esp?.(d.data, d.ctx.local, d.ctx.remote);
  }

  private socketFor(from: Endpoint): dgram.Socket | undefined {
    const at = this.byPort.get(from.port);
    return at && (at.get(from.address) ?? at.get(family(from.address) === 'udp6' ? '::' : '0.0.0.0'));
  }

  /** The length the peer will see on the wire (with the non-ESP marker on the NAT-T port). */
  wireLength(ike: Buffer, from: Endpoint): number {
    return from.port === this.opts.nattPort && from.port !== this.opts.port ? ike.length + 4 : ike.length;
  }

  sendIke(data: Buffer, from: Endpoint, to: Endpoint): void {
    const natt = from.port === this.opts.nattPort && from.port !== this.opts.port;
    this.raw(natt ? [NON_ESP_MARKER, data] : data, from, to);
  }

  sendEsp(packet: Buffer, from: Endpoint, to: Endpoint): void {
    this.raw(packet, from, to);
  }

  sendKeepalive(from: Endpoint, to: Endpoint): void {
    this.raw(KEEPALIVE, from, to);
  }

  /** One datagram; a single buffer when there is one, since dgram copies a list into a new one per send. */
  private raw(data: Buffer | Buffer[], from: Endpoint, to: Endpoint): void {
    const s = this.socketFor(from);
    if (!s) {
      this.counters.txErrors++;
      this.h.error?.(`no socket bound to ${from.address}[${from.port}]`);
      return;
    }
    this.counters.tx++;
    s.send(data, to.port, to.address, this.sent);
  }

  /** One callback for every send, not a closure per datagram: dgram's error carries the destination. */
  private readonly sent = (err: Error | null): void => {
    if (!err) return;
    this.counters.txErrors++;
    const { address, port } = err as Error & { address?: string; port?: number };
    this.h.error?.(`sending${address === undefined ? '' : ` to ${address}[${port}]`} failed: ${err.message}`);
  };

  async close(): Promise<void> {
    this.queue.close();
    await Promise.all([...this.sockets.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.sockets.clear();
    this.byPort.clear();
  }
}
