// The ping client of the userspace engine: ICMP(v6) echo requests sent through a CHILD_SA, replies matched by
// identifier and sequence number (RFC 792), round-trip times measured per reply.
import { randomInt } from 'node:crypto';
import { buildEcho, type Echo, type IpPacket } from './packets.js';

export interface PingOptions {
  /** CHILD_SA name (or label such as `net{3}`): the newest SA of that name carries every request. */
  child: string;
  /** Source inside the local traffic selectors; default the child's first host_addrs entry. */
  src?: string;
  dst: string;
  count: number;
  /** ICMP data bytes, default 56 (as ping). */
  size?: number;
  intervalMs?: number;
  /** How long to wait for a reply after the last request. */
  timeoutMs?: number;
}

export interface PingResult {
  sent: number;
  received: number;
  rttsMs: number[];
}

/** Sends one request; false when no SA could carry it (counted as sent but never answered). */
export type SendEcho = (ip: Buffer) => boolean;

interface Session {
  src: Buffer;
  dst: Buffer;
  sentAt: Map<number, number>;
  result: PingResult;
  done(): void;
  expected: number;
}

export class Pinger {
  private readonly sessions = new Map<number, Session>();

  /** now: milliseconds on the owner's clock, for the round-trip times. */
  constructor(private readonly now: () => number) {}

  /** Run one ping; resolves once every reply arrived or timeoutMs after the last request. */
  run(o: PingOptions & { srcBytes: Buffer; dstBytes: Buffer }, send: SendEcho): Promise<PingResult> {
    const size = o.size ?? 56;
    const interval = o.intervalMs ?? 1000;
    const timeout = o.timeoutMs ?? 1000;
    let id = randomInt(1, 0x10000);
    while (this.sessions.has(id)) id = (id % 0xffff) + 1;
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i++) data[i] = (i + 0x10) & 0xff; // ping's default pattern after the timestamp
    return new Promise((resolve) => {
      const timers: NodeJS.Timeout[] = [];
      const s: Session = {
        src: o.srcBytes,
        dst: o.dstBytes,
        sentAt: new Map(),
        result: { sent: 0, received: 0, rttsMs: [] },
        expected: o.count,
        done: () => {
          for (const t of timers) clearTimeout(t);
          this.sessions.delete(id);
          resolve(s.result);
        },
      };
      this.sessions.set(id, s);
      if (o.count <= 0) return s.done();
      const sendOne = (seq: number): void => {
        s.sentAt.set(seq, this.now());
        s.result.sent++;
        send(buildEcho(s.src, s.dst, { request: true, id, seq, data }));
        if (seq === o.count) timers.push(setTimeout(s.done, timeout));
      };
      for (let seq = 1; seq <= o.count; seq++) {
        if (seq === 1) sendOne(1);
        else timers.push(setTimeout(() => sendOne(seq), (seq - 1) * interval));
      }
    });
  }

  /** An echo reply from the tunnel: true when it answered one of our requests. */
  deliver(ip: IpPacket, e: Echo): boolean {
    if (e.request) return false;
    const s = this.sessions.get(e.id);
    if (!s || !ip.src.equals(s.dst) || !ip.dst.equals(s.src)) return false;
    const t = s.sentAt.get(e.seq);
    if (t === undefined) return false;
    s.sentAt.delete(e.seq); // a duplicated reply counts once
    s.result.received++;
    s.result.rttsMs.push(this.now() - t);
    if (s.result.received === s.expected) s.done();
    return true;
  }

  get active(): number {
    return this.sessions.size;
  }
}
