// Shared SK payload pieces (RFC 7296 section 3.14): the public cipher interface and the
// padding / pad-length trailer both cipher families use.
import { CryptoError } from './errors.js';

export interface SkCipher {
  readonly aead: boolean;
  readonly ivLength: number;
  readonly icvLength: number;
  readonly blockLength: number;
  /** IV + ciphertext (incl. padding + pad-length byte) + ICV. */
  bodyLength(plainLength: number): number;
  seal(plain: Buffer, aad: Buffer): Buffer;
  open(body: Buffer, aad: Buffer): Buffer;
}

/** What createSkCipher returns: the public interface plus the test-only fixed-IV seal. */
export interface SkCipherImpl extends SkCipher {
  sealWith(iv: Buffer, plain: Buffer, aad: Buffer, padding?: Buffer): Buffer;
}

/** Fewest padding bytes so that plain | padding | pad length fills whole blocks. */
export function padLengthFor(plainLength: number, block: number): number {
  return (block - ((plainLength + 1) % block)) % block;
}

/** plain | padding | pad length. Padding content is arbitrary (RFC 7296 3.14); we send zeros. */
export function withTrailer(plain: Buffer, block: number, padding?: Buffer): Buffer {
  const pad = padding ?? Buffer.alloc(padLengthFor(plain.length, block));
  if (pad.length > 255 || (plain.length + pad.length + 1) % block !== 0) {
    throw new CryptoError('BAD_LENGTH', `padding of ${pad.length} bytes does not fill the ${block}-byte block`);
  }
  return Buffer.concat([plain, pad, Buffer.from([pad.length])]);
}

/** Strip padding after decryption; the receiver must accept any padding length (RFC 7296 3.14). */
export function stripTrailer(decrypted: Buffer): Buffer {
  if (decrypted.length === 0) throw new CryptoError('BAD_LENGTH', 'empty SK ciphertext');
  const padLen = decrypted[decrypted.length - 1]!;
  if (padLen + 1 > decrypted.length) {
    throw new CryptoError('BAD_LENGTH', `pad length ${padLen} exceeds ciphertext of ${decrypted.length} bytes`);
  }
  return decrypted.subarray(0, decrypted.length - padLen - 1);
}
