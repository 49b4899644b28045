import { isIPv6 } from 'node:net';

export interface Endpoint {
  address: string;
  port: number;
}

/** charon prints endpoints as addr[port]. */
export const fmtEndpoint = (e: Endpoint): string => `${e.address}[${e.port}]`;
export const endpointKey = (e: Endpoint): string => `${e.address}|${e.port}`;
export const sameEndpoint = (a: Endpoint, b: Endpoint): boolean => a.address === b.address && a.port === b.port;
export const family = (address: string): 'udp4' | 'udp6' => (isIPv6(address) ? 'udp6' : 'udp4');
