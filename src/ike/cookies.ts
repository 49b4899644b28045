// Stateless COOKIEs (RFC 7296 2.6): while many IKE_SAs are half-open, an IKE_SA_INIT request is answered with
// N(COOKIE) only, and state (an IKE_SA, DH work) is spent only on a request that returns a cookie we made for
// its (Ni, IPi, SPIi). Nothing is kept per request: the cookie is recomputed from the request and a secret.
//
//   Cookie = <VersionIDofSecret> | HMAC-SHA256(secret, VersionIDofSecret | SPIi | len(IPi) | IPi | Ni)
//
// RFC 7296 2.6 suggests Hash(Ni | IPi | SPIi | <secret>); the HMAC keyed with the secret is that hash done
// properly, and the fixed-length fields first plus the address length keep the concatenation unambiguous (Ni has
// a variable length, IPi is 4 or 16 bytes: without the length an IPv4 cookie could be replayed from an IPv6
// address). The secret rotates every ROTATE_MS (on the injected clock, lazily: no timer); a cookie made with the
// previous secret is still accepted, so a cookie stays valid for at least ROTATE_MS (at most 3 * ROTATE_MS).
// charon's cookies live 10 s (COOKIE_LIFETIME in receiver.c), so 10 s here too. Secrets come from the injected
// RandomSource, created on first use (a daemon that never sends a cookie draws no random bytes for them).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseIp } from '../config/ip.js';
import type { RandomSource } from '../crypto/random.js';

/** How long one secret is used for new cookies (charon's COOKIE_LIFETIME is 10 s). */
export const COOKIE_ROTATE_MS = 10_000;
export const COOKIE_SECRET_BYTES = 32;
/** 1 version byte + HMAC-SHA256 (RFC 7296 3.10.1: a cookie is 1..64 octets). */
export const COOKIE_BYTES = 1 + 32;

interface Secret {
  version: number;
  key: Buffer;
}

export class CookieSecrets {
  private current?: Secret;
  private previous?: Secret;
  private since = 0;
  private generation = 0xff;

  constructor(
    private readonly random: RandomSource,
    private readonly now: () => number,
    readonly rotateMs = COOKIE_ROTATE_MS,
  ) {}

  /** The cookie for this request (the current secret; rotates first when it is due). */
  make(ni: Buffer, ip: string, spiI: Buffer): Buffer {
    const s = this.tick(true)!;
    return Buffer.concat([Buffer.from([s.version]), this.mac(s, ni, ip, spiI)]);
  }

  /** True when `cookie` is one we made for (ni, ip, spiI) with the current or the previous secret. */
  verify(cookie: Buffer, ni: Buffer, ip: string, spiI: Buffer): boolean {
    this.tick(false);
    if (cookie.length !== COOKIE_BYTES) return false;
    const s = [this.current, this.previous].find((x) => x !== undefined && x.version === cookie[0]);
    if (!s) return false;
    return timingSafeEqual(this.mac(s, ni, ip, spiI), cookie.subarray(1));
  }

  /** Start using a new secret now; the current one becomes the previous one (still accepted). */
  rotate(): void {
    this.generation = (this.generation + 1) & 0xff;
    this.previous = this.current;
    this.current = { version: this.generation, key: this.random.bytes(COOKIE_SECRET_BYTES) };
    this.since = this.now();
  }

  /**
   * Rotate when the current secret is one period old; drop both when it is two periods old (nobody asked for a
   * cookie meanwhile). So a cookie is accepted for at least one period after it was made.
   */
  private tick(create: boolean): Secret | undefined {
    if (this.current) {
      const periods = Math.floor((this.now() - this.since) / this.rotateMs);
      if (periods >= 2) this.current = this.previous = undefined;
      else if (periods === 1) this.rotate();
    }
    if (!this.current && create) this.rotate();
    return this.current;
  }

  private mac(s: Secret, ni: Buffer, ip: string, spiI: Buffer): Buffer {
    const addr = parseIp(ip) ?? Buffer.from(ip, 'utf8');
    return createHmac('sha256', s.key)
      .update(Buffer.from([s.version]))
      .update(spiI)
      .update(Buffer.from([addr.length]))
      .update(addr)
      .update(ni)
      .digest();
  }
}

/** charon's COOKIE_CALMDOWN_DELAY: cookies stay on until the threshold was not reached for this long. */
export const COOKIE_CALMDOWN_MS = 10_000;
/** charon's COOKIE_CALMDOWN_BUCKETS: per-IP calm-down state in hashed segments, bounded memory. */
export const COOKIE_CALMDOWN_BUCKETS = 32;

/**
 * When cookies are required, as charon's receiver decides it: globally when `threshold` half-open IKE_SAs exist,
 * for a source address when it has `thresholdIp` of them (0 = that check is off); and in both cases for
 * COOKIE_CALMDOWN_MS after the threshold was last reached, so a legitimate initiator's retransmits are not
 * answered once with and once without a cookie while an attack comes and goes. The per-IP calm-down is kept in
 * COOKIE_CALMDOWN_BUCKETS hashed buckets (an attacked bucket does not affect the others).
 */
export class CookiePolicy {
  private lastGlobal = -Infinity;
  private readonly lastIp: number[] = new Array<number>(COOKIE_CALMDOWN_BUCKETS).fill(-Infinity);

  required(now: number, threshold: number, halfOpen: number, thresholdIp: number, halfOpenIp: number, ip: string): boolean {
    if (threshold > 0) {
      if (halfOpen >= threshold) {
        this.lastGlobal = now;
        return true;
      }
      if (now < this.lastGlobal + COOKIE_CALMDOWN_MS) return true;
    }
    if (thresholdIp > 0) {
      const b = bucketOf(ip);
      if (halfOpenIp >= thresholdIp) {
        this.lastIp[b] = now;
        return true;
      }
      if (now < this.lastIp[b]! + COOKIE_CALMDOWN_MS) return true; // b < COOKIE_CALMDOWN_BUCKETS
    }
    return false;
  }
}

/** FNV-1a of the address text, reduced to a calm-down bucket. */
function bucketOf(ip: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < ip.length; i++) h = Math.imul(h ^ ip.charCodeAt(i), 0x01000193);
  return (h >>> 0) % COOKIE_CALMDOWN_BUCKETS;
}
