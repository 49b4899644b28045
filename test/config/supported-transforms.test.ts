// "Never negotiate what cannot run": config refuses proposals with transforms ikelab's IKE crypto or the chosen
// ESP backend does not implement (AES-CTR, AES-CCM, ESP AES-XCBC, ...), names file, key path and line, and cuts
// `default` down to what runs. The predicates must agree with the code that runs the transforms.
import { describe, expect, test } from 'vitest';
import { ConfigError, formatProposals, parseConfig } from '../../src/config/index.js';
import { canonicalKeywords } from '../../src/config/proposal-keywords.js';
import { filterRunnable, transformSupport, unsupportedReason } from '../../src/config/proposal-support.js';
import { defaultProposals, parseProposal } from '../../src/config/proposals.js';
import { encrKeyLength, integKeyLength } from '../../src/crypto/keys.js';
import { generateDh } from '../../src/crypto/dh.js';
import { prf } from '../../src/crypto/prf.js';
import { createSkCipher } from '../../src/crypto/sk.js';
import { ikeTransformSupported, supportsIkeEncr } from '../../src/crypto/supported.js';
import { createEspTransform, supportsEspEncr, supportsEspInteg } from '../../src/ipsec/esp-transform.js';
import { xfrmAlgoArgs, xfrmSupportsEncr, xfrmSupportsInteg } from '../../src/ipsec/xfrm.js';
import { Encr, Integ, TransformType as T } from '../../src/wire/constants.js';

function error(text: string): ConfigError {
  try {
    parseConfig(text, 'ikelab.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('no ConfigError thrown');
}

const conn = (body: string, daemon = '') => `${daemon}connections:\n  bar:\n    remote_addrs: 10.98.0.1\n${body}`;
const child = (body: string, daemon = '') => conn(`    children:\n      net:\n${body}`, daemon);
const backend = (b: string) => `daemon:\n  ipsec_backend: ${b}\n`;

describe('load refuses proposals with transforms that cannot run', () => {
  test('ESP aes128ctr: file, key path, keyword, engine, what is supported, line', () => {
    const e = error(child('        esp_proposals: [aes256-sha256, aes128ctr-sha256]\n'));
    expect(e.message).toBe(
      'ikelab.yaml: connections.bar.children.net.esp_proposals[1]: expected an ESP proposal the userspace ' +
        'ESP engine can run, such as aes256-sha256 or aes256gcm16, got "aes128ctr-sha256" (aes128ctr is not supported by the ' +
        'userspace ESP engine; supported encryption: 3des, chacha20poly1305, aes128, aes128gcm8, aes128gcm12, aes128gcm16, ' +
        'aes192, aes192gcm8, aes192gcm12, aes192gcm16, aes256, aes256gcm8, aes256gcm12, aes256gcm16) [line 6, column 40]',
    );
    expect([e.keyPath, e.line]).toEqual(['connections.bar.children.net.esp_proposals[1]', 6]);
  });

  test('ESP aes128ccm16 (and its alias spelling) is refused', () => {
    const e = error(child('        esp_proposals:\n          - aes128gcm16\n          - aes128ccm128-modp2048\n'));
    expect(e.keyPath).toBe('connections.bar.children.net.esp_proposals[1]');
    expect(e.line).toBe(8);
    expect(e.detail).toMatch(/^aes128ccm128 is not supported by the userspace ESP engine; supported encryption: /);
    expect(e.detail!.split('supported encryption: ')[1]).not.toContain('ccm');
  });

  test('ESP aesxcbc integrity is refused for the userspace engine, with the integrity it has', () => {
    const e = error(child('        esp_proposals: [aes256-aesxcbc]\n'));
    expect(e.keyPath).toBe('connections.bar.children.net.esp_proposals[0]');
    expect(e.line).toBe(6);
    expect(e.detail).toBe('aesxcbc is not supported by the userspace ESP engine; supported integrity: sha1, sha256, sha384, sha512, md5');
  });

  test('IKE aes128ctr and aes128ccm16 are refused whatever the backend', () => {
    for (const b of ['', backend('xfrm'), backend('none')]) {
      const ctr = error(conn('    proposals: [aes256-sha256-modp2048, aes128ctr-sha256-modp2048]\n', b));
      expect(ctr.keyPath).toBe('connections.bar.proposals[1]');
      expect(ctr.message).toContain(
        `got "aes128ctr-sha256-modp2048" (aes128ctr is not supported by ikelab's IKE crypto; supported encryption: `,
      );
      expect(ctr.line).toBe(b ? 6 : 4);
      const ccm = error(conn('    proposals: [aes128ccm16-prfsha256-ecp256]\n', b));
      expect(ccm.keyPath).toBe('connections.bar.proposals[0]');
      expect(ccm.detail).toMatch(/^aes128ccm16 is not supported by ikelab's IKE crypto; supported encryption: .*aes256gcm16$/);
    }
  });

  test('a comma-separated string names the key without an index, as for other proposal errors', () => {
    const e = error(conn('    proposals: aes256-sha256-modp2048, aes128ctr-sha256-modp2048\n'));
    expect(e.keyPath).toBe('connections.bar.proposals');
    expect(e.line).toBe(4);
    expect(e.message).toContain('(aes128ctr is not supported');
  });

  test('null and des encryption and ESP encryption without integrity cannot run either', () => {
    expect(error(child('        esp_proposals: [null-sha256]\n')).detail).toMatch(/^null is not supported by the userspace ESP engine/);
    expect(error(conn('    proposals: [des-sha256-modp2048]\n')).detail).toMatch(/^des is not supported by ikelab's IKE crypto/);
    expect(error(child('        esp_proposals: [aes256]\n')).detail).toMatch(/without an integrity algorithm cannot run/);
  });

  test('one unsupported alternative spoils the proposal: it is refused, not silently trimmed', () => {
    const e = error(child('        esp_proposals: [aes256-aes128ctr-sha256]\n'));
    expect(e.detail).toMatch(/^aes128ctr is not supported/);
  });
});

describe('what each backend accepts', () => {
  test('xfrm: AES-XCBC integrity is installable, AES-CTR / CCM are not', () => {
    const cfg = parseConfig(child('        esp_proposals: [aes256-aesxcbc]\n', backend('xfrm')), 'ikelab.yaml');
    expect(formatProposals(cfg.connections[0]!.children[0]!.espProposals)).toBe('ESP:AES_CBC_256/AES_XCBC_96/NO_EXT_SEQ');
    const e = error(child('        esp_proposals: [aes256-aesxcbc, aes128ccm8]\n', backend('xfrm')));
    expect(e.keyPath).toBe('connections.bar.children.net.esp_proposals[1]');
    expect(e.line).toBe(8);
    expect(e.detail).toMatch(/^aes128ccm8 is not supported by the xfrm backend; supported encryption: /);
  });

  test('none: what ikelab can key (XCBC yes, CTR no)', () => {
    expect(() => parseConfig(child('        esp_proposals: [aes256-aesxcbc]\n', backend('none')), 'x')).not.toThrow();
    expect(error(child('        esp_proposals: [aes128ctr-sha256]\n', backend('none'))).detail).toMatch(
      /^aes128ctr is not supported by ikelab's CHILD_SA keying with ipsec_backend none/,
    );
  });

  test("IKE keeps AES-XCBC integrity and PRF, and AES-CMAC PRF: ikelab's IKE crypto has them", () => {
    const cfg = parseConfig(conn('    proposals: [aes128-aesxcbc-modp2048, aes256-sha256-prfaescmac-ecp256]\n'), 'x');
    expect(formatProposals(cfg.connections[0]!.proposals)).toBe(
      'IKE:AES_CBC_128/AES_XCBC_96/PRF_AES128_XCBC/MODP_2048, ' + 'IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_AES128_CMAC/ECP_256',
    );
  });
});

describe("default is strongSwan's list cut down to what runs", () => {
  test('IKE default (implicit and written) has no AES-CTR and no AES-CCM, and keeps the rest', () => {
    for (const text of [conn(''), conn('    proposals: [default]\n')]) {
      const ike = parseConfig(text, 'x').connections[0]!.proposals;
      const s = formatProposals(ike);
      expect(ike.map((p) => p.num)).toEqual([1, 2]);
      expect(s).not.toMatch(/AES_CTR|AES_CCM/);
      expect(s).toMatch(/^IKE:AES_CBC_128\/AES_CBC_192\/AES_CBC_256\/3DES_CBC\/HMAC_SHA2_256_128\/.*\/AES_XCBC_96\/PRF_/);
      expect(s).toContain(', IKE:AES_GCM_16_128/AES_GCM_16_192/AES_GCM_16_256/CHACHA20_POLY1305/AES_GCM_12_128/');
    }
  });

  test('ESP default drops AES-XCBC for the userspace engine and keeps it for xfrm', () => {
    const esp = (b: string, list = '') => formatProposals(parseConfig(child(list, b), 'x').connections[0]!.children[0]!.espProposals);
    expect(esp('')).not.toContain('AES_XCBC_96');
    expect(esp('', '        esp_proposals: [aes256gcm16, default]\n')).toBe(
      'ESP:AES_GCM_16_256/NO_EXT_SEQ, ' +
        'ESP:AES_CBC_128/AES_CBC_192/AES_CBC_256/HMAC_SHA2_256_128/HMAC_SHA2_384_192/HMAC_SHA2_512_256/HMAC_SHA1_96/NO_EXT_SEQ, ' +
        'ESP:AES_GCM_16_128/AES_GCM_16_192/AES_GCM_16_256/NO_EXT_SEQ',
    );
    expect(esp(backend('xfrm'))).toContain('HMAC_SHA1_96/AES_XCBC_96/NO_EXT_SEQ');
  });

  test('filterRunnable drops a proposal that loses every encryption algorithm', () => {
    expect(filterRunnable([parseProposal('aes128ctr-aes256ctr-sha256', 'esp')], 'esp')).toEqual([]);
    expect(formatProposals(filterRunnable([parseProposal('aes128ctr-aes256-sha256-aesxcbc', 'esp')], 'esp'))).toBe(
      'ESP:AES_CBC_256/HMAC_SHA2_256_128/NO_EXT_SEQ',
    );
  });

  test('every transform of the filtered defaults passes the predicates, and unsupportedReason agrees', () => {
    for (const proto of ['ike', 'esp'] as const) {
      for (const p of filterRunnable(defaultProposals(proto), proto)) {
        expect(unsupportedReason(p, proto)).toBeUndefined();
        expect(p.transforms.every((t) => transformSupport(proto).supports(t))).toBe(true);
      }
    }
  });
});

// The predicates are read off the implementation's tables; these check them against the code that runs.
describe('the supported sets are exactly what the engines run', () => {
  const encrs = canonicalKeywords(T.ENCR).map((c) => c.keyword);
  const integs = canonicalKeywords(T.INTEG).map((c) => c.keyword);
  const bits = (len: number) => (len ? len : undefined);
  const runs = (f: () => unknown): boolean => {
    try {
      f();
      return true;
    } catch {
      return false;
    }
  };
  const keyFor = (id: number, keyLength: number) =>
    Buffer.alloc(runs(() => encrKeyLength(id, bits(keyLength))) ? encrKeyLength(id, bits(keyLength)) : 16);
  const AEAD = new Set<number>([Encr.AES_GCM_8, Encr.AES_GCM_12, Encr.AES_GCM_16, Encr.CHACHA20_POLY1305]);
  const aead = (id: number) => AEAD.has(id);

  test('userspace ESP engine: createEspTransform succeeds exactly for supportsEspEncr / supportsEspInteg', () => {
    for (const kw of encrs) {
      const integ = aead(kw.id) ? undefined : Integ.HMAC_SHA2_256_128;
      const made = runs(() =>
        createEspTransform({
          encr: kw.id,
          encrKeyBits: bits(kw.keyLength),
          integ,
          encKey: keyFor(kw.id, kw.keyLength),
          integKey: Buffer.alloc(32),
        }),
      );
      expect([kw, supportsEspEncr(kw.id, bits(kw.keyLength))]).toEqual([kw, made]);
    }
    for (const kw of integs) {
      const made = runs(() =>
        createEspTransform({
          encr: Encr.AES_CBC,
          encrKeyBits: 128,
          integ: kw.id,
          encKey: Buffer.alloc(16),
          integKey: Buffer.alloc(integKeyLength(kw.id)),
        }),
      );
      expect([kw, supportsEspInteg(kw.id)]).toEqual([kw, made]);
    }
    expect(supportsEspEncr(Encr.AES_CTR, 128)).toBe(false);
    expect(supportsEspEncr(Encr.AES_CCM_16, 128)).toBe(false);
    expect(supportsEspInteg(Integ.AES_XCBC_96)).toBe(false);
    expect(supportsEspEncr(Encr.AES_GCM_16, 256)).toBe(true);
  });

  test('IKE crypto: createSkCipher / prf / generateDh succeed exactly for the IKE predicates', () => {
    for (const kw of encrs) {
      const integ = aead(kw.id) ? undefined : Integ.HMAC_SHA2_256_128;
      const made = runs(() =>
        createSkCipher({ encr: kw.id, encrKeyBits: bits(kw.keyLength), integ }, keyFor(kw.id, kw.keyLength), Buffer.alloc(integ ? 32 : 0)),
      );
      expect([kw, supportsIkeEncr(kw.id, bits(kw.keyLength))]).toEqual([kw, made]);
    }
    for (const kw of integs) {
      const made = runs(() =>
        createSkCipher({ encr: Encr.AES_CBC, encrKeyBits: 128, integ: kw.id }, Buffer.alloc(16), Buffer.alloc(integKeyLength(kw.id))),
      );
      expect([kw, ikeTransformSupported(kw)]).toEqual([kw, made]);
    }
    for (const kw of canonicalKeywords(T.PRF).map((c) => c.keyword)) {
      expect([kw, ikeTransformSupported(kw)]).toEqual([kw, runs(() => prf(kw.id, Buffer.alloc(16), Buffer.alloc(8)))]);
    }
    for (const kw of canonicalKeywords(T.DH)
      .map((c) => c.keyword)
      .filter((k) => k.id !== 0)) {
      expect([kw, ikeTransformSupported(kw)]).toEqual([kw, runs(() => generateDh(kw.id))]);
    }
  });

  test('xfrm: xfrmAlgoArgs produces arguments exactly for xfrmSupportsEncr / xfrmSupportsInteg', () => {
    for (const kw of encrs) {
      const integ = aead(kw.id) ? undefined : Integ.HMAC_SHA2_256_128;
      const made =
        runs(() =>
          xfrmAlgoArgs({
            encr: kw.id,
            encrKeyBits: bits(kw.keyLength),
            integ,
            esn: false,
            encKey: keyFor(kw.id, kw.keyLength),
            integKey: Buffer.alloc(32),
          }),
        ) && supportsIkeEncr(kw.id, bits(kw.keyLength)); // and ikelab can size the KEYMAT for it
      expect([kw, xfrmSupportsEncr(kw.id, bits(kw.keyLength))]).toEqual([kw, made]);
    }
    for (const kw of integs) {
      const made = runs(() =>
        xfrmAlgoArgs({
          encr: Encr.AES_CBC,
          encrKeyBits: 128,
          integ: kw.id,
          esn: false,
          encKey: Buffer.alloc(16),
          integKey: Buffer.alloc(16),
        }),
      );
      expect([kw, xfrmSupportsInteg(kw.id)]).toEqual([kw, made]);
    }
    expect(xfrmSupportsInteg(Integ.AES_XCBC_96)).toBe(true);
  });
});
