// Small builders shared by the tasks: a Notify payload, the DH group names charon prints, and the data of
// INVALID_KE_PAYLOAD (RFC 7296 3.10.1: the accepted group as two octets).
import type { DhKeyPair } from '../crypto/dh.js';
import { CryptoError } from '../crypto/errors.js';
import { Notify, NOTIFY_ERROR_MAX, PayloadType, TransformType } from '../wire/constants.js';
import { transformName } from '../wire/names.js';
import type { NotifyPayload } from '../wire/types.js';

/** The data and SPI of most notifies: a zero-length Buffer cannot be written to, so one serves them all. */
const NONE = Buffer.alloc(0);

export function notify(notifyType: number, data: Buffer = NONE, protocol = 0, spi: Buffer = NONE): NotifyPayload {
  return { type: PayloadType.NOTIFY, protocol, spi, notifyType, data };
}

/** MODP_2048, ECP_256, CURVE_25519 ... */
export const dhName = (group: number): string => transformName({ type: TransformType.DH, id: group });

export function invalidKe(group: number): NotifyPayload {
  const data = Buffer.alloc(2);
  data.writeUInt16BE(group);
  return notify(Notify.INVALID_KE_PAYLOAD, data);
}

/** The group a peer asks for in INVALID_KE_PAYLOAD, or undefined when the data is malformed. */
export const requestedGroup = (n: NotifyPayload): number | undefined => (n.data.length >= 2 ? n.data.readUInt16BE(0) : undefined);

/**
 * What the error notifies of a CREATE_CHILD_SA response mean for the task that sent the request: retry once
 * with the DH group the peer asked for (RFC 7296 1.3), or give up on this exchange because of an error notify.
 * `canRetry` says whether a retry is still allowed (not retried yet, group acceptable).
 */
export type ResponseErrors = { retryGroup: number } | { error: number } | undefined;

export function responseErrors(notifies: NotifyPayload[], canRetry: (group: number) => boolean): ResponseErrors {
  for (const n of notifies) {
    const group = n.notifyType === Notify.INVALID_KE_PAYLOAD ? requestedGroup(n) : undefined;
    if (group !== undefined && canRetry(group)) return { retryGroup: group };
    if (n.notifyType <= NOTIFY_ERROR_MAX) return { error: n.notifyType };
  }
  return undefined;
}

/**
 * g^ir from the peer's KE data, or undefined (logged like charon) when the value is invalid: wrong length, not on
 * the curve, 0/1/p-1 for MODP. The caller answers INVALID_SYNTAX (responder) or fails the exchange (initiator);
 * a bad public value never throws out of a task.
 */
export function peerSecret(sa: { log: { ike(level: number, text: string): void } }, dh: DhKeyPair, peerPublic: Buffer): Buffer | undefined {
  try {
    return dh.computeSecret(peerPublic);
  } catch (e) {
    sa.log.ike(1, `applying DH public value failed: ${e instanceof CryptoError ? e.message : String(e)}`);
    return undefined;
  }
}

/** The status notifies a peer profile adds wherever it proposes or accepts a CHILD_SA (habits.ts childNotifies). */
export function habitChildNotifies(sa: { habits: { childNotifies: readonly number[] } }): NotifyPayload[] {
  return sa.habits.childNotifies.map((t) => notify(t));
}

/**
 * charon's line for a peer that will not take TFC padding (RFC 7296 3.10.1; IOS sends it with every CHILD_SA). We
 * never pad, so it changes nothing but the log. Other CHILD_SA status notifies (NON_FIRST_FRAGMENTS_ALSO) charon
 * takes silently, and so do we.
 */
export function logChildNotifies(sa: { log: { ike(level: number, text: string): void } }, notifies: NotifyPayload[]): void {
  if (notifies.some((n) => n.notifyType === Notify.ESP_TFC_PADDING_NOT_SUPPORTED))
    sa.log.ike(1, 'received ESP_TFC_PADDING_NOT_SUPPORTED, not using ESPv3 TFC padding');
}
