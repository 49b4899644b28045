import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { fileURLToPath } from 'node:url';
import { formatProposals, formatTsConfig, loadConfig, parseConfig } from '../../src/config/index.js';
import { FIXTURES_DIR as REF } from '../helpers/fixtures.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('the reference config (ikelab-example.yaml)', () => {
  const cfg = loadConfig(join(REF, 'ikelab-example.yaml'));

  test('daemon', () => {
    expect(cfg.file).toBe(join(REF, 'ikelab-example.yaml'));
    expect(cfg.daemon).toMatchObject({
      listen: ['10.98.0.2'],
      port: 500,
      nattPort: 4500,
      controlSocket: '/tmp/lab/k/ikelab.sock',
      retransmit: { timeout: 0.5, base: 2, tries: 2, jitter: 0, limit: 0 },
    });
  });

  test('connection bar', () => {
    expect(cfg.connections).toHaveLength(1);
    const bar = cfg.connections[0]!;
    expect(bar).toMatchObject({
      name: 'bar',
      localAddrs: ['10.98.0.2'],
      remoteAddrs: ['10.98.0.1'],
      localPort: 500,
      remotePort: 500,
      version: 2,
      proposalTexts: ['aes256-sha256-modp2048'],
      dpdDelay: 2,
      local: { auth: 'psk', id: '10.98.0.2' },
      remote: { auth: 'psk', id: '10.98.0.1' },
    });
    expect(formatProposals(bar.proposals)).toBe('IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048');
  });

  test('child net', () => {
    const net = cfg.connections[0]!.children[0]!;
    expect(net.name).toBe('net');
    expect(net.localTs.map(formatTsConfig)).toEqual(['10.12.0.0/24']);
    expect(net.remoteTs.map(formatTsConfig)).toEqual(['10.11.0.0/24']);
    expect(formatProposals(net.espProposals)).toBe('ESP:AES_CBC_256/HMAC_SHA2_256_128/MODP_2048/NO_EXT_SEQ');
    expect(net.startAction).toBe('start');
    // charon's check_lifetimes() in whole seconds: life = 4 * 110 / 100 = 4, rand = life - rekey = 0
    expect([net.rekeyTime, net.lifeTime, net.randTime]).toEqual([4, 4, 0]);
  });

  test('secret', () => {
    expect(cfg.secrets).toEqual([{ name: 'ike-bar', type: 'ike', ids: ['10.98.0.1', '10.98.0.2'], secret: Buffer.from('barsecret') }]);
  });
});

describe('swanctl defaults match what charon 5.9.8 loaded (kat initiator.log vici dump)', () => {
  const log = readFileSync(join(REF, 'kat/aes256-sha256-modp2048/initiator.log'), 'utf8');
  // the same connection as kat/aes256-sha256-modp2048/initiator.swanctl.conf
  const cfg = parseConfig(
    `
connections:
  kat:
    local_addrs: 10.95.0.2
    remote_addrs: 10.95.0.1
    version: 2
    proposals: aes256-sha256-modp2048
    local: { auth: psk, id: 10.95.0.2 }
    remote: { auth: psk, id: 10.95.0.1 }
    children:
      net:
        local_ts: 10.12.0.0/24
        remote_ts: 10.11.0.0/24
        esp_proposals: aes256-sha256-modp2048
`,
    'kat.yaml',
  );
  const kat = cfg.connections[0]!;
  const net = kat.children[0]!;
  const logged = (key: string, indent: number) => new RegExp(`\\[CFG\\] {${indent}}${key} = (\\S+)`).exec(log)![1];

  test.each([
    ['rekey_time', () => kat.rekeyTime],
    ['over_time', () => kat.overTime],
    ['rand_time', () => kat.randTime],
    ['reauth_time', () => kat.reauthTime],
    ['keyingtries', () => kat.keyingtries],
    ['dpd_delay', () => kat.dpdDelay],
    ['remote_port', () => kat.remotePort],
  ])('IKE %s', (key, get) => {
    expect(String(get())).toBe(logged(key, 3));
  });

  test.each([
    ['rekey_time', () => net.rekeyTime],
    ['life_time', () => net.lifeTime],
    ['rand_time', () => net.randTime],
  ])('CHILD %s', (key, get) => {
    expect(String(get())).toBe(logged(key, 4));
  });

  test('booleans and enums', () => {
    expect(kat.mobike).toBe(logged('mobike', 3) === '1');
    expect(kat.sendCertreq).toBe(logged('send_certreq', 3) === '1');
    expect(kat.encap).toBe(logged('encap', 3) === '1');
    expect(kat.unique).toBe('no');
    expect(logged('unique', 3)).toBe('UNIQUE_NO');
    expect(net.mode.toUpperCase()).toBe(logged('mode', 4));
    expect(net.startAction).toBe(logged('start_action', 4));
    expect(net.closeAction).toBe(logged('close_action', 4));
    expect(net.ipcomp).toBe(false);
    expect(net.replayWindow).toBe(32);
  });

  test('proposals print as charon printed them', () => {
    expect(formatProposals(kat.proposals)).toBe(logged('proposals', 3));
    expect(formatProposals(net.espProposals)).toBe(logged('proposals', 4));
  });
});

describe('example and demo files', () => {
  test('config/lab.yaml is the reference config, annotated', () => {
    const cfg = loadConfig(join(ROOT, 'config/lab.yaml'));
    expect(cfg.daemon.log).toEqual({ stdout: true, syslogPrefix: false, timeFormat: 'charon', levels: { default: 1, ike: 2, cfg: 2 } });
    expect(cfg.connections[0]!.name).toBe('bar');
    expect(cfg.connections[0]!.children[0]!.lifeTime).toBe(4);
    // same content as the reference apart from the log section
    const ref = loadConfig(join(REF, 'ikelab-example.yaml'));
    const comparable = (c: typeof cfg) => ({ ...c, file: '', daemon: { ...c.daemon, log: null } });
    expect(comparable(cfg)).toEqual(comparable(ref));
  });

  test('config/example.yaml: loopback, charon production timers, a quiet responder, the default socket', () => {
    // with the checks of `ikelab start`: it must start as written on any host
    const cfg = loadConfig(join(ROOT, 'config/example.yaml'), { startup: {} });
    expect(cfg.daemon).toMatchObject({
      listen: ['127.0.0.1'],
      port: 500,
      nattPort: 4500,
      controlSocket: join(tmpdir(), 'ikelab.sock'),
      retransmit: { timeout: 4, base: 1.8, tries: 5, jitter: 0, limit: 0 },
      log: { stdout: true, syslogPrefix: false, timeFormat: 'charon', levels: { default: 1 } },
    });
    const [bar] = cfg.connections;
    expect(cfg.connections).toHaveLength(1);
    expect(bar).toMatchObject({ name: 'bar', localAddrs: ['127.0.0.1'], rekeyTime: 4 * 3600, dpdDelay: 0 });
    expect(formatProposals(bar!.proposals)).toBe('IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048');
    const [net] = bar!.children;
    expect(net).toMatchObject({ name: 'net', startAction: 'none', rekeyTime: 3600, lifeTime: 3960 });
    expect(formatProposals(net!.espProposals)).toBe('ESP:AES_CBC_256/HMAC_SHA2_256_128/NO_EXT_SEQ');
  });

  test('demo-a and demo-b are mirror images that can both bind on one host', () => {
    const a = loadConfig(join(ROOT, 'config/demo-a.yaml'));
    const b = loadConfig(join(ROOT, 'config/demo-b.yaml'));
    expect(a.daemon.listen).toEqual(['127.0.0.1']);
    expect(b.daemon.listen).toEqual(['127.0.0.2']);
    for (const c of [a, b]) {
      expect(c.daemon.port).toBeGreaterThanOrEqual(1024);
      expect(c.daemon.nattPort).toBeGreaterThanOrEqual(1024);
    }
    // no control socket in either file (src/demo.ts gives each peer its own in a temp dir): the default
    for (const c of [a, b]) expect(c.daemon.controlSocket).toBe(join(tmpdir(), 'ikelab.sock'));
    const [ca, cb] = [a.connections[0]!, b.connections[0]!];
    expect(ca.remoteAddrs).toEqual(b.daemon.listen);
    expect(cb.remoteAddrs).toEqual(a.daemon.listen);
    expect(ca.remotePort).toBe(b.daemon.port);
    expect(cb.remotePort).toBe(a.daemon.port);
    expect([ca.local.id, ca.remote.id]).toEqual([cb.remote.id, cb.local.id]);
    expect(formatProposals(ca.proposals)).toBe('IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048');
    expect(formatProposals(ca.children[0]!.espProposals)).toBe('ESP:AES_GCM_16_256/NO_EXT_SEQ');
    expect(ca.children[0]!.startAction).toBe('start');
    expect(cb.children[0]!.startAction).toBe('none');
    expect(ca.children[0]!.localTs.map(formatTsConfig)).toEqual(cb.children[0]!.remoteTs.map(formatTsConfig));
    expect(ca.children[0]!.remoteTs.map(formatTsConfig)).toEqual(cb.children[0]!.localTs.map(formatTsConfig));
    expect(a.secrets[0]!.secret.equals(b.secrets[0]!.secret)).toBe(true);
  });
});

describe('defaults and value spellings', () => {
  const cfg = parseConfig(
    `
connections:
  rw:
    remote_addrs: "%any"
    rekey_time: 1h
    children:
      c1: {}
`,
    'min.yaml',
  );
  const rw = cfg.connections[0]!;

  test('daemon defaults', () => {
    expect(cfg.daemon).toEqual({
      listen: ['0.0.0.0'],
      port: 500,
      nattPort: 4500,
      controlSocket: join(tmpdir(), 'ikelab.sock'),
      ipsecBackend: 'userspace',
      keepAlive: 20,
      maxChildSas: 128,
      // strongswan.conf charon.cookie_threshold, cookie_threshold_ip, block_threshold, init_limit_half_open
      cookieThreshold: 30,
      cookieThresholdIp: 3,
      blockThreshold: 5,
      initLimitHalfOpen: 0,
      receiveBuffer: 4 * 1024 * 1024,
      initQueueLimit: 1000,
      // strongswan.conf charon.fragment_size
      fragmentSize: 1280,
      retransmit: { timeout: 4, base: 1.8, tries: 5, jitter: 0, limit: 0 },
      log: { stdout: true, syslogPrefix: false, timeFormat: 'charon', levels: { default: 1 } },
    });
  });

  test('connection defaults', () => {
    expect(rw).toMatchObject({
      localAddrs: ['%any'],
      remoteAddrs: ['%any'],
      localPort: 500,
      remotePort: 500,
      dpdDelay: 0,
      dpdTimeout: 0,
      dpdAction: 'clear',
      rekeyTime: 3600,
      reauthTime: 0,
      overTime: 360,
      randTime: 360,
      encap: false,
      mobike: true,
      fragmentation: 'yes',
      keyingtries: 1,
      unique: 'no',
      sendCertreq: true,
      proposalTexts: [],
      local: { auth: 'psk', id: '%any' },
      remote: { auth: 'psk', id: '%any' },
    });
    expect(rw.proposals.map((p) => p.num)).toEqual([1, 2]); // strongSwan default: classic + AEAD
    expect(formatProposals(rw.proposals)).toMatch(/^IKE:AES_CBC_128\/.*, IKE:AES_GCM_16_128\//);
  });

  test('child defaults: dynamic TS, ESP default with AEAD first (as vici does without esp_proposals)', () => {
    // strongSwan's default list minus AES_XCBC_96, which the userspace ESP engine (the default backend) cannot run
    const c1 = rw.children[0]!;
    expect(c1).toMatchObject({
      name: 'c1',
      mode: 'tunnel',
      rekeyTime: 3600,
      lifeTime: 3960,
      randTime: 360,
      startAction: 'none',
      closeAction: 'none',
      dpdAction: 'clear',
      replayWindow: 32,
      ipcomp: false,
      hostAddrs: [],
      espProposalTexts: [],
    });
    expect(c1.localTs).toEqual([{ dynamic: true, ipProtocol: 0, startPort: 0, endPort: 65535, text: 'dynamic' }]);
    expect(c1.remoteTs.map(formatTsConfig)).toEqual(['dynamic']);
    expect(formatProposals(c1.espProposals)).toBe(
      'ESP:AES_GCM_16_128/AES_GCM_16_192/AES_GCM_16_256/NO_EXT_SEQ, ' +
        'ESP:AES_CBC_128/AES_CBC_192/AES_CBC_256/HMAC_SHA2_256_128/HMAC_SHA2_384_192/HMAC_SHA2_512_256/HMAC_SHA1_96/NO_EXT_SEQ',
    );
  });

  test('swanctl spellings: comma lists, yes/no, durations, reauth/over/rand rules', () => {
    const c = parseConfig(
      `
daemon:
  listen: 10.0.0.1, fd00::1
  port: 1500
  retransmit: { timeout: 2s, limit: 1m, jitter: 20 }
  log: { stdout: no, time_format: iso, levels: { IKE: 4, net: -1 }, json: stderr }
connections:
  x:
    local_addrs: 10.0.0.1
    remote_addrs: 10.0.0.2, peer.example.com
    proposals: aes256-sha256-modp2048, aes128gcm16-prfsha256-ecp256
    reauth_time: 2h
    encap: yes
    mobike: "false"
    dpd_action: restart
    fragmentation: force
    unique: replace
    children:
      a:
        local_ts: 10.1.0.0/24, 10.2.0.0/24
        remote_ts: [10.3.0.0/16]
        esp_proposals: aes256-sha256, aes256gcm16-ecp256
        rekey_time: 600
        life_time: 15m
        host_addrs: 10.2.0.7
        mode: transport
        close_action: trap
      b:
        dpd_action: none
`,
      't.yaml',
    );
    expect(c.daemon).toMatchObject({ listen: ['10.0.0.1', 'fd00::1'], port: 1500, retransmit: { timeout: 2, limit: 60, jitter: 20 } });
    expect(c.daemon.log).toEqual({
      stdout: false,
      syslogPrefix: false,
      timeFormat: 'iso',
      json: 'stderr',
      levels: { default: 1, ike: 4, net: -1 },
    });
    const x = c.connections[0]!;
    expect(x.localPort).toBe(1500);
    expect(x.remoteAddrs).toEqual(['10.0.0.2', 'peer.example.com']);
    expect(x.proposals.map((p) => p.num)).toEqual([1, 2]);
    expect(x.proposalTexts).toEqual(['aes256-sha256-modp2048', 'aes128gcm16-prfsha256-ecp256']);
    // reauth only: no rekeying, over_time 10% of reauth_time, rand_time min(over, reauth/2)
    expect([x.rekeyTime, x.reauthTime, x.overTime, x.randTime]).toEqual([0, 7200, 720, 720]);
    expect([x.encap, x.mobike, x.dpdAction, x.fragmentation, x.unique]).toEqual([true, false, 'restart', 'force', 'replace']);
    const [a, b] = [x.children[0]!, x.children[1]!];
    expect(a.localTs.map(formatTsConfig)).toEqual(['10.1.0.0/24', '10.2.0.0/24']);
    expect(a.espProposalTexts).toEqual(['aes256-sha256', 'aes256gcm16-ecp256']);
    expect([a.rekeyTime, a.lifeTime, a.randTime]).toEqual([600, 900, 300]);
    expect([a.mode, a.closeAction, a.hostAddrs, a.dpdAction]).toEqual(['transport', 'trap', ['10.2.0.7'], 'restart']);
    expect(b.dpdAction).toBe('none');
  });

  test('an empty file is a config without connections', () => {
    expect(parseConfig('', 'e.yaml')).toMatchObject({ connections: [], secrets: [], daemon: { port: 500 } });
  });
});
