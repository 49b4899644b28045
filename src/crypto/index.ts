// Public surface of the crypto module. sealWithIv (sk.ts) is deliberately not re-exported: it is
// for known-answer tests only.
export { CryptoError, type CryptoErrorCode } from './errors.js';
export { systemRandom, type RandomSource } from './random.js';
export { dhSupported, dhPublicLength, generateDh, dhFromPrivate, type DhKeyPair } from './dh.js';
export { prfOutputLength, prfKeyLength, prf, prfPlus, prfSupported } from './prf.js';
export {
  deriveIkeKeys,
  deriveRekeyedIkeKeys,
  deriveChildKeys,
  encrKeyLength,
  integKeyLength,
  isAead,
  type IkeSuite,
  type IkeKeys,
  type ChildSuite,
  type ChildKeys,
} from './keys.js';
export { encrSupported } from './encr.js';
export { integSupported } from './integ.js';
export { supportsIkeEncr, supportsIkeInteg, supportsIkePrf, supportsDhGroup, ikeTransformSupported } from './supported.js';
export { createSkCipher, type SkCipher, type SkSuite } from './sk.js';
export { macedId, signedOctets, pskAuth, verifyPskAuth } from './auth.js';
export { natdHash } from './natd.js';
