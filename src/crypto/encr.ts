// Encryption transforms (IANA transform type 1) we implement for the SK payload, and the size of
// their keys in KEYMAT (RFC 7296 sections 2.14 and 2.17) including the AEAD salt.
import { Encr } from '../wire/constants.js';
import { CryptoError } from './errors.js';

export interface EncrInfo {
  aead: boolean;
  /** OpenSSL cipher name. */
  cipher: string;
  keyBytes: number;
  /** Implicit nonce part appended to the key in KEYMAT (RFC 5282 section 7.1, RFC 7634 section 4). */
  saltBytes: number;
  ivBytes: number;
  /** Alignment the padded plaintext needs; 1 = no alignment (AEAD, RFC 5282 section 3). */
  blockBytes: number;
  /** AEAD tag length; 0 for CBC (the ICV then comes from the integrity transform). */
  tagBytes: number;
}

const AES_BITS = [128, 192, 256];
const GCM_TAG: Record<number, number> = { [Encr.AES_GCM_8]: 8, [Encr.AES_GCM_12]: 12, [Encr.AES_GCM_16]: 16 };

/** One EncrInfo per cipher and key length, shared (frozen) by every SA that uses it: two per IKE_SA added up. */
const infos = new Map<string, EncrInfo>();

/** Cipher parameters, checking the Key Length attribute (RFC 7296 section 3.3.5). */
export function encrInfo(encrId: number, keyBits?: number): EncrInfo {
  const key = `${encrId}/${keyBits ?? ''}`;
  let info = infos.get(key);
  if (!info) infos.set(key, (info = Object.freeze(lookupEncr(encrId, keyBits))));
  return info;
}

function lookupEncr(encrId: number, keyBits?: number): EncrInfo {
  const fixed = (bits: number) => {
    if (keyBits !== undefined && keyBits !== 0 && keyBits !== bits) {
      throw new CryptoError('UNSUPPORTED', `encryption ${encrId} has a fixed ${bits}-bit key, not ${keyBits}`);
    }
  };
  const aesBits = () => {
    // AES transforms have a variable key length, so the attribute is mandatory (RFC 7296 3.3.5).
    if (keyBits === undefined || !AES_BITS.includes(keyBits)) {
      throw new CryptoError('UNSUPPORTED', `encryption ${encrId}: unsupported key length ${keyBits}`);
    }
    return keyBits;
  };
  switch (encrId) {
    case Encr['3DES']: // RFC 2451: 192-bit key incl. parity bits, 64-bit block and IV
      fixed(192);
      return { aead: false, cipher: 'des-ede3-cbc', keyBytes: 24, saltBytes: 0, ivBytes: 8, blockBytes: 8, tagBytes: 0 };
    case Encr.AES_CBC: {
      // RFC 3602: IV is one 16-byte block
      const bits = aesBits();
      return { aead: false, cipher: `aes-${bits}-cbc`, keyBytes: bits / 8, saltBytes: 0, ivBytes: 16, blockBytes: 16, tagBytes: 0 };
    }
    case Encr.AES_GCM_8:
    case Encr.AES_GCM_12:
    case Encr.AES_GCM_16: {
      // RFC 5282 section 7.1 / RFC 4106 section 8.1: 4-byte salt after the key, 8-byte explicit IV
      const bits = aesBits();
      return {
        aead: true,
        cipher: `aes-${bits}-gcm`,
        keyBytes: bits / 8,
        saltBytes: 4,
        ivBytes: 8,
        blockBytes: 1,
        tagBytes: GCM_TAG[encrId]!, // one of the three GCM ids of the case labels
      };
    }
    case Encr.CHACHA20_POLY1305: // RFC 7634 sections 2 and 4: 256-bit key, 4-byte salt, 8-byte IV
      fixed(256);
      return { aead: true, cipher: 'chacha20-poly1305', keyBytes: 32, saltBytes: 4, ivBytes: 8, blockBytes: 1, tagBytes: 16 };
    default:
      throw new CryptoError('UNSUPPORTED', `unsupported encryption algorithm ${encrId}`);
  }
}

export function encrSupported(encrId: number, keyBits?: number): boolean {
  try {
    encrInfo(encrId, keyBits);
    return true;
  } catch {
    return false;
  }
}

/** KEYMAT bytes for one direction's encryption key, including the AEAD salt. */
export function encrKeyLength(encrId: number, keyBits?: number): number {
  const i = encrInfo(encrId, keyBits);
  return i.keyBytes + i.saltBytes;
}

/** Combined-mode cipher (RFC 5282): the suite then has no integrity transform. */
export function isAead(encrId: number): boolean {
  return encrId === Encr.AES_GCM_8 || encrId === Encr.AES_GCM_12 || encrId === Encr.AES_GCM_16 || encrId === Encr.CHACHA20_POLY1305;
}
