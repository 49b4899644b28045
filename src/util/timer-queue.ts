// One timer structure for the whole daemon (issue: 10,000 IKE_SAs with DPD and rekey timers must not mean
// 10,000 setTimeout handles). A binary min-heap of deadlines on an injected clock; a single host timer is
// armed for the earliest deadline. Tests drive a ManualClock instead and step time explicitly.
// The Clock is the only reader of time for the IKE side: deadlines and timestamps are on its monotonic now();
// wallNow() only turns them into dates for people (list-sas).

export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Arm the single host timer; a later call replaces the earlier one. */
  arm(at: number, fire: () => void): void;
  disarm(): void;
  /**
   * Wall-clock milliseconds since the epoch, for timestamps shown to people only (never for deadlines). A test
   * clock may leave it out: its wall time is then its now(), counted from the epoch.
   */
  wallNow?(): number;
}

export class SystemClock implements Clock {
  private handle: NodeJS.Timeout | undefined;
  now(): number {
    return performance.now();
  }
  wallNow(): number {
    return Date.now();
  }
  arm(at: number, fire: () => void): void {
    this.disarm();
    // setTimeout clamps to 2^31-1 ms; re-arming on fire handles longer waits.
    const delay = Math.min(Math.max(0, at - this.now()), 0x7fffffff);
    this.handle = setTimeout(fire, delay);
    this.handle.unref?.();
  }
  disarm(): void {
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
  }
}

/** A clock for tests: time moves only when advance() is called. */
export class ManualClock implements Clock {
  private t = 0;
  private pending: { at: number; fire: () => void } | undefined;
  now(): number {
    return this.t;
  }
  arm(at: number, fire: () => void): void {
    this.pending = { at, fire };
  }
  disarm(): void {
    this.pending = undefined;
  }
  /** Move time forward by ms, firing every deadline reached on the way, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    while (this.pending && this.pending.at <= end) {
      const p = this.pending;
      this.pending = undefined;
      this.t = Math.max(this.t, p.at);
      p.fire();
    }
    this.t = end;
  }
}

export interface TimerHandle {
  readonly at: number;
  /** Order of creation: timers due at the same instant fire in the order they were set (like setTimeout). */
  readonly seq: number;
  readonly name: string;
  /** heap index; -1 once fired or cancelled */
  index: number;
  fn: () => void;
}

export class TimerQueue {
  private heap: TimerHandle[] = [];
  private armedAt = Infinity;
  private seq = 0;

  constructor(readonly clock: Clock) {}

  get size(): number {
    return this.heap.length;
  }

  now(): number {
    return this.clock.now();
  }

  /** Wall-clock ms since the epoch (for display; see Clock.wallNow). */
  wallNow(): number {
    return this.clock.wallNow?.() ?? this.clock.now();
  }

  /** The wall-clock time (ms since the epoch) of `at`, a time on now()'s scale: for showing deadlines to people. */
  wallAt(at: number): number {
    return this.wallNow() - (this.now() - at);
  }

  /** Run fn after delayMs. name is for diagnostics (list of pending timers). */
  after(delayMs: number, name: string, fn: () => void): TimerHandle {
    const h: TimerHandle = { at: this.clock.now() + Math.max(0, delayMs), seq: this.seq++, name, index: this.heap.length, fn };
    this.heap.push(h);
    this.up(h.index);
    this.rearm();
    return h;
  }

  cancel(h: TimerHandle | undefined): void {
    if (!h || h.index < 0) return;
    const i = h.index;
    const last = this.heap.pop()!;
    if (i < this.heap.length) {
      this.heap[i] = last;
      last.index = i;
      this.down(i);
      this.up(last.index);
    }
    h.index = -1;
    this.rearm();
  }

  private fire = (): void => {
    this.armedAt = Infinity;
    const now = this.clock.now();
    while (this.heap.length && this.heap[0]!.at <= now) {
      const h = this.heap[0]!;
      this.cancel(h);
      try {
        h.fn();
      } catch (e) {
        // A failing timer callback must not stop every other SA's timers.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
    this.rearm();
  };

  private rearm(): void {
    const next = this.heap[0]?.at ?? Infinity;
    if (next === this.armedAt) return;
    this.armedAt = next;
    if (next === Infinity) this.clock.disarm();
    else this.clock.arm(next, this.fire);
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!earlier(h[i]!, h[p]!)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && earlier(h[l]!, h[m]!)) m = l;
      if (r < h.length && earlier(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(a: number, b: number): void {
    // callers pass two indices within the heap
    const x = this.heap[a]!;
    const y = this.heap[b]!;
    this.heap[a] = y;
    this.heap[b] = x;
    y.index = a;
    x.index = b;
  }
}

/** Heap order: by deadline, then by creation (so equal deadlines keep the order they were set in). */
function earlier(a: TimerHandle, b: TimerHandle): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
