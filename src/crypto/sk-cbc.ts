// SK payload with a block cipher in CBC mode plus a separate integrity transform
// (RFC 7296 section 3.14; AES-CBC per RFC 3602, 3DES per RFC 2451).
import { createCipheriv, createDecipheriv, timingSafeEqual } from 'node:crypto';
import type { EncrInfo } from './encr.js';
import { CryptoError } from './errors.js';
import { integIcv, integIcvLength, integKeyLength } from './integ.js';
import { secureRandomBytes } from './random.js';
import { stripTrailer, withTrailer, type SkCipherImpl } from './sk-common.js';

export class CbcSkCipher implements SkCipherImpl {
  readonly aead = false;
  readonly ivLength: number;
  readonly icvLength: number;
  readonly blockLength: number;

  constructor(
    private readonly info: EncrInfo,
    private readonly encKey: Buffer,
    private readonly integ: number,
    private readonly integKey: Buffer,
  ) {
    if (encKey.length !== info.keyBytes) {
      throw new CryptoError('BAD_LENGTH', `${info.cipher}: key of ${encKey.length} bytes, expected ${info.keyBytes}`);
    }
    if (integKey.length !== integKeyLength(integ)) {
      throw new CryptoError('BAD_LENGTH', `integrity ${integ}: key of ${integKey.length} bytes, expected ${integKeyLength(integ)}`);
    }
    this.ivLength = info.ivBytes;
    this.blockLength = info.blockBytes;
    this.icvLength = integIcvLength(integ);
  }

  bodyLength(plainLength: number): number {
    const b = this.blockLength;
    return this.ivLength + Math.ceil((plainLength + 1) / b) * b + this.icvLength;
  }

  // RFC 7296 3.14: the IV must be unpredictable for CBC, so it is fresh random per message.
  seal(plain: Buffer, aad: Buffer): Buffer {
    return this.sealWith(secureRandomBytes(this.ivLength), plain, aad);
  }

  sealWith(iv: Buffer, plain: Buffer, aad: Buffer, padding?: Buffer): Buffer {
    if (iv.length !== this.ivLength) throw new CryptoError('BAD_LENGTH', `IV must be ${this.ivLength} bytes`);
    const c = createCipheriv(this.info.cipher, this.encKey, iv);
    c.setAutoPadding(false);
    const ct = c.update(withTrailer(plain, this.blockLength, padding));
    const last = c.final(); // empty: whole blocks, no padding by the cipher
    // The ICV covers the whole message from the IKE header through the pad length (RFC 7296 3.14).
    const icv = integIcv(this.integ, this.integKey, aad, iv, ct, last);
    return Buffer.concat([iv, ct, last, icv]);
  }

  open(body: Buffer, aad: Buffer): Buffer {
    const ctLen = body.length - this.ivLength - this.icvLength;
    if (ctLen < this.blockLength || ctLen % this.blockLength !== 0) {
      throw new CryptoError('BAD_LENGTH', `SK body of ${body.length} bytes does not fit IV, whole blocks and ICV`);
    }
    const signedEnd = body.length - this.icvLength;
    // Check the ICV before decrypting anything, in constant time (no padding oracle).
    const expected = integIcv(this.integ, this.integKey, aad, body.subarray(0, signedEnd));
    if (!timingSafeEqual(expected, body.subarray(signedEnd))) throw new CryptoError('INTEGRITY', 'SK payload ICV mismatch');
    const d = createDecipheriv(this.info.cipher, this.encKey, body.subarray(0, this.ivLength));
    d.setAutoPadding(false);
    const plain = Buffer.concat([d.update(body.subarray(this.ivLength, signedEnd)), d.final()]);
    return stripTrailer(plain);
  }
}
