// The cryptographic half of ESP: encrypt+ICV for one SA direction, with node:crypto (OpenSSL, AES-NI).
// Two shapes: CBC cipher + truncated HMAC (RFC 3602 / RFC 2451 with RFC 2404 / RFC 4868), and combined-mode
// AEAD, AES-GCM (RFC 4106) and ChaCha20-Poly1305 (RFC 7634). esp-sa.ts does the framing around it.
//
// Packet layout both shapes fill (RFC 4303 section 2): SPI(4) | Seq(4) | IV | ciphertext | ICV.
import { createCipheriv, createDecipheriv, createHmac, getCipherInfo, randomFillSync, type Cipher, type Decipher } from 'node:crypto';
import { encrInfo, encrSupported, isAead } from '../crypto/encr.js';
import { integIcvLength, integKeyLength } from '../crypto/integ.js';
import { Encr, Esn, Integ, TransformType } from '../wire/constants.js';

export interface EspTransform {
  readonly ivLen: number;
  readonly icvLen: number;
  /** The padded plaintext must be a multiple of this (RFC 4303 2.4: cipher block size, at least 4). */
  readonly align: number;
  /**
   * Where the caller builds the padded plaintext (inner packet | padding | pad length | next header) before seal():
   * this SA's own scratch, reused by every packet, with the plaintext at `plainAt`. The bytes in front of it are
   * the transform's (CBC puts the block that becomes the IV there, so one cipher call covers IV and payload).
   */
  scratch(plainLen: number): Buffer;
  readonly plainAt: number;
  /**
   * Fill IV, ciphertext and ICV of `out`, whose first 8 bytes (SPI | low sequence number) are written, from the
   * `plainLen` bytes of plaintext in scratch(). `seqHigh`: the ESN high bits (RFC 4303 2.2.1), undefined without
   * ESN. `iv` overrides the IV (known-answer tests only).
   */
  seal(out: Buffer, plainLen: number, seqHigh: number | undefined, iv?: Buffer): void;
  /** Verify and decrypt a whole ESP packet; null when the ICV does not verify. */
  open(esp: Buffer, seqHigh: number | undefined): Buffer | null;
}

const HMAC_HASH: Record<number, string> = {
  [Integ.HMAC_MD5_96]: 'md5',
  [Integ.HMAC_SHA1_96]: 'sha1',
  [Integ.HMAC_SHA2_256_128]: 'sha256',
  [Integ.HMAC_SHA2_384_192]: 'sha384',
  [Integ.HMAC_SHA2_512_256]: 'sha512',
};

/**
 * What this engine runs, read off the tables createEspTransform builds from: the ciphers encrInfo knows (AES-CBC
 * and 3DES, paired with an HMAC; AES-GCM-8/12/16 and ChaCha20-Poly1305 as AEAD) with their key lengths, and the
 * HMACs of HMAC_HASH. Not AES-CTR, AES-CCM, NULL or DES encryption, nor AES-XCBC-MAC-96 integrity (integ.ts has
 * XCBC for the IKE SK payload; this engine does not).
 */
export function supportsEspEncr(encrId: number, keyBits?: number): boolean {
  return encrSupported(encrId, keyBits);
}

/** Integrity for CBC suites; AEAD suites carry none (INTEG NONE is not a transform to run). */
export function supportsEspInteg(integId: number): boolean {
  return HMAC_HASH[integId] !== undefined;
}

/** Both: 32-bit sequence numbers and ESN (RFC 4303 2.2.1), in the ICV and the AEAD AAD. */
export function supportsEspEsn(esnId: number): boolean {
  return esnId === Esn.NO_EXT_SEQ || esnId === Esn.EXT_SEQ;
}

/** One ENCR, INTEG or ESN transform of an ESP proposal (DH groups are the IKE side's business). */
export function espTransformSupported(t: { type: number; id: number; keyLength?: number }): boolean {
  if (t.type === TransformType.ENCR) return supportsEspEncr(t.id, t.keyLength);
  if (t.type === TransformType.INTEG) return supportsEspInteg(t.id);
  if (t.type === TransformType.ESN) return supportsEspEsn(t.id);
  return false;
}

export interface TransformParams {
  encr: number;
  encrKeyBits?: number;
  integ?: number;
  /** Cipher key, followed by the 4-byte salt for GCM / ChaCha20-Poly1305 (RFC 4106 8.1, RFC 7634 4). */
  encKey: Buffer;
  integKey: Buffer;
}

export function createEspTransform(p: TransformParams): EspTransform {
  if (isAead(p.encr)) {
    const bits = p.encrKeyBits || (p.encKey.length - 4) * 8;
    return new AeadTransform(p.encr, bits, p.encKey);
  }
  // AES-CBC's key length attribute is mandatory in IKE; when a caller leaves it out the key length tells.
  const info = encrInfo(p.encr, p.encr === Encr.AES_CBC ? p.encrKeyBits || p.encKey.length * 8 : p.encrKeyBits);
  const hash = HMAC_HASH[p.integ ?? 0];
  if (!hash) throw new Error(`ESP: unsupported integrity algorithm ${p.integ ?? 0}`);
  if (p.encKey.length !== info.keyBytes) throw new Error(`ESP: ${info.cipher} key of ${p.encKey.length} bytes, expected ${info.keyBytes}`);
  if (p.integKey.length !== integKeyLength(p.integ!)) throw new Error(`ESP: ${hash} key of ${p.integKey.length} bytes`);
  return new CbcHmacTransform(info.cipher, info.blockBytes, p.encKey, hash, p.integKey, integIcvLength(p.integ!));
}

/**
 * The OpenSSL contexts are made on an SA's first packet (below), so a cipher this OpenSSL lacks must still fail at
 * install, as it did when the contexts were made there: asked once per cipher name, not once per SA.
 */
const cipherKnown = new Map<string, boolean>();
function requireCipher(name: string): void {
  let ok = cipherKnown.get(name);
  if (ok === undefined) cipherKnown.set(name, (ok = getCipherInfo(name) !== undefined));
  if (!ok) throw new Error(`ESP: cipher ${name} is not available in this OpenSSL`);
}

/**
 * The ESN high bits as the 4 bytes hashed after the packet, and the AEAD nonce and AAD: scratch shared by every SA
 * rather than three small Buffers each (10,000 SAs held). Safe because each is filled and consumed within one
 * synchronous seal() or open(): createCipheriv copies the nonce, setAAD and Hmac.update take the bytes at once.
 */
const SEQ_HIGH = Buffer.alloc(4);
const NONCE = Buffer.alloc(12);
const AAD = Buffer.alloc(12);
const AAD8 = AAD.subarray(0, 8);
/** One options object per tag length (node:crypto only reads it), not one per SA. */
const TAG_OPTS = new Map<number, { authTagLength: number }>();

/** Random bytes drawn from a refilled pool: one getrandom() per 256 packets instead of one per packet. */
class RandomPool {
  private readonly pool = Buffer.allocUnsafe(4096);
  private off = this.pool.length;
  /** Copy n fresh random bytes into `to` at `at` (n <= 4096). */
  fill(to: Buffer, at: number, n: number): void {
    if (this.off + n > this.pool.length) {
      randomFillSync(this.pool);
      this.off = 0;
    }
    this.pool.copy(to, at, this.off, this.off + n);
    this.off += n;
  }
}
const randomPool = new RandomPool();

/**
 * A scratch buffer grown to hold `need` bytes; the old contents do not matter (every packet writes what it reads).
 * Allocated on first use (inbound SAs never need one) and doubled, so an SA re-allocates a few times at most.
 */
function grown(b: Buffer, need: number): Buffer {
  return need <= b.length ? b : Buffer.allocUnsafeSlow(Math.max(need, b.length * 2));
}
const NO_SCRATCH: Buffer = Buffer.alloc(0);

/** The first `len` bytes of mac equal esp's ICV at `at`, without an early exit that would tell a forger how many matched. */
function sameIcv(mac: Buffer, esp: Buffer, at: number, len: number): boolean {
  let diff = 0;
  for (let i = 0; i < len; i++) diff |= mac[i]! ^ esp[at + i]!;
  return diff === 0;
}

/**
 * CBC + HMAC. Encryption keeps one long-lived CBC context per SA instead of a createCipheriv per packet
 * (half the cost at 1400 bytes): each packet first encrypts one fresh random block R, and that output block
 * E(R xor previous ciphertext) is the packet's IV, from which the payload chains exactly as CBC with that IV.
 * The IV is thus unpredictable, as RFC 3602 section 2.2 / RFC 4303 require. Decryption likewise runs one
 * context: feeding IV | ciphertext, the first output block is discarded, the rest is the plaintext.
 *
 * R sits in the scratch right before the plaintext, so one update() returns IV | ciphertext: node:crypto allocates
 * one output per update call, and per call is where its cost lies. The HMAC is one createHmac per packet: an
 * Hmac cannot be reset, and neither a KeyObject key nor copying a keyed hash state measured faster
 * (scripts/README.md).
 */
class CbcHmacTransform implements EspTransform {
  readonly ivLen: number;
  readonly align: number;
  readonly plainAt: number;
  /**
   * The OpenSSL contexts (with their AES key schedules, about a KiB of native memory each), made on the first seal
   * or open: an SA direction only ever uses one of the two, and at 10,000 held SAs most never carry a packet. The
   * packet path pays one field test for it.
   */
  private enc: Cipher | undefined;
  private dec: Decipher | undefined;
  private buf: Buffer = NO_SCRATCH;

  constructor(
    private readonly cipher: string,
    private readonly block: number,
    private readonly key: Buffer,
    private readonly hash: string,
    private readonly integKey: Buffer,
    readonly icvLen: number,
  ) {
    this.ivLen = block;
    this.align = Math.max(4, block);
    this.plainAt = block;
    requireCipher(cipher);
  }

  private makeEnc(): Cipher {
    return (this.enc = createCipheriv(this.cipher, this.key, Buffer.alloc(this.block)).setAutoPadding(false));
  }

  private makeDec(): Decipher {
    return (this.dec = createDecipheriv(this.cipher, this.key, Buffer.alloc(this.block)).setAutoPadding(false));
  }

  scratch(plainLen: number): Buffer {
    return (this.buf = grown(this.buf, this.plainAt + plainLen));
  }

  seal(out: Buffer, plainLen: number, seqHigh: number | undefined, iv?: Buffer): void {
    const end = 8 + this.block + plainLen;
    if (iv) {
      // Chosen IV (tests): a fresh context, since the long-lived one cannot be re-keyed with an IV.
      const c = createCipheriv(this.cipher, this.key, iv).setAutoPadding(false);
      iv.copy(out, 8);
      c.update(this.buf.subarray(this.plainAt, this.plainAt + plainLen)).copy(out, 8 + this.block);
    } else {
      randomPool.fill(this.buf, 0, this.block);
      (this.enc ?? this.makeEnc()).update(this.buf.subarray(0, this.plainAt + plainLen)).copy(out, 8);
    }
    // ICV over ESP header | IV | ciphertext, then the ESN high bits (RFC 4303 2.2.1, not transmitted).
    const h = createHmac(this.hash, this.integKey).update(out.subarray(0, end));
    if (seqHigh !== undefined) {
      SEQ_HIGH.writeUInt32BE(seqHigh, 0);
      h.update(SEQ_HIGH);
    }
    h.digest().copy(out, end, 0, this.icvLen);
  }

  open(esp: Buffer, seqHigh: number | undefined): Buffer | null {
    const end = esp.length - this.icvLen;
    // Only whole blocks may enter the long-lived context, or every later packet would decrypt shifted.
    if ((end - 8) % this.block !== 0) return null;
    const h = createHmac(this.hash, this.integKey).update(esp.subarray(0, end));
    if (seqHigh !== undefined) {
      SEQ_HIGH.writeUInt32BE(seqHigh, 0);
      h.update(SEQ_HIGH);
    }
    if (!sameIcv(h.digest(), esp, end, this.icvLen)) return null;
    return (this.dec ?? this.makeDec()).update(esp.subarray(8, end)).subarray(this.block);
  }
}

/**
 * AES-GCM (RFC 4106) and ChaCha20-Poly1305 (RFC 7634): nonce = salt(4) | explicit IV(8); the IV is the
 * 64-bit sequence number, unique per packet under one key as RFC 4106 section 3.1 and RFC 7634 section 2
 * allow. AAD = SPI | Seq (8 bytes), or SPI | Seq high | Seq low (12 bytes) with ESN (RFC 4106 section 5,
 * RFC 7634 section 2.1).
 *
 * A cipher context per packet is forced: node:crypto takes the nonce only in createCipheriv, and a context cannot
 * be re-initialised. Everything else is reused: the plaintext scratch is the SA's, nonce, AAD and options are shared.
 */
class AeadTransform implements EspTransform {
  readonly ivLen = 8;
  readonly align = 4;
  readonly plainAt = 0;
  readonly icvLen: number;
  private readonly cipher: string;
  /** The key part of encKey (the caller's buffer); its view is made on the first packet, like CBC's contexts. */
  private readonly encKey: Buffer;
  private readonly keyBytes: number;
  private key: Buffer | undefined;
  /** The 4-byte salt (RFC 4106 8.1) as a number: written into the shared NONCE in front of each packet's IV. */
  private readonly salt: number;
  private readonly opts: { authTagLength: number };
  private buf: Buffer = NO_SCRATCH;

  constructor(encr: number, bits: number, encKey: Buffer) {
    const info = encrInfo(encr, bits);
    if (encKey.length !== info.keyBytes + 4)
      throw new Error(`ESP: ${info.cipher} key+salt of ${encKey.length} bytes, expected ${info.keyBytes + 4}`);
    requireCipher(info.cipher);
    this.cipher = info.cipher;
    this.icvLen = info.tagBytes;
    let opts = TAG_OPTS.get(info.tagBytes);
    if (!opts) TAG_OPTS.set(info.tagBytes, (opts = Object.freeze({ authTagLength: info.tagBytes })));
    this.opts = opts;
    this.encKey = encKey;
    this.keyBytes = info.keyBytes;
    this.salt = encKey.readUInt32BE(info.keyBytes);
  }

  private cipherKey(): Buffer {
    return (this.key = this.encKey.subarray(0, this.keyBytes));
  }

  scratch(plainLen: number): Buffer {
    return (this.buf = grown(this.buf, plainLen));
  }

  /** The AAD of a packet whose first 8 bytes are in `esp` (RFC 4106 5: the high bits between SPI and low bits). */
  private static setAad(esp: Buffer, seqHigh: number | undefined): Buffer {
    esp.copy(AAD, 0, 0, 4);
    if (seqHigh === undefined) {
      esp.copy(AAD, 4, 4, 8);
      return AAD8;
    }
    AAD.writeUInt32BE(seqHigh, 4);
    esp.copy(AAD, 8, 4, 8);
    return AAD;
  }

  /** salt | the packet's explicit IV (bytes 8..16 of `esp`) in the shared NONCE. */
  private nonce(esp: Buffer): Buffer {
    NONCE.writeUInt32BE(this.salt, 0);
    esp.copy(NONCE, 4, 8, 16);
    return NONCE;
  }

  seal(out: Buffer, plainLen: number, seqHigh: number | undefined, iv?: Buffer): void {
    if (iv) iv.copy(out, 8);
    else {
      out.writeUInt32BE(seqHigh ?? 0, 8); // explicit IV = the 64-bit sequence number
      out.copy(out, 12, 4, 8);
    }
    const c = createCipheriv(this.cipher as 'aes-128-gcm', this.key ?? this.cipherKey(), this.nonce(out), this.opts);
    c.setAAD(AeadTransform.setAad(out, seqHigh));
    c.update(this.buf.subarray(0, plainLen)).copy(out, 16);
    c.final();
    c.getAuthTag().copy(out, 16 + plainLen);
  }

  open(esp: Buffer, seqHigh: number | undefined): Buffer | null {
    const end = esp.length - this.icvLen;
    const d = createDecipheriv(this.cipher as 'aes-128-gcm', this.key ?? this.cipherKey(), this.nonce(esp), this.opts);
    d.setAAD(AeadTransform.setAad(esp, seqHigh));
    d.setAuthTag(esp.subarray(end));
    const pt = d.update(esp.subarray(16, end));
    try {
      d.final(); // throws when the tag does not verify
    } catch {
      return null;
    }
    return pt;
  }
}
