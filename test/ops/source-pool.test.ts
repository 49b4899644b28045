// Source pools of load runs (src/ops/source-pool.ts): the edges of the address arithmetic and the size limit; the
// common forms are in test/ops/load-run.test.ts.
import { describe, expect, test } from 'vitest';
import { OpError } from '../../src/ops/context.js';
import { parseSourcePool } from '../../src/ops/source-pool.js';

describe('source pools', () => {
  test('a range across octets, in order', () => {
    expect(parseSourcePool('10.0.0.254-10.0.1.1')).toEqual(['10.0.0.254', '10.0.0.255', '10.0.1.0', '10.0.1.1']);
  });

  test('CIDR: host addresses only, except /31 and /32 which have no network or broadcast address', () => {
    expect(parseSourcePool('10.0.0.0/31')).toEqual(['10.0.0.0', '10.0.0.1']);
    expect(parseSourcePool('10.0.0.7/32')).toEqual(['10.0.0.7']);
    // a base inside the prefix means the prefix
    expect(parseSourcePool('10.0.0.5/30')).toEqual(['10.0.0.5', '10.0.0.6']);
  });

  test('at most 65,536 addresses, counted over all items', () => {
    expect(parseSourcePool('10.0.0.0/16')).toHaveLength(65_534);
    expect(() => parseSourcePool('10.0.0.0/15')).toThrow(/more than 65536 addresses/);
    expect(() => parseSourcePool('10.0.0.0/16,10.1.0.0/30,10.2.0.0/30')).toThrow(/more than 65536/);
  });

  test('IPv6 only as single addresses; the message names the pool and the item', () => {
    expect(() => parseSourcePool('2001:db8::1-2001:db8::9')).toThrow(OpError);
    expect(() => parseSourcePool('10.0.0.1, 300.0.0.1')).toThrow("invalid --source-pool '10.0.0.1, 300.0.0.1': '300.0.0.1' is neither");
    expect(() => parseSourcePool(' , ')).toThrow(/no addresses/);
  });
});
