// What the task manager's fault points do to one IKE message (fault rules come from src/faults through the daemon;
// see FaultHooks in services.ts): describe a message for the hooks, apply a decision's content change before the
// message is encoded and protected, and its byte change to the datagram as it leaves or arrives. Pure helpers:
// timing (drop, delay, duplicate, hold) is FaultHooks.carry's business, message IDs and state the manager's.
import { ExchangeType, PayloadType } from '../wire/constants.js';
import { decodeMessage } from '../wire/message.js';
import type { KePayload, NotifyPayload, Payload, SkPayload, UnknownPayload } from '../wire/types.js';
import type { Endpoint } from '../net/endpoint.js';
import type { IkeSa } from './ike-sa.js';
import type { ProtectOptions } from './message-protect.js';
import type { FaultMessageInfo, IkeFaultDecision } from './services.js';

/** Types and notify types of a payload list, as the hooks take them. */
export function payloadInfo(payloads: readonly Payload[]): Pick<FaultMessageInfo, 'payloads' | 'notifies'> {
  return {
    payloads: payloads.map((p) => p.type),
    notifies: payloads.flatMap((p) => (p.type === PayloadType.NOTIFY ? [(p as NotifyPayload).notifyType] : [])),
  };
}

/** A message the manager is about to send, as built (an error notify alone if a task failed the exchange). */
export function outInfo(exchange: number, messageId: number, isResponse: boolean, payloads: readonly Payload[]): FaultMessageInfo {
  return { exchange, isResponse, messageId, ...payloadInfo(payloads) };
}

/** What a content change makes of a message: the payloads (inner ones when protected), message ID and protect options. */
export interface ChangedMessage {
  payloads: Payload[];
  messageId: number;
  options: ProtectOptions;
}

const invert = (spi: Buffer): Buffer => Buffer.from(spi.map((b) => ~b & 0xff));

/**
 * Apply a decision's content change (ke, unknown-payload, wrong-spi, wrong-mid; notify is OutMessage.fail, done by
 * the caller) to an ordered payload list. Anything else leaves the message as it is.
 */
export function changeContent(
  sa: IkeSa,
  exchange: number,
  messageId: number,
  payloads: Payload[],
  d: IkeFaultDecision | undefined,
): ChangedMessage {
  const m: ChangedMessage = { payloads, messageId, options: {} };
  if (!d) return m;
  switch (d.kind) {
    case 'ke':
      m.payloads = payloads.flatMap((p): Payload[] => {
        if (p.type !== PayloadType.KE) return [p];
        const ke = p as KePayload;
        if (d.mode === 'omit') return [];
        if (d.mode === 'empty') return [{ ...ke, data: Buffer.alloc(0) }];
        if (d.mode === 'group') return [{ ...ke, group: d.group }];
        return [{ ...ke, data: Buffer.alloc(ke.data.length, d.byte) }];
      });
      break;
    case 'unknown-payload': {
      const u: UnknownPayload = { type: d.payloadType, unknown: true, body: Buffer.alloc(0), ...(d.critical ? { critical: true } : {}) };
      // outside SK unless asked for inside (IKE_SA_INIT has no SK: there it simply goes last)
      if (d.sk && exchange !== ExchangeType.IKE_SA_INIT) m.payloads = [...payloads, u];
      else m.options.outer = [u];
      break;
    }
    case 'wrong-spi':
      // the recipient's SPI: the responder's when we are the original initiator, else the initiator's
      m.options.spis = sa.initiator ? { spiR: invert(sa.spiR) } : { spiI: invert(sa.spiI) };
      break;
    case 'wrong-mid':
      m.messageId = d.messageId;
      break;
  }
  return m;
}

/**
 * corrupt / truncate on a whole datagram (a copy; the original stays as it was, e.g. for retransmits). corrupt flips
 * every bit of one byte: the first of the SK body (its IV) or the last of the message (the ICV); either way the
 * recipient's integrity check fails, which is the point.
 */
export function changeBytes(packet: Buffer, d: IkeFaultDecision): Buffer {
  if (d.kind === 'truncate') return Buffer.from(packet.subarray(0, d.keep));
  if (d.kind !== 'corrupt') return packet;
  const b = Buffer.from(packet);
  let at = b.length - 1;
  if (d.where === 'iv') {
    const decoded = decodeMessage(b);
    const last = decoded.ok ? decoded.value.payloads[decoded.value.payloads.length - 1] : undefined;
    if (last && last.type === PayloadType.SK) at = b.length - (last as SkPayload).body.length;
  }
  if (at >= 0) b[at] = b[at]! ^ 0xff;
  return b;
}

/** Datagrams received for one IKE_SA, for the replay action (recorded while replay rules exist; bounded). */
export class ReceivedHistory {
  static readonly MAX = 64;
  private readonly list: { raw: Buffer; local: Endpoint; remote: Endpoint }[] = [];

  record(raw: Buffer, local: Endpoint, remote: Endpoint): void {
    this.list.push({ raw: Buffer.from(raw), local: { ...local }, remote: { ...remote } });
    if (this.list.length > ReceivedHistory.MAX) this.list.shift();
  }

  inOrder(order: 'forward' | 'backward'): { raw: Buffer; local: Endpoint; remote: Endpoint }[] {
    return order === 'forward' ? [...this.list] : [...this.list].reverse();
  }
}
