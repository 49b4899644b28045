// SK payload with a combined-mode cipher: AES-GCM (RFC 5282 section 3..5, RFC 4106 for the
// nonce layout) and ChaCha20-Poly1305 (RFC 7634 section 3, RFC 8439).
import { createCipheriv, createDecipheriv, randomBytes, type CipherGCMTypes } from 'node:crypto';
import type { EncrInfo } from './encr.js';
import { CryptoError } from './errors.js';
import { stripTrailer, withTrailer, type SkCipherImpl } from './sk-common.js';

export class AeadSkCipher implements SkCipherImpl {
  readonly aead = true;
  readonly ivLength: number;
  readonly icvLength: number;
  readonly blockLength: number;
  private readonly key: Buffer;
  private readonly salt: Buffer;
  /**
   * The explicit IV must never repeat under one key (RFC 5282 section 3.1, RFC 7634 section 2), so it
   * is a 64-bit counter; starting at a random value keeps it from looking like a message count.
   */
  private readonly counter: Buffer;

  constructor(
    private readonly info: EncrInfo,
    keyMaterial: Buffer,
  ) {
    if (keyMaterial.length !== info.keyBytes + info.saltBytes) {
      throw new CryptoError(
        'BAD_LENGTH',
        `${info.cipher}: key material of ${keyMaterial.length} bytes, expected ${info.keyBytes + info.saltBytes}`,
      );
    }
    // KEYMAT = key | salt (RFC 5282 section 7.1, RFC 7634 section 4).
    this.key = Buffer.from(keyMaterial.subarray(0, info.keyBytes));
    this.salt = Buffer.from(keyMaterial.subarray(info.keyBytes));
    this.ivLength = info.ivBytes;
    this.icvLength = info.tagBytes;
    this.blockLength = info.blockBytes;
    this.counter = randomBytes(this.ivLength);
  }

  bodyLength(plainLength: number): number {
    return this.ivLength + plainLength + 1 + this.icvLength;
  }

  private nextIv(): Buffer {
    const iv = Buffer.from(this.counter);
    for (let i = this.counter.length - 1; i >= 0; i--) {
      this.counter[i] = (this.counter[i]! + 1) & 0xff;
      if (this.counter[i] !== 0) break;
    }
    return iv;
  }

  seal(plain: Buffer, aad: Buffer): Buffer {
    return this.sealWith(this.nextIv(), plain, aad);
  }

  sealWith(iv: Buffer, plain: Buffer, aad: Buffer, padding?: Buffer): Buffer {
    if (iv.length !== this.ivLength) throw new CryptoError('BAD_LENGTH', `IV must be ${this.ivLength} bytes`);
    // Nonce = salt | IV (RFC 4106 section 4, RFC 7634 section 2); AAD = message bytes before the body.
    const c = createCipheriv(this.info.cipher as CipherGCMTypes, this.key, Buffer.concat([this.salt, iv]), {
      authTagLength: this.icvLength,
    });
    c.setAAD(aad);
    // No alignment is needed, so the only trailer is the pad-length byte (zero padding).
    const ct = Buffer.concat([c.update(withTrailer(plain, 1, padding)), c.final()]);
    return Buffer.concat([iv, ct, c.getAuthTag()]);
  }

  open(body: Buffer, aad: Buffer): Buffer {
    const ctLen = body.length - this.ivLength - this.icvLength;
    if (ctLen < 1) throw new CryptoError('BAD_LENGTH', `SK body of ${body.length} bytes is too short`);
    const iv = body.subarray(0, this.ivLength);
    const d = createDecipheriv(this.info.cipher as CipherGCMTypes, this.key, Buffer.concat([this.salt, iv]), {
      authTagLength: this.icvLength,
    });
    d.setAAD(aad);
    d.setAuthTag(body.subarray(body.length - this.icvLength));
    const out = d.update(body.subarray(this.ivLength, this.ivLength + ctLen));
    try {
      // final() compares the tag (in constant time inside OpenSSL); `out` is unused unless it passes.
      d.final();
    } catch {
      throw new CryptoError('INTEGRITY', 'SK payload ICV mismatch');
    }
    return stripTrailer(out);
  }
}
