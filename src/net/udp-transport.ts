// UDP sockets for IKE (port 500) and NAT-T (port 4500): one socket per listen address and port, shared by
// every SA (no per-SA sockets). On the NAT-T port, RFC 3948 demultiplexing: a 4-byte zero non-ESP marker
// prefixes IKE, a single 0xFF byte is a NAT-T keepalive, anything else is ESP-in-UDP.
import dgram from 'node:dgram';
import { type Endpoint, family } from './endpoint.js';

export interface IkeDatagram {
  data: Buffer; // IKE message, non-ESP marker removed
  local: Endpoint;
  remote: Endpoint;
}

export interface TransportOptions {
  listen: string[];
  port: number;
  nattPort: number;
}

export interface TransportHandlers {
  ike(d: IkeDatagram): void;
  esp?(packet: Buffer, local: Endpoint, remote: Endpoint): void;
  /** Something went wrong at socket level (logged by the caller); the transport keeps running. */
  error?(msg: string): void;
}

const NON_ESP_MARKER = Buffer.alloc(4);
const KEEPALIVE = Buffer.from([0xff]);

export class UdpTransport {
  private readonly sockets = new Map<string, dgram.Socket>();
  counters = { rxIke: 0, rxEsp: 0, rxKeepalive: 0, rxRunt: 0, tx: 0, txErrors: 0 };

  constructor(
    private readonly opts: TransportOptions,
    private readonly h: TransportHandlers,
  ) {}

  get nattPort(): number {
    return this.opts.nattPort;
  }
  get ikePort(): number {
    return this.opts.port;
  }

  async start(): Promise<void> {
    for (const address of this.opts.listen) {
      for (const port of new Set([this.opts.port, this.opts.nattPort])) {
        await this.bind(address, port);
      }
    }
  }

  private bind(address: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket({ type: family(address), reuseAddr: false });
      const natt = port === this.opts.nattPort && port !== this.opts.port;
      s.once('error', reject);
      s.on('message', (msg, rinfo) => this.receive(msg, { address, port }, { address: rinfo.address, port: rinfo.port }, natt));
      s.bind({ address, port, exclusive: true }, () => {
        s.off('error', reject);
        s.on('error', (e) => this.h.error?.(`socket ${address}[${port}]: ${e.message}`));
        this.sockets.set(`${address}|${port}`, s);
        resolve();
      });
    });
  }

  private receive(msg: Buffer, local: Endpoint, remote: Endpoint, natt: boolean): void {
    if (!natt) {
      this.counters.rxIke++;
      this.h.ike({ data: msg, local, remote });
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
      this.h.ike({ data: msg.subarray(4), local, remote });
    } else {
      this.counters.rxEsp++;
      this.h.esp?.(msg, local, remote);
    }
  }

  private socketFor(from: Endpoint): dgram.Socket | undefined {
    return (
      this.sockets.get(`${from.address}|${from.port}`) ??
      this.sockets.get(`${family(from.address) === 'udp6' ? '::' : '0.0.0.0'}|${from.port}`)
    );
  }

  /** The length the peer will see on the wire (with the non-ESP marker on the NAT-T port). */
  wireLength(ike: Buffer, from: Endpoint): number {
    return from.port === this.opts.nattPort && from.port !== this.opts.port ? ike.length + 4 : ike.length;
  }

  sendIke(data: Buffer, from: Endpoint, to: Endpoint): void {
    const natt = from.port === this.opts.nattPort && from.port !== this.opts.port;
    this.raw(natt ? [NON_ESP_MARKER, data] : [data], from, to);
  }

  sendEsp(packet: Buffer, from: Endpoint, to: Endpoint): void {
    this.raw([packet], from, to);
  }

  sendKeepalive(from: Endpoint, to: Endpoint): void {
    this.raw([KEEPALIVE], from, to);
  }

  private raw(parts: Buffer[], from: Endpoint, to: Endpoint): void {
    const s = this.socketFor(from);
    if (!s) {
      this.counters.txErrors++;
      this.h.error?.(`no socket bound to ${from.address}[${from.port}]`);
      return;
    }
    this.counters.tx++;
    s.send(parts, to.port, to.address, (err) => {
      if (err) {
        this.counters.txErrors++;
        this.h.error?.(`sending to ${to.address}[${to.port}] failed: ${err.message}`);
      }
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.sockets.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.sockets.clear();
  }
}
