// Never negotiate what cannot run: strongSwan (whose lab charon loads the ctr and ccm plugins) offers only
// transforms ikelab does not implement -- AES-CTR, AES-CCM, ESP AES-XCBC integrity -- to an ikelab responder whose
// proposals are `default`, i.e. strongSwan's default list, which names AES-CTR/CCM for IKE and AES-XCBC for ESP.
// ikelab must refuse with NO_PROPOSAL_CHOSEN instead of building an SA it cannot run, and must still pick the
// supported proposal from a mixed offer (and carry traffic on it).
//
// DH is curve25519 throughout: the lab charon has it from its own plugin, while MODP/ECP need the openssl (or gmp)
// plugin, which Debian ships in libstrongswan-standard-plugins, a package the lab's install line does not name.
import { describe, expect, it } from 'vitest';
import { FAST_RETRANSMIT, type Lab, established, requireInterop, type Charon, type Ikelab, useLab } from '../helpers/lab.js';
import { ikelabYaml, swanctlConf, type Scenario } from '../helpers/scenario.js';

const RUN = requireInterop();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HOST = '10.12.0.7'; // ikelab's virtual host, inside its local_ts 10.12.0.0/24
const SWAN = '10.11.0.1'; // on strongSwan's lo, inside its local_ts 10.11.0.0/24
const IKE_OK = 'aes256-sha256-curve25519';

describe.skipIf(!RUN)('interop: unsupported transforms are never negotiated (strongSwan initiates)', () => {
  let lab: Lab;
  useLab((l) => {
    lab = l;
  });

  async function up(s: Scenario): Promise<{ swan: Charon; ike: Ikelab }> {
    const swan = await lab.startCharon({ swanctlConf: swanctlConf(s), strongswanConfExtra: FAST_RETRANSMIT });
    const ike = await lab.startIkelab(
      ikelabYaml({ ikelabIke: 'default', ikelabEsp: 'default', hostAddrs: [HOST], ...s }, lab.path('k', 'ikelab.sock')),
    );
    return { swan, ike };
  }

  async function logShows(read: () => string, text: string, ms = 8000) {
    const end = Date.now() + ms;
    while (!read().includes(text)) {
      if (Date.now() > end) throw new Error(`log never showed "${text}":\n${read()}`);
      await sleep(100);
    }
  }

  const installed = (sas: any[]) => sas.flatMap((sa) => sa.children ?? []).filter((c: any) => c.state === 'INSTALLED');

  for (const ike of ['aes128ctr-sha256-curve25519', 'aes128ccm16-prfsha256-curve25519']) {
    it(`IKE proposals = ${ike} only: NO_PROPOSAL_CHOSEN in IKE_SA_INIT, no SA on either side`, async () => {
      const { swan, ike: k } = await up({ ikeProposals: ike });
      await swan.swanctl(['--initiate', '--child', 'net'], 15_000);
      await logShows(() => swan.log(), 'received NO_PROPOSAL_CHOSEN notify error');
      await logShows(() => k.log(), 'received proposals unacceptable');
      // strongSwan's `default` (which ikelab's is cut from) has AES-CTR and AES-CCM; ikelab's must not
      const configured = k
        .log()
        .split('\n')
        .find((l) => l.includes('configured proposals: IKE:'));
      expect(configured).toBeDefined();
      expect(configured).toContain('AES_CBC_128');
      expect(configured).not.toMatch(/AES_CTR|AES_CCM/);
      expect(k.log()).not.toContain('selected proposal');
      expect(await k.listSas()).toEqual([]);
      expect(await swan.listSas()).toEqual([]);
    });
  }

  for (const esp of ['aes128ctr-sha256', 'aes128ccm16', 'aes256-aesxcbc']) {
    it(`esp_proposals = ${esp} only: NO_PROPOSAL_CHOSEN for the child in IKE_AUTH, nothing INSTALLED`, async () => {
      const { swan, ike } = await up({ ikeProposals: IKE_OK, espProposals: esp });
      await swan.swanctl(['--initiate', '--child', 'net'], 15_000);
      await logShows(() => swan.log(), 'received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built');
      await logShows(() => ike.log(), 'no acceptable proposal found');
      expect(ike.log()).toMatch(/generating IKE_AUTH response 1 \[ .*N\(NO_PROP\)/);
      const configured = ike
        .log()
        .split('\n')
        .find((l) => l.includes('configured proposals: ESP:'));
      expect(configured).toBeDefined();
      expect(configured).not.toMatch(/AES_CTR|AES_CCM|AES_XCBC/);
      await sleep(500); // anything wrongly installed would be listed by now
      expect(installed(await ike.listSas())).toEqual([]);
      expect((await swan.listSas()).flatMap((sa) => sa.children)).toEqual([]);
    });
  }

  it('mixed offers: the supported proposals are chosen and the CHILD_SA carries traffic', async () => {
    const { swan, ike } = await up({
      ikeProposals: `aes128ctr-sha256-curve25519, ${IKE_OK}`,
      espProposals: 'aes128ctr-sha256, aes256-aesxcbc, aes256-sha256',
    });
    expect((await swan.swanctl(['--initiate', '--child', 'net'], 15_000)).code).toBe(0);
    await swan.waitFor((x) => established(x, 'bar', 'net'), 8000);
    await ike.waitFor((x) => installed(x).length === 1, 5000);
    expect(ike.log()).toContain('selected proposal: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519');
    expect(ike.log()).toContain('selected proposal: ESP:AES_CBC_256/HMAC_SHA2_256_128/NO_EXT_SEQ');
    const ping = await lab.execIn('s', ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', '-I', SWAN, HOST], 30_000);
    expect(ping.stdout).toMatch(/3 packets transmitted, 3 received/);
    const [c] = installed(await ike.listSas());
    expect(c.counters.packetsIn).toBe(3);
    expect(c.counters.integrityFailures).toBe(0);
  });
});
