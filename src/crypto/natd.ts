// NAT_DETECTION_SOURCE_IP / NAT_DETECTION_DESTINATION_IP data (RFC 7296 section 2.23):
// SHA-1(SPIi | SPIr | IP | Port), address in network order (4 or 16 bytes), port 2 bytes big-endian.
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { CryptoError } from './errors.js';

function ipv4Bytes(addr: string): Buffer {
  return Buffer.from(addr.split('.').map((p) => Number(p)));
}

/** RFC 4291 section 2.2 text forms, including '::' and a trailing dotted IPv4 part. */
function ipv6Bytes(addr: string): Buffer {
  let text = addr.split('%')[0]!; // a zone index is not part of the address
  const tail: number[] = [];
  if (text.includes('.')) {
    const i = text.lastIndexOf(':');
    // isIPv6() has accepted the text, so the embedded IPv4 part is a dotted quad
    const [a = 0, b = 0, c = 0, d = 0] = ipv4Bytes(text.slice(i + 1));
    tail.push((a << 8) | b, (c << 8) | d);
    text = text.slice(0, i + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const words = (s: string): number[] => (s === '' ? [] : s.split(':').map((w) => parseInt(w, 16)));
  const [head, rest] = text.split('::') as [string, string | undefined];
  const h = words(head);
  const r = rest === undefined ? [] : words(rest);
  const zeros = rest === undefined ? [] : new Array<number>(8 - tail.length - h.length - r.length).fill(0);
  const all = [...h, ...zeros, ...r, ...tail];
  const out = Buffer.alloc(16);
  all.forEach((w, i) => out.writeUInt16BE(w, 2 * i));
  return out;
}

export function natdHash(spiI: Buffer, spiR: Buffer, addr: string, port: number): Buffer {
  let ip: Buffer;
  if (isIPv4(addr)) ip = ipv4Bytes(addr);
  else if (isIPv6(addr)) ip = ipv6Bytes(addr);
  else throw new CryptoError('UNSUPPORTED', `not an IP address: ${addr}`);
  const portBuf = Buffer.alloc(2);
  portBuf.writeUInt16BE(port);
  return createHash('sha1')
    .update(Buffer.concat([spiI, spiR, ip, portBuf]))
    .digest();
}
