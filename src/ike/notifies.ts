// Small builders shared by the tasks: a Notify payload, the DH group names charon prints, and the data of
// INVALID_KE_PAYLOAD (RFC 7296 3.10.1: the accepted group as two octets).
import { Notify, PayloadType, TransformType } from '../wire/constants.js';
import { transformName } from '../wire/names.js';
import type { NotifyPayload } from '../wire/types.js';

export function notify(notifyType: number, data: Buffer = Buffer.alloc(0), protocol = 0, spi: Buffer = Buffer.alloc(0)): NotifyPayload {
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
