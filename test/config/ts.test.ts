import { describe, expect, test } from 'vitest';
import { TsType } from '../../src/wire/constants.js';
import type { TrafficSelector } from '../../src/wire/types.js';
import { formatTs, formatTsConfig, formatTsList, parseTs, type TsConfig } from '../../src/config/ts.js';
import { formatIp, parseIp } from '../../src/config/ip.js';

const ip = (s: string) => parseIp(s)!;
const sel = (start: string, end: string, ipProtocol = 0, startPort = 0, endPort = 0xffff): TrafficSelector => ({
  tsType: ip(start).length === 4 ? TsType.TS_IPV4_ADDR_RANGE : TsType.TS_IPV6_ADDR_RANGE,
  ipProtocol,
  startPort,
  endPort,
  startAddr: ip(start),
  endAddr: ip(end),
});
const fixed = (t: TsConfig) => {
  if (t.dynamic) throw new Error('dynamic');
  return t;
};

describe('parseTs', () => {
  test('subnet', () => {
    expect(parseTs('10.12.0.0/24')).toEqual({ dynamic: false, text: '10.12.0.0/24', ...sel('10.12.0.0', '10.12.0.255') });
  });
  test('host bits of a subnet are cleared, as charon does', () => {
    const t = fixed(parseTs('10.12.0.77/24'));
    expect([formatIp(t.startAddr), formatIp(t.endAddr)]).toEqual(['10.12.0.0', '10.12.0.255']);
  });
  test('single host is /32, range keeps its ends, 0.0.0.0/0 is everything', () => {
    expect(fixed(parseTs('10.1.0.5'))).toMatchObject(sel('10.1.0.5', '10.1.0.5'));
    expect(fixed(parseTs('10.1.0.1-10.1.0.5'))).toMatchObject(sel('10.1.0.1', '10.1.0.5'));
    expect(fixed(parseTs('0.0.0.0/0'))).toMatchObject(sel('0.0.0.0', '255.255.255.255'));
  });
  test('IPv6', () => {
    const t = fixed(parseTs('fd00:1::/64'));
    expect(t.tsType).toBe(TsType.TS_IPV6_ADDR_RANGE);
    expect(formatIp(t.endAddr)).toBe('fd00:1::ffff:ffff:ffff:ffff');
    expect(fixed(parseTs('::/0')).endAddr).toEqual(Buffer.alloc(16, 0xff));
    expect(fixed(parseTs('2001:db8::1')).startAddr).toEqual(ip('2001:db8::1'));
    expect(fixed(parseTs('2001:db8::1-2001:db8::9')).endAddr).toEqual(ip('2001:db8::9'));
  });
  test('dynamic', () => {
    expect(parseTs('dynamic')).toEqual({ dynamic: true, ipProtocol: 0, startPort: 0, endPort: 0xffff, text: 'dynamic' });
    expect(parseTs('dynamic[udp/500]')).toEqual({ dynamic: true, ipProtocol: 17, startPort: 500, endPort: 500, text: 'dynamic[udp/500]' });
  });
  test('protocol and port suffixes', () => {
    expect(fixed(parseTs('10.0.0.0/24[tcp/80]'))).toMatchObject({ ipProtocol: 6, startPort: 80, endPort: 80 });
    expect(fixed(parseTs('10.0.0.0/24[udp]'))).toMatchObject({ ipProtocol: 17, startPort: 0, endPort: 65535 });
    expect(fixed(parseTs('10.0.0.0/24[17/1000-2000]'))).toMatchObject({ ipProtocol: 17, startPort: 1000, endPort: 2000 });
    expect(fixed(parseTs('10.0.0.0/24[tcp/http]'))).toMatchObject({ ipProtocol: 6, startPort: 80, endPort: 80 });
    expect(fixed(parseTs('10.0.0.0/24[any/53]'))).toMatchObject({ ipProtocol: 0, startPort: 53, endPort: 53 });
    expect(fixed(parseTs('10.0.0.0/24[tcp/opaque]'))).toMatchObject({ ipProtocol: 6, startPort: 0xffff, endPort: 0 });
  });
  test('ICMP type/code live in the port fields (type << 8)', () => {
    expect(fixed(parseTs('10.0.0.0/24[icmp]'))).toMatchObject({ ipProtocol: 1, startPort: 0, endPort: 0xffff });
    expect(fixed(parseTs('10.0.0.0/24[icmp/8]'))).toMatchObject({ ipProtocol: 1, startPort: 0x0800, endPort: 0x0800 });
  });
  test.each([
    ['10.0.0.0/33', /prefix length must be 0..32/],
    ['10.0.0.0/24[tcp/80', /"\[" without "\]"/],
    ['10.0.0.0/24[foo]', /unknown protocol "foo"/],
    ['10.0.0.0/24[tcp/99999]', /bad port "99999"/],
    ['10.0.0.9-10.0.0.1', /range start is above its end/],
    ['10.0.0.1-fd00::1', /different address families/],
    ['10.0.0.256/24', /expected a traffic selector/],
    ['host.example.com', /expected a traffic selector/],
    ['', /expected a traffic selector/],
  ])('rejects %s', (text, msg) => {
    expect(() => parseTs(text)).toThrow(msg);
  });
});

describe('formatTs, as charon prints selectors', () => {
  test.each([
    [sel('10.12.0.0', '10.12.0.255'), '10.12.0.0/24'],
    [sel('10.1.0.5', '10.1.0.5'), '10.1.0.5/32'],
    [sel('0.0.0.0', '255.255.255.255'), '0.0.0.0/0'],
    [sel('10.1.0.0', '10.1.1.255'), '10.1.0.0/23'],
    [sel('10.1.0.1', '10.1.0.5'), '10.1.0.1..10.1.0.5'],
    [sel('10.1.0.0', '10.1.0.254'), '10.1.0.0..10.1.0.254'],
    [sel('::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), '::/0'],
    [sel('fd00:1::', 'fd00:1::ffff:ffff:ffff:ffff'), 'fd00:1::/64'],
    [sel('2001:db8::1', '2001:db8::1'), '2001:db8::1/128'],
    [sel('10.1.0.0', '10.1.0.255', 6, 80, 80), '10.1.0.0/24[tcp/http]'],
    [sel('10.1.0.0', '10.1.0.255', 6, 40123, 40123), '10.1.0.0/24[tcp/40123]'],
    [sel('10.1.0.0', '10.1.0.255', 17), '10.1.0.0/24[udp]'],
    [sel('10.1.0.0', '10.1.0.255', 17, 1000, 2000), '10.1.0.0/24[udp/1000-2000]'],
    [sel('10.1.0.0', '10.1.0.255', 0, 53, 53), '10.1.0.0/24[0/domain]'],
    [sel('10.1.0.0', '10.1.0.255', 1), '10.1.0.0/24[icmp]'],
    [sel('10.1.0.0', '10.1.0.255', 1, 0x0800, 0x0800), '10.1.0.0/24[icmp/8]'],
    [sel('10.1.0.0', '10.1.0.255', 1, 0x0301, 0x0301), '10.1.0.0/24[icmp/3(1)]'],
    [sel('10.1.0.0', '10.1.0.255', 6, 0xffff, 0), '10.1.0.0/24[tcp/OPAQUE]'],
    [sel('10.1.0.0', '10.1.0.255', 253), '10.1.0.0/24[253]'],
  ])('%#: %s', (s, want) => {
    expect(formatTs(s)).toBe(want);
  });

  test('what the parser reads prints back as charon would', () => {
    expect(formatTsConfig(parseTs('10.12.0.0/24'))).toBe('10.12.0.0/24');
    expect(formatTsConfig(parseTs('10.1.0.1-10.1.0.5'))).toBe('10.1.0.1..10.1.0.5');
    expect(formatTsConfig(parseTs('10.1.0.0-10.1.0.255'))).toBe('10.1.0.0/24');
    expect(formatTsConfig(parseTs('10.1.0.5'))).toBe('10.1.0.5/32');
    expect(formatTsConfig(parseTs('dynamic'))).toBe('dynamic');
    expect(formatTsConfig(parseTs('dynamic[tcp]'))).toBe('dynamic[tcp]');
    expect(formatTsConfig(parseTs('10.0.0.0/24[17/1000-2000]'))).toBe('10.0.0.0/24[udp/1000-2000]');
  });

  test('lists are blank-separated (%#R) as in "TS 10.12.0.0/24 === 10.11.0.0/24"', () => {
    expect(formatTsList([sel('10.12.0.0', '10.12.0.255'), sel('10.13.0.0', '10.13.0.255')])).toBe('10.12.0.0/24 10.13.0.0/24');
  });
});

describe('IPv6 text like inet_ntop', () => {
  test.each([
    ['::1', '::1'],
    ['::', '::'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['fe80::1:0:0:0', 'fe80::1:0:0:0'],
    ['fe80:0:0:1::', 'fe80:0:0:1::'],
    ['1:0:1:0:0:1:0:1', '1:0:1::1:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::ffff:10.1.2.3', '::ffff:10.1.2.3'],
    ['::10.1.2.3', '::10.1.2.3'],
  ])('%s -> %s', (input, want) => {
    expect(formatIp(ip(input))).toBe(want);
  });
});
