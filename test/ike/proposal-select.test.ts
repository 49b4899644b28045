// Proposal selection never picks a transform ikelab cannot run, even when the configured proposals contain one
// (config refuses them; these proposals are built with the bare parser, which still knows every keyword).
import { describe, expect, test } from 'vitest';
import { formatProposal, parseProposal, parseProposals } from '../../src/config/proposals.js';
import { selectProposal } from '../../src/ike/proposal-select.js';
import type { Proposal } from '../../src/wire/types.js';

const ike = (...texts: string[]): Proposal[] => parseProposals(texts, 'ike');
const esp = (...texts: string[]): Proposal[] => parseProposals(texts, 'esp').map((p) => ({ ...p, spi: Buffer.from('c0010203', 'hex') }));
const fmt = (p: Proposal | undefined) => (p ? formatProposal(p) : undefined);

describe('IKE', () => {
  test('an offer of only unsupported transforms gets nothing, even when configured alike', () => {
    expect(selectProposal(ike('aes128ctr-sha256-modp2048'), ike('aes128ctr-sha256-modp2048'))).toBeUndefined();
    expect(selectProposal(ike('aes128ccm16-prfsha256-ecp256'), ike('aes128ccm16-prfsha256-ecp256'))).toBeUndefined();
    expect(selectProposal(ike('default'), ike('aes128ctr-sha256-modp2048', 'aes256ccm8-prfsha256-modp2048'))).toBeUndefined();
  });

  test('mixed offers: the supported alternative is picked, in our order', () => {
    // one received proposal with CTR and CBC; we prefer CTR but cannot run it
    const chosen = selectProposal(ike('aes128ctr-aes128-sha256-modp2048'), ike('aes128ctr-aes128-sha256-modp2048'));
    expect(fmt(chosen)).toBe('IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048');
    // two received proposals: the CCM one comes first, the GCM one is chosen
    const received = ike('aes128ccm16-prfsha256-ecp256', 'aes128gcm16-prfsha256-ecp256');
    const picked = selectProposal(ike('default'), received);
    expect(fmt(picked)).toBe('IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/ECP_256');
    expect(picked!.num).toBe(2);
  });

  test('supported IKE transforms are still selected (XCBC integrity and PRF run in IKE)', () => {
    expect(fmt(selectProposal(ike('aes256-aesxcbc-modp2048'), ike('aes256-aesxcbc-modp2048')))).toBe(
      'IKE:AES_CBC_256/AES_XCBC_96/PRF_AES128_XCBC/MODP_2048',
    );
  });
});

describe('ESP', () => {
  test('only AES-CTR / AES-CCM / NULL offered: no proposal', () => {
    expect(selectProposal(esp('aes128ctr-sha256'), esp('aes128ctr-sha256'))).toBeUndefined();
    expect(selectProposal(esp('aes128ccm16'), esp('aes128ccm16'))).toBeUndefined();
    expect(selectProposal(esp('null-sha256'), esp('null-sha256'))).toBeUndefined();
  });

  test('mixed offers pick the supported one', () => {
    expect(fmt(selectProposal(esp('aes128ccm16-aes128gcm16'), esp('aes128ccm16', 'aes128gcm16')))).toBe('ESP:AES_GCM_16_128/NO_EXT_SEQ');
    expect(fmt(selectProposal(esp('aes128ctr-sha256', 'aes128-sha256'), esp('aes128ctr-aes128-sha256')))).toBe(
      'ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ',
    );
  });

  test('AES-XCBC integrity: not for the userspace engine (the default), fine for xfrm and none', () => {
    const ours = esp('aes256-aesxcbc-sha1');
    const theirs = esp('aes256-aesxcbc');
    expect(selectProposal(ours, theirs)).toBeUndefined();
    expect(selectProposal(ours, theirs, { ipsecBackend: 'userspace' })).toBeUndefined();
    expect(fmt(selectProposal(ours, theirs, { ipsecBackend: 'xfrm' }))).toBe('ESP:AES_CBC_256/AES_XCBC_96/NO_EXT_SEQ');
    expect(fmt(selectProposal(ours, theirs, { ipsecBackend: 'none' }))).toBe('ESP:AES_CBC_256/AES_XCBC_96/NO_EXT_SEQ');
    // offered with SHA1 as well: the userspace engine takes SHA1
    expect(fmt(selectProposal(ours, esp('aes256-aesxcbc-sha1')))).toBe('ESP:AES_CBC_256/HMAC_SHA1_96/NO_EXT_SEQ');
  });

  test('AES-CTR stays out for xfrm too (ikelab cannot name or key it)', () => {
    expect(selectProposal(esp('aes128ctr-sha256'), esp('aes128ctr-sha256'), { ipsecBackend: 'xfrm' })).toBeUndefined();
    expect(selectProposal(esp('aes128ctr-sha256'), esp('aes128ctr-sha256'), { ipsecBackend: 'none' })).toBeUndefined();
  });

  test('classic encryption without integrity on both sides is not runnable', () => {
    expect(selectProposal(esp('aes256'), esp('aes256'))).toBeUndefined();
  });

  test('PFS groups: a supported group is selected, KE NONE in ours does not get in the way', () => {
    expect(fmt(selectProposal(esp('aes256gcm16-ecp256-none'), esp('aes256gcm16-ecp256')))).toBe('ESP:AES_GCM_16_256/ECP_256/NO_EXT_SEQ');
    expect(fmt(selectProposal(esp('aes256gcm16-x448'), esp('aes256gcm16-x448')))).toBe('ESP:AES_GCM_16_256/CURVE_448/NO_EXT_SEQ');
  });

  test('an AH proposal never matches', () => {
    const ah = { ...parseProposal('aes256-sha256', 'esp'), protocol: 2 };
    expect(selectProposal([ah], [ah])).toBeUndefined();
  });
});
