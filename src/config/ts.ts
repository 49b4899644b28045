// Traffic selectors as swanctl.conf writes them (vici_config.c parse_ts) and as charon prints them
// (traffic_selector.c printf hook): `10.12.0.0/24`, `10.1.0.1-10.1.0.5`, `10.1.0.5`, `fd00::/64`, `dynamic`,
// each optionally followed by `[proto/port]`, e.g. `10.0.0.0/24[tcp/80]`, `[udp]`, `[icmp/8]`, `[17/1000-2000]`.

import { TsType } from '../wire/constants.js';
import type { TrafficSelector } from '../wire/types.js';
import { ValueError } from './errors.js';
import { compareIp, formatIp, parseIp } from './ip.js';
import { protocolByName, protocolName, serviceByName, serviceName } from './netdb.js';

export type TsConfig =
  | { dynamic: true; ipProtocol: number; startPort: number; endPort: number; text: string }
  | ({ dynamic: false; text: string } & TrafficSelector);

const EXPECTED = 'a traffic selector such as 10.1.0.0/24, 10.1.0.1-10.1.0.5, 10.1.0.5, dynamic or 10.1.0.0/24[tcp/80]';
const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;

const isIcmp = (proto: number): boolean => proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6;

export function parseTs(input: string): TsConfig {
  if (typeof input !== 'string') throw new ValueError(EXPECTED, input);
  const text = input.trim();
  const fail = (detail?: string): never => {
    throw new ValueError(EXPECTED, input, detail);
  };
  let addr = text;
  let ipProtocol = 0;
  let startPort = 0;
  let endPort = 0xffff;

  const open = text.indexOf('[');
  if (open >= 0) {
    const close = text.lastIndexOf(']');
    if (close < open) fail('"[" without "]"');
    if (close !== text.length - 1) fail('text after "]"');
    addr = text.slice(0, open).trim();
    const inner = text.slice(open + 1, close);
    const slash = inner.indexOf('/');
    const protoText = (slash >= 0 ? inner.slice(0, slash) : inner).trim();
    const portText = slash >= 0 ? inner.slice(slash + 1).trim() : '';
    ipProtocol = parseProtocol(protoText, fail);
    [startPort, endPort] = parsePorts(portText, fail);
    if (isIcmp(ipProtocol)) {
      // ICMP type in the high byte, code in the low byte (RFC 7296 3.13.1, as charon stores it)
      if (startPort < 256) startPort <<= 8;
      if (endPort < 256) endPort <<= 8;
    }
  }

  if (addr === 'dynamic') return { dynamic: true, ipProtocol, startPort, endPort, text };
  let startAddr: Buffer;
  let endAddr: Buffer;
  if (addr.includes('-')) {
    const [a, b, ...rest] = addr.split('-').map((s) => s.trim());
    const from = parseIp(a!); // split() yields at least one element
    const to = parseIp(b ?? '');
    if (rest.length || !from || !to) fail('a range needs two IP addresses separated by "-"');
    if (from!.length !== to!.length) fail('range ends of different address families');
    if (compareIp(from!, to!) > 0) fail('range start is above its end');
    startAddr = from!;
    endAddr = to!;
  } else {
    const [ip, bitsText, ...rest] = addr.split('/');
    const net = parseIp(ip!); // split() yields at least one element
    if (!net || rest.length) fail();
    const max = net!.length * 8;
    const bits = bitsText === undefined ? max : /^\d+$/.test(bitsText) ? Number(bitsText) : NaN;
    if (!(bits >= 0 && bits <= max)) fail(`prefix length must be 0..${max}`);
    [startAddr, endAddr] = subnetBounds(net!, bits);
  }
  const tsType = startAddr.length === 4 ? TsType.TS_IPV4_ADDR_RANGE : TsType.TS_IPV6_ADDR_RANGE;
  return { dynamic: false, text, tsType, ipProtocol, startPort, endPort, startAddr, endAddr };
}

function parseProtocol(text: string, fail: (d?: string) => never): number {
  if (text === 'any' || text === '') return 0;
  const named = protocolByName(text);
  if (named !== undefined) return named;
  const n = parseNumber(text);
  if (n === undefined || n > 255) fail(`unknown protocol "${text}", use a name such as tcp, udp, icmp or a number 0..255`);
  return n!;
}

function parsePorts(text: string, fail: (d?: string) => never): [number, number] {
  if (text === '' || text === 'any') return [0, 0xffff];
  if (text === 'opaque') return [0xffff, 0];
  const named = serviceByName(text);
  if (named !== undefined) return [named, named];
  const [a, b, ...rest] = text.split('-');
  const from = parseNumber(a!.trim()); // split() yields at least one element
  const to = b === undefined ? from : parseNumber(b.trim());
  if (rest.length || from === undefined || to === undefined || from > 0xffff || to > 0xffff) {
    fail(`bad port "${text}", use a number, a range such as 1000-2000, a service name, any or opaque`);
  }
  return [from!, to!];
}

/** strtol(s, &end, 0) without leftovers: decimal, 0x hex or 0 octal. */
function parseNumber(s: string): number | undefined {
  if (/^0x[0-9a-f]+$/i.test(s)) return parseInt(s.slice(2), 16);
  if (/^0[0-7]+$/.test(s)) return parseInt(s, 8);
  if (/^\d+$/.test(s)) return Number(s);
  return undefined;
}

/** First and last address of net/bits (host bits of net are ignored, as charon does). */
export function subnetBounds(net: Buffer, bits: number): [Buffer, Buffer] {
  const from = Buffer.from(net);
  const to = Buffer.from(net);
  for (let i = 0; i < net.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    const mask = (0xff << (8 - keep)) & 0xff;
    from[i]! &= mask;
    to[i]! |= ~mask & 0xff;
  }
  return [from, to];
}

/** Prefix length when [from, to] is exactly a subnet, undefined for any other range (charon's calc_netbits). */
export function rangePrefix(from: Buffer, to: Buffer): number | undefined {
  const bits = from.length * 8;
  let prefix = bits;
  for (let i = 0; i < bits; i++) {
    const mask = 0x80 >> (i % 8);
    // both ends are of one address family, so of one length
    const f = from[i >> 3]! & mask;
    const t = to[i >> 3]! & mask;
    if (prefix === bits) {
      if (f !== t) prefix = i;
    } else if (f || !t) {
      return undefined;
    }
  }
  return prefix;
}

/** A selector exactly as charon prints it: `10.12.0.0/24`, `10.1.0.1..10.1.0.5`, `10.1.0.0/24[tcp/http]`. */
export function formatTs(sel: TrafficSelector): string {
  const prefix = rangePrefix(sel.startAddr, sel.endAddr);
  const net = prefix === undefined ? `${formatIp(sel.startAddr)}..${formatIp(sel.endAddr)}` : `${formatIp(sel.startAddr)}/${prefix}`;
  return net + protoPortSuffix(sel.ipProtocol, sel.startPort, sel.endPort);
}

/** A configured selector as charon prints it; `dynamic` ones print as `dynamic` plus any [proto/port]. */
export function formatTsConfig(ts: TsConfig): string {
  if (ts.dynamic) return `dynamic${protoPortSuffix(ts.ipProtocol, ts.startPort, ts.endPort)}`;
  return formatTs(ts);
}

/** Several selectors the way charon's %#R prints a list: separated by blanks. */
export function formatTsList(list: TrafficSelector[]): string {
  return list.map(formatTs).join(' ');
}

function protoPortSuffix(proto: number, from: number, to: number): string {
  const hasProto = proto !== 0;
  const hasPorts = !(from === 0 && to === 0xffff);
  if (!hasProto && !hasPorts) return '';
  let protoName: string | undefined;
  let out = '[';
  if (hasProto) {
    protoName = protocolName(proto);
    out += protoName ?? String(proto);
  } else {
    out += '0';
  }
  if (hasPorts) {
    out += '/';
    if (from === to) {
      out += isIcmp(proto) ? icmp(from) : (serviceName(from, protoName) ?? String(from));
    } else if (from === 0xffff && to === 0) {
      out += 'OPAQUE';
    } else if (isIcmp(proto)) {
      out += `${icmp(from)}-${icmp(to)}`;
    } else {
      out += `${from}-${to}`;
    }
  }
  return `${out}]`;
}

function icmp(port: number): string {
  const type = port >> 8;
  const code = port & 0xff;
  return code ? `${type}(${code})` : `${type}`;
}
