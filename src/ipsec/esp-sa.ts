// One direction of an ESP SA in tunnel mode (RFC 4303): framing, sequence numbers (32-bit or ESN), padding
// and next header. Crypto lives in esp-transform.ts, anti-replay in replay.ts.
//
//   SPI(4) | Seq low(4) | IV | E( inner packet | padding 1,2,3.. | pad length(1) | next header(1) ) | ICV
import { createEspTransform, type EspTransform } from './esp-transform.js';
import { halves, ReplayWindow } from './replay.js';

export interface EspSaParams {
  /** The SPI in the ESP header: for outbound the peer's inbound SPI, for inbound ours. */
  spi: Buffer;
  encr: number;
  encrKeyBits?: number;
  integ?: number;
  /** Cipher key, including the 4-byte salt for GCM / ChaCha20-Poly1305. */
  encKey: Buffer;
  integKey: Buffer;
  esn: boolean;
  replayWindow: number;
  /** Test hook: the explicit IV to send for a sequence number (known-answer vectors); never set in production. */
  iv?: (seq: bigint) => Buffer;
}

export type OpenResult = OpenedPacket | { ok: false; reason: 'INTEGRITY' | 'REPLAY' | 'MALFORMED' };

/** An authentic, fresh packet: the inner packet is a view into the decrypted plaintext, which nothing else holds. */
export class OpenedPacket {
  readonly ok = true;
  constructor(
    readonly inner: Buffer,
    readonly nextHeader: number,
    private readonly high: number,
    private readonly low: number,
  ) {}

  /** The full sequence number (a bigint is made only when asked for: the receive path does not). */
  get seq(): bigint {
    return (BigInt(this.high) << 32n) | BigInt(this.low);
  }
}

// The failures as constants: a flood of forged or replayed packets allocates nothing for its verdicts.
const INTEGRITY = Object.freeze({ ok: false, reason: 'INTEGRITY' } as const);
const REPLAY = Object.freeze({ ok: false, reason: 'REPLAY' } as const);
const MALFORMED = Object.freeze({ ok: false, reason: 'MALFORMED' } as const);

/** RFC 4303 3.3.3: the sender must not let the counter cycle; a new SA is needed. */
export class EspSequenceExhausted extends Error {}

const HEADER = 8;
const U32 = 0x1_0000_0000;

/** Padding 1, 2, 3, ... (RFC 4303 2.4 default), copied from here into the plaintext. */
const TRAILER_PADDING = Buffer.from(Array.from({ length: 255 }, (_, i) => i + 1));

export class EspOutbound {
  /** The last sequence number sent, as high and low 32-bit halves (the next packet carries one more). */
  private high = 0;
  private low = 0;
  private readonly t: EspTransform;
  private readonly spi: number;

  constructor(private readonly p: EspSaParams) {
    if (p.spi.length !== 4) throw new Error(`ESP SPI of ${p.spi.length} bytes`);
    this.t = createEspTransform(p);
    this.spi = p.spi.readUInt32BE(0);
  }

  /** Last sequence number sent; the next packet carries seq + 1 (the first one 1, RFC 4303 3.3.3). */
  get seq(): bigint {
    return (BigInt(this.high) << 32n) | BigInt(this.low);
  }
  set seq(v: bigint) {
    [this.high, this.low] = halves(v);
  }

  /** Bytes an inner packet of `len` bytes grows by: header, IV, padding and trailer, ICV. */
  overhead(len: number): number {
    const padded = Math.ceil((len + 2) / this.t.align) * this.t.align;
    return HEADER + this.t.ivLen + padded - len + this.t.icvLen;
  }

  /** The highest sequence number this SA may send (2^32-1, or 2^64-1 with ESN). */
  get maxSeq(): bigint {
    return this.p.esn ? MAX_SEQ_64 : MAX_SEQ_32;
  }

  /**
   * spi: another SPI for the header (fault injection: wrong-spi); the SA's own otherwise. The plaintext is built in
   * the transform's scratch and encrypted from there: the returned packet is the only buffer this allocates.
   */
  seal(inner: Buffer, nextHeader: number, spi?: number): Buffer {
    if (this.low === 0xffff_ffff && (!this.p.esn || this.high === 0xffff_ffff))
      throw new EspSequenceExhausted('ESP sequence number exhausted, the SA must be rekeyed');
    if (++this.low === U32) {
      this.low = 0;
      this.high++;
    }
    const t = this.t;
    const padLen = (t.align - ((inner.length + 2) % t.align)) % t.align;
    const plainLen = inner.length + padLen + 2;
    const plain = t.scratch(plainLen);
    let at = t.plainAt + inner.copy(plain, t.plainAt);
    at += TRAILER_PADDING.copy(plain, at, 0, padLen);
    plain[at] = padLen;
    plain[at + 1] = nextHeader;
    const out = Buffer.allocUnsafe(HEADER + t.ivLen + plainLen + t.icvLen);
    out.writeUInt32BE(spi === undefined ? this.spi : spi >>> 0, 0);
    out.writeUInt32BE(this.low, 4); // only the low 32 bits travel (RFC 4303 2.2.1)
    t.seal(out, plainLen, this.p.esn ? this.high : undefined, this.p.iv?.(this.seq));
    return out;
  }
}

const MAX_SEQ_32 = 0xffff_ffffn;
const MAX_SEQ_64 = 0xffff_ffff_ffff_ffffn;

export class EspInbound {
  readonly replay: ReplayWindow;
  /**
   * Our SPI as a number: a copy made with Buffer.from(spi) was a slice of Node's 8 KiB allocation pool, and one
   * such long-lived slice pins its whole slab (about 3 KiB per SA at 10,000 SAs in the daemon).
   */
  readonly spiNum: number;
  private readonly t: EspTransform;
  private readonly minLen: number;

  constructor(private readonly p: EspSaParams) {
    if (p.spi.length !== 4) throw new Error(`ESP SPI of ${p.spi.length} bytes`);
    this.t = createEspTransform(p);
    this.replay = new ReplayWindow(p.replayWindow);
    this.spiNum = p.spi.readUInt32BE(0);
    // At least one aligned block of plaintext holding pad length and next header.
    this.minLen = HEADER + this.t.ivLen + this.t.align + this.t.icvLen;
  }

  /** Our SPI as the 4 bytes of the ESP header (a new Buffer per call: for views and tests, not the packet path). */
  get spi(): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(this.spiNum, 0);
    return b;
  }

  /**
   * Receive processing in RFC 4303 3.4 order: sequence number (high bits inferred, A2.2), ICV, then the
   * replay window (check and update only for authentic packets), then the padding. Never throws.
   */
  open(esp: Buffer): OpenResult {
    if (esp.length < this.minLen) return MALFORMED;
    const ctLen = esp.length - HEADER - this.t.ivLen - this.t.icvLen;
    if (ctLen % this.t.align !== 0) return MALFORMED; // RFC 4303 2.4 alignment
    const low = esp.readUInt32BE(4);
    const high = this.p.esn ? this.replay.inferHigh(low) : 0;
    const pt = this.t.open(esp, this.p.esn ? high : undefined);
    if (!pt) return INTEGRITY;
    if (!this.replay.checkAndUpdateParts(high, low)) return REPLAY;
    const padLen = pt[pt.length - 2]!;
    const nextHeader = pt[pt.length - 1]!;
    const innerLen = pt.length - 2 - padLen;
    if (innerLen < 0) return MALFORMED;
    // RFC 4303 2.4: the receiver should check the default padding 1, 2, 3, ...
    for (let i = 0; i < padLen; i++) if (pt[innerLen + i] !== i + 1) return MALFORMED;
    return new OpenedPacket(pt.subarray(0, innerLen), nextHeader, high, low);
  }
}
