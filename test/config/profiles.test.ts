// profile: strongswan | vedge | ios-xe on a connection: the peer kind's defaults fill in what the connection leaves
// out, written keys win, and a profile nobody knows is a config error with file, key path and line.
import { describe, expect, test } from 'vitest';
import { ConfigError, formatProposals, parseConfig } from '../../src/config/index.js';
import type { ConnectionConfig, IkelabConfig } from '../../src/config/types.js';

const file = (conn: string, child = '', daemon = ''): string =>
  `${daemon}connections:\n  bar:\n    remote_addrs: 10.98.0.1\n${conn}    children:\n      net:\n        local_ts: 10.12.0.0/24\n${child}`;

const load = (conn: string, child = '', daemon = ''): IkelabConfig => parseConfig(file(conn, child, daemon), 'ikelab.yaml');
const bar = (conn: string, child = '', daemon = ''): ConnectionConfig => load(conn, child, daemon).connections[0]!;

/** The config fields a profile may set, for comparing connections. */
function defaults(c: ConnectionConfig) {
  const ch = c.children[0]!;
  return {
    ike: formatProposals(c.proposals),
    esp: formatProposals(ch.espProposals),
    ikeTimes: [c.rekeyTime, c.overTime, c.randTime],
    childTimes: [ch.rekeyTime, ch.lifeTime, ch.randTime],
    replayWindow: ch.replayWindow,
    dpdDelay: c.dpdDelay,
    mobike: c.mobike,
    fragmentation: c.fragmentation,
    retransmit: c.retransmit,
  };
}

describe('profile defaults', () => {
  test('strongswan is charon 5.9 as before: the same config as no profile at all', () => {
    const none = bar('');
    const swan = bar('    profile: strongswan\n');
    expect(swan.profile).toBe('strongswan');
    expect(none.profile).toBeUndefined();
    expect(defaults(swan)).toEqual(defaults(none));
    expect(none.retransmit).toBeUndefined();
    expect(defaults(none)).toMatchObject({
      ikeTimes: [14400, 1440, 1440],
      childTimes: [3600, 3960, 360],
      replayWindow: 32,
      dpdDelay: 0,
      mobike: true,
      fragmentation: 'yes',
    });
  });

  test('vedge: the vEdge IPsec interface defaults on charon', () => {
    const c = bar('    profile: vedge\n');
    expect(defaults(c)).toEqual({
      ike: 'IKE:AES_CBC_256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_4096',
      esp: 'ESP:AES_GCM_16_256/MODP_4096/NO_EXT_SEQ',
      // rekey 4h; over and rand time derived as charon derives them
      ikeTimes: [14400, 1440, 1440],
      childTimes: [3600, 3960, 360],
      replayWindow: 512,
      dpdDelay: 10,
      mobike: true,
      fragmentation: 'yes',
      // a constant timeout of one DPD interval, 3 tries (vEdge's "tries=3, timeout=30" with a 30 s interval)
      retransmit: { timeout: 10, base: 1, tries: 3, jitter: 0, limit: 0 },
    });
    expect(c.proposalTexts).toEqual(['aes256-sha1-modp4096']);
  });

  test('vedge: the retransmit timeout follows a written dpd_delay (FIELD.md vEdge A: 30 s)', () => {
    expect(bar('    profile: vedge\n    dpd_delay: 30s\n').retransmit).toEqual({ timeout: 30, base: 1, tries: 3, jitter: 0, limit: 0 });
    // DPD switched off: the retransmit timeout keeps vEdge's default interval
    expect(bar('    profile: vedge\n    dpd_delay: 0\n').retransmit?.timeout).toBe(10);
  });

  test('ios-xe: IKEv2 smart defaults, hard ends at the IOS lifetimes', () => {
    const c = bar('    profile: ios-xe\n');
    const d = defaults(c);
    expect(d.ike).toBe(
      'IKE:AES_CBC_256/HMAC_SHA2_512_256/HMAC_SHA2_384_192/PRF_HMAC_SHA2_512/PRF_HMAC_SHA2_384/ECP_256/MODP_2048/ECP_521/MODP_1536, ' +
        'IKE:AES_GCM_16_256/PRF_HMAC_SHA2_512/PRF_HMAC_SHA2_384/ECP_256/MODP_2048/ECP_521/MODP_1536',
    );
    expect(d.esp).toBe('ESP:AES_CBC_128/HMAC_SHA1_96/NO_EXT_SEQ');
    // IKE: rekey_time + over_time = 86400 (IKEv2 SA lifetime); CHILD: life_time = 3600 (IPsec SA lifetime)
    expect(d.ikeTimes).toEqual([77760, 8640, 8640]);
    expect(d.ikeTimes[0]! + d.ikeTimes[1]!).toBe(86400);
    expect(d.childTimes).toEqual([3240, 3600, 360]);
    expect(d).toMatchObject({ replayWindow: 64, dpdDelay: 0, mobike: false, fragmentation: 'no' });
    expect(d.retransmit).toEqual({ timeout: 2, base: 2, tries: 5, jitter: 0, limit: 0 });
  });

  test('a profile applies to every child that leaves esp_proposals out', () => {
    const cfg = parseConfig(
      'connections:\n  bar:\n    remote_addrs: 10.98.0.1\n    profile: ios-xe\n    children:\n' +
        '      a: { local_ts: 10.12.0.0/24 }\n      b: { local_ts: 10.13.0.0/24, esp_proposals: aes256gcm16 }\n',
      'x.yaml',
    );
    const [a, b] = cfg.connections[0]!.children;
    expect(formatProposals(a!.espProposals)).toBe('ESP:AES_CBC_128/HMAC_SHA1_96/NO_EXT_SEQ');
    expect(formatProposals(b!.espProposals)).toBe('ESP:AES_GCM_16_256/NO_EXT_SEQ');
    expect([a!.replayWindow, b!.replayWindow]).toEqual([64, 64]);
  });

  test('the profile is case-insensitive like every enumerated key', () => {
    expect(bar('    profile: IOS-XE\n').profile).toBe('ios-xe');
  });
});

describe('written keys win over the profile', () => {
  test('connection keys', () => {
    const c = bar(
      '    profile: ios-xe\n    proposals: aes128-sha256-modp3072\n    dpd_delay: 5s\n    mobike: yes\n    fragmentation: yes\n',
      '        esp_proposals: aes256gcm16\n        replay_window: 1024\n',
    );
    expect(formatProposals(c.proposals)).toBe('IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_3072');
    expect(c.proposalTexts).toEqual(['aes128-sha256-modp3072']);
    expect(formatProposals(c.children[0]!.espProposals)).toBe('ESP:AES_GCM_16_256/NO_EXT_SEQ');
    expect(c.children[0]!.replayWindow).toBe(1024);
    expect([c.dpdDelay, c.mobike, c.fragmentation]).toEqual([5, true, 'yes']);
  });

  test('a written rekey_time takes charon derivations, not the profile over/life/rand times that go with its own', () => {
    const c = bar('    profile: ios-xe\n    rekey_time: 1h\n', '        rekey_time: 10m\n');
    expect([c.rekeyTime, c.overTime, c.randTime]).toEqual([3600, 360, 360]);
    const ch = c.children[0]!;
    expect([ch.rekeyTime, ch.lifeTime, ch.randTime]).toEqual([600, 660, 60]);
    // only over_time written: the profile's rekey_time stays, over_time is the written one
    const o = bar('    profile: ios-xe\n    over_time: 1h\n');
    expect([o.rekeyTime, o.overTime]).toEqual([77760, 3600]);
  });

  test('written daemon.retransmit keys win over the profile timing, the rest is the profile', () => {
    const c = bar('    profile: vedge\n', '', 'daemon:\n  retransmit: { timeout: 1, tries: 7 }\n');
    expect(c.retransmit).toEqual({ timeout: 1, base: 1, tries: 7, jitter: 0, limit: 0 });
    // a connection without a profile keeps using daemon.retransmit itself
    expect(bar('', '', 'daemon:\n  retransmit: { timeout: 1, tries: 7 }\n').retransmit).toBeUndefined();
  });
});

describe('a bad profile', () => {
  function error(text: string): ConfigError {
    try {
      parseConfig(text, 'ikelab.yaml');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return e as ConfigError;
    }
    throw new Error('no ConfigError thrown');
  }

  test('unknown profile: file, key path, the profiles there are, and the line', () => {
    const e = error(file('    profile: asa\n'));
    expect([e.file, e.keyPath, e.line]).toEqual(['ikelab.yaml', 'connections.bar.profile', 4]);
    expect(e.message).toBe(
      'ikelab.yaml: connections.bar.profile: expected one of strongswan, vedge, ios-xe, got "asa" [line 4, column 14]',
    );
  });

  test('a profile that is not a string', () => {
    const e = error(file('    profile: [vedge]\n'));
    expect(e.keyPath).toBe('connections.bar.profile');
    expect(e.message).toContain('expected one of strongswan, vedge, ios-xe');
  });

  test('the profile key at the wrong level is an unknown key with a hint of where keys go', () => {
    const e = error(file('', '        profile: vedge\n'));
    expect(e.keyPath).toBe('connections.bar.children.net.profile');
  });
});

describe('profile proposals on every ESP backend', () => {
  for (const backend of ['userspace', 'xfrm', 'none'] as const) {
    for (const profile of ['strongswan', 'vedge', 'ios-xe'] as const) {
      test(`${profile} with ipsec_backend ${backend}: proposals that run, none dropped`, () => {
        const c = bar(`    profile: ${profile}\n`, '', `daemon:\n  ipsec_backend: ${backend}\n`);
        expect(c.proposals.length).toBeGreaterThan(0);
        expect(c.children[0]!.espProposals.length).toBeGreaterThan(0);
        if (profile === 'ios-xe') expect(c.proposals).toHaveLength(2);
      });
    }
  }
});
