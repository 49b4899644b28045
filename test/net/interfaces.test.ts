// Wildcard listen addresses are expanded to the host's addresses, and an initiator without local_addrs picks
// the source address on the peer's subnet; end to end over real UDP on loopback, a daemon that only says
// "listen everywhere" establishes with its real address as identity instead of 0.0.0.0.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { Logger, MemorySink } from '../../src/log/logger.js';
import { expandListen, pickSource, type HostAddress } from '../../src/net/interfaces.js';
import { runDaemon, type Running } from '../../src/run-daemon.js';

const host: HostAddress[] = [
  { address: '127.0.0.1', family: 'IPv4', cidr: '127.0.0.1/8', internal: true },
  { address: '::1', family: 'IPv6', cidr: '::1/128', internal: true },
  { address: '192.0.2.2', family: 'IPv4', cidr: '192.0.2.2/24', internal: false },
  { address: '198.51.100.7', family: 'IPv4', cidr: '198.51.100.7/28', internal: false },
  { address: 'fd00::2', family: 'IPv6', cidr: 'fd00::2/64', internal: false },
];

describe('expandListen / pickSource', () => {
  test('0.0.0.0 and :: become every address of that family; specific ones stay', () => {
    expect(expandListen(['0.0.0.0'], host)).toEqual(['127.0.0.1', '192.0.2.2', '198.51.100.7']);
    expect(expandListen(['::', '10.9.9.9'], host)).toEqual(['::1', 'fd00::2', '10.9.9.9']);
  });
  test('the address on the peer subnet wins, else the first non-loopback one', () => {
    const all = expandListen(['0.0.0.0'], host);
    expect(pickSource('198.51.100.1', all, host)).toBe('198.51.100.7');
    expect(pickSource('192.0.2.200', all, host)).toBe('192.0.2.2');
    expect(pickSource('127.0.0.2', all, host)).toBe('127.0.0.1');
    expect(pickSource('203.0.113.5', all, host)).toBe('192.0.2.2');
    expect(pickSource('203.0.113.5', ['127.0.0.1'], host)).toBe('127.0.0.1');
  });
});

describe('a daemon listening on 0.0.0.0 without local_addrs (real UDP on loopback)', () => {
  const running: Running[] = [];
  let dir = '';
  afterEach(async () => {
    for (const r of running.splice(0)) await r.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('initiates from its real address and uses it as identity', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ikelab-wild-'));
    const yaml = (
      me: string,
      peer: string,
      listen: string,
      extra: string,
    ) => `daemon: { listen: [${listen}], port: 15300, natt_port: 15301, control_socket: ${dir}/${me}.sock, ipsec_backend: none, log: { stdout: no } }
connections:
  w:
    remote_addrs: [${peer}]
    remote_port: 15300
    proposals: [aes128gcm16-prfsha256-ecp256]
${extra}    children: { net: { local_ts: [10.1.0.0/24], remote_ts: [10.2.0.0/24], esp_proposals: [aes128gcm16], start_action: none } }
secrets: { ike-w: { id: ['%any'], secret: wildcard-test } }
`;
    const sinkA = new MemorySink();
    const a = await runDaemon(parseConfig(yaml('a', '127.0.0.2', '0.0.0.0', ''), 'a.yaml'), new Logger({ default: 1 }, [sinkA]));
    running.push(a);
    const b = await runDaemon(
      parseConfig(
        yaml('b', '127.0.0.1', '127.0.0.2', '    local_addrs: [127.0.0.2]\n').replace(
          'children: { net: { local_ts: [10.1.0.0/24], remote_ts: [10.2.0.0/24]',
          'children: { net: { local_ts: [10.2.0.0/24], remote_ts: [10.1.0.0/24]',
        ),
        'b.yaml',
      ),
      new Logger({ default: 1 }, [new MemorySink()]),
    );
    running.push(b);
    expect(a.daemon.bound).toContain('127.0.0.1');
    expect(a.daemon.bound).not.toContain('0.0.0.0');
    a.daemon.ops.initiate('w', 'net');
    const end = Date.now() + 5000;
    while (!a.daemon.ops.listSas().some((s) => s.state === 'ESTABLISHED') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const [sa] = a.daemon.ops.listSas();
    expect(sa?.state).toBe('ESTABLISHED');
    expect(sa?.local).toBe('127.0.0.1[15300]');
    expect(sa?.localId).toBe('127.0.0.1');
    expect(b.daemon.ops.listSas()[0]?.remoteId).toBe('127.0.0.1');
    expect(sinkA.lines().join('\n')).toContain('sending packet: from 127.0.0.1[15300] to 127.0.0.2[15300]');
  });
});
