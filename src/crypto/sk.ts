// SK payload protection (RFC 7296 section 3.14; AEAD per RFC 5282 and RFC 7634).
// The body is IV | ciphertext(plain | padding | pad length) | ICV; `aad` is every message byte
// before the body (IKE header .. SK generic header, with final lengths), which is what the ICV
// covers for CBC+HMAC and what RFC 5282 section 5.1 makes the AEAD associated data.
import { AeadSkCipher } from './sk-aead.js';
import { CbcSkCipher } from './sk-cbc.js';
import { encrInfo } from './encr.js';
import { CryptoError } from './errors.js';
import type { SkCipher } from './sk-common.js';

export type { SkCipher } from './sk-common.js';

export interface SkSuite {
  encr: number;
  encrKeyBits?: number;
  integ?: number;
}

/**
 * encKey is SK_e (key | salt for AEAD), integKey is SK_a (empty for AEAD). Use one cipher per
 * direction: SK_ei/SK_ai for messages the original initiator sends, SK_er/SK_ar for the others.
 */
export function createSkCipher(s: SkSuite, encKey: Buffer, integKey: Buffer): SkCipher {
  const info = encrInfo(s.encr, s.encrKeyBits);
  const integ = s.integ ?? 0;
  if (info.aead) {
    if (integ !== 0) throw new CryptoError('UNSUPPORTED', 'an AEAD cipher must not have an integrity transform (RFC 5282 section 8)');
    return new AeadSkCipher(info, encKey);
  }
  if (integ === 0) throw new CryptoError('UNSUPPORTED', `encryption ${s.encr} needs an integrity transform`);
  return new CbcSkCipher(info, encKey, integ, integKey);
}

/**
 * TEST ONLY: seal with a caller-chosen IV and padding (padding bytes without the pad-length byte)
 * so a peer's logged SK payload can be reproduced byte for byte. Never use it for traffic: a
 * repeated IV breaks CBC confidentiality and destroys GCM/ChaCha20-Poly1305 entirely.
 */
export function sealWithIv(cipher: SkCipher, plain: Buffer, aad: Buffer, iv: Buffer, padding?: Buffer): Buffer {
  if (!(cipher instanceof CbcSkCipher || cipher instanceof AeadSkCipher)) {
    throw new CryptoError('UNSUPPORTED', 'sealWithIv needs a cipher made by createSkCipher');
  }
  return cipher.sealWith(iv, plain, aad, padding);
}
