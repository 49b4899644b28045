// Bounds-checked cursor and growable writer over Node Buffers. Only Buffer methods are used (never buf.buffer),
// because dgram hands out slices of a shared pool (non-zero byteOffset).
//
// Decoded byte fields never alias (or pin) the caller's buffer. decodeMessage / decodePayloads copy the message
// once into memory of its own and decode inside ownCopy(): every byte field is then a view of that copy (one
// allocation per message instead of one per field, issue 16). A field kept longer than the message keeps only
// its message's copy alive, never a slab of Node's shared 8 KiB pool. Outside ownCopy() (a payload decoder called
// on its own) fields are copies, as before.
import { fail } from './errors.js';

/** True while a decoder reads from its own copy of a message (ownCopy), so fields may be views of it. */
let viewsAllowed = false;

/** Run `decode` on a private copy of `buf` (memory of its own, not Node's pool): byte fields become views of it. */
export function ownCopy<T>(buf: Buffer, decode: (own: Buffer) => T): T {
  const own = Buffer.allocUnsafeSlow(buf.length);
  buf.copy(own);
  const outer = viewsAllowed;
  viewsAllowed = true;
  try {
    return decode(own);
  } finally {
    viewsAllowed = outer;
  }
}

/** Bytes of a decoded field: a view inside ownCopy(), else a copy (decoded fields never alias the caller's buffer). */
export function fieldBytes(b: Buffer): Buffer {
  // even an empty view would keep the whole copy alive
  if (b.length === 0) return Buffer.alloc(0);
  return viewsAllowed ? b : Buffer.from(b);
}

export class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
    /** What is being read, for error messages ("KE payload", "transform"...). */
    readonly what: string,
  ) {}

  static of(buf: Buffer, what: string): Reader {
    return new Reader(buf, 0, buf.length, what);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Validate before reading: reports the actual and expected sizes (iked style). */
  need(n: number, field: string): void {
    if (n > this.remaining) {
      fail('BAD_LENGTH', `${this.what}: ${field} needs ${n} bytes at offset ${this.pos}, only ${this.remaining} left`);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buf.readUInt8(this.pos++);
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  bytes(n: number, field: string): Buffer {
    this.need(n, field);
    const v = fieldBytes(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return v;
  }

  skip(n: number, field: string): void {
    this.need(n, field);
    this.pos += n;
  }

  rest(): Buffer {
    return this.bytes(this.remaining, 'rest');
  }

  /** A reader over the next n bytes (a substructure); this reader moves past them. */
  sub(n: number, what: string): Reader {
    this.need(n, what);
    const r = new Reader(this.buf, this.pos, this.pos + n, what);
    this.pos += n;
    return r;
  }

  expectEnd(): void {
    if (this.remaining !== 0) {
      fail('BAD_LENGTH', `${this.what}: ${this.remaining} unexpected trailing bytes at offset ${this.pos}`);
    }
  }
}

/**
 * Scratch buffers of finished Writers, reused by the next ones: a message still takes a few Writers (the message,
 * traffic selector ranges, SK prefixes), and a zero-filled Buffer.alloc(256) each was a measurable share of a setup's CPU
 * (issue 16). A Writer takes one here and gives it back in finish(); one that is abandoned (an encode error) is
 * simply collected. Bounded: a burst of nested Writers does not keep more than SCRATCH_KEEP around.
 */
const scratch: Buffer[] = [];
const SCRATCH_KEEP = 16;
const SCRATCH_SIZE = 2048;

export class Writer {
  private buf = scratch.pop() ?? Buffer.allocUnsafeSlow(SCRATCH_SIZE);
  pos = 0;

  private grow(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.grow(1);
    this.buf.writeUInt8(v, this.pos++);
  }

  u16(v: number): void {
    this.grow(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.grow(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  bytes(b: Buffer): void {
    this.grow(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  zeros(n: number): void {
    this.grow(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }

  patchU16(at: number, v: number): void {
    this.buf.writeUInt16BE(v, at);
  }

  /**
   * Write something of a known size at an earlier position (a header in front of what it announces), then carry on
   * at the end. `at` + the bytes written must stay within what was written already.
   */
  writeAt(at: number, write: (w: Writer) => void): void {
    const end = this.pos;
    this.pos = at;
    write(this);
    if (this.pos > end) fail('BAD_LENGTH', `writeAt: ${this.pos - end} bytes past the end`);
    this.pos = end;
  }

  /** The bytes written (a copy: the scratch buffer goes back for the next Writer). */
  finish(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.pos));
    if (scratch.length < SCRATCH_KEEP && this.buf.length <= 4 * SCRATCH_SIZE) scratch.push(this.buf);
    this.buf = EMPTY;
    return out;
  }
}

const EMPTY = Buffer.alloc(0);
