// The receive queue between the sockets and the dispatcher: existing SAs and ESP before new IKE_SA_INITs, new ones
// shed over init_queue_limit, existing ones never shed while a new one can make room, batches that yield.
import { describe, expect, it } from 'vitest';
import { isNewIkeSaInit, ReceiveQueue, type QueuedDatagram } from '../../src/net/receive-queue.js';

/** An IKE header: SPIi, SPIr (zero for a new IKE_SA_INIT), exchange, flags; tag goes in the message ID. */
function ike(spiR: number, tag: number, response = false): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt32BE(0x11111111, 0);
  b.writeUInt32BE(spiR, 12);
  b[16] = 33; // next payload SA
  b[17] = 0x20; // version 2.0
  b[18] = spiR ? 35 : 34;
  b[19] = response ? 0x20 : 0x08; // flags: R or I
  b.writeUInt32BE(tag, 20);
  return b;
}
const esp = (tag: number): Buffer => {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(0x1000, 0);
  b.writeUInt32BE(tag, 4);
  return b;
};

const label = (d: QueuedDatagram<string>): string => d.ctx;

/** A queue whose batches run only when the test says so. */
function manual(opts: { initLimit?: number; batch?: number; hardLimit?: number } = {}) {
  const delivered: string[] = [];
  const shed: string[] = [];
  let pending: (() => void) | undefined;
  const q = new ReceiveQueue<string>({
    deliver: (d) => delivered.push(label(d)),
    initLimit: () => opts.initLimit ?? 1000,
    shed: (d) => shed.push(label(d)),
    batch: opts.batch ?? 1000,
    budgetMs: 1e9,
    hardLimit: opts.hardLimit,
    schedule: (run) => {
      pending = run;
    },
  });
  const turn = (): boolean => {
    const run = pending;
    pending = undefined;
    run?.();
    return pending !== undefined;
  };
  return { q, delivered, shed, turn };
}

describe('ReceiveQueue', () => {
  it('classifies by the responder SPI and the response flag only', () => {
    expect(isNewIkeSaInit(ike(0, 1))).toBe(true);
    expect(isNewIkeSaInit(ike(7, 1))).toBe(false);
    // a COOKIE / INVALID_KE answer to our own IKE_SA_INIT carries SPIr 0 but belongs to an SA of ours
    expect(isNewIkeSaInit(ike(0, 1, true))).toBe(false);
    expect(isNewIkeSaInit(Buffer.alloc(10))).toBe(true);
  });

  it('serves existing SAs and ESP before new IKE_SA_INITs, each lane in arrival order', () => {
    const { q, delivered, turn } = manual();
    q.push('ike', ike(0, 1), 'init1');
    q.push('ike', ike(5, 1), 'sa1');
    q.push('ike', ike(0, 2), 'init2');
    q.push('esp', esp(1), 'esp1');
    q.push('ike', ike(0, 3, true), 'cookie-reply');
    q.push('ike', ike(6, 2), 'sa2');
    expect(delivered).toEqual([]); // never synchronously from the socket's event
    turn();
    expect(delivered).toEqual(['sa1', 'esp1', 'cookie-reply', 'sa2', 'init1', 'init2']);
    expect(q.stats).toMatchObject({ queued: 6, shed: 0, maxDepth: 6 });
  });

  it('sheds new IKE_SA_INITs over the limit, counted, and never ESP or existing SAs', () => {
    const { q, delivered, shed, turn } = manual({ initLimit: 3 });
    for (let i = 0; i < 10; i++) {
      q.push('ike', ike(0, i), `init${i}`);
      q.push('ike', ike(9, i), `sa${i}`);
      q.push('esp', esp(i), `esp${i}`);
    }
    expect(shed).toEqual(['init3', 'init4', 'init5', 'init6', 'init7', 'init8', 'init9']);
    expect(q.stats).toMatchObject({ queued: 23, shed: 7, overflow: 0, maxDepth: 23 });
    turn();
    expect(delivered.filter((d) => d.startsWith('sa'))).toHaveLength(10);
    expect(delivered.filter((d) => d.startsWith('esp'))).toHaveLength(10);
    expect(delivered.slice(-3)).toEqual(['init0', 'init1', 'init2']);
    // room again once processed
    q.push('ike', ike(0, 99), 'init99');
    turn();
    expect(delivered.at(-1)).toBe('init99');
  });

  it('at the hard bound an existing SA evicts the newest queued IKE_SA_INIT; only then is one of them dropped', () => {
    const { q, delivered, shed, turn } = manual({ hardLimit: 4 });
    q.push('ike', ike(0, 1), 'init1');
    q.push('ike', ike(0, 2), 'init2');
    q.push('ike', ike(0, 3), 'init3');
    q.push('esp', esp(1), 'esp1');
    q.push('ike', ike(4, 1), 'sa1'); // full: init3 makes room
    q.push('ike', ike(0, 4), 'init4'); // full: new ones shed
    q.push('ike', ike(4, 2), 'sa2'); // init2 makes room
    q.push('esp', esp(2), 'esp2'); // init1 makes room
    q.push('esp', esp(3), 'esp3'); // nothing left to evict
    expect(shed).toEqual(['init3', 'init4', 'init2', 'init1']);
    expect(q.stats).toMatchObject({ shed: 4, overflow: 1, maxDepth: 4 });
    turn();
    expect(delivered).toEqual(['esp1', 'sa1', 'sa2', 'esp2']);
  });

  it('processes in batches and yields to the event loop between them', async () => {
    const delivered: number[] = [];
    // a frozen clock: only the count ends a batch here (a GC pause on a busy machine would otherwise end one early)
    const q = new ReceiveQueue<number>({ deliver: (d) => delivered.push(d.ctx), initLimit: () => 1000, batch: 10, now: () => 0 });
    for (let i = 0; i < 100; i++) q.push('ike', ike(1, i), i);
    // a timer and an I/O-phase callback queued now run before the queue is empty
    const seen: number[] = [];
    setImmediate(() => seen.push(delivered.length));
    await new Promise<void>((r) => setTimeout(r, 0));
    seen.push(delivered.length);
    while (q.depth) await new Promise<void>((r) => setImmediate(r));
    expect(delivered).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(seen[0]).toBeLessThan(100);
    expect(q.stats.batches).toBe(10);
  });

  it('a batch also ends on its time budget', () => {
    let t = 0;
    let pending: (() => void) | undefined;
    const delivered: number[] = [];
    const q = new ReceiveQueue<number>({
      deliver: (d) => {
        delivered.push(d.ctx);
        t += 3; // 3 ms of DH work each
      },
      initLimit: () => 1000,
      batch: 100,
      budgetMs: 5,
      now: () => t,
      schedule: (run) => {
        pending = run;
      },
    });
    for (let i = 0; i < 5; i++) q.push('ike', ike(0, i), i);
    pending?.();
    expect(delivered).toEqual([0, 1]);
  });

  it('a datagram whose handler throws costs only itself; close() drops the rest', () => {
    const errors: unknown[] = [];
    const delivered: string[] = [];
    let pending: (() => void) | undefined;
    const q = new ReceiveQueue<string>({
      deliver: (d) => {
        if (d.ctx === 'bad') throw new Error('boom');
        delivered.push(d.ctx);
      },
      error: (e) => errors.push(e),
      initLimit: () => 10,
      schedule: (run) => {
        pending = run;
      },
    });
    q.push('ike', ike(1, 1), 'bad');
    q.push('ike', ike(1, 2), 'good');
    pending?.();
    expect(delivered).toEqual(['good']);
    expect(errors).toHaveLength(1);
    q.push('ike', ike(1, 3), 'late');
    q.close();
    q.push('ike', ike(1, 4), 'after');
    expect(q.depth).toBe(0);
  });
});
