// The seeded PRNG behind prob= rules: repeatable across runs and engines, different per seed, uniform enough.
import { describe, expect, test } from 'vitest';
import { SeededRandom } from '../../src/faults/prng.js';

const draw = (seed: number, n: number): number[] => {
  const r = new SeededRandom(seed);
  return Array.from({ length: n }, () => r.nextU32());
};

describe('SeededRandom', () => {
  test('xoshiro128** core: the reference outputs for state {1, 2, 3, 4}', () => {
    const r = new SeededRandom(0);
    // reach into the state: the core must be xoshiro128** exactly, or recorded seeds stop reproducing
    Object.assign(r, { s0: 1, s1: 2, s2: 3, s3: 4 });
    expect([r.nextU32(), r.nextU32(), r.nextU32(), r.nextU32()]).toEqual([11520, 0, 5927040, 70819200]);
  });

  test('same seed, same sequence; another seed, another sequence', () => {
    expect(draw(42, 100)).toEqual(draw(42, 100));
    expect(draw(42, 100)).not.toEqual(draw(43, 100));
    expect(draw(0, 10)).not.toEqual(draw(1, 10));
  });

  test('seeding is pinned too: a seed recorded in a bug report replays the same run in later versions', () => {
    expect(draw(42, 3)).toEqual([2837322924, 544945897, 479756282]);
  });

  test('next() is in [0, 1) and roughly uniform', () => {
    const r = new SeededRandom(7);
    const buckets = new Array(10).fill(0);
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = r.next();
      if (!(x >= 0 && x < 1)) outside++;
      else buckets[Math.floor(x * 10)]++;
    }
    expect(outside).toBe(0);
    for (const b of buckets) expect(Math.abs(b - 10_000)).toBeLessThan(500);
  });

  test('rejects seeds that are not 32-bit unsigned integers', () => {
    for (const s of [-1, 1.5, 2 ** 32, Number.NaN]) expect(() => new SeededRandom(s)).toThrow(RangeError);
  });
});
