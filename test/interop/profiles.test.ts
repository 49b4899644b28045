// Peer profiles against a real strongSwan 5.9: ikelab with `profile: ios-xe` or `profile: vedge` and no proposals of
// its own establishes with charon in both roles, and charon's log shows what it parsed: the Cisco vendor IDs it
// names, the IOS notifies and payload order in IKE_AUTH, the profile's default proposals selected.
import { describe, expect, it } from 'vitest';
import { type Charon, established, FAST_RETRANSMIT, type Ikelab, type Lab, requireInterop, useLab } from '../helpers/lab.js';
import { ikelabYaml, swanctlConf } from '../helpers/scenario.js';

const RUN = requireInterop();

interface Case {
  profile: 'ios-xe' | 'vedge';
  /** strongSwan's lists: an unrelated proposal first, so what charon selects is what ikelab's profile offered. */
  swanIke: string;
  swanEsp: string;
  selectedIke: string;
  selectedEsp: string;
}

const CASES: Case[] = [
  {
    profile: 'ios-xe',
    swanIke: 'aes128-sha256-modp3072, aes256-sha512-ecp256',
    swanEsp: 'aes256-sha256, aes128-sha1',
    selectedIke: 'IKE:AES_CBC_256/HMAC_SHA2_512_256/PRF_HMAC_SHA2_512/ECP_256',
    selectedEsp: 'ESP:AES_CBC_128/HMAC_SHA1_96/NO_EXT_SEQ',
  },
  {
    profile: 'vedge',
    swanIke: 'aes128-sha256-modp3072, aes256-sha1-modp4096',
    swanEsp: 'aes256-sha256, aes256gcm16-modp4096',
    selectedIke: 'IKE:AES_CBC_256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_4096',
    selectedEsp: 'ESP:AES_GCM_16_256/NO_EXT_SEQ',
  },
];

/** ikelab's YAML for the lab tunnel with a profile and without proposals, so the profile's defaults apply. */
function profileYaml(profile: string, start: 'start' | 'none', socket: string): string {
  const yaml = ikelabYaml({ ikelabStart: start }, socket)
    .replace(/^ {4}proposals: .*\n/m, `    profile: ${profile}\n`)
    .replace(/^ {8}esp_proposals: .*\n/m, '');
  if (!yaml.includes(`profile: ${profile}`) || yaml.includes('proposals')) throw new Error(`unexpected scenario YAML:\n${yaml}`);
  return yaml;
}

/**
 * charon's payload list of one logged message, e.g. parsed IKE_AUTH request 1 -> "[ V IDi ... ]"; the last one, since
 * strongSwan's unrelated first proposal makes its IKE_SA_INIT go twice (ikelab answers INVALID_KE_PAYLOAD first).
 */
function payloads(log: string, what: string): string {
  const line = log
    .split('\n')
    .filter((l) => l.includes(`${what} [`))
    .at(-1);
  if (!line) throw new Error(`no "${what}" in charon's log:\n${log}`);
  return line.slice(line.indexOf(`${what} [`) + what.length + 1);
}

const CISCO_VIDS = ['Cisco Delete Reason', 'Cisco Copyright (c) 2009', 'Cisco FlexVPN Supported'];

describe.skipIf(!RUN)('interop: peer profiles against strongSwan', () => {
  let lab: Lab;
  useLab((l) => {
    lab = l;
  });

  async function up(c: Case, ikelabStarts: boolean): Promise<{ swan: Charon; ike: Ikelab }> {
    const conf = swanctlConf({})
      .replace(/ proposals = \S+/, ` proposals = ${c.swanIke}`)
      .replace(/esp_proposals = \S+/, `esp_proposals = ${c.swanEsp}`);
    const swan = await lab.startCharon({ swanctlConf: conf, strongswanConfExtra: FAST_RETRANSMIT });
    const ike = await lab.startIkelab(profileYaml(c.profile, ikelabStarts ? 'start' : 'none', lab.path('k', 'ikelab.sock')));
    if (!ikelabStarts) {
      const r = await swan.swanctl(['--initiate', '--child', 'net']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    const sas = await swan.waitFor((s) => established(s, 'bar', 'net'), 10_000);
    await ike.waitFor((s) => s.some((x: any) => x.state === 'ESTABLISHED' && x.children.some((ch: any) => ch.state === 'INSTALLED')), 5000);
    const child = sas.find((s) => s.name === 'bar')!.children[0]!;
    expect(child.encrAlg).toBe(c.profile === 'vedge' ? 'AES_GCM_16' : 'AES_CBC');
    return { swan, ike };
  }

  for (const c of CASES) {
    it(`${c.profile}: ikelab initiates; charon parses the profile's payloads and selects its proposals`, async () => {
      const { swan } = await up(c, true);
      const log = swan.log();
      expect(log).toContain(`selected proposal: ${c.selectedIke}`);
      expect(log).toContain(`selected proposal: ${c.selectedEsp}`);
      if (c.profile === 'ios-xe') {
        expect(payloads(log, 'parsed IKE_SA_INIT request 0')).toBe('[ SA KE No V V V N(NATD_S_IP) N(NATD_D_IP) ]');
        for (const v of CISCO_VIDS) expect(log).toContain(`[IKE] received ${v} vendor ID`);
        expect(log).not.toContain('unknown vendor ID');
        expect(payloads(log, 'parsed IKE_AUTH request 1')).toBe(
          '[ V IDi AUTH SA TSi TSr N(INIT_CONTACT) N(SET_WINSIZE) N(ESP_TFC_PAD_N) N(NON_FIRST_FRAG) ]',
        );
      } else {
        // vEdge is charon: charon's habits, no vendor IDs
        expect(payloads(log, 'parsed IKE_SA_INIT request 0')).toBe(
          '[ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(REDIR_SUP) ]',
        );
        expect(log).not.toContain('vendor ID');
        expect(payloads(log, 'parsed IKE_AUTH request 1')).toMatch(/^\[ IDi N\(INIT_CONTACT\) IDr AUTH SA TSi TSr N\(MOBIKE_SUP\)/);
      }
    });

    it(`${c.profile}: strongSwan initiates; ikelab answers in the profile's form`, async () => {
      const { swan, ike } = await up(c, false);
      const log = swan.log();
      expect(log).toContain(`selected proposal: ${c.selectedEsp}`);
      if (c.profile === 'ios-xe') {
        expect(payloads(log, 'parsed IKE_SA_INIT response 0')).toBe('[ SA KE No V V V N(NATD_S_IP) N(NATD_D_IP) ]');
        for (const v of CISCO_VIDS) expect(log).toContain(`[IKE] received ${v} vendor ID`);
        expect(payloads(log, 'parsed IKE_AUTH response 1')).toBe(
          '[ V IDr AUTH SA TSi TSr N(SET_WINSIZE) N(ESP_TFC_PAD_N) N(NON_FIRST_FRAG) ]',
        );
        // ikelab's own log: the IOS answer as it went out, and charon's request read as charon reads it
        expect(payloads(ike.log(), 'generating IKE_AUTH response 1')).toBe(payloads(log, 'parsed IKE_AUTH response 1'));
      } else {
        expect(payloads(log, 'parsed IKE_SA_INIT response 0')).toBe(
          '[ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(CHDLESS_SUP) N(MULT_AUTH) ]',
        );
        expect(log).not.toContain('vendor ID');
      }
      // the lifetimes are ikelab's own (list-sas): IKE rekey at rekey_time less up to rand_time, the hard end
      // over_time later (as charon); the CHILD_SA's hard end at life_time
      const [sa] = await ike.listSas();
      const inSeconds = (iso: string) => (Date.parse(iso) - Date.now()) / 1000;
      const { rekey, rand, over, life } =
        c.profile === 'vedge' ? { rekey: 14400, rand: 1440, over: 1440, life: 3960 } : { rekey: 77760, rand: 8640, over: 8640, life: 3600 };
      expect(inSeconds(sa.rekeyAt)).toBeGreaterThan(rekey - rand - 30);
      expect(inSeconds(sa.rekeyAt)).toBeLessThanOrEqual(rekey);
      expect(Math.abs(inSeconds(sa.expireAt) - inSeconds(sa.rekeyAt) - over)).toBeLessThan(2);
      expect(Math.abs(inSeconds(sa.children[0].expireAt) - life)).toBeLessThan(30);
    });
  }
});
