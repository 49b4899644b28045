// Between the sockets and the dispatcher: every 'message' event only classifies the datagram and queues it, so the
// kernel's receive buffer is emptied as fast as libuv reads it (an unpaced burst of IKE_SA_INITs used to overflow
// it while the process sat idle between expensive datagrams, and the drops hit established SAs' DPD replies as
// much as the burst). Processing runs in batches on setImmediate, so socket reads keep interleaving with the work.
//
// Two lanes: datagrams for something that exists (ESP, IKE with a responder SPI, IKE responses) go first; new
// IKE_SA_INIT requests (responder SPI zero) only when that lane is empty, and are shed beyond a bound: an
// initiator retransmits, while a lost DPD reply or ESP packet costs an SA that was already paid for. Nothing but
// the 8-byte responder SPI and the flags byte of the IKE header is read here; decoding stays the dispatcher's.

/** What the transport queues: an IKE message (non-ESP marker removed) or an ESP-in-UDP packet. */
export type QueuedKind = 'ike' | 'esp';

export interface QueuedDatagram<T> {
  kind: QueuedKind;
  data: Buffer;
  /** The caller's context (endpoints), handed back unchanged. */
  ctx: T;
}

export interface ReceiveQueueStats {
  /** Datagrams accepted into either lane. */
  queued: number;
  /** New IKE_SA_INIT requests dropped because init_queue_limit of them were already waiting. */
  shed: number;
  /** Datagrams for existing SAs dropped because the whole queue was at its hard bound with no new one to evict. */
  overflow: number;
  /** The deepest both lanes together have been. */
  maxDepth: number;
  /** Batches run (each one a setImmediate turn). */
  batches: number;
}

export interface ReceiveQueueOptions<T> {
  /** Handles one datagram; what it throws is reported through error() and costs that datagram only. */
  deliver(d: QueuedDatagram<T>): void;
  /** New IKE_SA_INITs allowed to wait (daemon.init_queue_limit, read per datagram: a reload may change it). */
  initLimit(): number;
  /** Called for every shed datagram (the owner counts and logs it, rate-limited). */
  shed?(d: QueuedDatagram<T>): void;
  error?(e: unknown): void;
  /** Both lanes together; an existing SA's datagram over it first evicts the newest queued IKE_SA_INIT. */
  hardLimit?: number;
  /** Datagrams per batch at most ... */
  batch?: number;
  /** ... and milliseconds per batch at most (checked after each datagram), so one batch of DH work stays short. */
  budgetMs?: number;
  now?(): number;
  /** How the next batch is scheduled (tests); default setImmediate, which lets pending socket reads run first. */
  schedule?(run: () => void): void;
}

/**
 * libuv reads up to 32 datagrams per socket per poll; a batch below that lets the in-process queue, where the
 * lanes apply, take the backlog rather than the kernel buffer, where they cannot.
 */
export const DEFAULT_BATCH = 16;
export const DEFAULT_BUDGET_MS = 5;
/** 16,384 full-size datagrams are about 24 MB: the memory an unbounded junk flood may take, no more. */
export const DEFAULT_HARD_LIMIT = 16_384;

/** A FIFO with O(1) push and shift (Array.shift is O(n) once the array is large). */
class Fifo<E> {
  private items: (E | undefined)[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(e: E): void {
    this.items.push(e);
  }
  shift(): E | undefined {
    if (this.head >= this.items.length) return undefined;
    const e = this.items[this.head];
    this.items[this.head++] = undefined;
    // compact once the consumed prefix dominates, so memory follows the queue's depth
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return e;
  }
  /** Remove the newest (for eviction). */
  pop(): E | undefined {
    return this.length ? this.items.pop() : undefined;
  }
}

/**
 * A new IKE_SA_INIT request: responder SPI (bytes 8..15) zero and not a response (flags byte 19, bit 0x20). The
 * zero-SPI responses (COOKIE, INVALID_KE_PAYLOAD, NO_PROPOSAL_CHOSEN) answer our own requests: they belong to
 * an SA of ours. Shorter datagrams cannot be IKE at all; they count as new (sheddable junk).
 */
export function isNewIkeSaInit(ike: Buffer): boolean {
  if (ike.length < 28) return true;
  if ((ike[19]! & 0x20) !== 0) return false;
  return ike.readUInt32BE(8) === 0 && ike.readUInt32BE(12) === 0;
}

export class ReceiveQueue<T> {
  readonly stats: ReceiveQueueStats = { queued: 0, shed: 0, overflow: 0, maxDepth: 0, batches: 0 };
  private readonly existing = new Fifo<QueuedDatagram<T>>();
  private readonly fresh = new Fifo<QueuedDatagram<T>>();
  private scheduled = false;
  private closed = false;
  private readonly batch: number;
  private readonly budgetMs: number;
  private readonly hardLimit: number;
  private readonly now: () => number;
  private readonly schedule: (run: () => void) => void;

  constructor(private readonly o: ReceiveQueueOptions<T>) {
    this.batch = o.batch ?? DEFAULT_BATCH;
    this.budgetMs = o.budgetMs ?? DEFAULT_BUDGET_MS;
    this.hardLimit = o.hardLimit ?? DEFAULT_HARD_LIMIT;
    this.now = o.now ?? (() => performance.now());
    this.schedule = o.schedule ?? ((run) => setImmediate(run));
  }

  get depth(): number {
    return this.existing.length + this.fresh.length;
  }

  /** Queue one datagram (never processes it synchronously). */
  push(kind: QueuedKind, data: Buffer, ctx: T): void {
    if (this.closed) return;
    const d: QueuedDatagram<T> = { kind, data, ctx };
    if (kind === 'ike' && isNewIkeSaInit(data)) {
      if (this.fresh.length >= this.o.initLimit() || this.depth >= this.hardLimit) return this.shedOne(d);
      this.fresh.push(d);
    } else {
      if (this.depth >= this.hardLimit) {
        const evicted = this.fresh.pop();
        if (!evicted) {
          this.stats.overflow++;
          return;
        }
        this.shedOne(evicted);
      }
      this.existing.push(d);
    }
    this.stats.queued++;
    if (this.depth > this.stats.maxDepth) this.stats.maxDepth = this.depth;
    this.arm();
  }

  private shedOne(d: QueuedDatagram<T>): void {
    this.stats.shed++;
    this.o.shed?.(d);
  }

  private arm(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    this.schedule(() => this.run());
  }

  /** One batch: existing SAs' datagrams first, then new IKE_SA_INITs; the rest waits for the next turn. */
  private run(): void {
    this.scheduled = false;
    if (this.closed) return;
    this.stats.batches++;
    const start = this.now();
    for (let n = 0; n < this.batch; n++) {
      const d = this.existing.shift() ?? this.fresh.shift();
      if (!d) break;
      try {
        this.o.deliver(d);
      } catch (e) {
        this.o.error?.(e);
      }
      if (this.now() - start >= this.budgetMs) break;
    }
    if (this.depth) this.arm();
  }

  /** Drop everything queued and accept nothing more (the sockets are closing). */
  close(): void {
    this.closed = true;
    while (this.existing.shift());
    while (this.fresh.shift());
  }
}
