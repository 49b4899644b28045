import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { DhGroup, Encr, Esn, Integ, Prf, ProtocolId, TransformType as T } from '../../src/wire/constants.js';
import { formatProposal, formatProposals, parseProposal, parseProposals } from '../../src/config/proposals.js';
import { ValueError } from '../../src/config/errors.js';
import { FIXTURES_DIR as REF } from '../helpers/fixtures.js';

const fmt = (text: string, proto: 'ike' | 'esp') => formatProposal(parseProposal(text, proto));

describe('parseProposal: exact transforms', () => {
  test('IKE aes256-sha256-modp2048: PRF derived from the integrity algorithm', () => {
    expect(parseProposal('aes256-sha256-modp2048', 'ike')).toEqual({
      num: 1,
      protocol: ProtocolId.IKE,
      spi: Buffer.alloc(0),
      transforms: [
        { type: T.ENCR, id: Encr.AES_CBC, keyLength: 256 },
        { type: T.INTEG, id: Integ.HMAC_SHA2_256_128 },
        { type: T.PRF, id: Prf.HMAC_SHA2_256 },
        { type: T.DH, id: DhGroup.MODP_2048 },
      ],
    });
  });

  test('IKE aes128gcm16-prfsha256-ecp256: AEAD, no integrity', () => {
    expect(parseProposal('aes128gcm16-prfsha256-ecp256', 'ike').transforms).toEqual([
      { type: T.ENCR, id: Encr.AES_GCM_16, keyLength: 128 },
      { type: T.PRF, id: Prf.HMAC_SHA2_256 },
      { type: T.DH, id: DhGroup.ECP_256 },
    ]);
  });

  test('chacha20poly1305 has no key length attribute', () => {
    expect(parseProposal('chacha20poly1305-prfsha256-curve25519', 'ike').transforms).toEqual([
      { type: T.ENCR, id: Encr.CHACHA20_POLY1305 },
      { type: T.PRF, id: Prf.HMAC_SHA2_256 },
      { type: T.DH, id: DhGroup.CURVE_25519 },
    ]);
  });

  test('3des has no key length, sha1 = HMAC_SHA1_96 -> PRF_HMAC_SHA1', () => {
    expect(parseProposal('3des-sha1-modp1024', 'ike').transforms).toEqual([
      { type: T.ENCR, id: Encr['3DES'] },
      { type: T.INTEG, id: Integ.HMAC_SHA1_96 },
      { type: T.PRF, id: Prf.HMAC_SHA1 },
      { type: T.DH, id: DhGroup.MODP_1024 },
    ]);
  });

  test('ESP aes256gcm16: no integrity, NO_EXT_SEQ added, no DH = no PFS', () => {
    expect(parseProposal('aes256gcm16', 'esp')).toEqual({
      num: 1,
      protocol: ProtocolId.ESP,
      spi: Buffer.alloc(0),
      transforms: [
        { type: T.ENCR, id: Encr.AES_GCM_16, keyLength: 256 },
        { type: T.ESN, id: Esn.NO_EXT_SEQ },
      ],
    });
  });

  test('ESP aes128-sha1', () => {
    expect(parseProposal('aes128-sha1', 'esp').transforms).toEqual([
      { type: T.ENCR, id: Encr.AES_CBC, keyLength: 128 },
      { type: T.INTEG, id: Integ.HMAC_SHA1_96 },
      { type: T.ESN, id: Esn.NO_EXT_SEQ },
    ]);
  });

  test('several groups in one proposal keep their order', () => {
    expect(parseProposal('aes256-sha256-modp3072-ecp384', 'ike').transforms.filter((t) => t.type === T.DH)).toEqual([
      { type: T.DH, id: DhGroup.MODP_3072 },
      { type: T.DH, id: DhGroup.ECP_384 },
    ]);
    expect(fmt('aes256-sha256-modp3072-ecp384', 'esp')).toBe('ESP:AES_CBC_256/HMAC_SHA2_256_128/MODP_3072/ECP_384/NO_EXT_SEQ');
  });
});

describe('parseProposal: charon-formatted results', () => {
  const cases: [string, 'ike' | 'esp', string][] = [
    ['aes256-sha256-modp2048', 'ike', 'IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048'],
    ['aes128gcm16-prfsha256-ecp256', 'ike', 'IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/ECP_256'],
    ['aes256-sha384-ecp384', 'ike', 'IKE:AES_CBC_256/HMAC_SHA2_384_192/PRF_HMAC_SHA2_384/ECP_384'],
    ['chacha20poly1305-prfsha256-curve25519', 'ike', 'IKE:CHACHA20_POLY1305/PRF_HMAC_SHA2_256/CURVE_25519'],
    ['3des-sha1-modp1024', 'ike', 'IKE:3DES_CBC/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024'],
    ['aes128-sha256-modp2048', 'ike', 'IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048'],
    ['aes256-sha256-modp3072-ecp384', 'ike', 'IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_3072/ECP_384'],
    ['aes256-sha256', 'esp', 'ESP:AES_CBC_256/HMAC_SHA2_256_128/NO_EXT_SEQ'],
    ['aes256gcm16', 'esp', 'ESP:AES_GCM_16_256/NO_EXT_SEQ'],
    ['aes128-sha1', 'esp', 'ESP:AES_CBC_128/HMAC_SHA1_96/NO_EXT_SEQ'],
    ['aes256-sha1', 'esp', 'ESP:AES_CBC_256/HMAC_SHA1_96/NO_EXT_SEQ'],
    ['aes256-sha1-modp4096', 'esp', 'ESP:AES_CBC_256/HMAC_SHA1_96/MODP_4096/NO_EXT_SEQ'],
    ['aes256-sha256-modp2048', 'esp', 'ESP:AES_CBC_256/HMAC_SHA2_256_128/MODP_2048/NO_EXT_SEQ'],
    ['aes128gcm16-ecp256', 'esp', 'ESP:AES_GCM_16_128/ECP_256/NO_EXT_SEQ'],
    // aliases and implicit rules
    ['aes-sha-modp2048', 'ike', 'IKE:AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_2048'],
    ['aes256gcm128-aes128gcm-prfsha384-x25519-x448', 'ike', 'IKE:AES_GCM_16_256/AES_GCM_16_128/PRF_HMAC_SHA2_384/CURVE_25519/CURVE_448'],
    ['aes192gcm8-aes192gcm96-aes128ccm64-prfsha1-ecp521', 'ike', 'IKE:AES_GCM_8_192/AES_GCM_12_192/AES_CCM_8_128/PRF_HMAC_SHA1/ECP_521'],
    ['aes128gcm16-sha256-ecp256', 'ike', 'IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/ECP_256'], // PRF from integ, integ dropped
    ['aes256-sha2_256-sha512-prfsha512-modp8192', 'ike', 'IKE:AES_CBC_256/HMAC_SHA2_256_128/HMAC_SHA2_512_256/PRF_HMAC_SHA2_512/MODP_8192'],
    ['aes128ctr-aesxcbc-modp1536', 'ike', 'IKE:AES_CTR_128/AES_XCBC_96/PRF_AES128_XCBC/MODP_1536'],
    ['aes256-md5-prfaescmac-modp768', 'ike', 'IKE:AES_CBC_256/HMAC_MD5_96/PRF_AES128_CMAC/MODP_768'],
    ['modp2048-sha256-aes256', 'ike', 'IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048'],
    ['aes256-sha256-modp2048-none', 'ike', 'IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048'],
    ['aes256-sha256-modp2048-none', 'esp', 'ESP:AES_CBC_256/HMAC_SHA2_256_128/MODP_2048/KE_NONE/NO_EXT_SEQ'],
    ['aes256-sha256-prfsha256', 'esp', 'ESP:AES_CBC_256/HMAC_SHA2_256_128/NO_EXT_SEQ'], // PRF dropped for ESP
    ['aes256gcm16-esn', 'esp', 'ESP:AES_GCM_16_256/EXT_SEQ'],
    ['aes256gcm16-esn-noesn', 'esp', 'ESP:AES_GCM_16_256/EXT_SEQ/NO_EXT_SEQ'],
    ['aes256gcm16-sha256', 'esp', 'ESP:AES_GCM_16_256/NO_EXT_SEQ'],
    ['null-sha256', 'esp', 'ESP:NULL/HMAC_SHA2_256_128/NO_EXT_SEQ'],
    [' aes256 - sha256 ', 'esp', 'ESP:AES_CBC_256/HMAC_SHA2_256_128/NO_EXT_SEQ'],
  ];
  test.each(cases)('%s (%s) -> %s', (text, proto, want) => {
    expect(fmt(text, proto)).toBe(want);
  });

  test('the expectations taken from the charon logs are really in them', () => {
    const logs = [
      'charon-logs/pfs-mismatch-rekey-by-side-with-pfs',
      'charon-logs/pfs-mismatch-rekey-by-side-without-pfs',
      'charon-logs/proposal-mismatch',
    ]
      .flatMap((d) => ['initiator.log', 'responder.log'].map((f) => readFileSync(join(REF, d, f), 'utf8')))
      .join('\n');
    expect(logs).toContain('configured proposals: ESP:AES_CBC_256/HMAC_SHA1_96/MODP_4096/NO_EXT_SEQ');
    expect(logs).toContain('configured proposals: ESP:AES_CBC_256/HMAC_SHA1_96/NO_EXT_SEQ');
    expect(logs).toContain('received proposals: IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048');
  });
});

describe('known-answer runs: what charon printed for the configured proposal strings', () => {
  const dirs = readdirSync(join(REF, 'kat'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
  test('there are KAT runs to compare with', () => expect(dirs.length).toBeGreaterThanOrEqual(7));
  test.each(dirs)('%s', (dir) => {
    const conf = readFileSync(join(REF, 'kat', dir, 'initiator.swanctl.conf'), 'utf8');
    const log = readFileSync(join(REF, 'kat', dir, 'initiator.log'), 'utf8');
    const ike = /^\s*proposals = (\S+)/m.exec(conf)![1]!;
    const esp = /esp_proposals = (\S+)/.exec(conf)![1]!;
    // vici's load-conn dump: "  proposals = IKE:..." for the connection, "   proposals = ESP:..." for the child
    const loggedIke = /\[CFG\] {3}proposals = (IKE:\S+)/.exec(log)![1];
    const loggedEsp = /\[CFG\] {4}proposals = (ESP:\S+)/.exec(log)![1];
    expect(fmt(ike, 'ike')).toBe(loggedIke);
    expect(fmt(esp, 'esp')).toBe(loggedEsp);
  });
});

describe('default', () => {
  test('IKE default is two proposals, non-AEAD then AEAD, numbered 1 and 2', () => {
    const [classic, aead, ...rest] = parseProposals(['default'], 'ike');
    expect(rest).toEqual([]);
    expect([classic!.num, aead!.num]).toEqual([1, 2]);
    expect(formatProposal(classic!)).toBe(
      'IKE:AES_CBC_128/AES_CBC_192/AES_CBC_256/AES_CTR_128/AES_CTR_192/AES_CTR_256/3DES_CBC/' +
        'HMAC_SHA2_256_128/HMAC_SHA2_384_192/HMAC_SHA2_512_256/HMAC_SHA1_96/AES_XCBC_96/' +
        'PRF_HMAC_SHA2_256/PRF_HMAC_SHA2_384/PRF_HMAC_SHA2_512/PRF_AES128_XCBC/PRF_AES128_CMAC/PRF_HMAC_SHA1/' +
        'ECP_256/ECP_384/ECP_521/CURVE_25519/CURVE_448/MODP_3072/MODP_4096/MODP_6144/MODP_8192/MODP_2048',
    );
    expect(formatProposal(aead!)).toBe(
      'IKE:AES_GCM_16_128/AES_GCM_16_192/AES_GCM_16_256/AES_CCM_16_128/AES_CCM_16_192/' +
        'AES_CCM_16_256/CHACHA20_POLY1305/AES_GCM_12_128/AES_GCM_12_192/AES_GCM_12_256/AES_GCM_8_128/AES_GCM_8_192/' +
        'AES_GCM_8_256/AES_CCM_12_128/AES_CCM_12_192/AES_CCM_12_256/AES_CCM_8_128/AES_CCM_8_192/AES_CCM_8_256/' +
        'PRF_HMAC_SHA2_256/PRF_HMAC_SHA2_384/PRF_HMAC_SHA2_512/PRF_AES128_XCBC/PRF_AES128_CMAC/PRF_HMAC_SHA1/' +
        'ECP_256/ECP_384/ECP_521/CURVE_25519/CURVE_448/MODP_3072/MODP_4096/MODP_6144/MODP_8192/MODP_2048',
    );
    expect(aead!.transforms.some((t) => t.type === T.INTEG)).toBe(false);
  });

  test('ESP default: proposal_create_default then _aead (strongSwan 5.9)', () => {
    expect(formatProposals(parseProposals(['default'], 'esp'))).toBe(
      'ESP:AES_CBC_128/AES_CBC_192/AES_CBC_256/HMAC_SHA2_256_128/HMAC_SHA2_384_192/HMAC_SHA2_512_256/HMAC_SHA1_96/' +
        'AES_XCBC_96/NO_EXT_SEQ, ESP:AES_GCM_16_128/AES_GCM_16_192/AES_GCM_16_256/NO_EXT_SEQ',
    );
  });

  test('default expands in place and numbering follows the expansion', () => {
    const list = parseProposals(['aes256gcm16', 'DEFAULT', 'aes128-sha1'], 'esp');
    expect(list.map((p) => p.num)).toEqual([1, 2, 3, 4]);
    expect(formatProposal(list[0]!)).toBe('ESP:AES_GCM_16_256/NO_EXT_SEQ');
    expect(formatProposal(list[3]!)).toBe('ESP:AES_CBC_128/HMAC_SHA1_96/NO_EXT_SEQ');
    expect(list.every((p) => p.spi.length === 0)).toBe(true);
  });

  test('parseProposal refuses default (it is two proposals)', () => {
    expect(() => parseProposal('default', 'ike')).toThrow(/parseProposals/);
  });
});

describe('errors', () => {
  const err = (text: string, proto: 'ike' | 'esp'): ValueError => {
    try {
      parseProposal(text, proto);
    } catch (e) {
      expect(e).toBeInstanceOf(ValueError);
      return e as ValueError;
    }
    throw new Error(`no error for ${text}`);
  };

  test('unknown keyword is named, with the whole proposal and what was expected', () => {
    const e = err('aes999-sha256', 'esp');
    expect(e.message).toBe(
      'expected a strongSwan ESP proposal such as aes256-sha256 or aes256gcm16-modp2048, ' +
        'got "aes999-sha256" (unknown algorithm keyword "aes999")',
    );
  });
  test('keywords are case-sensitive like charon', () => {
    expect(err('AES256-sha256', 'esp').detail).toBe('unknown algorithm keyword "AES256"');
  });
  test('strongSwan keyword that ikelab does not implement', () => {
    expect(err('camellia256-sha256-modp2048', 'ike').detail).toMatch(/"camellia256" is valid in strongSwan but not implemented/);
  });
  test('AEAD IKE proposal without PRF', () => {
    expect(err('aes256gcm16-modp2048', 'ike').detail).toMatch(/AEAD IKE proposal needs a PRF keyword/);
    expect(err('chacha20poly1305-curve25519', 'ike').detail).toMatch(/PRF keyword/);
  });
  test('IKE without DH group, ESP without encryption, IKE without integrity, mixed AEAD', () => {
    expect(err('aes256-sha256', 'ike').detail).toMatch(/DH group is mandatory/);
    expect(err('aes256-sha256-none', 'ike').detail).toMatch(/DH group is mandatory/);
    expect(err('sha256-modp2048', 'esp').detail).toMatch(/encryption algorithm is mandatory in ESP/);
    expect(err('aes256-prfsha256-modp2048', 'ike').detail).toMatch(/integrity algorithm is mandatory/);
    expect(err('aes256-aes256gcm16-sha256', 'esp').detail).toMatch(/cannot be mixed/);
  });
  test('empty proposal and empty keyword', () => {
    expect(err('', 'esp').detail).toBe('empty proposal');
    expect(err('aes256--sha256', 'esp').detail).toMatch(/empty algorithm keyword/);
  });
  test('IKE expected text mentions IKE', () => {
    expect(err('aes999', 'ike').message).toMatch(/^expected a strongSwan IKE proposal/);
  });
});
