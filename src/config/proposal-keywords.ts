// strongSwan's proposal keywords (libstrongswan/crypto/proposal/proposal_keywords_static.txt, 5.9.x) for the
// algorithms ikelab knows, plus the names charon prints for each algorithm (the enum names in its logs).

import { DhGroup, Encr, Esn, Integ, Prf, TransformType as T } from '../wire/constants.js';

export interface Keyword {
  type: number;
  id: number;
  /** Key length in bits for the Key Length attribute; 0 = none (3DES, ChaCha20-Poly1305, all non-ENCR). */
  keyLength: number;
}

const k = (type: number, id: number, keyLength = 0): Keyword => ({ type, id, keyLength });

const table: Record<string, Keyword> = {
  null: k(T.ENCR, Encr.NULL),
  des: k(T.ENCR, Encr.DES),
  '3des': k(T.ENCR, Encr['3DES']),
  aes: k(T.ENCR, Encr.AES_CBC, 128),
  chacha20poly1305: k(T.ENCR, Encr.CHACHA20_POLY1305),

  sha: k(T.INTEG, Integ.HMAC_SHA1_96),
  sha1: k(T.INTEG, Integ.HMAC_SHA1_96),
  sha256: k(T.INTEG, Integ.HMAC_SHA2_256_128),
  sha2_256: k(T.INTEG, Integ.HMAC_SHA2_256_128),
  sha384: k(T.INTEG, Integ.HMAC_SHA2_384_192),
  sha2_384: k(T.INTEG, Integ.HMAC_SHA2_384_192),
  sha512: k(T.INTEG, Integ.HMAC_SHA2_512_256),
  sha2_512: k(T.INTEG, Integ.HMAC_SHA2_512_256),
  md5: k(T.INTEG, Integ.HMAC_MD5_96),
  aesxcbc: k(T.INTEG, Integ.AES_XCBC_96),

  prfsha1: k(T.PRF, Prf.HMAC_SHA1),
  prfsha256: k(T.PRF, Prf.HMAC_SHA2_256),
  prfsha384: k(T.PRF, Prf.HMAC_SHA2_384),
  prfsha512: k(T.PRF, Prf.HMAC_SHA2_512),
  prfmd5: k(T.PRF, Prf.HMAC_MD5),
  prfaesxcbc: k(T.PRF, Prf.AES128_XCBC),
  prfaescmac: k(T.PRF, Prf.AES128_CMAC),

  none: k(T.DH, DhGroup.NONE),
  modpnone: k(T.DH, DhGroup.NONE),
  modp768: k(T.DH, DhGroup.MODP_768),
  modp1024: k(T.DH, DhGroup.MODP_1024),
  modp1536: k(T.DH, DhGroup.MODP_1536),
  modp2048: k(T.DH, DhGroup.MODP_2048),
  modp3072: k(T.DH, DhGroup.MODP_3072),
  modp4096: k(T.DH, DhGroup.MODP_4096),
  modp6144: k(T.DH, DhGroup.MODP_6144),
  modp8192: k(T.DH, DhGroup.MODP_8192),
  ecp256: k(T.DH, DhGroup.ECP_256),
  ecp384: k(T.DH, DhGroup.ECP_384),
  ecp521: k(T.DH, DhGroup.ECP_521),
  curve25519: k(T.DH, DhGroup.CURVE_25519),
  x25519: k(T.DH, DhGroup.CURVE_25519),
  curve448: k(T.DH, DhGroup.CURVE_448),
  x448: k(T.DH, DhGroup.CURVE_448),

  noesn: k(T.ESN, Esn.NO_EXT_SEQ),
  esn: k(T.ESN, Esn.EXT_SEQ),
};

/** Second spellings of a transform that has a keyword already; the first keyword is the one messages use. */
const aliases = new Set<string>(['aes', 'sha', 'sha2_256', 'sha2_384', 'sha2_512', 'modpnone', 'x25519', 'x448']);

// AES in every size and mode: aes128, aes192ctr, aes256gcm16 (= gcm128), aes128ccm8 (= ccm64), aes256gcm (= gcm16)
for (const bits of [128, 192, 256]) {
  table[`aes${bits}`] = k(T.ENCR, Encr.AES_CBC, bits);
  table[`aes${bits}ctr`] = k(T.ENCR, Encr.AES_CTR, bits);
  for (const [mode, icv] of [
    ['gcm', { 8: Encr.AES_GCM_8, 12: Encr.AES_GCM_12, 16: Encr.AES_GCM_16 }],
    ['ccm', { 8: Encr.AES_CCM_8, 12: Encr.AES_CCM_12, 16: Encr.AES_CCM_16 }],
  ] as const) {
    for (const [bytes, id] of Object.entries(icv)) {
      table[`aes${bits}${mode}${bytes}`] = k(T.ENCR, id, bits);
      table[`aes${bits}${mode}${Number(bytes) * 8}`] = k(T.ENCR, id, bits);
      aliases.add(`aes${bits}${mode}${Number(bytes) * 8}`);
    }
    table[`aes${bits}${mode}`] = k(T.ENCR, icv[16], bits);
    aliases.add(`aes${bits}${mode}`);
  }
}

/**
 * The transform for a strongSwan keyword (case-sensitive, as charon's lookup), if ikelab knows it. Knowing is not
 * running: AES-CTR, AES-CCM, NULL, DES parse, and proposal-support.ts refuses them.
 */
export function lookupKeyword(word: string): Keyword | undefined {
  return Object.hasOwn(table, word) ? table[word] : undefined;
}

/** One keyword per transform of this type (no aliases), in table order: aes128 not aes, sha256 not sha2_256. */
export function canonicalKeywords(type: number): { word: string; keyword: Keyword }[] {
  return Object.entries(table)
    .filter(([word, kw]) => kw.type === type && !aliases.has(word))
    .map(([word, keyword]) => ({ word, keyword }));
}

/** Keywords strongSwan 5.9 knows but ikelab does not implement: named in errors instead of "unknown". */
const STRONGSWAN_ONLY = new RegExp(
  '^(' +
    [
      'aes(128|192|256)gmac',
      'chacha20poly1305compat',
      'blowfish(128|192|256)?',
      'camellia\\w*',
      'cast128',
      'serpent(128|192|256)?',
      'twofish(128|192|256)?',
      'sha1_160',
      'sha2?_?256_96',
      'md5_128',
      'camelliaxcbc',
      'aescmac',
      'prfcamelliaxcbc',
      'modpnull',
      'ecp192',
      'ecp224',
      'modp1024s160',
      'modp2048s2(24|56)',
      'ecp(224|256|384|512)bp',
      'ntru(112|128|192|256)',
      'newhope128',
    ].join('|') +
    ')$',
);

export function isStrongSwanOnlyKeyword(word: string): boolean {
  return STRONGSWAN_ONLY.test(word);
}

const ENCR_NAMES: Record<number, string> = {
  [Encr.DES_IV64]: 'DES_IV64',
  [Encr.DES]: 'DES_CBC',
  [Encr['3DES']]: '3DES_CBC',
  [Encr.NULL]: 'NULL',
  [Encr.AES_CBC]: 'AES_CBC',
  [Encr.AES_CTR]: 'AES_CTR',
  [Encr.AES_CCM_8]: 'AES_CCM_8',
  [Encr.AES_CCM_12]: 'AES_CCM_12',
  [Encr.AES_CCM_16]: 'AES_CCM_16',
  [Encr.AES_GCM_8]: 'AES_GCM_8',
  [Encr.AES_GCM_12]: 'AES_GCM_12',
  [Encr.AES_GCM_16]: 'AES_GCM_16',
  [Encr.CHACHA20_POLY1305]: 'CHACHA20_POLY1305',
};
const INTEG_NAMES: Record<number, string> = {
  [Integ.NONE]: 'UNDEFINED',
  [Integ.HMAC_MD5_96]: 'HMAC_MD5_96',
  [Integ.HMAC_SHA1_96]: 'HMAC_SHA1_96',
  [Integ.AES_XCBC_96]: 'AES_XCBC_96',
  [Integ.HMAC_SHA2_256_128]: 'HMAC_SHA2_256_128',
  [Integ.HMAC_SHA2_384_192]: 'HMAC_SHA2_384_192',
  [Integ.HMAC_SHA2_512_256]: 'HMAC_SHA2_512_256',
};
const PRF_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Prf).map(([n, v]) => [v, `PRF_${n}`]));
const DH_NAMES: Record<number, string> = Object.fromEntries(Object.entries(DhGroup).map(([n, v]) => [v, v === 0 ? 'KE_NONE' : n]));
const ESN_NAMES: Record<number, string> = { [Esn.NO_EXT_SEQ]: 'NO_EXT_SEQ', [Esn.EXT_SEQ]: 'EXT_SEQ' };

const NAMES: Record<number, Record<number, string>> = {
  [T.ENCR]: ENCR_NAMES,
  [T.INTEG]: INTEG_NAMES,
  [T.PRF]: PRF_NAMES,
  [T.DH]: DH_NAMES,
  [T.ESN]: ESN_NAMES,
};

/** charon's name for one transform: `AES_CBC_256`, `HMAC_SHA2_256_128`, `PRF_HMAC_SHA2_256`, `MODP_2048`. */
export function transformName(type: number, id: number, keyLength?: number): string {
  const name = NAMES[type]?.[id] ?? `UNKNOWN_${type}_${id}`;
  return keyLength ? `${name}_${keyLength}` : name;
}
