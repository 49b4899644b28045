import { describe, expect, test } from 'vitest';
import { findPsk, parseConfig } from '../../src/config/index.js';
import { matchId } from '../../src/config/secrets.js';

describe('secret values', () => {
  const cfg = parseConfig(
    `
secrets:
  ike-text: { id: a, secret: "labsecret" }
  ike-hex: { id: b, secret: 0x6c6162 }
  ike-b64: { id: c, secret: 0sbGFic2VjcmV0 }
  ike-num: { id: d, secret: 0123 }
  ike-ids:
    id-1: 10.0.0.1
    id-2: [10.0.0.2, host.example.com]
    id_x: 12345
    secret: s
  ike-none: { secret: anyone }
`,
    's.yaml',
  );
  const by = (name: string) => cfg.secrets.find((s) => s.name === name)!;

  test('text, 0x hex and 0s base64 as swanctl', () => {
    expect(by('ike-text').secret).toEqual(Buffer.from('labsecret'));
    expect(by('ike-hex').secret).toEqual(Buffer.from([0x6c, 0x61, 0x62]));
    expect(by('ike-b64').secret).toEqual(Buffer.from('labsecret'));
  });
  test('values YAML would read as numbers stay text', () => {
    expect(by('ike-num').secret).toEqual(Buffer.from('0123'));
    expect(by('ike-ids').ids).toEqual(['10.0.0.1', '10.0.0.2', 'host.example.com', '12345']);
  });
  test('id-N keys collect in order; no id = %any', () => {
    expect(by('ike-none').ids).toEqual(['%any']);
    expect(by('ike-text')).toMatchObject({ type: 'ike', ids: ['a'] });
  });
});

describe('findPsk picks the best match like charon', () => {
  const cfg = parseConfig(
    `
secrets:
  ike-wild: { id: "%any", secret: wildcard }
  ike-remote-only: { id: 10.0.0.2, secret: remote-only }
  ike-both: { id: [10.0.0.1, 10.0.0.2], secret: both }
  ike-local-only: { id: 10.0.0.1, secret: local-only }
  ike-domain: { id: "*.example.com", secret: domain }
  ike-v6: { id: "2001:db8::1", secret: v6 }
`,
    'p.yaml',
  );
  const psk = (me: string, other: string) => findPsk(cfg, me, other)?.toString();

  test('both IDs match beats one', () => expect(psk('10.0.0.1', '10.0.0.2')).toBe('both'));
  test('a remote match beats a local match', () => expect(psk('10.0.0.9', '10.0.0.2')).toBe('remote-only'));
  test('local match only: the first secret with the best local match; %any counts as a weak match', () => {
    // ike-wild matches the remote as %any (ANY) and is preferred over local-only secrets (remote NONE)
    expect(psk('10.0.0.1', '10.0.0.7')).toBe('wildcard');
  });
  test('wildcard and IPv6 spellings', () => {
    expect(psk('10.0.0.9', 'vpn.example.com')).toBe('domain');
    expect(psk('10.0.0.9', '2001:DB8:0::1')).toBe('v6');
  });
  test('nothing matches -> undefined', () => {
    const only = parseConfig('secrets:\n  ike-x: { id: [1.1.1.1, 2.2.2.2], secret: x }\n', 'x.yaml');
    expect(findPsk(only, '3.3.3.3', '4.4.4.4')).toBeUndefined();
    expect(findPsk(only, '1.1.1.1', '4.4.4.4')?.toString()).toBe('x');
  });
  test('ties keep the first secret in the file', () => {
    const two = parseConfig('secrets:\n  ike-a: { id: 1.1.1.1, secret: first }\n  ike-b: { id: 1.1.1.1, secret: second }\n', 't.yaml');
    expect(findPsk(two, '9.9.9.9', '1.1.1.1')?.toString()).toBe('first');
  });
  test('the reference lab secret', () => {
    const ref = parseConfig('secrets:\n  ike-bar:\n    id: [10.98.0.1, 10.98.0.2]\n    secret: barsecret\n', 'r.yaml');
    expect(findPsk(ref, '10.98.0.2', '10.98.0.1')?.toString()).toBe('barsecret');
  });
  test('match levels', () => {
    expect(matchId('10.0.0.1', '10.0.0.1')).toBe(20);
    expect(matchId('a.example.com', '*.example.com')).toBe(19);
    expect(matchId('10.0.0.1', '%any')).toBe(1);
    expect(matchId('10.0.0.1', '10.0.0.2')).toBe(0);
  });
});
