// The proposals strongSwan 5.9 (libstrongswan/crypto/proposal/proposal.c) builds for the keyword `default`.
//
// ESP is a fixed list in proposal_create_default()/_aead(). For IKE, charon adds every algorithm its loaded
// plugins provide, in rounds ("at least 128-bit strength" first, then weaker), in the order the plugins registered
// them. The lists below apply those rounds to the algorithms ikelab has numbers for (src/wire/constants.ts),
// ordered as a stock Debian charon 5.9 with the openssl plugin registers them; Camellia, Brainpool curves and
// AES-CMAC-96 integrity, which ikelab does not implement, are left out.

import { DhGroup, Encr, Esn, Integ, Prf, TransformType as T } from '../wire/constants.js';
import type { Transform } from '../wire/types.js';

const enc = (id: number, ...sizes: number[]): Transform[] =>
  sizes.length ? sizes.map((keyLength) => ({ type: T.ENCR, id, keyLength })) : [{ type: T.ENCR, id }];
const all = (type: number, ids: number[]): Transform[] => ids.map((id) => ({ type, id }));
const AES = [128, 192, 256];

const IKE_INTEG = all(T.INTEG, [
  Integ.HMAC_SHA2_256_128,
  Integ.HMAC_SHA2_384_192,
  Integ.HMAC_SHA2_512_256,
  Integ.HMAC_SHA1_96,
  Integ.AES_XCBC_96,
]);
const IKE_PRF = all(T.PRF, [Prf.HMAC_SHA2_256, Prf.HMAC_SHA2_384, Prf.HMAC_SHA2_512, Prf.AES128_XCBC, Prf.AES128_CMAC, Prf.HMAC_SHA1]);
const IKE_DH = all(T.DH, [
  DhGroup.ECP_256,
  DhGroup.ECP_384,
  DhGroup.ECP_521,
  DhGroup.CURVE_25519,
  DhGroup.CURVE_448,
  DhGroup.MODP_3072,
  DhGroup.MODP_4096,
  DhGroup.MODP_6144,
  DhGroup.MODP_8192,
  DhGroup.MODP_2048,
]);

/** proposal_create_default(PROTO_IKE) */
export const DEFAULT_IKE: Transform[] = [
  ...enc(Encr.AES_CBC, ...AES),
  ...enc(Encr.AES_CTR, ...AES),
  ...enc(Encr['3DES']),
  ...IKE_INTEG,
  ...IKE_PRF,
  ...IKE_DH,
];

/** proposal_create_default_aead(PROTO_IKE) */
export const DEFAULT_IKE_AEAD: Transform[] = [
  ...enc(Encr.AES_GCM_16, ...AES),
  ...enc(Encr.AES_CCM_16, ...AES),
  ...enc(Encr.CHACHA20_POLY1305),
  ...enc(Encr.AES_GCM_12, ...AES),
  ...enc(Encr.AES_GCM_8, ...AES),
  ...enc(Encr.AES_CCM_12, ...AES),
  ...enc(Encr.AES_CCM_8, ...AES),
  ...IKE_PRF,
  ...IKE_DH,
];

/** proposal_create_default(PROTO_ESP) */
export const DEFAULT_ESP: Transform[] = [
  ...enc(Encr.AES_CBC, ...AES),
  ...all(T.INTEG, [Integ.HMAC_SHA2_256_128, Integ.HMAC_SHA2_384_192, Integ.HMAC_SHA2_512_256, Integ.HMAC_SHA1_96, Integ.AES_XCBC_96]),
  { type: T.ESN, id: Esn.NO_EXT_SEQ },
];

/** proposal_create_default_aead(PROTO_ESP) */
export const DEFAULT_ESP_AEAD: Transform[] = [...enc(Encr.AES_GCM_16, ...AES), { type: T.ESN, id: Esn.NO_EXT_SEQ }];
