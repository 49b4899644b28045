// Shared-key AUTH payload data (RFC 7296 section 2.15).
import { timingSafeEqual } from 'node:crypto';
import { prf } from './prf.js';

/** RFC 7296 2.15: the 17 ASCII octets "Key Pad for IKEv2", no terminating NUL. */
const KEY_PAD = Buffer.from('Key Pad for IKEv2', 'ascii');

/** MACedIDForI/R = prf(SK_pi/SK_pr, RestOfIDPayload); idBody = ID type | 3 reserved | data. */
export function macedId(prfId: number, skP: Buffer, idBody: Buffer): Buffer {
  return prf(prfId, skP, idBody);
}

/**
 * InitiatorSignedOctets = RealMessage1 | NonceRData | MACedIDForI (and symmetrically for the
 * responder: RealMessage2 | NonceIData | MACedIDForR). `firstMessage` is the sender's own
 * IKE_SA_INIT message as sent; `peerNonce` the Nonce payload data of the other side.
 */
export function signedOctets(prfId: number, firstMessage: Buffer, peerNonce: Buffer, skP: Buffer, idBody: Buffer): Buffer {
  return Buffer.concat([firstMessage, peerNonce, macedId(prfId, skP, idBody)]);
}

/**
 * prf(Shared Secret, "Key Pad for IKEv2") per PSK Buffer and PRF: the same for every IKE_SA with that secret, and
 * each setup needs it twice (our AUTH, the peer's). Keyed by the Buffer itself (the config's, or an operator's
 * override), so a reloaded config's secrets start afresh and nothing outlives its secret.
 */
const padded = new WeakMap<Buffer, Map<number, Buffer>>();

function paddedKey(prfId: number, psk: Buffer): Buffer {
  let byPrf = padded.get(psk);
  if (!byPrf) padded.set(psk, (byPrf = new Map()));
  let k = byPrf.get(prfId);
  if (!k) byPrf.set(prfId, (k = prf(prfId, psk, KEY_PAD)));
  return k;
}

/** AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>). */
export function pskAuth(prfId: number, psk: Buffer, octets: Buffer): Buffer {
  return prf(prfId, paddedKey(prfId, psk), octets);
}

/** Constant-time comparison; a length mismatch is a plain false (the length is not secret). */
export function verifyPskAuth(prfId: number, psk: Buffer, octets: Buffer, received: Buffer): boolean {
  const expected = pskAuth(prfId, psk, octets);
  return received.length === expected.length && timingSafeEqual(expected, received);
}
