// One direction of an ESP SA in tunnel mode (RFC 4303): framing, sequence numbers (32-bit or ESN), padding
// and next header. Crypto lives in esp-transform.ts, anti-replay in replay.ts.
//
//   SPI(4) | Seq low(4) | IV | E( inner packet | padding 1,2,3.. | pad length(1) | next header(1) ) | ICV
import { createEspTransform, type EspTransform } from './esp-transform.js';
import { ReplayWindow } from './replay.js';

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

export type OpenResult =
  | { ok: true; inner: Buffer; nextHeader: number; seq: bigint }
  | { ok: false; reason: 'INTEGRITY' | 'REPLAY' | 'MALFORMED' };

/** RFC 4303 3.3.3: the sender must not let the counter cycle; a new SA is needed. */
export class EspSequenceExhausted extends Error {}

const HEADER = 8;
const MAX_SEQ_32 = 0xffff_ffffn;
const MAX_SEQ_64 = 0xffff_ffff_ffff_ffffn;

/** Padding 1, 2, 3, ... (RFC 4303 2.4 default) followed by pad length and next header, by pad length. */
const TRAILER_PADDING = Buffer.from(Array.from({ length: 255 }, (_, i) => i + 1));

function trailer(padLen: number, nextHeader: number): Buffer {
  const t = Buffer.allocUnsafe(padLen + 2);
  TRAILER_PADDING.copy(t, 0, 0, padLen);
  t[padLen] = padLen;
  t[padLen + 1] = nextHeader;
  return t;
}

export class EspOutbound {
  /** Last sequence number sent; the next packet carries seq + 1 (the first one 1, RFC 4303 3.3.3). */
  seq = 0n;
  private readonly t: EspTransform;
  private readonly spi: Buffer;

  constructor(private readonly p: EspSaParams) {
    if (p.spi.length !== 4) throw new Error(`ESP SPI of ${p.spi.length} bytes`);
    this.t = createEspTransform(p);
    this.spi = Buffer.from(p.spi);
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

  /** spi: another SPI for the header (fault injection: wrong-spi); the SA's own otherwise. */
  seal(inner: Buffer, nextHeader: number, spi?: number): Buffer {
    if (this.seq >= this.maxSeq) throw new EspSequenceExhausted('ESP sequence number exhausted, the SA must be rekeyed');
    const seq = ++this.seq;
    const padLen = (this.t.align - ((inner.length + 2) % this.t.align)) % this.t.align;
    const out = Buffer.allocUnsafe(HEADER + this.t.ivLen + inner.length + padLen + 2 + this.t.icvLen);
    if (spi === undefined) this.spi.copy(out, 0);
    else out.writeUInt32BE(spi >>> 0, 0);
    out.writeUInt32BE(Number(seq & 0xffff_ffffn), 4); // only the low 32 bits travel (RFC 4303 2.2.1)
    this.t.seal(out, seq, this.p.esn, [inner, trailer(padLen, nextHeader)], this.p.iv?.(seq));
    return out;
  }
}

export class EspInbound {
  readonly replay: ReplayWindow;
  readonly spi: Buffer;
  private readonly t: EspTransform;
  private readonly minLen: number;

  constructor(private readonly p: EspSaParams) {
    if (p.spi.length !== 4) throw new Error(`ESP SPI of ${p.spi.length} bytes`);
    this.t = createEspTransform(p);
    this.replay = new ReplayWindow(p.replayWindow);
    this.spi = Buffer.from(p.spi);
    // At least one aligned block of plaintext holding pad length and next header.
    this.minLen = HEADER + this.t.ivLen + this.t.align + this.t.icvLen;
  }

  /**
   * Receive processing in RFC 4303 3.4 order: sequence number (high bits inferred, A2.2), ICV, then the
   * replay window (check and update only for authentic packets), then the padding. Never throws.
   */
  open(esp: Buffer): OpenResult {
    if (esp.length < this.minLen) return { ok: false, reason: 'MALFORMED' };
    const ctLen = esp.length - HEADER - this.t.ivLen - this.t.icvLen;
    if (ctLen % this.t.align !== 0) return { ok: false, reason: 'MALFORMED' }; // RFC 4303 2.4 alignment
    const low = esp.readUInt32BE(4);
    const seq = this.p.esn ? this.replay.inferSeq(low) : BigInt(low);
    const pt = this.t.open(esp, seq, this.p.esn);
    if (!pt) return { ok: false, reason: 'INTEGRITY' };
    if (!this.replay.checkAndUpdate(seq)) return { ok: false, reason: 'REPLAY' };
    const padLen = pt[pt.length - 2]!;
    const nextHeader = pt[pt.length - 1]!;
    const innerLen = pt.length - 2 - padLen;
    if (innerLen < 0) return { ok: false, reason: 'MALFORMED' };
    // RFC 4303 2.4: the receiver should check the default padding 1, 2, 3, ...
    for (let i = 0; i < padLen; i++) if (pt[innerLen + i] !== i + 1) return { ok: false, reason: 'MALFORMED' };
    return { ok: true, inner: pt.subarray(0, innerLen), nextHeader, seq };
  }
}
