import { describe, expect, test } from 'vitest';
import { parseDuration } from '../../src/config/duration.js';

describe('parseDuration', () => {
  test.each([
    ['2s', 2],
    ['30m', 1800],
    ['4h', 14400],
    ['1d', 86400],
    ['90', 90],
    [90, 90],
    [0, 0],
    ['0s', 0],
    ['4 h', 14400],
    ['10S', 10],
    ['0.5s', 0.5],
    [1.5, 1.5],
    ['1.5m', 90],
    [' 3s ', 3],
  ] as [string | number, number][])('%j -> %d s', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  test.each([['4x'], ['h'], [''], ['-1s'], ['4h30m'], [-3], [true], [[1]], ['1e3'], [Number.NaN]])('rejects %j', (v) => {
    expect(() => parseDuration(v)).toThrow(/expected a duration such as 30s, 5m, 4h or 1d/);
  });

  test('names the bad unit', () => {
    expect(() => parseDuration('4w')).toThrow('unknown unit "w", use s, m, h or d');
  });
});
