// daemon.cookie_threshold, cookie_threshold_ip, block_threshold, init_limit_half_open: strongswan.conf's names,
// charon 5.9's defaults (receiver.c), whole numbers >= 0 with 0 = off.
import { describe, expect, test } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/index.js';

const KEYS = ['cookie_threshold', 'cookie_threshold_ip', 'block_threshold', 'init_limit_half_open'] as const;

describe('DoS protection settings', () => {
  test("defaults are charon's: 30, 3, 5, 0", () => {
    expect(parseConfig('daemon: {}\n', 'd.yaml').daemon).toMatchObject({
      cookieThreshold: 30,
      cookieThresholdIp: 3,
      blockThreshold: 5,
      initLimitHalfOpen: 0,
    });
  });

  test('set, including 0 (off)', () => {
    const d = parseConfig(
      'daemon:\n  cookie_threshold: 0\n  cookie_threshold_ip: 10\n  block_threshold: 20\n  init_limit_half_open: 5000\n',
      'd.yaml',
    ).daemon;
    expect(d).toMatchObject({ cookieThreshold: 0, cookieThresholdIp: 10, blockThreshold: 20, initLimitHalfOpen: 5000 });
  });

  test.each(KEYS)('%s: negative numbers, fractions and words are errors naming the key', (key) => {
    for (const v of ['-1', '2.5', 'many']) {
      expect(() => parseConfig(`daemon:\n  ${key}: ${v}\n`, 'd.yaml')).toThrow(ConfigError);
      expect(() => parseConfig(`daemon:\n  ${key}: ${v}\n`, 'd.yaml')).toThrow(new RegExp(`daemon\\.${key}`));
    }
  });
});
