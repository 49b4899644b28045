// Key exchange for the KE payload (RFC 7296 section 3.4): MODP (RFC 2409/3526), ECP (RFC 5903)
// and Curve25519/Curve448 (RFC 8031). All arithmetic is OpenSSL's via node:crypto.
import {
  createDiffieHellman,
  createECDH,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  type DiffieHellman,
  type KeyObject,
} from 'node:crypto';
import { DhGroup } from '../wire/constants.js';
import { CryptoError } from './errors.js';
import { MODP_PRIMES } from './modp-primes.js';

export interface DhKeyPair {
  group: number;
  publicKey: Buffer;
  computeSecret(peerPublic: Buffer): Buffer;
}

type GroupSpec =
  | { kind: 'modp'; prime: Buffer }
  | { kind: 'ecp'; curve: string; fieldBytes: number }
  | { kind: 'mont'; type: 'x25519' | 'x448'; keyBytes: number; spki: Buffer; pkcs8: Buffer };

const ECP: Record<number, { curve: string; fieldBytes: number }> = {
  [DhGroup.ECP_256]: { curve: 'prime256v1', fieldBytes: 32 },
  [DhGroup.ECP_384]: { curve: 'secp384r1', fieldBytes: 48 },
  [DhGroup.ECP_521]: { curve: 'secp521r1', fieldBytes: 66 },
};

// DER prefixes of SubjectPublicKeyInfo / PKCS#8 for the RFC 8410 OIDs 1.3.101.110 (X25519) and
// 1.3.101.111 (X448): the raw key follows them, which avoids a JWK/base64 round trip per exchange.
const MONT: Record<number, { type: 'x25519' | 'x448'; keyBytes: number; spki: string; pkcs8: string }> = {
  [DhGroup.CURVE_25519]: {
    type: 'x25519',
    keyBytes: 32,
    spki: '302a300506032b656e032100',
    pkcs8: '302e020100300506032b656e04220420',
  },
  [DhGroup.CURVE_448]: {
    type: 'x448',
    keyBytes: 56,
    spki: '3042300506032b656f033900',
    pkcs8: '3046020100300506032b656f043a0438',
  },
};

const specCache = new Map<number, GroupSpec>();

function spec(group: number): GroupSpec {
  const cached = specCache.get(group);
  if (cached) return cached;
  let s: GroupSpec | undefined;
  if (MODP_PRIMES[group] !== undefined) s = { kind: 'modp', prime: Buffer.from(MODP_PRIMES[group], 'hex') };
  else if (ECP[group]) s = { kind: 'ecp', ...ECP[group] };
  else if (MONT[group]) {
    const m = MONT[group];
    s = { kind: 'mont', type: m.type, keyBytes: m.keyBytes, spki: Buffer.from(m.spki, 'hex'), pkcs8: Buffer.from(m.pkcs8, 'hex') };
  }
  if (!s) throw new CryptoError('UNSUPPORTED', `unsupported Diffie-Hellman group ${group}`);
  specCache.set(group, s);
  return s;
}

export function dhSupported(group: number): boolean {
  return MODP_PRIMES[group] !== undefined || ECP[group] !== undefined || MONT[group] !== undefined;
}

/** Length of the KE payload's key exchange data (RFC 7296 3.4, RFC 5903 section 7, RFC 8031 section 2). */
export function dhPublicLength(group: number): number {
  const s = spec(group);
  if (s.kind === 'modp') return s.prime.length;
  if (s.kind === 'ecp') return 2 * s.fieldBytes;
  return s.keyBytes;
}

/** Big-endian left padding: RFC 7296 3.4 requires MODP values padded to the prime's length. */
function leftPad(b: Buffer, len: number): Buffer {
  if (b.length === len) return b;
  if (b.length > len) throw new CryptoError('BAD_LENGTH', `value of ${b.length} bytes exceeds ${len}`);
  return Buffer.concat([Buffer.alloc(len - b.length), b]);
}

function checkLength(group: number, peer: Buffer, expected: number): void {
  if (peer.length !== expected) {
    throw new CryptoError('INVALID_PUBLIC', `group ${group}: KE data of ${peer.length} bytes, expected ${expected}`);
  }
}

// OpenSSL knows the RFC 3526 primes as named groups and picks a short private exponent for
// them, so a fresh DiffieHellman object per exchange is cheap. The RFC 2409 primes (groups 1, 2)
// are unknown to it and each new object runs a full DH_check (~30 ms), so those groups share one
// object per group and load the pair's own exponent before each operation (synchronous, so no
// other pair can interleave).
const LEGACY_MODP = new Set<number>([DhGroup.MODP_768, DhGroup.MODP_1024]);
const legacyEngines = new Map<number, DiffieHellman>();

function legacyEngine(group: number, prime: Buffer): DiffieHellman {
  let dh = legacyEngines.get(group);
  if (!dh) {
    dh = createDiffieHellman(prime, 2);
    legacyEngines.set(group, dh);
  }
  return dh;
}

/** Private exponent for the legacy groups: one byte shorter than p so it is < p, never zero. */
function legacyPrivate(prime: Buffer): Buffer {
  for (;;) {
    const x = randomBytes(prime.length - 1);
    if (x.some((b) => b !== 0)) return x;
  }
}

function modpPair(group: number, prime: Buffer, priv?: Buffer): DhKeyPair {
  let dh: DiffieHellman;
  let x: Buffer | undefined = priv;
  if (LEGACY_MODP.has(group)) {
    dh = legacyEngine(group, prime);
    x ??= legacyPrivate(prime);
  } else {
    dh = createDiffieHellman(prime, 2);
  }
  if (x) dh.setPrivateKey(x);
  // generateKeys() keeps a private key that was set and derives g^x from it.
  const publicKey = leftPad(dh.generateKeys(), prime.length);
  const pMinus1 = Buffer.from(prime);
  pMinus1[pMinus1.length - 1]! -= 1; // the RFC primes end in 0xFF, so no borrow
  return {
    group,
    publicKey,
    computeSecret(peer: Buffer): Buffer {
      checkLength(group, peer, prime.length);
      // Reject 0, 1 and p-1 (and anything >= p): they confine the secret to a subgroup of order <= 2
      // (RFC 6989 section 2.1; NIST SP 800-56A 5.6.2.3.1 range check).
      let upper = 0;
      for (let i = 0; i < peer.length - 1; i++) upper |= peer[i]!;
      if ((upper === 0 && peer[peer.length - 1]! <= 1) || Buffer.compare(peer, pMinus1) >= 0) {
        throw new CryptoError('INVALID_PUBLIC', `group ${group}: public value out of range`);
      }
      if (x && LEGACY_MODP.has(group)) dh.setPrivateKey(x);
      return leftPad(dh.computeSecret(peer), prime.length);
    },
  };
}

function ecpPair(group: number, curve: string, fieldBytes: number, priv?: Buffer): DhKeyPair {
  const ecdh = createECDH(curve);
  if (priv) ecdh.setPrivateKey(priv);
  else ecdh.generateKeys();
  // RFC 5903 section 7: the KE data is x | y without the SEC1 0x04 prefix.
  const publicKey = ecdh.getPublicKey(null, 'uncompressed').subarray(1);
  return {
    group,
    publicKey,
    computeSecret(peer: Buffer): Buffer {
      checkLength(group, peer, 2 * fieldBytes);
      let secret: Buffer;
      try {
        // OpenSSL rejects points that are not on the curve (RFC 6989 section 2.3 check).
        secret = ecdh.computeSecret(Buffer.concat([Buffer.from([4]), peer]));
      } catch (e) {
        throw new CryptoError('INVALID_PUBLIC', `group ${group}: ${(e as Error).message}`);
      }
      // RFC 5903 section 9: the shared secret is the x coordinate only.
      return leftPad(secret, fieldBytes);
    },
  };
}

function montPair(group: number, s: Extract<GroupSpec, { kind: 'mont' }>, priv?: Buffer): DhKeyPair {
  let privateKey: KeyObject;
  let pub: KeyObject;
  if (priv) {
    if (priv.length !== s.keyBytes) throw new CryptoError('BAD_LENGTH', `${s.type} private key must be ${s.keyBytes} bytes`);
    privateKey = createPrivateKey({ key: Buffer.concat([s.pkcs8, priv]), format: 'der', type: 'pkcs8' });
    pub = createPublicKey(privateKey);
  } else {
    ({ privateKey, publicKey: pub } = s.type === 'x25519' ? generateKeyPairSync('x25519') : generateKeyPairSync('x448'));
  }
  const publicKey = pub.export({ format: 'der', type: 'spki' }).subarray(s.spki.length);
  return {
    group,
    publicKey,
    computeSecret(peer: Buffer): Buffer {
      checkLength(group, peer, s.keyBytes);
      let secret: Buffer;
      try {
        const peerKey = createPublicKey({ key: Buffer.concat([s.spki, peer]), format: 'der', type: 'spki' });
        secret = diffieHellman({ privateKey, publicKey: peerKey });
      } catch (e) {
        throw new CryptoError('INVALID_PUBLIC', `group ${group}: ${(e as Error).message}`);
      }
      // RFC 8031 section 2.3 / RFC 7748 section 6: an all-zero result means a small-order peer key.
      if (secret.every((b) => b === 0)) throw new CryptoError('INVALID_PUBLIC', `group ${group}: all-zero shared secret`);
      return secret;
    },
  };
}

function makePair(group: number, priv?: Buffer): DhKeyPair {
  const s = spec(group);
  if (s.kind === 'modp') return modpPair(group, s.prime, priv);
  if (s.kind === 'ecp') return ecpPair(group, s.curve, s.fieldBytes, priv);
  return montPair(group, s, priv);
}

/** Fresh ephemeral key pair; CryptoError('UNSUPPORTED') for a group we do not implement. */
export function generateDh(group: number): DhKeyPair {
  return makePair(group);
}

/** Key pair from a fixed private key (big-endian exponent / scalar, raw X25519/X448 key): for vector tests. */
export function dhFromPrivate(group: number, priv: Buffer): DhKeyPair {
  return makePair(group, priv);
}
