// Failures reproduced against a real strongSwan, in both roles: proposal mismatch, wrong PSK, traffic selector
// mismatch, INVALID_KE_PAYLOAD recovery, DELETE from the responder. Each checks what both sides did, that the
// notify is named in both logs, and ikelab's log against charon's reference log for the scenario.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  FAST_RETRANSMIT,
  type Lab,
  REFERENCE_LOGS_DIR,
  established,
  logdiff,
  requireInterop,
  type Charon,
  type Ikelab,
  useLab,
} from '../helpers/lab.js';
import { ikelabYaml, swanctlConf, type Scenario } from '../helpers/scenario.js';

const RUN = requireInterop();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!RUN)('interop failures: ikelab <-> strongSwan', () => {
  let lab: Lab;
  let swan: Charon | undefined;
  let ike: Ikelab | undefined;

  useLab((l) => {
    lab = l;
  });

  async function up(s: Scenario) {
    swan = await lab.startCharon({ swanctlConf: swanctlConf(s), strongswanConfExtra: FAST_RETRANSMIT });
    ike = await lab.startIkelab(ikelabYaml(s, lab.path('k', 'ikelab.sock')));
    return { swan, ike };
  }

  /** Wait until a line appears in a log (charon's or ours). */
  async function logShows(read: () => string, text: string, ms = 8000) {
    const end = Date.now() + ms;
    while (!read().includes(text)) {
      if (Date.now() > end) throw new Error(`log never showed "${text}":\n${read()}`);
      await sleep(100);
    }
  }

  function fidelity(scenario: string, role: 'initiator' | 'responder', ours: string) {
    const d = logdiff(path.join(REFERENCE_LOGS_DIR, scenario, `${role}.log`), ours, { payloads: true });
    expect(d.missing, `charon ${scenario}/${role}.log lines missing in ikelab's log`).toEqual([]);
  }

  const ikelabIke = (sas: any[]) => sas.find((s) => s.name === 'bar');

  describe('proposal mismatch (NO_PROPOSAL_CHOSEN in IKE_SA_INIT)', () => {
    const s: Scenario = { ikeProposals: 'aes256-sha384-ecp384', ikelabIke: 'aes128-sha256-modp2048' };
    it('ikelab initiates: both give up, the notify is named in both logs', async () => {
      const { swan, ike } = await up({ ...s, ikelabStart: 'start' });
      await logShows(() => ike.log(), 'received NO_PROPOSAL_CHOSEN notify error');
      await logShows(() => swan.log(), 'received proposals unacceptable');
      expect(swan.log()).toContain('N(NO_PROP)');
      await ike.waitFor((sas) => sas.length === 0, 3000);
      expect(await swan.listSas()).toEqual([]);
      fidelity('proposal-mismatch', 'initiator', ike.logPath);
    });
    it('strongSwan initiates: ikelab refuses like charon', async () => {
      const { swan, ike } = await up({ ikeProposals: 'aes128-sha256-modp2048', ikelabIke: 'aes256-sha384-ecp384' });
      await swan.swanctl(['--initiate', '--child', 'net']);
      await logShows(() => swan.log(), 'received NO_PROPOSAL_CHOSEN notify error');
      await logShows(() => ike.log(), 'received proposals unacceptable');
      expect(ike.log()).toContain('configured proposals: IKE:AES_CBC_256/HMAC_SHA2_384_192/PRF_HMAC_SHA2_384/ECP_384');
      expect(await ike.listSas()).toEqual([]);
      fidelity('proposal-mismatch', 'responder', ike.logPath);
    });
  });

  describe('wrong PSK (AUTHENTICATION_FAILED)', () => {
    it('ikelab initiates with the wrong key', async () => {
      const { swan, ike } = await up({ ikelabPsk: 'wrongsecret', ikelabStart: 'start' });
      await logShows(() => ike.log(), 'received AUTHENTICATION_FAILED notify error');
      await logShows(() => swan.log(), 'but MAC mismatched');
      await ike.waitFor((sas) => sas.length === 0, 3000);
      await swan.waitFor((sas) => sas.length === 0, 3000);
      fidelity('wrong-psk', 'initiator', ike.logPath);
    });
    it('strongSwan initiates with the wrong key', async () => {
      const { swan, ike } = await up({ swanPsk: 'wrongsecret' });
      await swan.swanctl(['--initiate', '--child', 'net']);
      await logShows(() => swan.log(), 'received AUTHENTICATION_FAILED notify error');
      await logShows(() => ike.log(), "tried 1 shared key for '10.98.0.2' - '10.98.0.1', but MAC mismatched");
      expect(ike.log()).toContain('generating IKE_AUTH response 1 [ N(AUTH_FAILED) ]');
      await ike.waitFor((sas) => sas.length === 0, 3000);
      fidelity('wrong-psk', 'responder', ike.logPath);
    });
  });

  describe('traffic selector mismatch (TS_UNACCEPTABLE): the IKE_SA stays, no CHILD_SA', () => {
    const s: Scenario = { ikelabLocalTs: '10.13.0.0/24' };
    it('ikelab initiates', async () => {
      const { swan, ike } = await up({ ...s, ikelabStart: 'start' });
      await logShows(() => ike.log(), 'received TS_UNACCEPTABLE notify, no CHILD_SA built');
      await logShows(() => ike.log(), 'failed to establish CHILD_SA, keeping IKE_SA');
      const sw = await swan.waitFor((sas) => sas.some((x) => x.state === 'ESTABLISHED'), 3000);
      expect(sw[0]!.children).toEqual([]);
      const ik = ikelabIke(await ike.listSas());
      expect(ik.state).toBe('ESTABLISHED');
      expect(ik.children).toEqual([]);
      expect(swan.log()).toContain('N(TS_UNACCEPT)');
    });
    it('strongSwan initiates', async () => {
      const { swan, ike } = await up(s);
      await swan.swanctl(['--initiate', '--child', 'net']);
      await logShows(() => swan.log(), 'received TS_UNACCEPTABLE notify, no CHILD_SA built');
      await logShows(() => ike.log(), 'failed to establish CHILD_SA, keeping IKE_SA');
      expect(ike.log()).toMatch(/traffic selectors 10\.12\.0\.0\/24 === 10\.11\.0\.0\/24 unacceptable/);
      const ik = ikelabIke(await ike.waitFor((sas) => sas.some((x) => x.state === 'ESTABLISHED'), 3000));
      expect(ik.children).toEqual([]);
      expect((await swan.listSas())[0]!.state).toBe('ESTABLISHED');
    });
  });

  describe('INVALID_KE_PAYLOAD: retry with the group the responder asks for', () => {
    it('ikelab initiates with modp2048 first, strongSwan wants ecp256', async () => {
      const { swan, ike } = await up({
        ikeProposals: 'aes256-sha256-ecp256',
        ikelabIke: 'aes256-sha256-modp2048-ecp256',
        ikelabStart: 'start',
      });
      await swan.waitFor((sas) => established(sas, 'bar', 'net'), 8000);
      expect(ike.log()).toContain("peer didn't accept DH group MODP_2048, it requested ECP_256");
      expect(ikelabIke(await ike.listSas()).proposal).toContain('ECP_256');
      fidelity('invalid-ke', 'initiator', ike.logPath);
    });
    it('strongSwan initiates with modp2048 first, ikelab wants ecp256', async () => {
      const { swan, ike } = await up({ ikeProposals: 'aes256-sha256-modp2048-ecp256', ikelabIke: 'aes256-sha256-ecp256' });
      await swan.swanctl(['--initiate', '--child', 'net']);
      await swan.waitFor((sas) => established(sas, 'bar', 'net'), 8000);
      expect(ike.log()).toContain('DH group MODP_2048 unacceptable, requesting ECP_256');
      expect(swan.log()).toContain("peer didn't accept DH group MODP_2048, it requested ECP_256");
      await ike.waitFor((sas) => sas.some((x) => x.state === 'ESTABLISHED'), 3000);
      fidelity('invalid-ke', 'responder', ike.logPath);
    });
  });

  describe('DELETE for the IKE_SA from the responder', () => {
    it('strongSwan (responder) deletes, ikelab (initiator) follows', async () => {
      const { swan, ike } = await up({ ikelabStart: 'start' });
      await swan.waitFor((sas) => established(sas, 'bar', 'net'), 8000);
      await ike.waitFor((sas) => sas.length === 1, 3000);
      expect((await swan.swanctl(['--terminate', '--ike', 'bar'])).code).toBe(0);
      await ike.waitFor((sas) => sas.length === 0, 3000);
      expect(ike.log()).toContain('received DELETE for IKE_SA bar[1]');
      fidelity('delete-ike-from-responder', 'initiator', ike.logPath);
    });
    it('ikelab (responder) deletes, strongSwan (initiator) follows', async () => {
      const { swan, ike } = await up({});
      await swan.swanctl(['--initiate', '--child', 'net']);
      await ike.waitFor((sas) => sas.some((x) => x.state === 'ESTABLISHED'), 8000);
      expect((await ike.cli(['terminate', '--ike', 'bar'])).code).toBe(0);
      await swan.waitFor((sas) => sas.length === 0, 3000);
      await ike.waitFor((sas) => sas.length === 0, 3000);
      expect(swan.log()).toContain('received DELETE for IKE_SA bar[1]');
      fidelity('delete-ike-from-responder', 'responder', ike.logPath);
    });
  });
});
