// The IKE transforms ikelab's own crypto runs, read off the tables that implement them (encr.ts for the SK
// payload ciphers, integ.ts, prf.ts, dh.ts), so that what config accepts and what proposal selection picks can
// never drift from what createSkCipher / deriveIkeKeys / generateDh actually do. Anything else (AES-CTR, AES-CCM,
// NULL, DES, ...) has a keyword and a transform number but no implementation here: it must never be negotiated.
import { TransformType } from '../wire/constants.js';
import { dhSupported } from './dh.js';
import { encrSupported } from './encr.js';
import { integSupported } from './integ.js';
import { prfSupported } from './prf.js';

/** SK payload encryption with this Key Length attribute (bits; undefined = none): encr.ts's encrInfo table. */
export function supportsIkeEncr(encrId: number, keyBits?: number): boolean {
  return encrSupported(encrId, keyBits);
}

/** SK payload integrity (integ.ts). INTEG NONE is not a transform to run: AEAD suites simply have none. */
export function supportsIkeInteg(integId: number): boolean {
  return integSupported(integId);
}

/** PRF and prf+ (prf.ts). */
export function supportsIkePrf(prfId: number): boolean {
  return prfSupported(prfId);
}

/** Key exchange (dh.ts), for IKE_SA_INIT, IKE rekeys and CHILD_SA PFS alike. DH NONE is not a group. */
export function supportsDhGroup(group: number): boolean {
  return dhSupported(group);
}

/** One transform of an IKE proposal (ENCR, INTEG, PRF, DH); other types are not part of an IKE suite. */
export function ikeTransformSupported(t: { type: number; id: number; keyLength?: number }): boolean {
  switch (t.type) {
    case TransformType.ENCR:
      return supportsIkeEncr(t.id, t.keyLength);
    case TransformType.INTEG:
      return supportsIkeInteg(t.id);
    case TransformType.PRF:
      return supportsIkePrf(t.id);
    case TransformType.DH:
      return supportsDhGroup(t.id);
    default:
      return false;
  }
}
