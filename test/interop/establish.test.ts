// ikelab against a real strongSwan (Debian charon, kernel-libipsec) in two network namespaces, both roles:
// IKE_SA_INIT + IKE_AUTH with PSK and the first CHILD_SA, for the proposals the core-peer issue lists; terminate
// from either side; log fidelity against charon's reference logs.
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

const IKE_SUITES = [
  'aes256-sha256-modp2048',
  'aes128gcm16-prfsha256-ecp256',
  'aes256-sha384-ecp384',
  'chacha20poly1305-prfsha256-curve25519',
  '3des-sha1-modp1024',
];
const ESP_SUITES = ['aes256-sha256', 'aes256gcm16', 'aes128-sha1'];

describe.skipIf(!RUN)('interop: ikelab <-> strongSwan, IKE_SA_INIT + IKE_AUTH', () => {
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

  const ikelabUp = (sas: any[]) =>
    sas.some(
      (s) => s.name === 'bar' && s.state === 'ESTABLISHED' && s.children.some((c: any) => c.name === 'net' && c.state === 'INSTALLED'),
    );

  async function bothUp(swan: Charon, ike: Ikelab) {
    const [sw, ik] = await Promise.all([swan.waitFor((s) => established(s, 'bar', 'net'), 8000), ike.waitFor(ikelabUp, 8000)]);
    const a = sw.find((s) => s.name === 'bar')!;
    const b = ik.find((s: any) => s.name === 'bar');
    expect(b.spiI).toBe(a.spiI);
    expect(b.spiR).toBe(a.spiR);
    const ca = a.children[0]!;
    const cb = b.children[0];
    expect(cb.spiIn).toBe(ca.spiOut);
    expect(cb.spiOut).toBe(ca.spiIn);
    expect(cb.localTs).toEqual(ca.remoteTs);
    expect(cb.remoteTs).toEqual(ca.localTs);
    return { swanSa: a, ikelabSa: b };
  }

  async function bothGone(swan: Charon, ike: Ikelab) {
    await Promise.all([swan.waitFor((s) => !s.some((x) => x.name === 'bar'), 8000), ike.waitFor((s) => s.length === 0, 8000)]);
  }

  for (const p of IKE_SUITES) {
    it(`ikelab initiates, strongSwan responds: ${p}; ikelab terminates`, async () => {
      const { swan, ike } = await up({ ikeProposals: p, espProposals: 'aes256-sha256', ikelabStart: 'start' });
      const { ikelabSa } = await bothUp(swan, ike);
      expect(ikelabSa.initiator).toBe(true);
      const t = await ike.cli(['terminate', '--ike', 'bar']);
      expect(t.code, t.stderr).toBe(0);
      await bothGone(swan, ike);
    });

    it(`strongSwan initiates, ikelab responds: ${p}; strongSwan terminates`, async () => {
      const { swan, ike } = await up({ ikeProposals: p, espProposals: 'aes256-sha256' });
      const r = await swan.swanctl(['--initiate', '--child', 'net']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const { ikelabSa } = await bothUp(swan, ike);
      expect(ikelabSa.initiator).toBe(false);
      const t = await swan.swanctl(['--terminate', '--ike', 'bar']);
      expect(t.code, t.stdout + t.stderr).toBe(0);
      await bothGone(swan, ike);
    });
  }

  for (const esp of ESP_SUITES) {
    it(`ESP ${esp} in both roles`, async () => {
      let { swan, ike } = await up({ espProposals: esp, ikelabStart: 'start' });
      const { swanSa } = await bothUp(swan, ike);
      expect(swanSa.children[0]!.encrAlg).toBe(esp.includes('gcm') ? 'AES_GCM_16' : 'AES_CBC');
      await ike.stop();
      await swan.stop();
      ({ swan, ike } = await up({ espProposals: esp }));
      expect((await swan.swanctl(['--initiate', '--child', 'net'])).code).toBe(0);
      await bothUp(swan, ike);
    });
  }

  for (const role of ['initiator', 'responder'] as const) {
    it(`log fidelity, establish-psk as ${role}`, async () => {
      const { swan, ike } = await up({ ikelabStart: role === 'initiator' ? 'start' : 'none' });
      if (role === 'responder') await swan.swanctl(['--initiate', '--child', 'net']);
      await bothUp(swan, ike);
      if (role === 'initiator') await ike.cli(['terminate', '--ike', 'bar']);
      else await swan.swanctl(['--terminate', '--ike', 'bar']);
      await bothGone(swan, ike);
      const d = logdiff(path.join(REFERENCE_LOGS_DIR, 'establish-psk', `${role}.log`), ike.logPath, { payloads: true });
      expect(d.missing, `lines of charon's ${role} log missing in ours`).toEqual([]);
      expect(d.score).toBe(1);
    });
  }
});
