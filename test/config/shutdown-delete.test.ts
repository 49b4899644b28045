// deleteAll, the shutdown of `ikelab start` and of an API peer: a DELETE for every established IKE_SA, then a wait
// that ends with the last answer or at the bound counted from the first DELETE. Two in-process peers on one manual
// clock: the answer and the bound are exact, no host time passes (startup-checks.test.ts does it over UDP).
import { afterEach, describe, expect, test } from 'vitest';
import { deleteAll } from '../../src/run-daemon.js';
import { makePair, type Pair } from '../helpers/peers.js';
import { settled } from '../helpers/settled.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});

const UNANSWERED = /did not answer the DELETE/;

describe('deleteAll', () => {
  test('the answer ends the wait at once: no clock time passes, no timer is left behind', async () => {
    const p = (pair = makePair());
    p.establish();
    expect(p.a.daemon.timers.size).toBe(0); // no DPD, rekey or expiry in this pair
    const wait = deleteAll(p.a.daemon, p.a.log, 1000);
    expect(await settled(wait)).toBe(false); // the DELETE is still queued for B
    expect(p.a.daemon.timers.size).toBeGreaterThan(0); // the DELETE's retransmit and the wait's bound
    const t0 = p.clock.now();
    p.deliverAll();
    await wait;
    expect(p.clock.now()).toBe(t0);
    expect(p.a.sas()).toHaveLength(0);
    expect(p.b.sas()).toHaveLength(0);
    expect(p.a.sink.has(UNANSWERED)).toBe(false);
    // the retransmit went with the IKE_SA, the wait's bound with the answer
    expect(p.a.daemon.timers.size).toBe(0);
  });

  test('an unanswered DELETE: the wait ends at the bound, counted from the first DELETE, and says how many', async () => {
    const p = (pair = makePair());
    p.establish();
    const wait = deleteAll(p.a.daemon, p.a.log, 1000);
    p.queue.splice(0); // B never hears of it
    p.clock.advance(999);
    expect(await settled(wait)).toBe(false);
    p.clock.advance(1);
    await wait;
    expect(p.a.sink.has(/1 IKE_SA\(s\) did not answer the DELETE within 1000 ms/)).toBe(true);
  });

  test('nothing established: returns at once without a DELETE', async () => {
    const p = (pair = makePair());
    await deleteAll(p.a.daemon, p.a.log, 1000);
    expect(p.sent).toHaveLength(0);
    expect(p.a.sink.has(UNANSWERED)).toBe(false);
  });
});
