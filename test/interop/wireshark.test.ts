// daemon.save_keys + daemon.pcap against the real decoder: tshark, given nothing but the files ikelab wrote (the
// capture and the two tables copied into an empty Wireshark configuration directory), must decrypt the IKE_AUTH
// payloads (IDi, AUTH) and the pings inside ESP-in-UDP. First two ikelab daemons in one process (the pair's ports
// 15000/15001 are told to tshark as IKE and NAT-T; ESP with AES-GCM and with AES-CBC/HMAC), then ikelab against a
// real strongSwan in the network-namespace lab (ports 500/4500, nothing to tell tshark but the tables).
// Skips loudly without tshark; with CI set a missing tshark fails (.ci/run installs it).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { ESP_TABLE, IKEV2_TABLE } from '../../src/ike/key-export.js';
import { boxed, established, FAST_RETRANSMIT, interopRequired, type Lab, requireInterop, useLab } from '../helpers/lab.js';
import { ikelabYaml, type Scenario, swanctlConf } from '../helpers/scenario.js';
import { IKE_PORT, makePair, NATT_PORT, type Pair } from '../helpers/peers.js';

const TSHARK = process.env.IKELAB_TSHARK || 'tshark';
const haveTshark = spawnSync(TSHARK, ['--version'], { encoding: 'utf8' }).status === 0;
if (!haveTshark) {
  const msg = `tshark not found (${TSHARK}): the Wireshark decryption tests cannot run. Install it: apt-get install tshark`;
  if (interopRequired(process.env)) throw new Error(msg);
  console.warn(boxed(`SKIPPED test/interop/wireshark.test.ts: ${msg}`));
}

let pair: Pair | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * tshark over `pcap` with only the key tables of `keys` as its configuration: HOME points at a fresh directory whose
 * ~/.config/wireshark holds the two files, so nothing of the host's Wireshark settings plays a part.
 */
function tshark(pcap: string, keys: string | undefined, args: string[], ports: string[] = []): string {
  const home = mkdtempSync(join(tmpdir(), 'ikelab-ws-home-'));
  dirs.push(home);
  const conf = join(home, '.config', 'wireshark');
  mkdirSync(conf, { recursive: true });
  if (keys) for (const f of [IKEV2_TABLE, ESP_TABLE]) copyFileSync(join(keys, f), join(conf, f));
  const r = spawnSync(TSHARK, ['-r', pcap, '-o', 'esp.enable_encryption_decode:TRUE', ...ports, ...args], {
    encoding: 'utf8',
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config') },
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`tshark failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** The in-process pair's ports are not IKE's: tell tshark what they carry (500/4500 need nothing). */
const PAIR_PORTS = ['-d', `udp.port==${IKE_PORT},isakmp`, '-d', `udp.port==${NATT_PORT},udpencap`];

/** ICMP rows as "inner src>inner dst type" (tshark lists the outer and the inner IP header's fields, inner last). */
function icmpRows(out: string): string[] {
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [src, dst, type] = l.split('\t');
      return `${src!.split(',').at(-1)}>${dst!.split(',').at(-1)} ${type}`;
    });
}

const ICMP_FIELDS = ['-Y', 'icmp', '-T', 'fields', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'icmp.type'];

/** What a decrypted IKE_AUTH exchange shows: the SK payload opened into IDi, IDr, AUTH, TSi. */
function expectIkeAuthDecrypted(out: string, idi: string): void {
  expect(out).toContain('Decrypted Data');
  expect(out).toMatch(/Payload: Identification - Initiator \(35\)/);
  expect(out).toMatch(/Payload: Identification - Responder \(36\)/);
  expect(out).toMatch(/Payload: Authentication \(39\)/);
  expect(out).toMatch(/Payload: Traffic Selector - Initiator \(44\)/);
  expect(out).toContain(`ID_IPV4_ADDR: ${idi}`);
}

describe.skipIf(!haveTshark)('tshark decrypts what ikelab exported', () => {
  for (const esp of ['aes256gcm16', 'aes128-sha256']) {
    test(`IKE_AUTH payloads and ICMP inside ESP (${esp})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ikelab-ws-'));
      dirs.push(dir);
      const cap = join(dir, 'a.pcap');
      pair = makePair({
        esp: true,
        a: { extraDaemon: `  save_keys: ${dir}\n  pcap: ${cap}\n`, espProposals: [esp], hostAddrs: ['10.201.0.1'] },
        b: { espProposals: [esp], hostAddrs: ['10.202.0.1'] },
      });
      const p = pair;
      p.establish();
      const r = await p.a.daemon.ops.ping({ child: 'net', dst: '10.202.0.1', count: 3, intervalMs: 1, timeoutMs: 500 });
      expect(r).toMatchObject({ received: 3 });
      await p.a.daemon.stop();

      // IKE_AUTH: the encrypted payload decoded into IDi, AUTH, SA, TSi, TSr (request) and IDr, AUTH (response)
      expectIkeAuthDecrypted(tshark(cap, dir, ['-Y', 'isakmp.exchangetype == 35', '-V'], PAIR_PORTS), '127.0.0.1');
      // ESP: the pings between the virtual host addresses, echo requests and replies
      const inner = icmpRows(tshark(cap, dir, ICMP_FIELDS, PAIR_PORTS));
      expect(inner.filter((x) => x === '10.201.0.1>10.202.0.1 8')).toHaveLength(3);
      expect(inner.filter((x) => x === '10.202.0.1>10.201.0.1 0')).toHaveLength(3);
      // the control: without the tables, nothing is decrypted
      expect(icmpRows(tshark(cap, undefined, ICMP_FIELDS, PAIR_PORTS))).toEqual([]);
      expect(tshark(cap, undefined, ['-Y', 'isakmp.exchangetype == 35', '-V'], PAIR_PORTS)).not.toContain('Decrypted Data');
    });
  }
});

const RUN_SWAN = haveTshark && requireInterop();
const HOST = '10.12.0.7'; // ikelab's virtual host, inside its local_ts 10.12.0.0/24
const SWAN = '10.11.0.1'; // on strongSwan's lo, inside its local_ts 10.11.0.0/24

describe.skipIf(!RUN_SWAN)("tshark decrypts ikelab vs strongSwan from ikelab's files only", () => {
  let lab: Lab;
  useLab((l) => {
    lab = l;
  });

  test('IKE_AUTH (ikelab initiates) and pings both ways through ESP-in-UDP 4500', async () => {
    const keys = lab.path('k', 'keys');
    mkdirSync(keys);
    const cap = lab.path('k', 'ikelab.pcap');
    const s: Scenario = { espProposals: 'aes256-sha256', hostAddrs: [HOST], ikelabStart: 'start' };
    const swan = await lab.startCharon({ swanctlConf: swanctlConf(s), strongswanConfExtra: FAST_RETRANSMIT });
    const yaml = ikelabYaml(s, lab.path('k', 'ikelab.sock')).replace(
      '  control_socket:',
      `  save_keys: ${keys}\n  pcap: ${cap}\n  control_socket:`,
    );
    const ike = await lab.startIkelab(yaml);
    await swan.waitFor((x) => established(x, 'bar', 'net'), 8000);
    await ike.waitFor((x) => x.length === 1 && x[0].children.some((c: any) => c.state === 'INSTALLED'), 5000);
    expect(ike.log()).toContain('WARNING: daemon.save_keys is on');
    const fromSwan = await lab.execIn('s', ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', '-I', SWAN, HOST], 30_000);
    expect(fromSwan.stdout).toMatch(/3 packets transmitted, 3 received/);
    const fromUs = await ike.cli(['ping', '--child', 'net', '--dst', SWAN, '--count', '2', '--src', HOST], 20_000);
    expect(fromUs.stdout).toMatch(/2 packets transmitted, 2 received/);
    await ike.stop();

    expectIkeAuthDecrypted(tshark(cap, keys, ['-Y', 'isakmp.exchangetype == 35', '-V']), '10.98.0.2');
    const inner = icmpRows(tshark(cap, keys, ICMP_FIELDS));
    expect(inner.filter((x) => x === `${SWAN}>${HOST} 8`)).toHaveLength(3);
    expect(inner.filter((x) => x === `${HOST}>${SWAN} 0`)).toHaveLength(3);
    expect(inner.filter((x) => x === `${HOST}>${SWAN} 8`)).toHaveLength(2);
    expect(inner.filter((x) => x === `${SWAN}>${HOST} 0`)).toHaveLength(2);
  });
});
