// IP address text <-> bytes, printing IPv6 the way glibc's inet_ntop does (what charon's logs show).

import { isIPv4, isIPv6 } from 'node:net';

/** 4 or 16 bytes for an IPv4/IPv6 literal, undefined for anything else (hostnames, %any, garbage). */
export function parseIp(text: string): Buffer | undefined {
  if (isIPv4(text)) return Buffer.from(text.split('.').map(Number));
  if (isIPv6(text)) return parseIpv6(text);
  return undefined;
}

function parseIpv6(text: string): Buffer {
  let s = text;
  const tail: number[] = [];
  const dot = s.lastIndexOf(':');
  if (s.includes('.')) {
    // embedded IPv4 in the last 32 bits
    // isIPv6() has accepted the text, so the embedded IPv4 part is a dotted quad
    const [a = 0, b = 0, c = 0, d = 0] = s
      .slice(dot + 1)
      .split('.')
      .map(Number);
    tail.push((a << 8) | b, (c << 8) | d);
    s = `${s.slice(0, dot + 1)}0:0`; // placeholder words, replaced below
  }
  const [head, rest] = s.split('::') as [string, string | undefined];
  const words = (part: string): number[] => (part === '' ? [] : part.split(':').map((w) => parseInt(w, 16)));
  let groups: number[];
  if (rest === undefined) {
    groups = words(head);
  } else {
    const a = words(head);
    const b = words(rest);
    groups = [...a, ...new Array(8 - a.length - b.length).fill(0), ...b];
  }
  if (tail.length) groups.splice(6, 2, ...tail);
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** Text form of 4 or 16 address bytes, as inet_ntop prints it. */
export function formatIp(addr: Buffer): string {
  if (addr.length === 4) return Array.from(addr).join('.');
  if (addr.length !== 16) throw new RangeError(`address of ${addr.length} bytes`);
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push(addr.readUInt16BE(i * 2));
  // longest run of zero words (first one on ties), only compressed when at least 2 words long
  let best = { base: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > best.len) best = { base: i, len: j - i };
    i = j;
  }
  if (best.len < 2) best = { base: -1, len: 0 };
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (best.base !== -1 && i >= best.base && i < best.base + best.len) {
      if (i === best.base) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    // IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) addresses end in dotted quad
    if (i === 6 && best.base === 0 && (best.len === 6 || (best.len === 5 && w[5] === 0xffff))) {
      out += Array.from(addr.subarray(12)).join('.');
      break;
    }
    out += w[i]!.toString(16);
  }
  if (best.base !== -1 && best.base + best.len === 8) out += ':';
  return out;
}

/** -1, 0, 1 comparing two addresses of equal length as unsigned big-endian numbers. */
export function compareIp(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b);
}

/** True when text is an IPv4 or IPv6 literal. */
export function isIp(text: string): boolean {
  return isIPv4(text) || isIPv6(text);
}
