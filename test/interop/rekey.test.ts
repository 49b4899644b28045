// SA lifecycle against a real strongSwan, both roles: forced CHILD_SA rekeys with and without PFS, forced IKE_SA
// rekeys, the PFS-mismatch-at-rekey seed scenario, and CHILD_SA rekeys driven by rekey_time. Both sides must
// list the new SPIs and neither may keep the old ones; ikelab's log is compared with charon's reference logs.
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
  type SwanSa,
  useLab,
} from '../helpers/lab.js';
import { ikelabYaml, swanctlConf, type Scenario } from '../helpers/scenario.js';

const RUN = requireInterop();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!RUN)('interop: rekeying ikelab <-> strongSwan', () => {
  let lab: Lab;
  let swan: Charon | undefined;
  let ike: Ikelab | undefined;

  useLab((l) => {
    lab = l;
  });

  /** Bring the tunnel up with `who` initiating; returns both views. */
  async function up(s: Scenario, who: 'ikelab' | 'strongswan', yamlExtra = '') {
    swan = await lab.startCharon({ swanctlConf: swanctlConf(s), strongswanConfExtra: FAST_RETRANSMIT });
    ike = await lab.startIkelab(
      ikelabYaml({ ...s, ikelabStart: who === 'ikelab' ? 'start' : 'none' }, lab.path('k', 'ikelab.sock')) + yamlExtra,
    );
    if (who === 'strongswan') expect((await swan.swanctl(['--initiate', '--child', 'net'])).code).toBe(0);
    await swan.waitFor((x) => established(x, 'bar', 'net'), 8000);
    await ike.waitFor((x) => x.some((s) => s.state === 'ESTABLISHED' && s.children.some((c: any) => c.state === 'INSTALLED')), 8000);
    return { swan, ike };
  }

  const childSpis = (sas: SwanSa[]) =>
    sas.flatMap((s) => s.children.filter((c) => c.state === 'INSTALLED').map((c) => `${c.spiIn}/${c.spiOut}`));
  const ikelabChildSpis = (sas: any[]) =>
    sas.flatMap((s) => s.children.filter((c: any) => c.state === 'INSTALLED').map((c: any) => `${c.spiOut}/${c.spiIn}`));

  /** After a CHILD_SA rekey: exactly one CHILD_SA on each side, new SPIs, the same pair on both sides. */
  async function expectChildRekeyed(swan: Charon, ike: Ikelab, before: string[]) {
    const sw = await swan.waitFor(
      (x) => childSpis(x).length === 1 && !before.includes(childSpis(x)[0]!) && x[0]!.children.length === 1,
      8000,
    );
    const ik = await ike.waitFor(
      (x) => ikelabChildSpis(x).length === 1 && x[0].children.length === 1 && ikelabChildSpis(x)[0] === childSpis(sw)[0],
      8000,
    );
    expect(ikelabChildSpis(ik)).toEqual(childSpis(sw));
    return { sw, ik };
  }

  for (const esp of ['aes256-sha256-modp2048', 'aes256-sha256-ecp256', 'aes256-sha256']) {
    for (const who of ['ikelab', 'strongswan'] as const) {
      it(`CHILD_SA rekey ${esp}, rekey initiated by ${who}`, async () => {
        const { swan, ike } = await up({ espProposals: esp }, who);
        const before = childSpis(await swan.listSas());
        if (who === 'ikelab') expect((await ike.cli(['rekey', '--child', 'net'])).code).toBe(0);
        else expect((await swan.swanctl(['--rekey', '--child', 'net'])).code).toBe(0);
        const { sw, ik } = await expectChildRekeyed(swan, ike, before);
        const pfs = esp.split('-')[2];
        if (pfs) expect(sw[0]!.children[0]!.dhGroup).toBe(pfs === 'ecp256' ? 'ECP_256' : 'MODP_2048');
        expect(ik[0].children[0].dhGroup).toBe(pfs === 'ecp256' ? 19 : pfs ? 14 : 0);
        expect(ik[0].children[0].proposal).toContain(pfs === 'ecp256' ? 'ECP_256' : pfs ? 'MODP_2048' : 'AES_CBC_256');
      });
    }
  }

  for (const who of ['ikelab', 'strongswan'] as const) {
    it(`IKE_SA rekey initiated by ${who}: new IKE SPIs, CHILD_SA kept`, async () => {
      const { swan, ike } = await up({}, who);
      const [old] = await swan.listSas();
      if (who === 'ikelab') expect((await ike.cli(['rekey', '--ike', 'bar'])).code).toBe(0);
      else expect((await swan.swanctl(['--rekey', '--ike', 'bar'])).code).toBe(0);
      const sw = await swan.waitFor((x) => x.length === 1 && x[0]!.spiI !== old!.spiI && x[0]!.state === 'ESTABLISHED', 8000);
      const ik = await ike.waitFor((x) => x.length === 1 && x[0].spiI === sw[0]!.spiI && x[0].spiR === sw[0]!.spiR, 8000);
      expect(ik[0].state).toBe('ESTABLISHED');
      expect(ik[0].initiator).toBe(who === 'ikelab');
      expect(ikelabChildSpis(ik)).toEqual(childSpis(sw));
      expect(childSpis(sw)[0]).toBe(`${old!.children[0]!.spiIn}/${old!.children[0]!.spiOut}`);
      // the rekeyed SA still works: a CHILD_SA rekey over it
      expect((await swan.swanctl(['--rekey', '--child', 'net'])).code).toBe(0);
      await expectChildRekeyed(swan, ike, childSpis(sw));
    });
  }

  describe('seed scenario: PFS group only on one side, the rekey fails, both IKE_SAs stay', () => {
    for (const withPfs of ['strongswan', 'ikelab'] as const) {
      for (const who of ['ikelab', 'strongswan'] as const) {
        it(`PFS on ${withPfs}'s side, rekey by ${who}`, async () => {
          const s: Scenario =
            withPfs === 'strongswan'
              ? { espProposals: 'aes256-sha1-modp4096', ikelabEsp: 'aes256-sha1' }
              : { espProposals: 'aes256-sha1', ikelabEsp: 'aes256-sha1-modp4096' };
          // as in the reference runs, the side without PFS initiates the IKE_SA
          const { swan, ike } = await up(s, withPfs === 'strongswan' ? 'ikelab' : 'strongswan');
          const before = childSpis(await swan.listSas());
          if (who === 'ikelab') {
            // `ikelab rekey` waits for the outcome: the refused rekey is a failed operation, named by its notify
            const r = await ike.cli(['rekey', '--child', 'net']);
            expect(r.code, r.stdout + r.stderr).toBe(1);
            expect(r.stdout + r.stderr).toContain('NO_PROPOSAL_CHOSEN');
          } else await swan.swanctl(['--rekey', '--child', 'net']);
          const refuser = who === 'ikelab' ? () => swan.log() : () => ike.log();
          const requester = who === 'ikelab' ? () => ike.log() : () => swan.log();
          for (let i = 0; i < 80 && !requester().includes('failed to establish CHILD_SA, keeping IKE_SA'); i++) await sleep(100);
          expect(refuser()).toContain('no acceptable proposal found');
          expect(refuser()).toContain('failed to establish CHILD_SA, keeping IKE_SA');
          expect(requester()).toContain('received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built');
          expect(requester()).toContain('failed to establish CHILD_SA, keeping IKE_SA');
          expect(requester()).toMatch(/CHILD_SA rekeying failed, trying again in \d+ seconds/);
          const sw = await swan.listSas();
          const ik = await ike.listSas();
          expect(sw[0]!.state).toBe('ESTABLISHED');
          expect(ik[0].state).toBe('ESTABLISHED');
          expect(childSpis(sw)).toEqual(before);
          expect(ikelabChildSpis(ik)).toEqual(before);
          const rekeyerHasPfs = withPfs === who;
          const scenario = rekeyerHasPfs ? 'pfs-mismatch-rekey-by-side-with-pfs' : 'pfs-mismatch-rekey-by-side-without-pfs';
          const role = withPfs === 'ikelab' ? 'responder' : 'initiator';
          const d = logdiff(path.join(REFERENCE_LOGS_DIR, scenario, `${role}.log`), ike.logPath, { payloads: true });
          expect(d.missing, `${scenario}/${role}.log lines missing`).toEqual([]);
        });
      }
    }
  });

  it('log fidelity: child-rekey-pfs and ike-rekey as initiator and responder', async () => {
    for (const role of ['initiator', 'responder'] as const) {
      const s: Scenario = { espProposals: 'aes256-sha256-ecp256' };
      const { swan, ike } = await up(s, role === 'initiator' ? 'ikelab' : 'strongswan');
      if (role === 'initiator') await ike.cli(['rekey', '--child', 'net']);
      else await swan.swanctl(['--rekey', '--child', 'net']);
      await expectChildRekeyed(swan, ike, childSpis(await swan.listSas()).length ? [] : []);
      await sleep(300);
      const d = logdiff(path.join(REFERENCE_LOGS_DIR, 'child-rekey-pfs', `${role}.log`), ike.logPath, { payloads: true });
      expect(d.missing, `child-rekey-pfs/${role}.log lines missing`).toEqual([]);
      await ike.stop();
      await swan.stop();
    }
    for (const role of ['initiator', 'responder'] as const) {
      const { swan, ike } = await up({}, role === 'initiator' ? 'ikelab' : 'strongswan');
      const [old] = await swan.listSas();
      if (role === 'initiator') await ike.cli(['rekey', '--ike', 'bar']);
      else await swan.swanctl(['--rekey', '--ike', 'bar']);
      await ike.waitFor((x) => x.length === 1 && x[0].spiI !== old!.spiI, 8000);
      await sleep(300);
      const d = logdiff(path.join(REFERENCE_LOGS_DIR, 'ike-rekey', `${role}.log`), ike.logPath, { payloads: true });
      expect(d.missing, `ike-rekey/${role}.log lines missing`).toEqual([]);
      await ike.stop();
      await swan.stop();
    }
  }, 90_000); // four labs brought up one after another

  it('rekey_time: a CHILD_SA with rekey_time 3s rekeys by itself at least twice, never without a CHILD_SA', async () => {
    const s: Scenario = { espProposals: 'aes256-sha256-modp2048' };
    swan = await lab.startCharon({ swanctlConf: swanctlConf(s), strongswanConfExtra: FAST_RETRANSMIT });
    const yaml = ikelabYaml({ ...s, ikelabStart: 'start' }, lab.path('k', 'ikelab.sock')).replace(
      'start_action: start',
      'start_action: start\n        rekey_time: 3s',
    );
    ike = await lab.startIkelab(yaml);
    const seen = new Set<string>();
    await swan.waitFor((x) => established(x, 'bar', 'net'), 8000);
    const end = Date.now() + 9000;
    while (Date.now() < end) {
      // once up, strongSwan must list an installed CHILD_SA at every look, across every rekey
      const sw = await swan.listSas();
      const spis = childSpis(sw);
      expect(spis.length, JSON.stringify(sw)).toBeGreaterThanOrEqual(1);
      spis.forEach((x) => seen.add(x));
      await sleep(200);
    }
    expect(seen.size).toBeGreaterThanOrEqual(3);
    const ik = await ike.listSas();
    expect(ikelabChildSpis(ik)).toEqual(childSpis(await swan.listSas()));
    expect(ik[0].children[0].rekeyAt).toBeTruthy();
  }, 20_000);
});
