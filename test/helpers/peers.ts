// Two ikelab daemons in one process (the idea of strongSwan's exchange_test_helper): peer A (initiator,
// 127.0.0.1) and peer B (responder, 127.0.0.2) built from YAML text, sharing one manual test clock (PairClock:
// ManualClock semantics, one host-timer slot per daemon), each logging to a MemorySink, and wired back to back
// through a message queue instead of UDP sockets. Nothing moves unless the test says so: deliverNext()/
// deliverAll() hand queued datagrams to the other peer, clock.advance(ms) fires timers (retransmits, DPD). Dropping, duplicating, holding back and reordering queued datagrams is the fault
// injection.
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import type { IkelabConfig } from '../../src/config/types.js';
import type { RandomSource } from '../../src/crypto/random.js';
import { Daemon } from '../../src/daemon.js';
import type { ChildSa } from '../../src/ike/child-sa.js';
import type { IkeSa } from '../../src/ike/ike-sa.js';
import { specLabel, type ChildSaBackend, type ChildSaSpec } from '../../src/ipsec/backend.js';
import { Logger, MemorySink, type LogRecord } from '../../src/log/logger.js';
import type { Endpoint } from '../../src/net/endpoint.js';
import type { Clock } from '../../src/util/timer-queue.js';
import { decodeHeader } from '../../src/wire/header.js';
import { charonExchangeName } from '../../src/wire/names.js';
import type { IkeHeader } from '../../src/wire/types.js';

export type PeerName = 'A' | 'B';

export interface PeerOptions {
  /** IKE proposals (strongSwan strings). Default aes256-sha256-modp2048. */
  proposals?: string[];
  /** ESP proposals. Default aes256gcm16. */
  espProposals?: string[];
  psk?: string;
  localTs?: string[];
  remoteTs?: string[];
  /** Seconds; 0 = off. Default 0. */
  dpdDelay?: number;
  dpdAction?: 'clear' | 'restart' | 'trap' | 'none';
  /** IKE rekey_time in seconds; default 0 (off), so no random rekey timers run. */
  rekeyTime?: number;
  startAction?: 'start' | 'none' | 'trap';
  /**
   * daemon.ipsec_backend; default 'none' (IKE only: the tests here are about the exchanges, and 'userspace' fakes a
   * NAT to force ESP-in-UDP). Left out of the YAML when the loaded schema does not know the key.
   */
  ipsecBackend?: 'none' | 'userspace' | 'xfrm';
  /** host_addrs of the child: virtual addresses the peer answers pings for. */
  hostAddrs?: string[];
  /** Extra YAML lines appended to the connection block (indented by the caller, 4 spaces). */
  extraConnection?: string;
  /** Extra YAML lines appended to the daemon block (indented by the caller, 2 spaces). */
  extraDaemon?: string;
}

export interface PairOptions {
  a?: PeerOptions;
  b?: PeerOptions;
  /** Both daemons' retransmit settings (charon's timeout * base^n). Default { timeout 1, base 1.4, tries 3 }. */
  retransmit?: { timeout: number; base: number; tries: number; jitter?: number; limit?: number };
  /** Log levels for both peers, default { default: 1 }. */
  levels?: Record<string, number>;
  /** Prefix for the seeded random sources (different seeds give different nonces, SPIs and collision outcomes). */
  seed?: string;
  /**
   * Run the real userspace ESP engine on both peers (ipsec_backend: userspace), ESP delivered directly between
   * them (a microtask later); keepalives are recorded in pair.keepalives.
   */
  esp?: boolean;
  /** Where each peer installs CHILD_SAs; default: a RecordingBackend per peer. */
  backends?: Partial<Record<PeerName, ChildSaBackend>>;
}

/** A ChildSaBackend that notes what was installed and removed (labels such as 'net{1}'). */
export class RecordingBackend implements ChildSaBackend {
  readonly events: string[] = [];
  /** The newest spec installed per CHILD_SA id (kept after removal). */
  readonly specs = new Map<number, ChildSaSpec>();
  /** Every spec installed, in order (updates included). */
  readonly installs: ChildSaSpec[] = [];
  install(spec: ChildSaSpec): void {
    this.specs.set(spec.id, spec);
    this.installs.push(spec);
    this.events.push(`install ${specLabel(spec)}`);
  }
  remove(id: number): void {
    const spec = this.specs.get(id);
    this.events.push(`remove ${spec ? specLabel(spec) : `unknown id ${id}`}`);
  }
}

export const ADDR: Record<PeerName, string> = { A: '127.0.0.1', B: '127.0.0.2' };
export const IKE_PORT = 15000;
export const NATT_PORT = 15001;

const DEFAULTS: Record<PeerName, Required<Omit<PeerOptions, 'extraConnection' | 'extraDaemon' | 'ipsecBackend' | 'hostAddrs'>>> = {
  A: {
    proposals: ['aes256-sha256-modp2048'],
    espProposals: ['aes256gcm16'],
    psk: 'ikelab-demo-secret',
    localTs: ['10.201.0.0/24'],
    remoteTs: ['10.202.0.0/24'],
    dpdDelay: 0,
    dpdAction: 'clear',
    rekeyTime: 0,
    startAction: 'none',
  },
  B: {
    proposals: ['aes256-sha256-modp2048'],
    espProposals: ['aes256gcm16'],
    psk: 'ikelab-demo-secret',
    localTs: ['10.202.0.0/24'],
    remoteTs: ['10.201.0.0/24'],
    dpdDelay: 0,
    dpdAction: 'clear',
    rekeyTime: 0,
    startAction: 'none',
  },
};

const list = (xs: string[]): string => `[${xs.join(', ')}]`;

/** The YAML of one peer: config/demo-a.yaml / demo-b.yaml with the given settings replaced. */
export function peerYaml(
  who: PeerName,
  o: PeerOptions = {},
  rt: PairOptions['retransmit'] = { timeout: 1, base: 1.4, tries: 3 },
  levels: Record<string, number> = { default: 1 },
  withBackend = SCHEMA_HAS_IPSEC_BACKEND,
): string {
  const p = { ...DEFAULTS[who], ...o };
  const me = ADDR[who];
  const peer = ADDR[who === 'A' ? 'B' : 'A'];
  const retransmit = `{ timeout: ${rt.timeout}, base: ${rt.base}, tries: ${rt.tries}${rt.jitter !== undefined ? `, jitter: ${rt.jitter}` : ''}${rt.limit !== undefined ? `, limit: ${rt.limit}` : ''} }`;
  const lv = Object.entries(levels)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  return `daemon:
  listen: [${me}]
  port: ${IKE_PORT}
  natt_port: ${NATT_PORT}
  control_socket: ${JSON.stringify(join(tmpdir(), `ikelab-peers-test-${who}.sock`))}
  retransmit: ${retransmit}
${o.ipsecBackend === undefined && !withBackend ? '' : `  ipsec_backend: ${o.ipsecBackend ?? 'none'}\n`}  log: { stdout: false, levels: { ${lv} } }
${o.extraDaemon ?? ''}connections:
  demo:
    local_addrs: [${me}]
    remote_addrs: [${peer}]
    remote_port: ${IKE_PORT}
    proposals: ${list(p.proposals)}
    dpd_delay: ${p.dpdDelay}s
    dpd_action: ${p.dpdAction}
    rekey_time: ${p.rekeyTime}s
    local: { auth: psk, id: ${me} }
    remote: { auth: psk, id: ${peer} }
${o.extraConnection ?? ''}    children:
      net:
        local_ts: ${list(p.localTs)}
        remote_ts: ${list(p.remoteTs)}
        esp_proposals: ${list(p.espProposals)}
        rekey_time: 0s
        start_action: ${p.startAction}
${o.hostAddrs ? `        host_addrs: ${list(o.hostAddrs)}\n` : ''}secrets:
  ike-demo:
    id: [${ADDR.A}, ${ADDR.B}]
    secret: ${p.psk}
`;
}

/** Whether this build's config schema knows daemon.ipsec_backend (it is being added while these tests are written). */
const SCHEMA_HAS_IPSEC_BACKEND = (() => {
  try {
    parseConfig(peerYaml('A', { ipsecBackend: 'none' }, undefined, undefined, true), 'probe.yaml');
    return true;
  } catch {
    return false;
  }
})();

/** Deterministic nonces and SPIs: SHA-256 of (seed, counter), as strongSwan's test helper seeds its RNG. */
export function seededRandom(seed: string): RandomSource {
  let n = 0;
  return {
    bytes(len: number): Buffer {
      const out: Buffer[] = [];
      let have = 0;
      while (have < len) {
        const block = createHash('sha256').update(`${seed}:${n++}`).digest();
        out.push(block);
        have += block.length;
      }
      return Buffer.concat(out).subarray(0, len);
    },
  };
}

/**
 * One test time shared by both peers. src's ManualClock holds a single host timer, but every Daemon has its own
 * TimerQueue that arms its own host timer, so each peer gets its own slot here (`view()`); advance() fires the
 * earliest deadline of all slots, in time order (ties: the slot armed first), exactly like ManualClock does for one.
 * It also notices a timer loop: a timer re-armed over and over at the same instant (time never moves while it
 * spins) would hang the test, so after `limit` arms at one instant arm() throws instead.
 */
export class PairClock {
  private t = 0;
  private readonly slots = new Map<object, { at: number; fire: () => void; seq: number }>();
  private seq = 0;
  private armsAtNow = 0;
  private lastT = -1;

  constructor(private readonly limit = 10_000) {}

  now(): number {
    return this.t;
  }

  /** A Clock for one TimerQueue (one daemon). */
  view(): Clock {
    const key = {};
    return {
      now: () => this.t,
      arm: (at, fire) => {
        this.guard();
        this.slots.set(key, { at, fire, seq: this.seq++ });
      },
      disarm: () => {
        this.guard();
        this.slots.delete(key);
      },
    };
  }

  /**
   * Arms and disarms both count: TimerQueue catches errors thrown by timer callbacks (an arm() inside one), but
   * not those of its own cancel() -> disarm()/arm() between callbacks, which is where a spinning loop ends up.
   */
  private guard(): void {
    if (this.t !== this.lastT) {
      this.lastT = this.t;
      this.armsAtNow = 0;
    }
    if (++this.armsAtNow > this.limit) throw new Error(`timer loop: ${this.limit} timers armed at t=${this.t} ms without time moving`);
  }

  /** Move time forward by ms, firing every deadline reached on the way, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [object, { at: number; fire: () => void; seq: number }] | undefined;
      for (const e of this.slots) {
        if (e[1].at > end) continue;
        if (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[1].seq < next[1].seq)) next = e;
      }
      if (!next) break;
      this.slots.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fire();
    }
    this.t = end;
  }

  /** Host timers currently armed (at most one per daemon). */
  get armed(): number {
    return this.slots.size;
  }
}

/** A MemorySink that also notes the test clock's time of every record (the records' own time is wall time). */
export class ClockedSink extends MemorySink {
  readonly at: number[] = [];
  constructor(private readonly clock: { now(): number }) {
    super();
  }
  override write(r: LogRecord): void {
    super.write(r);
    this.at.push(this.clock.now());
  }
  /** Lines with the clock time in ms, for assertions on when something was logged. */
  timed(): { t: number; line: string }[] {
    const lines = this.lines();
    return lines.map((line, i) => ({ t: this.at[i]!, line }));
  }
  messages(): string[] {
    return this.records.map((r) => r.message);
  }
  /** Clock times of the records whose message includes text. */
  timesOf(text: string | RegExp): number[] {
    return this.records.flatMap((r, i) =>
      (typeof text === 'string' ? r.message.includes(text) : text.test(r.message)) ? [this.at[i]!] : [],
    );
  }
  has(text: string | RegExp): boolean {
    return this.timesOf(text).length > 0;
  }
  count(text: string | RegExp): number {
    return this.timesOf(text).length;
  }
  clear(): void {
    this.records.length = 0;
    this.at.length = 0;
  }
}

/** One datagram in flight between the peers. */
export interface Queued {
  from: PeerName;
  to: PeerName;
  data: Buffer;
  src: Endpoint;
  dst: Endpoint;
  header: IkeHeader;
  /** Test clock time (ms) the datagram was sent at. */
  sentAt: number;
  /** Sequence number of the send (0, 1, 2, ... over the pair's lifetime). */
  seq: number;
}

export type QueuePred = (m: Queued) => boolean;

/** An RFC 3948 NAT-T keepalive a peer sent. */
export interface Keepalive {
  from: PeerName;
  at: number;
  src: Endpoint;
  dst: Endpoint;
}

export interface Peer {
  name: PeerName;
  daemon: Daemon;
  config: IkelabConfig;
  yaml: string;
  log: Logger;
  sink: ClockedSink;
  backend: ChildSaBackend;
  /** IKE_SAs that are not being destroyed. */
  sas(): IkeSa[];
  /** The only live IKE_SA (throws if there is not exactly one). */
  sa(): IkeSa;
  children(): ChildSa[];
}

export interface Pair {
  a: Peer;
  b: Peer;
  /** NAT-T keepalives sent so far (only with esp: true or encap). */
  keepalives: Keepalive[];
  clock: PairClock;
  /** Datagrams in flight, oldest first. Mutate freely (reorder, splice) for fault injection. */
  queue: Queued[];
  /** Every datagram sent so far (including dropped ones), in send order. */
  sent: Queued[];
  /** Every datagram dropped by drop()/dropAlways(). */
  dropped: Queued[];
  /** Hand the oldest queued datagram to its receiver; returns it, or undefined if the queue was empty. */
  deliverNext(): Queued | undefined;
  /** Deliver until the queue is empty (bounded: throws after `max` datagrams, a sign of a message loop). */
  deliverAll(max?: number): Queued[];
  /** Remove matching queued datagrams now; returns them. */
  drop(pred: QueuePred): Queued[];
  /** Drop matching datagrams as they are sent, until the returned function is called. */
  dropAlways(pred: QueuePred): () => void;
  /** Insert a copy right after every matching queued datagram; returns the copies. */
  duplicate(pred: QueuePred): Queued[];
  /** Remove matching queued datagrams and keep them for a later inject() (a late/reordered datagram). */
  hold(pred: QueuePred): Queued[];
  /** Put a datagram (e.g. a held one) back at the end of the queue, or at `index`. */
  inject(m: Queued, index?: number): void;
  /** Deliver a datagram directly (not through the queue). */
  deliver(m: Queued): void;
  /** Human-readable queue, e.g. "A->B IKE_SA_INIT request 0". */
  describe(ms?: Queued[]): string[];
  /**
   * Let `ms` of time pass in `stepMs` steps, delivering every queued datagram after each step (a network with at
   * most stepMs latency). Timers fire at their exact deadlines inside each step.
   */
  run(ms: number, stepMs?: number): void;
  /** A initiates the connection 'demo' with child 'net' (swanctl --initiate --child net). */
  initiate(): IkeSa;
  /** initiate() + deliverAll(): both peers ESTABLISHED with one CHILD_SA. */
  establish(): void;
  stop(): Promise<void>;
}

/** Matchers for queue predicates. */
export const is = {
  from:
    (p: PeerName): QueuePred =>
    (m) =>
      m.from === p,
  request: (m: Queued): boolean => !m.header.response,
  response: (m: Queued): boolean => m.header.response,
  responseFrom:
    (p: PeerName): QueuePred =>
    (m) =>
      m.from === p && m.header.response,
  requestFrom:
    (p: PeerName): QueuePred =>
    (m) =>
      m.from === p && !m.header.response,
  exchange:
    (name: string): QueuePred =>
    (m) =>
      charonExchangeName(m.header.exchange) === name,
  mid:
    (id: number): QueuePred =>
    (m) =>
      m.header.messageId === id,
  all:
    (...ps: QueuePred[]): QueuePred =>
    (m) =>
      ps.every((p) => p(m)),
};

export function describeQueued(m: Queued): string {
  return `${m.from}->${m.to} ${charonExchangeName(m.header.exchange)} ${m.header.response ? 'response' : 'request'} ${m.header.messageId}`;
}

export function makePair(opts: PairOptions = {}): Pair {
  const clock = new PairClock();
  const queue: Queued[] = [];
  const sent: Queued[] = [];
  const dropped: Queued[] = [];
  const filters = new Set<QueuePred>();
  const rt = opts.retransmit ?? { timeout: 1, base: 1.4, tries: 3 };
  const levels = opts.levels ?? { default: 1 };
  let seq = 0;
  const peers = {} as Record<PeerName, Peer>;
  const keepalives: Keepalive[] = [];

  const build = (name: PeerName, o: PeerOptions | undefined): Peer => {
    const yaml = peerYaml(name, opts.esp ? { ...o, ipsecBackend: 'userspace' } : o, rt, levels);
    const config = parseConfig(yaml, `demo-${name.toLowerCase()}.yaml`);
    const sink = new ClockedSink(clock);
    const log = new Logger(config.daemon.log.levels, [sink]);
    const other: PeerName = name === 'A' ? 'B' : 'A';
    const backend = opts.esp ? undefined : (opts.backends?.[name] ?? new RecordingBackend());
    const daemon = new Daemon(config, {
      log,
      clock: clock.view(),
      backend,
      sendEsp: (packet, from, to) => {
        const copy = Buffer.from(packet);
        queueMicrotask(() => peers[other].daemon.receiveEsp(copy, { ...to }, { ...from }));
      },
      sendKeepalive: (from, to) => keepalives.push({ from: name, at: clock.now(), src: { ...from }, dst: { ...to } }),
      random: seededRandom(`${opts.seed ?? ''}peer-${name}`),
      sendIke: (data, from, to) => {
        const h = decodeHeader(data);
        if (!h.ok) throw new Error(`peer ${name} sent an undecodable datagram: ${h.error.message}`);
        const m: Queued = {
          from: name,
          to: other,
          data: Buffer.from(data),
          src: { ...from },
          dst: { ...to },
          header: h.value,
          sentAt: clock.now(),
          seq: seq++,
        };
        sent.push(m);
        for (const f of filters) {
          if (f(m)) {
            dropped.push(m);
            return;
          }
        }
        queue.push(m);
      },
    });
    const live = () => daemon.table.list().filter((s) => s.state !== 'DESTROYING');
    return {
      name,
      daemon,
      config,
      yaml,
      log,
      sink,
      backend: backend ?? daemon.svc.childBackend,
      sas: live,
      sa() {
        const l = live();
        if (l.length !== 1) throw new Error(`peer ${name} has ${l.length} IKE_SAs: ${l.map((s) => `${s.label} ${s.state}`).join(', ')}`);
        return l[0]!;
      },
      children: () => live().flatMap((s) => s.children),
    };
  };
  peers.A = build('A', opts.a);
  peers.B = build('B', opts.b);

  const deliver = (m: Queued): void => {
    peers[m.to].daemon.receive(Buffer.from(m.data), { ...m.dst }, { ...m.src });
  };
  const take = (pred: QueuePred): Queued[] => {
    const out: Queued[] = [];
    for (let i = 0; i < queue.length; ) {
      if (pred(queue[i]!)) out.push(...queue.splice(i, 1));
      else i++;
    }
    return out;
  };

  const pair: Pair = {
    a: peers.A,
    b: peers.B,
    keepalives,
    clock,
    queue,
    sent,
    dropped,
    deliverNext() {
      const m = queue.shift();
      if (m) deliver(m);
      return m;
    },
    deliverAll(max = 100) {
      const done: Queued[] = [];
      while (queue.length) {
        if (done.length >= max) throw new Error(`deliverAll: more than ${max} datagrams, still queued: ${pair.describe().join('; ')}`);
        done.push(pair.deliverNext()!);
      }
      return done;
    },
    drop(pred) {
      const out = take(pred);
      dropped.push(...out);
      return out;
    },
    dropAlways(pred) {
      filters.add(pred);
      return () => filters.delete(pred);
    },
    duplicate(pred) {
      const copies: Queued[] = [];
      for (let i = 0; i < queue.length; i++) {
        if (!pred(queue[i]!)) continue;
        const c = { ...queue[i]!, data: Buffer.from(queue[i]!.data) };
        queue.splice(i + 1, 0, c);
        copies.push(c);
        i++;
      }
      return copies;
    },
    hold: take,
    inject(m, index) {
      if (index === undefined) queue.push(m);
      else queue.splice(index, 0, m);
    },
    deliver,
    describe(ms = queue) {
      return ms.map(describeQueued);
    },
    run(ms, stepMs = 10) {
      const end = clock.now() + ms;
      pair.deliverAll();
      while (clock.now() < end) {
        clock.advance(Math.min(stepMs, end - clock.now()));
        pair.deliverAll();
      }
    },
    initiate() {
      return peers.A.daemon.ops.initiate('demo', 'net');
    },
    establish() {
      pair.initiate();
      pair.deliverAll();
    },
    async stop() {
      await peers.A.daemon.stop();
      await peers.B.daemon.stop();
    },
  };
  return pair;
}
