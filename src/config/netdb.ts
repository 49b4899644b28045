// Protocol and service names, looked up like charon does through libc (getprotobyname/-number,
// getservbyname/-port): from the host's /etc/protocols and /etc/services, so a TS prints as `[tcp/http]` exactly
// where charon would. A small built-in table stands in when those files are missing.

import { readFileSync } from 'node:fs';

interface Proto {
  name: string;
  number: number;
  aliases: string[];
}
interface Service {
  name: string;
  port: number;
  protocol: string;
  aliases: string[];
}

const FALLBACK_PROTOCOLS =
  'ip 0 IP\nicmp 1 ICMP\ntcp 6 TCP\nudp 17 UDP\ngre 47 GRE\nesp 50 IPSEC-ESP\n' + 'ah 51 IPSEC-AH\nipv6-icmp 58 IPv6-ICMP\nsctp 132 SCTP\n';
const FALLBACK_SERVICES =
  'ssh 22/tcp\ndomain 53/tcp\ndomain 53/udp\nhttp 80/tcp www\nntp 123/udp\n' +
  'https 443/tcp\nhttps 443/udp\nisakmp 500/udp\nipsec-nat-t 4500/udp\n';

let protocols: Proto[] | undefined;
let services: Service[] | undefined;

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** Lines of an /etc/protocols- or /etc/services-style file, comments stripped, split on blanks. */
function rows(text: string): string[][] {
  return text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map((l) => l.split(/\s+/));
}

function loadProtocols(): Proto[] {
  protocols ??= rows(readOr('/etc/protocols', FALLBACK_PROTOCOLS))
    .filter((r) => r.length >= 2 && /^\d+$/.test(r[1]!))
    .map((r) => ({ name: r[0]!, number: Number(r[1]), aliases: r.slice(2) }));
  return protocols;
}

function loadServices(): Service[] {
  services ??= rows(readOr('/etc/services', FALLBACK_SERVICES))
    .filter((r) => r.length >= 2 && /^\d+\/\w+$/.test(r[1]!))
    .map((r) => {
      const [port, protocol] = r[1]!.split('/') as [string, string];
      return { name: r[0]!, port: Number(port), protocol, aliases: r.slice(2) };
    });
  return services;
}

/** getprotobyname: protocol number for a name or alias (case-sensitive, like libc). */
export function protocolByName(name: string): number | undefined {
  return loadProtocols().find((p) => p.name === name || p.aliases.includes(name))?.number;
}

/** getprotobynumber: the official name of a protocol number. */
export function protocolName(num: number): string | undefined {
  return loadProtocols().find((p) => p.number === num)?.name;
}

/** getservbyname(name, NULL): port of a service name or alias, any protocol. */
export function serviceByName(name: string): number | undefined {
  return loadServices().find((s) => s.name === name || s.aliases.includes(name))?.port;
}

/** getservbyport(port, protocol): service name for a port, limited to a protocol name when given. */
export function serviceName(port: number, protocol?: string): string | undefined {
  return loadServices().find((s) => s.port === port && (protocol === undefined || s.protocol === protocol))?.name;
}
