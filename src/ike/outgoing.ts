// A message of an IKE_SA on its way out: the payloads in charon's order, the ike-send fault point (asked before the
// bytes exist, since content changes need the payloads), encoding and protection, the `generating` and
// `sending packet` lines with the message.sent event, and the retransmit schedule. Message IDs, which message is
// (re)sent when, and the response cache stay the TaskManager's.
import type { RetransmitConfig } from '../config/types.js';
import { uniform } from '../crypto/random.js';
import { charonExchangeName as exchangeName } from '../wire/names.js';
import type { Payload } from '../wire/types.js';
import { changeBytes, changeContent, outInfo } from './fault-points.js';
import type { IkeSa } from './ike-sa.js';
import { describeForEvents, sentFields, type MessageDesc } from './message-events.js';
import { protectAll } from './fragments.js';
import { notify } from './notifies.js';
import { bracketed, orderPayloads } from './payload-order.js';
import type { FaultMessageInfo, IkeFaultDecision } from './services.js';
import type { OutMessage } from './task.js';

/** A message encoded for sending, with what its events say about it (the same for every retransmission). */
export interface Encoded {
  packet: Buffer;
  /** RFC 7383: the datagrams it goes out as when it was split (packet is then the first); sent and resent together. */
  fragments?: Buffer[];
  desc: MessageDesc;
}

/** The payloads a built message goes out with: an error notify alone, or every payload in charon's (or IOS's) order. */
function payloadsOf(sa: IkeSa, out: OutMessage): Payload[] {
  return out.errorNotify
    ? [notify(out.errorNotify.type, out.errorNotify.data)]
    : orderPayloads(out.exchange, out.isResponse, out.payloads, sa.habits.payloadOrder);
}

/** A built message as the fault hooks see it. */
export function faultInfo(out: OutMessage): FaultMessageInfo {
  return outInfo(
    out.exchange,
    out.messageId,
    out.isResponse,
    out.errorNotify ? [notify(out.errorNotify.type, out.errorNotify.data)] : out.payloads,
  );
}

/** Fault point: a message about to be built into bytes, or resent. undefined: no rule could act here. */
export function askSend(sa: IkeSa, info: FaultMessageInfo): IkeFaultDecision | undefined {
  const f = sa.svc.faults;
  return f?.active('ike-send') ? f.onSend(sa, info) : undefined;
}

/** Encode and protect; a fault decision's content change (notify, ke, unknown-payload, wrong-*) applies first. */
export function encode(sa: IkeSa, out: OutMessage, fault?: IkeFaultDecision): Encoded {
  if (fault?.kind === 'notify') out.fail(fault.notifyType, fault.data);
  const m = changeContent(sa, out.exchange, out.messageId, payloadsOf(sa, out), fault);
  const shown = m.options.outer ? [...m.options.outer, ...m.payloads] : m.payloads;
  sa.log.enc(
    1,
    () => `generating ${exchangeName(out.exchange)} ${out.isResponse ? 'response' : 'request'} ${m.messageId} ${bracketed(shown)}`,
  );
  const [first, ...more] = protectAll(sa, out.exchange, m.messageId, out.isResponse, m.payloads, m.options);
  const packet = first!; // the whole message or at least one fragment
  const desc = describeForEvents(out.exchange, m.messageId, out.isResponse, shown);
  return more.length ? { packet, fragments: [packet, ...more], desc } : { packet, desc };
}

/** Send a datagram, through the fault hooks' byte change and timing when a rule decided something. */
export function send(sa: IkeSa, e: Encoded, fault?: IkeFaultDecision): void {
  const f = sa.svc.faults;
  for (const p of e.fragments ?? [e.packet]) {
    if (!fault || !f) emit(sa, p, e.desc);
    else f.carry(sa, fault, changeBytes(p, fault), (b) => emit(sa, b, e.desc));
  }
}

/** The datagram leaves (now, or when a fault's delay or hold lets it go): message.sent rides its line. */
function emit(sa: IkeSa, packet: Buffer, desc: MessageDesc): void {
  sa.log.event('NET', 1, () => `sending packet: ${sa.endpoints} (${packet.length} bytes)`, sentFields(sa, desc, packet));
  sa.counters.messagesOut++;
  sa.svc.sendIke(packet, sa.local, sa.remote);
}

/** The retransmit settings of an IKE_SA: its connection's profile timing (config/profiles.ts), else the daemon's. */
export function retransmitOf(sa: IkeSa): RetransmitConfig {
  return sa.config.retransmit ?? sa.svc.config().daemon.retransmit;
}

/** charon's retransmit timeout before retransmit n+1: timeout * base^n, capped by limit, less up to jitter %. */
export function retransmitTimeout(sa: IkeSa, retransmitted: number): number {
  const rt = retransmitOf(sa);
  let timeout = rt.timeout * 1000 * rt.base ** retransmitted;
  if (rt.limit > 0) timeout = Math.min(timeout, rt.limit * 1000);
  if (rt.jitter > 0) timeout -= (timeout * rt.jitter * uniform(sa.svc.random)) / 100;
  return timeout;
}
