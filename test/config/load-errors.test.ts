import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/index.js';

/** The ConfigError parseConfig throws for text (fails the test when none is thrown). */
function error(text: string): ConfigError {
  try {
    parseConfig(text, 'ikelab.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('no ConfigError thrown');
}

const conn = (body: string) => `connections:\n  bar:\n    remote_addrs: 10.98.0.1\n${body}`;
const child = (body: string) => conn(`    children:\n      net:\n${body}`);

describe('each error names file, key path and what was expected', () => {
  test('bad ESP proposal: the message from the issue, word for word, plus the position', () => {
    const e = error(child('        esp_proposals: [aes256-sha256, aes999-sha256]\n'));
    expect(e.message).toBe(
      'ikelab.yaml: connections.bar.children.net.esp_proposals[1]: expected a strongSwan ESP proposal ' +
        'such as aes256-sha256 or aes256gcm16-modp2048, got "aes999-sha256" (unknown algorithm keyword "aes999") [line 6, column 40]',
    );
    expect([e.file, e.keyPath, e.line]).toEqual(['ikelab.yaml', 'connections.bar.children.net.esp_proposals[1]', 6]);
    expect(e.expected).toMatch(/^a strongSwan ESP proposal/);
  });

  test('bad IKE proposal given as a comma string', () => {
    const e = error(conn('    proposals: aes256-sha256-modp2048, aes256gcm16-modp2048\n'));
    expect(e.keyPath).toBe('connections.bar.proposals');
    expect(e.message).toContain('expected a strongSwan IKE proposal');
    expect(e.message).toContain('got "aes256gcm16-modp2048" (an AEAD IKE proposal needs a PRF keyword such as prfsha256)');
  });

  test('unknown key, with the allowed keys and a suggestion', () => {
    const e = error(conn('    dpd_dealy: 2s\n'));
    expect(e.keyPath).toBe('connections.bar.dpd_dealy');
    expect(e.message).toMatch(
      /^ikelab\.yaml: connections\.bar\.dpd_dealy: expected one of the keys of connections\.<conn>: local_addrs, remote_addrs, /,
    );
    expect(e.message).toContain('got unknown key "dpd_dealy" (did you mean "dpd_delay"?)');
    expect(e.line).toBe(4);
  });

  test('unknown keys everywhere: top level, daemon, child, endpoint', () => {
    expect(error('daemons: {}\n').keyPath).toBe('daemons');
    expect(error('daemon:\n  natport: 4500\n').message).toContain('(did you mean "natt_port"?)');
    expect(error(child('        esp_proposal: aes256-sha256\n')).keyPath).toBe('connections.bar.children.net.esp_proposal');
    expect(error(conn('    local: { auth: psk, idd: x }\n')).keyPath).toBe('connections.bar.local.idd');
    expect(error('secrets:\n  ike-a:\n    id-1: a\n    secrett: x\n').message).toBe(
      'ikelab.yaml: secrets.ike-a.secrett: expected one of the keys of secrets.<ike...>: id, id<suffix> (id-1, id-2, ...), ' +
        'secret, got unknown key "secrett" [line 4, column 14]',
    );
  });

  test('wrong types', () => {
    const e = error('connections: 5\n');
    expect(e.message).toBe('ikelab.yaml: connections: expected connections as a mapping of names to sections, got 5 [line 1, column 14]');
    expect(error(conn('    local: psk\n')).message).toMatch(
      /connections\.bar\.local: expected connections\.<conn>\.local as a mapping with keys auth, id, got "psk"/,
    );
    expect(error('daemon:\n  port: http\n').message).toMatch(/daemon\.port: expected a UDP port 1\.\.65535, got "http"/);
    expect(error('daemon:\n  port: 0\n').keyPath).toBe('daemon.port');
    expect(error('daemon:\n  port: 70000\n').keyPath).toBe('daemon.port');
    expect(error(conn('    mobike: maybe\n')).message).toMatch(/connections\.bar\.mobike: expected yes or no \(true\/false\), got "maybe"/);
    expect(error(conn('    version: 1\n')).message).toContain('(ikelab speaks IKEv2 only)');
    expect(error(child('        mode: beet\n')).message).toMatch(/mode: expected one of tunnel, transport, got "beet"/);
    expect(error(child('        ipcomp: yes\n')).message).toContain('IPComp is not implemented');
    expect(error('daemon:\n  retransmit: { tries: -1 }\n').keyPath).toBe('daemon.retransmit.tries');
    expect(error('daemon:\n  retransmit: { timeout: 0 }\n').keyPath).toBe('daemon.retransmit.timeout');
    expect(error('daemon:\n  log: { levels: { ike: 5 } }\n').message).toMatch(
      /daemon\.log\.levels\.ike: expected a log level -1\.\.4, got 5/,
    );
    expect(error('daemon:\n  log: { levels: { iek: 2 } }\n').message).toMatch(
      /daemon\.log\.levels\.iek: expected a charon log group: default, dmn/,
    );
    expect(error(conn('    local: { auth: pubkey }\n')).message).toMatch(/local\.auth: expected one of psk, got "pubkey"/);
  });

  test('bad traffic selector', () => {
    const e = error(child('        local_ts: [10.12.0.0/24, 10.13.0.0/33]\n'));
    expect(e.keyPath).toBe('connections.bar.children.net.local_ts[1]');
    expect(e.message).toContain('expected a traffic selector such as 10.1.0.0/24');
    expect(e.message).toContain('got "10.13.0.0/33" (prefix length must be 0..32)');
    expect(error(child('        remote_ts: 10.0.0.0/8[tcp/http2x]\n')).keyPath).toBe('connections.bar.children.net.remote_ts');
  });

  test('bad duration', () => {
    const e = error(child('        rekey_time: 4hours\n'));
    expect(e.message).toBe(
      'ikelab.yaml: connections.bar.children.net.rekey_time: expected a duration such as 30s, 5m, 4h or 1d ' +
        '(a plain number is seconds), got "4hours" [line 6, column 21]',
    );
    expect(error(conn('    dpd_delay: -2s\n')).keyPath).toBe('connections.bar.dpd_delay');
  });

  test('missing remote_addrs', () => {
    const e = error('connections:\n  bar:\n    local_addrs: 10.98.0.2\n');
    expect(e.keyPath).toBe('connections.bar.remote_addrs');
    expect(e.message).toMatch(
      /^ikelab\.yaml: connections\.bar\.remote_addrs: expected remote addresses \(IP addresses, DNS names or %any\), got nothing \(this key is required\)/,
    );
    expect(error('connections:\n  bar:\n').keyPath).toBe('connections.bar.remote_addrs');
  });

  test('addresses', () => {
    expect(error('daemon:\n  listen: [10.0.0.1, eth0]\n').message).toMatch(
      /daemon\.listen\[1\]: expected an IP address such as 10\.98\.0\.2 or fd00::2, got "eth0"/,
    );
    expect(error(conn('    local_addrs: [somehost]\n')).keyPath).toBe('connections.bar.local_addrs[0]');
    expect(error('connections:\n  bar:\n    remote_addrs: [10.0.0.300]\n').keyPath).toBe('connections.bar.remote_addrs[0]');
    const e = error(`daemon:\n  listen: [10.98.0.2]\n${conn('    local_addrs: [10.98.0.2, 10.98.0.3]\n')}`);
    expect(e.message).toMatch(
      /connections\.bar\.local_addrs\[1\]: expected an address ikelab listens on \(daemon\.listen: 10\.98\.0\.2\), got "10\.98\.0\.3"/,
    );
    expect(error('daemon:\n  port: 4500\n').message).toMatch(
      /daemon\.natt_port: expected a port different from daemon\.port \(4500\), got 4500/,
    );
  });

  test('host_addrs must lie inside local_ts', () => {
    const e = error(child('        local_ts: 10.12.0.0/24\n        host_addrs: [10.12.0.1, 10.13.0.1]\n'));
    expect(e.message).toMatch(
      /connections\.bar\.children\.net\.host_addrs\[1\]: expected an address inside local_ts \(10\.12\.0\.0\/24\), got "10\.13\.0\.1"/,
    );
  });

  test('secrets', () => {
    expect(error('secrets:\n  eap-a:\n    secret: x\n').message).toMatch(/secrets\.eap-a: expected a secret section named ike<suffix>/);
    expect(error('secrets:\n  ike-a:\n    id: a\n').keyPath).toBe('secrets.ike-a.secret');
    expect(error('secrets:\n  ike-a:\n    secret: 0xabc\n').message).toMatch(
      /secrets\.ike-a\.secret: expected 0x followed by an even number of hex digits/,
    );
    expect(error('secrets:\n  ike-a:\n    secret: 0xabc\n').message).not.toContain('abc');
  });
});

describe('YAML problems', () => {
  test('syntax error names file, line and column', () => {
    const e = error('daemon:\n  listen: [10.0.0.1\nconnections: {}\n');
    expect(e.message).toMatch(/^ikelab\.yaml: expected valid YAML, got a syntax error \(.+\) \[line \d+, column \d+\]$/);
    expect(e.line).toBeGreaterThanOrEqual(2);
    expect(e.keyPath).toBe('');
  });

  test('tab indentation', () => {
    expect(error('daemon:\n\tport: 500\n').message).toMatch(/^ikelab\.yaml: expected valid YAML, got a syntax error .*\[line 2/);
  });

  test('duplicate connection names and duplicate child names are errors', () => {
    const dup = error('connections:\n  bar:\n    remote_addrs: 1.2.3.4\n  bar:\n    remote_addrs: 1.2.3.5\n');
    expect(dup.message).toBe('ikelab.yaml: expected valid YAML, got a syntax error (Map keys must be unique) [line 4, column 3]');
    expect(error(child('        {}\n      net: {}\n')).message).toMatch(/Map keys must be unique/);
  });

  test('a file that is not a mapping', () => {
    expect(error('- a\n- b\n').message).toMatch(
      /^ikelab\.yaml: expected the config file as a mapping with keys daemon, connections, secrets, faults, got a list/,
    );
  });

  test('loadConfig of a missing file', () => {
    expect(() => loadConfig('/nonexistent/ikelab.yaml')).toThrow(
      /^\/nonexistent\/ikelab\.yaml: expected a readable config file, got ENOENT/,
    );
  });
});
