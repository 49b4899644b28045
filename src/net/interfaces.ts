// Wildcard listen addresses and source address selection. A socket bound to 0.0.0.0 cannot tell which local
// address a datagram arrived on (no IP_PKTINFO in node:dgram), yet IKE needs it (NAT detection hashes, the
// default identity, charon's "from A[500] to B[500]" lines). So a wildcard is expanded to every address of the
// host at start, one socket each, and an initiator picks the source address the way the routing table would
// for a directly connected peer.
import { networkInterfaces } from 'node:os';
import { isIPv4 } from 'node:net';

export interface HostAddress {
  address: string;
  family: 'IPv4' | 'IPv6';
  cidr: string | null;
  internal: boolean;
}

export function hostAddresses(): HostAddress[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a): a is NonNullable<typeof a> => !!a)
    .filter((a) => !(a.family === 'IPv6' && a.address.startsWith('fe80:'))) // link-local needs a scope: skip
    .map((a) => ({ address: a.address, family: a.family as 'IPv4' | 'IPv6', cidr: a.cidr, internal: a.internal }));
}

/** 0.0.0.0 -> every IPv4 address of the host, :: -> every IPv6 one; specific addresses stay as they are. */
export function expandListen(listen: string[], host: HostAddress[] = hostAddresses()): string[] {
  const out: string[] = [];
  for (const l of listen) {
    if (l === '0.0.0.0') out.push(...host.filter((h) => h.family === 'IPv4').map((h) => h.address));
    else if (l === '::') out.push(...host.filter((h) => h.family === 'IPv6').map((h) => h.address));
    else out.push(l);
  }
  return [...new Set(out)];
}

const v4 = (a: string): number => a.split('.').reduce((n, o) => (n << 8) | Number(o), 0) >>> 0;

function inCidr(addr: string, cidr: string | null): boolean {
  if (!cidr || !isIPv4(addr)) return false;
  const [net, bits] = cidr.split('/') as [string, string];
  if (!isIPv4(net)) return false;
  const n = Number(bits);
  const mask = n === 0 ? 0 : (~0 << (32 - n)) >>> 0;
  return (v4(addr) & mask) === (v4(net) & mask);
}

/**
 * The source address for talking to `remote`, among the addresses we listen on: one on the peer's subnet first
 * (as the kernel's connected route would choose), else the first non-loopback address of the same family.
 */
export function pickSource(remote: string, bound: string[], host: HostAddress[] = hostAddresses()): string | undefined {
  const family = isIPv4(remote) ? 'IPv4' : 'IPv6';
  const candidates = host.filter((h) => h.family === family && bound.includes(h.address));
  return (
    candidates.find((h) => inCidr(remote, h.cidr))?.address ??
    candidates.find((h) => !h.internal)?.address ??
    bound.find((b) => (isIPv4(b) ? 'IPv4' : 'IPv6') === family && b !== '0.0.0.0' && b !== '::')
  );
}
