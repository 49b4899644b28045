// Algorithm and proposal names exactly as charon 5.9.8 prints them, e.g.
// "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048" and "ESP:AES_GCM_16_128/NO_EXT_SEQ".
// Numbers are the IANA transform IDs (RFC 7296 3.3.2); charon-private values (>= 1024) are included because a
// peer can send them and charon would name them.

import { TransformType } from './constants.js';
import { unnamed } from './notify-names.js';
import type { Proposal, Transform } from './types.js';

type Run = [number, ...string[]];

function table(runs: Run[]): Map<number, string> {
  const m = new Map<number, string>();
  for (const [first, ...names] of runs) names.forEach((n, i) => m.set(first + i, n));
  return m;
}

const encr = table([
  [1, 'DES_IV64', 'DES_CBC', '3DES_CBC', 'RC5_CBC', 'IDEA_CBC', 'CAST_CBC', 'BLOWFISH_CBC', '3IDEA', 'DES_IV32'],
  [11, 'NULL', 'AES_CBC', 'AES_CTR', 'AES_CCM_8', 'AES_CCM_12', 'AES_CCM_16'],
  [18, 'AES_GCM_8', 'AES_GCM_12', 'AES_GCM_16', 'NULL_AES_GMAC'],
  [23, 'CAMELLIA_CBC', 'CAMELLIA_CTR', 'CAMELLIA_CCM_8', 'CAMELLIA_CCM_12', 'CAMELLIA_CCM_16', 'CHACHA20_POLY1305'],
  [1024, 'UNDEFINED', 'DES_ECB', 'SERPENT_CBC', 'TWOFISH_CBC', 'RC2_CBC', 'AES_ECB', 'AES_CFB'],
]);

const integ = table([
  [
    1,
    'HMAC_MD5_96',
    'HMAC_SHA1_96',
    'DES_MAC',
    'KPDK_MD5',
    'AES_XCBC_96',
    'HMAC_MD5_128',
    'HMAC_SHA1_160',
    'AES_CMAC_96',
    'AES_128_GMAC',
    'AES_192_GMAC',
    'AES_256_GMAC',
    'HMAC_SHA2_256_128',
    'HMAC_SHA2_384_192',
    'HMAC_SHA2_512_256',
  ],
  [
    1024,
    'UNDEFINED',
    'HMAC_SHA1_128',
    'HMAC_SHA2_256_96',
    'HMAC_SHA2_256_256',
    'HMAC_SHA2_384_384',
    'HMAC_SHA2_512_512',
    'CAMELLIA_XCBC_96',
  ],
]);

const prf = table([
  [
    1,
    'PRF_HMAC_MD5',
    'PRF_HMAC_SHA1',
    'PRF_HMAC_TIGER',
    'PRF_AES128_XCBC',
    'PRF_HMAC_SHA2_256',
    'PRF_HMAC_SHA2_384',
    'PRF_HMAC_SHA2_512',
    'PRF_AES128_CMAC',
  ],
  [1024, 'PRF_UNDEFINED', 'PRF_FIPS_SHA1_160', 'PRF_FIPS_DES', 'PRF_KEYED_SHA1', 'PRF_CAMELLIA128_XCBC'],
]);

const dh = table([
  [0, 'KE_NONE', 'MODP_768', 'MODP_1024'],
  [5, 'MODP_1536'],
  [
    14,
    'MODP_2048',
    'MODP_3072',
    'MODP_4096',
    'MODP_6144',
    'MODP_8192',
    'ECP_256',
    'ECP_384',
    'ECP_521',
    'MODP_1024_160',
    'MODP_2048_224',
    'MODP_2048_256',
    'ECP_192',
    'ECP_224',
    'ECP_224_BP',
    'ECP_256_BP',
    'ECP_384_BP',
    'ECP_512_BP',
    'CURVE_25519',
    'CURVE_448',
  ],
  [1024, 'MODP_NULL'],
  [1030, 'NTRU_112', 'NTRU_128', 'NTRU_192', 'NTRU_256'],
  [1040, 'NEWHOPE_128'],
]);

const esn = table([[0, 'NO_EXT_SEQ', 'EXT_SEQ']]);

const byType = new Map<number, Map<number, string>>([
  [TransformType.ENCR, encr],
  [TransformType.PRF, prf],
  [TransformType.INTEG, integ],
  [TransformType.DH, dh],
  [TransformType.ESN, esn],
]);

const protocols = table([[0, 'PROTO_NONE', 'IKE', 'AH', 'ESP', 'IPCOMP']]);

/** "AES_CBC_256", "HMAC_SHA2_256_128", "PRF_HMAC_SHA2_256", "MODP_2048", "NO_EXT_SEQ"; key length appended as "_N". */
export function transformName(t: Transform): string {
  const names = byType.get(t.type);
  const base = names ? (names.get(t.id) ?? unnamed(t.id)) : `UNKNOWN_${t.type}_${t.id}`;
  return t.keyLength ? `${base}_${t.keyLength}` : base;
}

/** charon prints transform types in this order (it swaps PRF and INTEG for historical reasons), others after. */
const sortKey = (type: number): number =>
  type === TransformType.PRF ? TransformType.INTEG : type === TransformType.INTEG ? TransformType.PRF : type;

/**
 * "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048": protocol, then ENCR, INTEG, PRF, DH, ESN,
 * each type's transforms in wire order. The SPI is not printed (charon does not). The proposal is printed as
 * given: charon's own normalisation of received proposals (adding NO_EXT_SEQ to ESP, dropping INTEG from AEAD
 * proposals and KE_NONE from IKE ones) is the proposal selector's business, not the printer's.
 */
export function proposalToString(p: Proposal): string {
  const types = [...new Set(p.transforms.map((t) => t.type))].sort((a, b) => sortKey(a) - sortKey(b));
  const algs = types.flatMap((type) => p.transforms.filter((t) => t.type === type).map(transformName));
  return `${protocols.get(p.protocol) ?? unnamed(p.protocol)}:${algs.join('/')}`;
}

/** Several proposals as in "received proposals: A, B". */
export const proposalsToString = (ps: Proposal[]): string => ps.map(proposalToString).join(', ');
