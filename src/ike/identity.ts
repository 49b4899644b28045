// IKE identities (RFC 7296 3.5) from swanctl-style id strings, and back to text as charon prints them.
import { isIPv4, isIPv6 } from 'node:net';
import { formatIp, parseIp } from '../config/ip.js';
import { IdType } from '../wire/constants.js';

export interface Identity {
  idType: number;
  data: Buffer;
}

/** swanctl rules: an IP literal is an address id, "@x" forces FQDN, "user@host" is RFC822, else FQDN. */
export function parseIdentity(text: string): Identity {
  if (isIPv4(text)) return { idType: IdType.ID_IPV4_ADDR, data: parseIp(text)! };
  if (isIPv6(text)) return { idType: IdType.ID_IPV6_ADDR, data: parseIp(text)! };
  if (text.startsWith('@#')) return { idType: IdType.ID_KEY_ID, data: Buffer.from(text.slice(2), 'hex') };
  if (text.startsWith('@')) return { idType: IdType.ID_FQDN, data: Buffer.from(text.slice(1)) };
  if (text.includes('@')) return { idType: IdType.ID_RFC822_ADDR, data: Buffer.from(text) };
  return { idType: IdType.ID_FQDN, data: Buffer.from(text) };
}

export function formatIdentity(id: Identity): string {
  switch (id.idType) {
    case IdType.ID_IPV4_ADDR:
    case IdType.ID_IPV6_ADDR:
      return formatIp(id.data);
    case IdType.ID_FQDN:
    case IdType.ID_RFC822_ADDR:
      return id.data.toString('utf8');
    case IdType.ID_KEY_ID:
      return `@#${id.data.toString('hex')}`;
    default:
      return id.data.toString('hex');
  }
}

/** RFC 7296 2.15 "RestOfInitIDPayload": ID type, three reserved bytes, then the data. */
export function idBody(id: Identity): Buffer {
  const b = Buffer.alloc(4 + id.data.length);
  b[0] = id.idType;
  id.data.copy(b, 4);
  return b;
}

export function identityMatches(configured: string, received: Identity): boolean {
  if (configured === '%any' || configured === '') return true;
  const c = parseIdentity(configured);
  return c.idType === received.idType && c.data.equals(received.data);
}
