// Bytes that live as long as an SA (SPIs, keys, traffic selector addresses, the cached last response) are copied
// into slabs that hold nothing else. Node's Buffer.from / Buffer.concat / Buffer.allocUnsafe hand out slices of
// one shared 8 KiB pool, so a single long-lived slice keeps the whole slab alive together with every short-lived
// buffer that was cut from it: at 2,000 IKE_SAs that was 1,821 slabs, about 7 KiB per IKE_SA (issue 16, heap
// snapshot). A buffer of its own for each small value would cost an ArrayBuffer and a backing store each instead.
// Here the slabs fill with long-lived bytes only; one goes when everything in it has gone.

const SLAB_SIZE = 8192;
/** Larger values get memory of their own: a long message must not hold a slab, nor a slab a long message. */
const MAX_SHARED = 1024;

let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
let used = 0;

/** A copy of `b` for keeping: in a slab of long-lived bytes (small), or in memory of its own (large). */
export function keep(b: Uint8Array): Buffer {
  const n = b.length;
  if (n > MAX_SHARED) {
    const own = Buffer.allocUnsafeSlow(n);
    own.set(b);
    return own;
  }
  if (used + n > SLAB_SIZE) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    used = 0;
  }
  const out = slab.subarray(used, used + n);
  out.set(b);
  // 8-byte steps keep the slots aligned for the reads of keys and SPIs
  used += (n + 7) & ~7;
  return out;
}
