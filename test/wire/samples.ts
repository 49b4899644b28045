// One realistic sample of every payload type (RFC 7296 section 3), used by round-trip and names tests.

import {
  AuthMethod,
  CfgType,
  DhGroup,
  Encr,
  Esn,
  IdType,
  Integ,
  Notify,
  PayloadType as P,
  Prf,
  ProtocolId,
  TransformType as T,
  TsType,
} from '../../src/wire/constants.js';
import type { Payload, Proposal } from '../../src/wire/types.js';

const bytes = (n: number, seed = 1) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));
const ip = (s: string) => Buffer.from(s.split('.').map(Number));

export const ikeProposal: Proposal = {
  num: 1,
  protocol: ProtocolId.IKE,
  spi: Buffer.alloc(0),
  transforms: [
    { type: T.ENCR, id: Encr.AES_CBC, keyLength: 256 },
    { type: T.INTEG, id: Integ.HMAC_SHA2_256_128 },
    { type: T.PRF, id: Prf.HMAC_SHA2_256 },
    { type: T.DH, id: DhGroup.MODP_2048 },
  ],
};

export const espProposal: Proposal = {
  num: 1,
  protocol: ProtocolId.ESP,
  spi: Buffer.from('c1a2b3d4', 'hex'),
  transforms: [
    { type: T.ENCR, id: Encr.AES_GCM_16, keyLength: 128 },
    { type: T.DH, id: DhGroup.ECP_256 },
    { type: T.ESN, id: Esn.NO_EXT_SEQ },
  ],
};

export const samples: Record<string, Payload> = {
  SA: {
    type: P.SA,
    proposals: [
      ikeProposal,
      {
        ...ikeProposal,
        num: 2,
        transforms: [
          { type: T.ENCR, id: Encr.CHACHA20_POLY1305 },
          { type: T.PRF, id: Prf.HMAC_SHA2_256 },
          { type: T.DH, id: DhGroup.CURVE_25519 },
        ],
      },
    ],
  },
  SA_ESP: { type: P.SA, proposals: [espProposal] },
  SA_ATTRS: {
    type: P.SA,
    proposals: [
      {
        num: 1,
        protocol: ProtocolId.IKE,
        spi: bytes(8),
        transforms: [
          {
            type: T.ENCR,
            id: Encr.AES_CBC,
            keyLength: 128,
            otherAttributes: [
              { type: 99, value: bytes(3) },
              { type: 17, value: 5 },
            ],
          },
          { type: 9, id: 77 },
        ],
      },
    ],
  },
  KE: { type: P.KE, group: DhGroup.ECP_256, data: bytes(64) },
  IDi: { type: P.IDi, idType: IdType.ID_IPV4_ADDR, data: ip('10.98.0.2') },
  IDr: { type: P.IDr, idType: IdType.ID_FQDN, data: Buffer.from('vpn.example.org') },
  CERT: { type: P.CERT, encoding: 4, data: bytes(300) },
  CERTREQ: { type: P.CERTREQ, encoding: 4, data: bytes(40) },
  AUTH: { type: P.AUTH, method: AuthMethod.SHARED_KEY_MIC, data: bytes(32) },
  No: { type: P.NONCE, data: bytes(32) },
  N: { type: P.NOTIFY, protocol: 0, spi: Buffer.alloc(0), notifyType: Notify.NAT_DETECTION_SOURCE_IP, data: bytes(20) },
  N_SPI: {
    type: P.NOTIFY,
    protocol: ProtocolId.ESP,
    spi: Buffer.from('deadbeef', 'hex'),
    notifyType: Notify.REKEY_SA,
    data: Buffer.alloc(0),
  },
  D_IKE: { type: P.DELETE, protocol: ProtocolId.IKE, spiSize: 0, spis: [] },
  D: { type: P.DELETE, protocol: ProtocolId.ESP, spiSize: 4, spis: [Buffer.from('01020304', 'hex'), Buffer.from('a0b0c0d0', 'hex')] },
  V: { type: P.VENDOR, data: Buffer.from('882fe56d6fd20dbc2251613b2ebe5beb', 'hex') },
  TSi: {
    type: P.TSi,
    selectors: [
      {
        tsType: TsType.TS_IPV4_ADDR_RANGE,
        ipProtocol: 0,
        startPort: 0,
        endPort: 65535,
        startAddr: ip('10.12.0.0'),
        endAddr: ip('10.12.0.255'),
      },
      { tsType: TsType.TS_IPV6_ADDR_RANGE, ipProtocol: 17, startPort: 500, endPort: 500, startAddr: bytes(16), endAddr: bytes(16, 9) },
    ],
  },
  TSr: {
    type: P.TSr,
    selectors: [
      {
        tsType: TsType.TS_IPV4_ADDR_RANGE,
        ipProtocol: 6,
        startPort: 65535,
        endPort: 0,
        startAddr: ip('10.11.0.0'),
        endAddr: ip('10.11.0.255'),
      },
      {
        tsType: 10,
        ipProtocol: 0,
        startPort: 0,
        endPort: 0,
        startAddr: Buffer.alloc(0),
        endAddr: Buffer.alloc(0),
        raw: Buffer.from('system_u:object_r'),
      },
    ],
  },
  SK: { type: P.SK, innerNext: P.IDi, body: bytes(96) },
  CP: {
    type: P.CP,
    cfgType: CfgType.CFG_REQUEST,
    attributes: [
      { type: 1, value: Buffer.alloc(0) },
      { type: 3, value: Buffer.alloc(0) },
    ],
  },
  EAP: { type: P.EAP, data: Buffer.from('0201000a01616c696365', 'hex') },
  SKF: { type: P.SKF, innerNext: P.IDi, fragmentNumber: 1, totalFragments: 2, body: bytes(50) },
  UNKNOWN: { type: 99, unknown: true, body: bytes(7) },
};
