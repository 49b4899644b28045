// The data plane against a real strongSwan (kernel-libipsec): for every ESP transform, pings through the
// CHILD_SA in both directions, with either side initiating; counters equal what was sent and received; and a
// continuous ping across three forced CHILD_SA rekeys with PFS loses nothing strongSwan received.
import { describe, expect, it } from 'vitest';
import { FAST_RETRANSMIT, type Lab, established, requireInterop, type Charon, type Ikelab, useLab } from '../helpers/lab.js';
import { ikelabYaml, swanctlConf, type Scenario } from '../helpers/scenario.js';

const RUN = requireInterop();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HOST = '10.12.0.7'; // ikelab's virtual host, inside its local_ts 10.12.0.0/24
const SWAN = '10.11.0.1'; // on strongSwan's lo, inside its local_ts 10.11.0.0/24

const TRANSFORMS = [
  'aes128-sha1',
  'aes256-sha256',
  'aes256-sha384',
  'aes256-sha512',
  'aes128gcm16',
  'aes256gcm16',
  'chacha20poly1305',
  '3des-sha1',
];

describe.skipIf(!RUN)("interop: ESP through ikelab's userspace engine and strongSwan", () => {
  let lab: Lab;
  let swan: Charon | undefined;
  let ike: Ikelab | undefined;
  useLab((l) => {
    lab = l;
  });

  async function up(s: Scenario, who: 'ikelab' | 'strongswan') {
    swan = await lab.startCharon({ swanctlConf: swanctlConf(s), strongswanConfExtra: FAST_RETRANSMIT });
    ike = await lab.startIkelab(
      ikelabYaml({ ...s, hostAddrs: [HOST], ikelabStart: who === 'ikelab' ? 'start' : 'none' }, lab.path('k', 'ikelab.sock')),
    );
    if (who === 'strongswan') expect((await swan.swanctl(['--initiate', '--child', 'net'])).code).toBe(0);
    await swan.waitFor((x) => established(x, 'bar', 'net'), 8000);
    await ike.waitFor((x) => x.length === 1 && x[0].children.some((c: any) => c.state === 'INSTALLED'), 5000);
    return { swan, ike };
  }

  const swanPing = (count: number, interval = '0.2') =>
    lab.execIn('s', ['ping', '-n', '-c', String(count), '-i', interval, '-W', '2', '-I', SWAN, HOST], 60_000);

  for (const esp of TRANSFORMS) {
    for (const who of ['ikelab', 'strongswan'] as const) {
      it(`${esp}, ${who} initiates: pings both ways, counters match`, async () => {
        const { swan, ike } = await up({ espProposals: esp }, who);
        const fromSwan = await swanPing(3);
        expect(fromSwan.code, fromSwan.stdout + fromSwan.stderr).toBe(0);
        expect(fromSwan.stdout).toMatch(/3 packets transmitted, 3 received/);
        const fromUs = await ike.cli(['ping', '--child', 'net', '--dst', SWAN, '--count', '3', '--src', HOST], 20_000);
        expect(fromUs.code, fromUs.stdout + fromUs.stderr).toBe(0);
        expect(fromUs.stdout).toMatch(/3 packets transmitted, 3 received, 0% packet loss/);
        const [sa] = await ike.listSas();
        const c = sa.children[0];
        // 3 requests in + 3 replies in; 3 replies out + 3 requests out
        expect(c.counters.packetsIn).toBe(6);
        expect(c.counters.packetsOut).toBe(6);
        expect(c.counters.integrityFailures).toBe(0);
        const [s] = await swan.listSas();
        expect(s!.children[0]!.packetsIn).toBe(6);
        expect(s!.children[0]!.packetsOut).toBe(6);
        const ios = await ike.cli(['ipsec-sa']);
        expect(ios.stdout).toMatch(/#pkts encaps: 6/);
        expect(ios.stdout).toMatch(/#pkts decaps: 6/);
        expect(ios.stdout.toLowerCase()).toContain(`current outbound spi: 0x${c.spiOut}`);
      });
    }
  }

  it('continuous ping across three forced CHILD_SA rekeys with PFS loses no packet', async () => {
    const { swan, ike } = await up({ espProposals: 'aes256-sha256-ecp256' }, 'ikelab');
    const pinging = swanPing(60, '0.1');
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      await sleep(1200);
      const before = (await ike.listSas())[0].children.find((c: any) => c.state === 'INSTALLED').spiIn;
      seen.add(before);
      if (i % 2 === 0) expect((await ike.cli(['rekey', '--child', 'net'])).code).toBe(0);
      else expect((await swan.swanctl(['--rekey', '--child', 'net'])).code).toBe(0);
      await ike.waitFor((x) => x[0].children.some((c: any) => c.state === 'INSTALLED' && !seen.has(c.spiIn)), 5000);
    }
    const r = await pinging;
    expect(r.stdout).toMatch(/60 packets transmitted, 60 received, 0% packet loss/);
    const ik = await ike.listSas();
    expect(ik[0].children.filter((c: any) => c.state === 'INSTALLED').length).toBe(1);
  }, 40_000);
});
