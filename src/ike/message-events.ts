// The message events of an IKE_SA (src/log/events.ts): message.sent / message.received, one per datagram,
// and notify.received. The TaskManager calls these where it prints the matching charon lines, so the lines stay
// as charon prints them and the events carry what the lines only say in text.
import type { EventFields } from '../log/events.js';
import { fmtEndpoint, type Endpoint } from '../net/endpoint.js';
import { Notify, PayloadType } from '../wire/constants.js';
import { charonExchangeName, describePayload, notifyLongName } from '../wire/names.js';
import type { IkeHeader, NotifyPayload, Payload } from '../wire/types.js';
import type { IkeSa } from './ike-sa.js';

/** What a message is, beyond its bytes: the same for every (re)transmission of one encoded message. */
export interface MessageDesc {
  exchange: number;
  messageId: number;
  isResponse: boolean;
  /** As in charon's "[ ... ]" list: the inner payloads of a protected message. */
  payloads: string[];
  notifies: string[];
}

/**
 * The same few dozen payload descriptions ('SA', 'N(NATD_S_IP)', ...) over and over: one string each, not one per
 * message, since an idle IKE_SA keeps the descriptions of its last request and response (response-cache.ts).
 * Bounded: descriptions with numbers in them (fragments, unknown types) stop being added once it is full.
 */
const interned = new Map<string, string>();
const MAX_INTERNED = 2048;

function intern(s: string): string {
  const known = interned.get(s);
  if (known !== undefined) return known;
  if (interned.size < MAX_INTERNED) interned.set(s, s);
  return s;
}

export function describeForEvents(exchange: number, messageId: number, isResponse: boolean, payloads: readonly Payload[]): MessageDesc {
  const names: string[] = [];
  const notifies: string[] = [];
  for (const p of payloads) {
    names.push(intern(describePayload(p)));
    if (p.type === PayloadType.NOTIFY) notifies.push(notifyLongName((p as NotifyPayload).notifyType));
  }
  return { exchange, messageId, isResponse, payloads: names, notifies };
}

const hex = (spi: Buffer): string => spi.toString('hex');

function fields(
  event: 'message.sent' | 'message.received',
  d: MessageDesc,
  local: Endpoint,
  peer: Endpoint,
  size: number,
  spiI: Buffer,
  spiR: Buffer,
): EventFields {
  return {
    event,
    exchange: charonExchangeName(d.exchange),
    messageId: d.messageId,
    request: !d.isResponse,
    direction: event === 'message.sent' ? 'out' : 'in',
    payloads: d.payloads,
    notifies: d.notifies,
    local: fmtEndpoint(local),
    peer: fmtEndpoint(peer),
    size,
    spiI: hex(spiI),
    spiR: hex(spiR),
  };
}

/**
 * A datagram leaving: the SPIs as they are on the wire (a wrong-spi fault changes them), else the SA's. Returned as
 * a builder: the logger builds the fields only when someone reads them (Logger.event), synchronously, so they
 * describe the SA and packet as they are at the call.
 */
export function sentFields(sa: IkeSa, d: MessageDesc, packet: Buffer): () => EventFields {
  return () => {
    const wire = packet.length >= 16;
    return fields(
      'message.sent',
      d,
      sa.local,
      sa.remote,
      packet.length,
      wire ? packet.subarray(0, 8) : sa.spiI,
      wire ? packet.subarray(8, 16) : sa.spiR,
    );
  };
}

/** A datagram accepted: a builder, as sentFields. */
export function receivedFields(h: IkeHeader, d: MessageDesc, size: number, local: Endpoint, remote: Endpoint): () => EventFields {
  return () => fields('message.received', d, local, remote, size, h.spiI, h.spiR);
}

/**
 * Status notifies worth an event of their own: each changes what happens next (a restart with a cookie, which SA a
 * CREATE_CHILD_SA rekeys, transport mode, a narrowed TS, new addresses, a reauthentication deadline, a redirect).
 * Every other status notify is an announcement charon and we exchange on every IKE_SA (NATD_*, FRAG_SUP,
 * HASH_ALG, MULT_AUTH, INIT_CONTACT, MOBIKE_SUP, EAP_ONLY, CHDLESS_SUP, ...): events for them would be noise.
 * Every error notify (type < 16384, RFC 7296 3.10.1, private-use errors included) gets one.
 */
const STATUS_EVENTS: ReadonlySet<number> = new Set<number>([
  Notify.COOKIE,
  Notify.REKEY_SA,
  Notify.USE_TRANSPORT_MODE,
  Notify.ADDITIONAL_TS_POSSIBLE,
  Notify.UPDATE_SA_ADDRESSES,
  Notify.AUTH_LIFETIME,
  Notify.REDIRECT,
]);

const ERROR_TYPES_END = 16384;

/** notify.received, once per error or listed status notify of an accepted (authenticated, well-formed) message. */
export function reportNotifies(sa: IkeSa, h: IkeHeader, payloads: readonly Payload[]): void {
  // an event without a charon line: nobody reads it unless an event listener is attached
  if (!sa.log.eventWanted('IKE', 1)) return;
  for (const p of payloads) {
    if (p.type !== PayloadType.NOTIFY) continue;
    const t = (p as NotifyPayload).notifyType;
    if (t >= ERROR_TYPES_END && !STATUS_EVENTS.has(t)) continue;
    sa.log.event('IKE', 1, '', {
      event: 'notify.received',
      notify: notifyLongName(t),
      exchange: charonExchangeName(h.exchange),
      messageId: h.messageId,
      request: !h.response,
      direction: 'in',
    });
  }
}

/** message.retransmitted, on charon's `retransmit N of request with message ID M` line (a builder, as sentFields). */
export function retransmitFields(sa: IkeSa, exchange: number, messageId: number, n: number): () => EventFields {
  return () => ({
    event: 'message.retransmitted',
    n,
    exchange: charonExchangeName(exchange),
    messageId,
    request: true,
    direction: 'out',
    local: fmtEndpoint(sa.local),
    peer: fmtEndpoint(sa.remote),
  });
}

/** dpd.timeout, on charon's `giving up after N retransmits` line (whichever exchange went unanswered). */
export function giveUpFields(exchange: number, messageId: number, retransmits: number): EventFields {
  return { event: 'dpd.timeout', retransmits, exchange: charonExchangeName(exchange), messageId, reason: 'peer not responding' };
}
