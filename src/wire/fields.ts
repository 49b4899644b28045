// A small field-description language: each payload and substructure of RFC 7296 section 3 is written down ONCE as
// a list of fields, and the same list drives decoding and encoding (as strongSwan's encoding rules do), so no
// offset is ever written twice. Lengths, counts and "last substructure" bytes are derived on encode and checked
// on decode.

import { fail } from './errors.js';
import { Reader, Writer } from './reader.js';

export interface Codec<T> {
  read(r: Reader): T;
  /** `last` tells a substructure whether it ends its list (for the 0 / "more" byte of RFC 7296 3.3.1, 3.3.2). */
  write(w: Writer, v: T, last: boolean): void;
}

type Obj = Record<string, unknown>;

export type Field =
  | { k: 'u8' | 'u16' | 'u32'; name: string }
  /** RESERVED: sent as zero, ignored on receipt (RFC 7296 3.2). */
  | { k: 'zero'; bytes: number }
  /** Byte length of a later 'sized' field (e.g. SPI Size, RFC 7296 3.3.1 and 3.10). */
  | { k: 'sizeOf'; bytes: 1 | 2; of: string }
  /** Element count of a later 'list' field (e.g. Num Transforms, Number of TSs). */
  | { k: 'countOf'; bytes: 1 | 2; of: string }
  | { k: 'sized'; name: string }
  | { k: 'fixed'; name: string; bytes: number }
  /** Everything up to the end of the enclosing structure. */
  | { k: 'rest'; name: string }
  /** Substructures up to the end of the enclosing structure, at most `max` (DoS cap). */
  // biome-ignore lint/suspicious/noExplicitAny: a field table mixes codecs of every substructure type
  | { k: 'list'; name: string; item: Codec<any>; max: number }
  /** 2-byte length of the whole structure, including its own header (substructures of RFC 7296 3.3, 3.13.1). */
  | { k: 'selfLength' }
  /** "Last Substruc" byte: 0 for the last element of its list, `value` otherwise (RFC 7296 3.3.1, 3.3.2). */
  | { k: 'more'; value: number };

export const u8 = (name: string): Field => ({ k: 'u8', name });
export const u16 = (name: string): Field => ({ k: 'u16', name });
export const u32 = (name: string): Field => ({ k: 'u32', name });
export const zero = (bytes: number): Field => ({ k: 'zero', bytes });
export const sizeOf = (bytes: 1 | 2, of: string): Field => ({ k: 'sizeOf', bytes, of });
export const countOf = (bytes: 1 | 2, of: string): Field => ({ k: 'countOf', bytes, of });
export const sized = (name: string): Field => ({ k: 'sized', name });
export const fixed = (name: string, bytes: number): Field => ({ k: 'fixed', name, bytes });
export const rest = (name: string): Field => ({ k: 'rest', name });
// biome-ignore lint/suspicious/noExplicitAny: see Field's 'list' member
export const list = (name: string, item: Codec<any>, max: number): Field => ({ k: 'list', name, item, max });
export const selfLength: Field = { k: 'selfLength' };
export const more = (value: number): Field => ({ k: 'more', value });

/** Bytes of the fixed part before any variable field, i.e. the smallest valid structure. */
function fixedSize(fields: Field[]): number {
  let n = 0;
  for (const f of fields) {
    if (f.k === 'u8' || f.k === 'more') n += 1;
    else if (f.k === 'u16' || f.k === 'selfLength') n += 2;
    else if (f.k === 'u32') n += 4;
    else if (f.k === 'zero' || f.k === 'sizeOf' || f.k === 'countOf' || f.k === 'fixed') n += f.bytes;
  }
  return n;
}

/** What struct() works out once per structure instead of on every read. */
interface Layout {
  fields: Field[];
  what: string;
  /** Bytes of the fixed part (fixedSize). */
  min: number;
  /** Whether a sizeOf/countOf field needs its value remembered for a later field. */
  counted: boolean;
}

function readStruct(l: Layout, outer: Reader): Obj {
  const { fields, what } = l;
  const o: Obj = {};
  // only structures with SPI Size / Num Transforms style fields need these (most have none)
  const sizes: Record<string, number> | undefined = l.counted ? {} : undefined;
  const counts: Record<string, number> | undefined = l.counted ? {} : undefined;
  const start = outer.pos;
  let r = outer;
  for (const f of fields) {
    switch (f.k) {
      case 'u8':
        o[f.name] = r.u8(f.name);
        break;
      case 'u16':
        o[f.name] = r.u16(f.name);
        break;
      case 'u32':
        o[f.name] = r.u32(f.name);
        break;
      case 'zero':
        r.skip(f.bytes, 'RESERVED');
        break;
      case 'sizeOf':
        sizes![f.of] = f.bytes === 1 ? r.u8(`${f.of} size`) : r.u16(`${f.of} size`);
        break;
      case 'countOf':
        counts![f.of] = f.bytes === 1 ? r.u8(`${f.of} count`) : r.u16(`${f.of} count`);
        break;
      case 'sized':
        o[f.name] = r.bytes(sizes?.[f.name] ?? 0, f.name);
        break;
      case 'fixed':
        o[f.name] = r.bytes(f.bytes, f.name);
        break;
      case 'rest':
        o[f.name] = r.rest();
        break;
      case 'more': {
        const v = r.u8('last substructure');
        if (v !== 0 && v !== f.value) fail('BAD_SYNTAX', `${what}: last-substructure byte ${v}, expected 0 or ${f.value}`);
        break;
      }
      case 'selfLength': {
        const len = r.u16('length');
        if (len < l.min) fail('BAD_LENGTH', `${what}: length ${len} is below the minimum ${l.min}`);
        const consumed = r.pos - start;
        if (len - consumed > r.remaining) {
          fail('BAD_LENGTH', `${what}: length ${len} runs ${len - consumed - r.remaining} bytes past the end`);
        }
        // From here on, read only inside this structure; the outer reader moves past it.
        r = outer.sub(len - consumed, what);
        break;
      }
      case 'list': {
        const items: unknown[] = [];
        while (r.remaining > 0) {
          if (items.length >= f.max) fail('TOO_MANY', `${what}: more than ${f.max} ${f.name}`);
          items.push(f.item.read(r));
        }
        const want = counts?.[f.name];
        if (want !== undefined && want !== items.length) {
          fail('BAD_LENGTH', `${what}: header announces ${want} ${f.name}, found ${items.length}`);
        }
        o[f.name] = items;
        break;
      }
    }
  }
  // A structure with its own length must fill it exactly; others end where their fields end.
  if (r !== outer) r.expectEnd();
  return o;
}

function checkFits(v: number, max: number, what: string, field: string): number {
  if (!Number.isInteger(v) || v < 0 || v > max) fail('BAD_SYNTAX', `${what}: cannot encode ${field} = ${v}`);
  return v;
}

const NO_BYTES = Buffer.alloc(0);
const NO_ITEMS: readonly unknown[] = [];

function writeStruct(l: Layout, w: Writer, o: Obj, last: boolean): void {
  const { fields, what } = l;
  const start = w.pos;
  let lengthAt = -1;
  for (const f of fields) {
    switch (f.k) {
      case 'u8':
        w.u8(checkFits((o[f.name] as number | undefined) ?? 0, 0xff, what, f.name));
        break;
      case 'u16':
        w.u16(checkFits((o[f.name] as number | undefined) ?? 0, 0xffff, what, f.name));
        break;
      case 'u32':
        w.u32(checkFits((o[f.name] as number | undefined) ?? 0, 0xffffffff, what, f.name));
        break;
      case 'zero':
        w.zeros(f.bytes);
        break;
      case 'sizeOf': {
        const n = checkFits(((o[f.of] as Buffer | undefined) ?? NO_BYTES).length, f.bytes === 1 ? 0xff : 0xffff, what, `${f.of} size`);
        if (f.bytes === 1) w.u8(n);
        else w.u16(n);
        break;
      }
      case 'countOf': {
        const n = checkFits(((o[f.of] as unknown[] | undefined) ?? NO_ITEMS).length, f.bytes === 1 ? 0xff : 0xffff, what, `${f.of} count`);
        if (f.bytes === 1) w.u8(n);
        else w.u16(n);
        break;
      }
      case 'sized':
      case 'rest':
        w.bytes((o[f.name] as Buffer | undefined) ?? NO_BYTES);
        break;
      case 'fixed': {
        const b = (o[f.name] as Buffer | undefined) ?? NO_BYTES;
        if (b.length !== f.bytes) fail('BAD_LENGTH', `${what}: ${f.name} must be ${f.bytes} bytes, got ${b.length}`);
        w.bytes(b);
        break;
      }
      case 'more':
        w.u8(last ? 0 : f.value);
        break;
      case 'selfLength':
        lengthAt = w.pos;
        w.u16(0);
        break;
      case 'list': {
        const items = (o[f.name] as unknown[] | undefined) ?? NO_ITEMS;
        for (let i = 0; i < items.length; i++) f.item.write(w, items[i], i === items.length - 1);
        break;
      }
    }
  }
  if (lengthAt >= 0) w.patchU16(lengthAt, checkFits(w.pos - start, 0xffff, what, 'length'));
}

/** A codec for one structure described by `fields`. T is the decoded shape; the field names must match it. */
export function struct<T>(what: string, fields: Field[]): Codec<T> {
  const l: Layout = { fields, what, min: fixedSize(fields), counted: fields.some((f) => f.k === 'sizeOf' || f.k === 'countOf') };
  return {
    read: (r) => readStruct(l, r) as T,
    write: (w, v, last) => writeStruct(l, w, v as Obj, last),
  };
}

/** A codec whose wire form is `raw` (a struct) and whose decoded form is derived from it (and back). */
export function mapped<Raw, T>(raw: Codec<Raw>, from: (r: Raw) => T, to: (v: T) => Raw): Codec<T> {
  return {
    read: (r) => from(raw.read(r)),
    write: (w, v, last) => raw.write(w, to(v), last),
  };
}

/** Decode a whole payload body with a codec: the body must be consumed exactly. */
export function decodeBody<T>(codec: Codec<T>, body: Buffer, what: string): T {
  const r = Reader.of(body, what);
  const v = codec.read(r);
  r.expectEnd();
  return v;
}

export function encodeBody<T>(codec: Codec<T>, v: T): Buffer {
  const w = new Writer();
  codec.write(w, v, true);
  return w.finish();
}
