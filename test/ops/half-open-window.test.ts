// The half-open window of load runs (src/ops/half-open-window.ts) on its own: at most `max` IKE_SAs connecting per
// source, the rest held FIFO per source and handed back one per settled SA; 0 lifts it. The run that drives it
// (pacing, timers, events) is test/ops/load-run.test.ts.
import { describe, expect, test } from 'vitest';
import { DEFAULT_MAX_HALF_OPEN, HalfOpenWindow } from '../../src/ops/half-open-window.js';
import { DEFAULT_MAX_HALF_OPEN as FROM_LOAD_RUN } from '../../src/ops/load-run.js';

/** Admits #index of `source` and, when admitted, opens its IKE_SA, as a run does. */
function initiate(w: HalfOpenWindow, source: string, index: number): boolean {
  const admitted = w.admit(source, index);
  if (admitted) w.opened(source);
  return admitted;
}

describe('half-open window', () => {
  test('below charon’s block_threshold (5) by default, still exported by load-run.ts', () => {
    expect(DEFAULT_MAX_HALF_OPEN).toBe(4);
    expect(FROM_LOAD_RUN).toBe(DEFAULT_MAX_HALF_OPEN);
  });

  test('at most max connecting per source; the rest wait, each source on its own', () => {
    const w = new HalfOpenWindow(2);
    expect([1, 2, 3, 4].map((i) => initiate(w, 'a', i))).toEqual([true, true, false, false]);
    expect(w.waiting).toBe(2);
    // another source has a window of its own
    expect(initiate(w, 'b', 5)).toBe(true);
    expect(initiate(w, 'b', 6)).toBe(true);
    expect(initiate(w, 'b', 7)).toBe(false);
    expect(w.waiting).toBe(3);
  });

  test("a settled SA hands back its own source's oldest held initiation, one per SA", () => {
    const w = new HalfOpenWindow(1);
    initiate(w, 'a', 1);
    initiate(w, 'b', 2);
    for (const i of [3, 5]) expect(initiate(w, 'a', i)).toBe(false);
    expect(initiate(w, 'b', 4)).toBe(false);
    expect(w.waiting).toBe(3);
    expect(w.settled('a')).toBe(3);
    expect(w.waiting).toBe(2);
    // the handed-back one has no slot until its IKE_SA exists: the window is open for whoever comes first
    w.opened('a');
    expect(w.settled('a')).toBe(5);
    w.opened('a');
    expect(w.settled('b')).toBe(4);
    w.opened('b');
    expect(w.waiting).toBe(0);
    // nothing held any more: settling only gives the slot back
    expect(w.settled('a')).toBeUndefined();
    expect(w.admit('a', 6)).toBe(true);
    expect(w.admit('b', 7)).toBe(false);
  });

  test('admitting takes no slot: an initiation that fails before its IKE_SA exists holds nothing back', () => {
    const w = new HalfOpenWindow(1);
    expect(w.admit('a', 1)).toBe(true);
    expect(w.admit('a', 2)).toBe(true);
    w.opened('a');
    expect(w.admit('a', 3)).toBe(false);
  });

  test('a source never counts below zero: more settled than opened leaves it empty, not in credit', () => {
    const w = new HalfOpenWindow(2);
    w.opened('a');
    w.settled('a');
    w.settled('a');
    w.opened('a');
    w.opened('a');
    expect(w.admit('a', 1)).toBe(false);
  });

  test.each([0, -1, Number.NaN])('max %s: no window, the rate alone paces', (max) => {
    const w = new HalfOpenWindow(max);
    for (let i = 1; i <= 50; i++) expect(initiate(w, 'a', i)).toBe(true);
    expect(w.waiting).toBe(0);
    expect(w.settled('a')).toBeUndefined();
  });
});
