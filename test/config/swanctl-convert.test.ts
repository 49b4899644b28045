// `ikelab convert` (src/config/swanctl): the settings parser (sections, includes, comments, quoting, references,
// errors with file and line), the mapping of every key ikelab takes, the report of what it leaves out, and every
// reference scenario's swanctl.conf under test/fixtures/charon-logs converting into a config ikelab loads.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConvertError, convertSwanctl, mapSwanctl } from '../../src/config/swanctl/convert.js';
import { lookup, parseSettingsFile, parseSettingsText, type SettingsSection, SettingsSyntaxError } from '../../src/config/swanctl/parse.js';
import { REFERENCE_LOGS_DIR } from '../helpers/fixtures.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ikelab-swanctl-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const value = (root: SettingsSection, path: string) => {
  const e = lookup(root, path);
  return e?.kind === 'value' ? e.value : undefined;
};

function syntaxError(text: string, file = 'swanctl.conf'): SettingsSyntaxError {
  try {
    parseSettingsText(text, file);
  } catch (e) {
    if (e instanceof SettingsSyntaxError) return e;
    throw e;
  }
  throw new Error('no error');
}

const convert = (swanctl: string, strongswan?: string) =>
  convertSwanctl({
    swanctl: parseSettingsText(swanctl, '/etc/swanctl/swanctl.conf'),
    swanctlFile: '/etc/swanctl/swanctl.conf',
    strongswan: strongswan === undefined ? undefined : parseSettingsText(strongswan, '/etc/strongswan.conf'),
    strongswanFile: strongswan === undefined ? undefined : '/etc/strongswan.conf',
  });

describe('settings parser', () => {
  test('nested sections, one-line sections, comments, lists and lines', () => {
    const root = parseSettingsText(
      [
        '# a comment',
        'connections {',
        '  rw {   # trailing comment',
        '    remote_addrs = 10.0.0.1, 10.0.0.2  # comment after a value',
        '    local { auth = psk',
        '            id = me@example.com }',
        '    children { net { local_ts = 10.1.0.0/24 } }',
        '  }',
        '}',
      ].join('\n'),
      'x.conf',
    );
    expect(value(root, 'connections.rw.remote_addrs')).toBe('10.0.0.1, 10.0.0.2');
    expect(value(root, 'connections.rw.local.auth')).toBe('psk');
    expect(value(root, 'connections.rw.local.id')).toBe('me@example.com');
    expect(value(root, 'connections.rw.children.net.local_ts')).toBe('10.1.0.0/24');
    const e = lookup(root, 'connections.rw.local.id');
    expect(e).toMatchObject({ file: 'x.conf', line: 6 });
    expect(lookup(root, 'connections.rw')).toMatchObject({ kind: 'section', line: 3 });
  });

  test('quoted strings: #, braces, escapes, several lines; empty values; later keys win', () => {
    const root = parseSettingsText(
      ['s {', '  a = "x # y { } z"', '  b = "say \\"hi\\"\\n\\\\"', '  c = "two', 'lines"', '  d =', '  a2 = 1', '  a2 = 2', '}'].join(
        '\n',
      ),
      'x.conf',
    );
    expect(value(root, 's.a')).toBe('x # y { } z');
    expect(value(root, 's.b')).toBe('say "hi"\n\\');
    expect(value(root, 's.c')).toBe('two\nlines');
    expect(value(root, 's.d')).toBe('');
    expect(value(root, 's.a2')).toBe('2');
    expect(lookup(root, 's.a2')).toMatchObject({ line: 8 });
  });

  test('a section written twice is one section', () => {
    const root = parseSettingsText('a { x = 1 }\na { y = 2\n x = 3 }', 'x.conf');
    expect(value(root, 'a.x')).toBe('3');
    expect(value(root, 'a.y')).toBe('2');
  });

  test('section references inherit what the section does not set', () => {
    const root = parseSettingsText(
      'connections {\n base { version = 2\n proposals = aes128-sha256-ecp256\n local { auth = psk } }\n rw : connections.base { proposals = aes256-sha256-modp2048\n local { id = me } }\n}',
      'x.conf',
    );
    expect(value(root, 'connections.rw.version')).toBe('2');
    expect(value(root, 'connections.rw.proposals')).toBe('aes256-sha256-modp2048');
    expect(value(root, 'connections.rw.local.auth')).toBe('psk');
    expect(value(root, 'connections.rw.local.id')).toBe('me');
    expect(syntaxError('a : nowhere { }').message).toBe(
      'swanctl.conf:1: section "a" references "nowhere", which is not a section of this file',
    );
  });

  test('include: relative to the including file, *.conf in name order, nested, missing file', () => {
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'main.conf'), 'connections {\n  include conf.d/*.conf\n}\ninclude secrets.inc # comment\n');
    writeFileSync(join(dir, 'conf.d', 'b.conf'), 'b { remote_addrs = 10.0.0.2 }\n');
    writeFileSync(join(dir, 'conf.d', 'a.conf'), 'a { remote_addrs = 10.0.0.1 }\ninclude ../more/x.conf\n');
    writeFileSync(join(dir, 'conf.d', 'ignored.txt'), 'this is not included {');
    mkdirSync(join(dir, 'more'));
    writeFileSync(join(dir, 'more', 'x.conf'), 'c {\n remote_addrs = 10.0.0.3 }\n');
    writeFileSync(join(dir, 'secrets.inc'), 'secrets { ike { secret = s } }\n');
    const root = parseSettingsFile(join(dir, 'main.conf'));
    const conns = lookup(root, 'connections') as SettingsSection;
    expect([...conns.entries.keys()]).toEqual(['a', 'c', 'b']);
    expect(lookup(root, 'connections.c.remote_addrs')).toMatchObject({ file: join(dir, 'more', 'x.conf'), line: 2 });
    expect(value(root, 'secrets.ike.secret')).toBe('s');

    writeFileSync(join(dir, 'bad.conf'), '\n\ninclude nothere.conf\n');
    const e = (() => {
      try {
        parseSettingsFile(join(dir, 'bad.conf'));
        return undefined;
      } catch (x) {
        return x as SettingsSyntaxError;
      }
    })();
    expect(e).toBeInstanceOf(SettingsSyntaxError);
    expect(e?.message).toContain(`${join(dir, 'bad.conf')}:3: cannot include ${join(dir, 'nothere.conf')}`);
    // a wildcard that matches nothing includes nothing
    writeFileSync(join(dir, 'empty.conf'), 'include none/*.conf\n');
    expect(parseSettingsFile(join(dir, 'empty.conf')).entries.size).toBe(0);
  });

  test('include: globs in directories, character classes and self-inclusion are refused', () => {
    writeFileSync(join(dir, 'self.conf'), 'include self.conf\n');
    expect(() => parseSettingsFile(join(dir, 'self.conf'))).toThrow(/includes nested deeper than 10/);
    expect(syntaxError('include */x.conf').message).toMatch(/^swanctl.conf:1: include .*: wildcards are supported in the file name only/);
    expect(syntaxError('include [ab].conf').message).toMatch(/character classes/);
  });

  test('errors name file and line', () => {
    expect(syntaxError('a {\n  b = 1\n').message).toBe('swanctl.conf:3: section "a" (line 1) is not closed with "}"');
    expect(syntaxError('a {\n}\n}').message).toBe('swanctl.conf:3: "}" without an open section');
    expect(syntaxError('a {\n  b c\n}').message).toBe('swanctl.conf:2: expected "=" or "{" after "b", got "c"');
    expect(syntaxError('a {\n  b\n}').message).toBe('swanctl.conf:2: "b" needs "= value" or "{ ... }"');
    expect(syntaxError('a = "open\n\n').message).toBe('swanctl.conf:1: quoted string not closed with "');
    expect(syntaxError('a = "x" y').message).toBe('swanctl.conf:1: unexpected text after the closing quote: "y"');
    expect(syntaxError('\na = x { y').message).toBe('swanctl.conf:2: a value cannot contain "{" unless quoted');
    expect(syntaxError('a = 1\na { }').message).toBe('swanctl.conf:2: "a" is a key (line 1) and cannot also be a section');
    expect(syntaxError('= 1', 'other.conf').message).toBe('other.conf:1: expected a key or section name, got "="');
  });
});

const FULL = `connections {
  rw {
    local_addrs = 192.0.2.1
    remote_addrs = 198.51.100.1, 198.51.100.2
    local_port = 4500
    remote_port = 4500
    version = 2
    proposals = aes256-sha256-modp2048, aes128gcm16-prfsha256-ecp256
    dpd_delay = 30s
    dpd_timeout = 150s
    rekey_time = 4h
    reauth_time = 0
    over_time = 10m
    rand_time = 5m
    encap = yes
    mobike = no
    fragmentation = force
    keyingtries = 3
    unique = replace
    send_certreq = no
    pools = pool1
    local {
      auth = psk
      id = gw.example.com
    }
    remote {
      auth = psk
      id = %any
    }
    children {
      net {
        local_ts = 10.1.0.0/24, 10.2.0.0/24
        remote_ts = 10.3.0.0/24[tcp/80]
        esp_proposals = aes256gcm16-modp2048
        mode = tunnel
        rekey_time = 1h
        life_time = 66m
        rand_time = 6m
        start_action = start
        close_action = restart
        dpd_action = restart
        replay_window = 64
        ipcomp = no
        updown = /usr/lib/ipsec/_updown iptables
      }
    }
  }
}
secrets {
  ike-rw {
    id-a = gw.example.com
    id-b = 198.51.100.1, 198.51.100.2
    secret = "a secret # with a hash"
  }
  eap-user { id = user
             secret = pw }
}
`;

const STRONGSWAN = `charon {
  port = 1500
  port_nat_t = 14500
  keep_alive = 25s
  cookie_threshold = 20
  cookie_threshold_ip = 4
  block_threshold = 8
  init_limit_half_open = 100
  fragment_size = 1400
  retransmit_timeout = 2.5
  retransmit_base = 1.5
  retransmit_tries = 4
  retransmit_jitter = 20
  retransmit_limit = 60
  load = aes sha2
  filelog {
    main { path = /var/log/charon.log
           default = 1
           ike = 2
           cfg = 2
           time_format = %b %e %T }
    other { path = /tmp/x.log }
  }
}
libstrongswan { leak_detective { detailed = yes } }
`;

describe('mapping', () => {
  test('every supported swanctl and strongswan.conf key, in ikelab order', () => {
    const r = convert(FULL, STRONGSWAN);
    const { doc } = mapSwanctl({
      swanctl: parseSettingsText(FULL, 's.conf'),
      swanctlFile: 's.conf',
      strongswan: parseSettingsText(STRONGSWAN, 'ss.conf'),
      strongswanFile: 'ss.conf',
    });
    expect(doc).toEqual({
      daemon: {
        port: 1500,
        natt_port: 14500,
        keep_alive: '25s',
        cookie_threshold: 20,
        cookie_threshold_ip: 4,
        block_threshold: 8,
        init_limit_half_open: 100,
        fragment_size: 1400,
        retransmit: { timeout: 2.5, base: 1.5, tries: 4, jitter: 20, limit: 60 },
        log: { time_format: 'charon', levels: { default: 1, ike: 2, cfg: 2 } },
      },
      connections: {
        rw: {
          local_addrs: ['192.0.2.1'],
          remote_addrs: ['198.51.100.1', '198.51.100.2'],
          local_port: 4500,
          remote_port: 4500,
          version: 2,
          proposals: ['aes256-sha256-modp2048', 'aes128gcm16-prfsha256-ecp256'],
          dpd_delay: '30s',
          dpd_timeout: '150s',
          rekey_time: '4h',
          reauth_time: 0,
          over_time: '10m',
          rand_time: '5m',
          encap: 'yes',
          mobike: 'no',
          fragmentation: 'force',
          keyingtries: 3,
          unique: 'replace',
          send_certreq: 'no',
          local: { auth: 'psk', id: 'gw.example.com' },
          remote: { auth: 'psk', id: '%any' },
          children: {
            net: {
              local_ts: ['10.1.0.0/24', '10.2.0.0/24'],
              remote_ts: ['10.3.0.0/24[tcp/80]'],
              esp_proposals: ['aes256gcm16-modp2048'],
              mode: 'tunnel',
              rekey_time: '1h',
              life_time: '66m',
              rand_time: '6m',
              start_action: 'start',
              close_action: 'start',
              dpd_action: 'restart',
              replay_window: 64,
              ipcomp: 'no',
            },
          },
        },
      },
      secrets: { 'ike-rw': { id: ['gw.example.com', '198.51.100.1', '198.51.100.2'], secret: 'a secret # with a hash' } },
    });
    // and ikelab's loader reads it as meant
    const c = r.config;
    expect(c.daemon.port).toBe(1500);
    expect(c.daemon.retransmit).toMatchObject({ timeout: 2.5, base: 1.5, tries: 4 });
    const rw = c.connections.find((x) => x.name === 'rw')!;
    expect(rw.dpdDelay).toBe(30);
    expect(rw.children[0]!.startAction).toBe('start');
    expect(c.secrets[0]).toMatchObject({ type: 'ike', ids: ['gw.example.com', '198.51.100.1', '198.51.100.2'] });
    // the YAML keeps the order: daemon, then the connection's keys as ikelab's examples write them
    const keys = r.yaml
      .slice(r.yaml.indexOf('connections:'))
      .split('\n')
      .filter((l) => /^ {4}[a-z_]+:/.test(l))
      .map((l) => l.trim().split(':')[0]);
    expect(keys.slice(0, 6)).toEqual(['local_addrs', 'remote_addrs', 'local_port', 'remote_port', 'version', 'proposals']);
    expect(r.yaml.indexOf('daemon:')).toBeLessThan(r.yaml.indexOf('connections:'));
    expect(r.yaml.indexOf('connections:')).toBeLessThan(r.yaml.indexOf('secrets:'));
  });

  test('the ignored keys: on the report and atop the YAML, with path, line and reason; secret values never shown', () => {
    const r = convert(FULL, STRONGSWAN);
    const lines = r.yaml.split('\n').filter((l) => l.startsWith('# ignored: '));
    expect(lines).toEqual([
      '# ignored: connections.rw.pools (line 21): ikelab has no address pools',
      '# ignored: connections.rw.children.net.updown (line 44): ikelab runs no updown scripts',
      '# ignored: secrets.eap-user (line 55): ikelab uses IKE pre-shared keys only, not eap secrets',
      '# ignored: charon.load (strongswan.conf line 15): ikelab has no plugins',
      "# ignored: charon.filelog.main.path (strongswan.conf line 17): ikelab logs to stdout; set daemon.log.file to a path of ikelab's own",
      '# ignored: charon.filelog.other (strongswan.conf line 22): ikelab has one log; the levels of charon.filelog.main were used',
      "# ignored: libstrongswan (strongswan.conf line 25): ikelab reads only strongswan.conf's charon section",
    ]);
    expect(r.ignored).toHaveLength(lines.length);
    expect(r.yaml).not.toMatch(/^#.*pw/m);
  });

  test('values ikelab lacks are dropped and reported; non-PSK auth; extra rounds; missing remote_addrs added', () => {
    const r = convert(`connections {
  c {
    aggressive = yes
    mystery = 1
    local { auth = pubkey
            certs = gw.pem }
    local-2 { auth = eap }
    remote { auth = psk }
    children {
      x { mode = pass
          start_action = route
          close_action = clear
          ipcomp = yes
          ah_proposals = sha256
          rekey_bytes = 1000000 }
    }
  }
}
authorities { ca { cacert = ca.pem } }
pools { p { addrs = 10.0.0.0/24 } }
`);
    expect(r.ignored.map((i) => `${i.path} ${i.pos.line}: ${i.reason}`)).toEqual([
      'connections.c.aggressive 3: IKEv1 Aggressive Mode; ikelab speaks IKEv2 only',
      'connections.c.mystery 4: not a swanctl connection key ikelab knows',
      'connections.c.local.auth 5: ikelab authenticates with pre-shared keys only; "pubkey" dropped',
      'connections.c.local.certs 6: ikelab authenticates with PSKs only (auth, id)',
      'connections.c.local-2 7: ikelab authenticates in one round (it uses connections.c.local)',
      'connections.c.children.x.mode 10: ikelab has tunnel and transport mode only; "pass" dropped',
      'connections.c.children.x.close_action 12: ikelab\'s close_action is none, start or trap; "clear" dropped',
      'connections.c.children.x.ipcomp 13: ikelab does not implement IPComp; "yes" dropped',
      'connections.c.children.x.ah_proposals 14: ikelab has no AH, ESP only',
      'connections.c.children.x.rekey_bytes 15: ikelab rekeys and expires CHILD_SAs by time only',
      'authorities 19: ikelab has no certificate authorities (PSK only)',
      'pools 20: ikelab has no address pools',
    ]);
    expect(r.added).toEqual([{ path: 'connections.c.remote_addrs', value: '%any', reason: "swanctl's default; ikelab wants it written" }]);
    expect(r.yaml).toContain("# added: connections.c.remote_addrs = %any: swanctl's default; ikelab wants it written");
    expect(r.config.connections[0]!.children[0]!.startAction).toBe('trap');
  });

  test('a result the loader refuses is a ConvertError naming the swanctl key and line', () => {
    let err: unknown;
    try {
      convert('connections {\n  c {\n    remote_addrs = 10.0.0.1\n    version = 1\n  }\n}\n');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConvertError);
    expect((err as Error).message).toBe(
      'the converted config does not load: connections.c.version (line 4): expected IKE version 2 (or 0 = any), got 1 (ikelab speaks IKEv2 only)',
    );
    expect(() => convert('connections { c { remote_addrs = 10.0.0.1\n children { n { esp_proposals = aes128ctr-sha256 } } } }')).toThrow(
      /connections\.c\.children\.n\.esp_proposals(\[0\])? \(line 2\)/,
    );
  });

  test('an empty file is an empty config', () => {
    const r = convert('# nothing\n');
    expect(r.config.connections).toEqual([]);
    expect(r.yaml).toContain('# nothing ignored');
  });
});

const SCENARIOS = readdirSync(REFERENCE_LOGS_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

describe('reference scenarios (test/fixtures/charon-logs)', () => {
  test('there are scenarios', () => expect(SCENARIOS.length).toBeGreaterThanOrEqual(10));
  for (const s of SCENARIOS) {
    for (const side of ['initiator', 'responder'] as const) {
      test(`${s}: ${side}.swanctl.conf + strongswan.conf convert and load`, () => {
        const file = join(REFERENCE_LOGS_DIR, s, `${side}.swanctl.conf`);
        const ss = join(REFERENCE_LOGS_DIR, s, 'strongswan.conf');
        const input = { swanctl: parseSettingsFile(file), swanctlFile: file, strongswan: parseSettingsFile(ss), strongswanFile: ss };
        const r = convertSwanctl(input);
        // nothing of the swanctl.conf itself is left out: these scenarios use only keys ikelab has
        expect(r.ignored.filter((i) => i.pos.file === file)).toEqual([]);
        const again = parseConfig(r.yaml, 'x.yaml');
        const bar = again.connections.find((c) => c.name === 'bar')!;
        const [local, remote] = side === 'initiator' ? ['10.98.0.2', '10.98.0.1'] : ['10.98.0.1', '10.98.0.2'];
        expect(bar.remote.id).toBe(remote);
        expect(bar.local.id).toBe(local);
        expect(bar.children.map((c) => c.name)).toEqual(['net']);
        expect(again.secrets[0]!.ids.sort()).toEqual(['10.98.0.1', '10.98.0.2']);
      });
    }
  }
});

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

describe.skipIf(!existsSync(CLI))('ikelab convert (dist/cli.js)', () => {
  test('stdout is the YAML, stderr the ignored keys, exit 0', () => {
    const f = join(REFERENCE_LOGS_DIR, 'dpd-timeout', 'initiator.swanctl.conf');
    const ss = join(REFERENCE_LOGS_DIR, 'dpd-timeout', 'strongswan.conf');
    const r = spawnSync(process.execPath, [CLI, 'convert', f, '--strongswan-conf', ss], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('dpd_delay: 3s');
    expect(r.stdout).toContain('retransmit:\n    timeout: 1\n    base: 1.4\n    tries: 3');
    expect(r.stderr).toContain('ikelab convert: ignored: charon.load (strongswan.conf line 2): ikelab has no plugins');
    writeFileSync(join(dir, 'out.yaml'), r.stdout);
    expect(parseConfig(r.stdout, 'out.yaml').connections[0]!.dpdDelay).toBe(3);
  });

  test('errors exit 2 with file and line; --help', () => {
    writeFileSync(join(dir, 'bad.conf'), 'connections {\n  c {\n');
    const r = spawnSync(process.execPath, [CLI, 'convert', join(dir, 'bad.conf')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'bad.conf')}:3: section "c" (line 2) is not closed`);
    writeFileSync(join(dir, 'v1.conf'), 'connections {\n  c {\n    remote_addrs = 10.0.0.1\n    version = 1\n  }\n}\n');
    const v1 = spawnSync(process.execPath, [CLI, 'convert', join(dir, 'v1.conf')], { encoding: 'utf8' });
    expect(v1.status).toBe(2);
    expect(v1.stderr).toContain('connections.c.version (line 4)');
    expect(v1.stdout).toBe('');
    expect(spawnSync(process.execPath, [CLI, 'convert'], { encoding: 'utf8' }).status).toBe(2);
    expect(spawnSync(process.execPath, [CLI, 'convert', join(dir, 'nothere.conf')], { encoding: 'utf8' }).status).toBe(2);
    expect(execFileSync(process.execPath, [CLI, 'convert', '--help'], { encoding: 'utf8' })).toContain('convert SWANCTL.CONF');
  });
});
