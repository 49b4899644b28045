// Bounds-checked cursor and growable writer over Node Buffers. Only Buffer methods are used (never buf.buffer),
// because dgram hands out slices of a shared pool (non-zero byteOffset). Decoded byte fields are copies, so a
// decoded message never aliases (or pins) the datagram's pool memory.

import { fail } from './errors.js';

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
    const v = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
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

export class Writer {
  private buf = Buffer.alloc(256);
  pos = 0;

  private grow(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + n));
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

  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
