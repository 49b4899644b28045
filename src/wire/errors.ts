// Typed decode errors with stable codes. The codec throws WireError internally (deep inside a payload it is the
// simplest way to abort), but every public entry point catches it and returns a Decoded<T>, so nothing thrown by
// a hostile datagram can reach the socket handler. Mapping to notifies lives here, in one place (RFC 7296 2.21.2).

import { Notify } from './constants.js';
import type { IkeHeader } from './types.js';

export type WireErrorCode =
  /** The datagram is shorter than the IKE header, or than the length the header claims. */
  | 'TRUNCATED'
  /** A length field disagrees with the bytes around it (payload, substructure, count x size...). */
  | 'BAD_LENGTH'
  /** Major version is not 2 (RFC 7296 2.5): answer INVALID_MAJOR_VERSION. */
  | 'BAD_VERSION'
  /** A field value is impossible (SPI size, proposal numbering, TS ports, chain order...). */
  | 'BAD_SYNTAX'
  /** Unknown payload with the critical bit set (RFC 7296 2.5): answer UNSUPPORTED_CRITICAL_PAYLOAD. */
  | 'UNSUPPORTED_CRITICAL'
  /** A DoS cap was hit (payload count, proposals, transforms...). */
  | 'TOO_MANY'
  /** No message rules exist for this exchange type (charon: NOT_SUPPORTED). */
  | 'BAD_EXCHANGE';

export class WireError extends Error {
  /** Set once the IKE header could be read, so the caller can answer with the right SPIs and message ID. */
  header?: IkeHeader;

  constructor(
    public code: WireErrorCode,
    message: string,
    public payloadType?: number,
  ) {
    super(message);
    this.name = 'WireError';
  }
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: WireError };

export const fail = (code: WireErrorCode, message: string, payloadType?: number): never => {
  throw new WireError(code, message, payloadType);
};

/** Runs a decoder and turns anything it throws into { ok: false }: the only place a decode may end abruptly. */
export function guard<T>(fn: () => T, header?: () => IkeHeader | undefined): Decoded<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    const error = e instanceof WireError ? e : new WireError('BAD_SYNTAX', `internal decode error: ${String(e)}`);
    if (!error.header && header) error.header = header();
    return { ok: false, error };
  }
}

/**
 * The notify a responder sends for a decode error (RFC 7296 2.21.2 and 2.5), with its data; undefined for codes
 * that are answered by silence. An unknown critical payload carries the payload type as 1 byte of data.
 */
export function errorNotify(error: WireError): { notifyType: number; data: Buffer } | undefined {
  switch (error.code) {
    case 'BAD_VERSION':
      return { notifyType: Notify.INVALID_MAJOR_VERSION, data: Buffer.alloc(0) };
    case 'UNSUPPORTED_CRITICAL':
      return { notifyType: Notify.UNSUPPORTED_CRITICAL_PAYLOAD, data: Buffer.from([error.payloadType ?? 0]) };
    case 'TRUNCATED':
      return undefined;
    default:
      return { notifyType: Notify.INVALID_SYNTAX, data: Buffer.alloc(0) };
  }
}
