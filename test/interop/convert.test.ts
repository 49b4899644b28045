// Acceptance of `ikelab convert`: the swanctl.conf files of the reference scenarios (test/fixtures/charon-logs)
// turn into ikelab configs that bring up the same tunnels against strongSwan. Each scenario was recorded between
// two charons in this lab's layout: the initiator on 10.98.0.2 (protecting 10.12.0.0/24), the responder on
// 10.98.0.1 (10.11.0.0/24). Both sides' swanctl.conf files are in the fixtures, so no mirroring is needed: ikelab
// (namespace k, 10.98.0.2) runs the config converted from the scenario's initiator.swanctl.conf + strongswan.conf
// by `node dist/cli.js convert`, strongSwan (namespace s, 10.98.0.1) the scenario's responder.swanctl.conf as is,
// and ikelab initiates as the recorded initiator did (`swanctl --initiate` there, `ikelab initiate` here).
//
// The only thing added to the converted YAML is daemon.control_socket (the lab's path for the CLI to reach it):
// swanctl.conf has no such key. strongSwan gets the fixtures' retransmit settings (FAST_RETRANSMIT, identical to
// the scenarios' strongswan.conf); its other lines (plugin list, log file) the lab writes itself.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import {
  type Charon,
  established,
  FAST_RETRANSMIT,
  IKELAB_CLI,
  type Ikelab,
  type Lab,
  logdiff,
  REFERENCE_LOGS_DIR,
  requireInterop,
  run,
  useLab,
} from '../helpers/lab.js';

const RUN = requireInterop();

describe.skipIf(!RUN)('interop: configs converted from the reference scenarios bring up the same tunnels', () => {
  let lab: Lab;
  useLab((l) => {
    lab = l;
  });

  /** `ikelab convert` of the scenario's initiator side, with the lab's control socket added. */
  async function converted(scenario: string): Promise<string> {
    const dir = path.join(REFERENCE_LOGS_DIR, scenario);
    const r = await run(process.execPath, [
      IKELAB_CLI,
      'convert',
      path.join(dir, 'initiator.swanctl.conf'),
      '--strongswan-conf',
      path.join(dir, 'strongswan.conf'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    // nothing of the swanctl.conf was dropped (only strongswan.conf's plugin and log-file lines)
    expect(r.stderr).not.toMatch(/ignored: (connections|secrets)/);
    const doc = parseDocument(r.stdout);
    doc.setIn(['daemon', 'control_socket'], lab.path('k', 'ikelab.sock'));
    return doc.toString();
  }

  async function up(scenario: string): Promise<{ swan: Charon; ike: Ikelab }> {
    const swanctlConf = readFileSync(path.join(REFERENCE_LOGS_DIR, scenario, 'responder.swanctl.conf'), 'utf8');
    const swan = await lab.startCharon({ swanctlConf, strongswanConfExtra: FAST_RETRANSMIT });
    const ike = await lab.startIkelab(await converted(scenario));
    const i = await ike.cli(['initiate', '--child', 'net', '--quiet']);
    expect(i.code, i.stdout + i.stderr).toBe(0);
    const [sw, ik] = await Promise.all([
      swan.waitFor((s) => established(s, 'bar', 'net'), 8000),
      ike.waitFor(
        (s) => s.some((x) => x.name === 'bar' && x.state === 'ESTABLISHED' && x.children.some((c: any) => c.state === 'INSTALLED')),
        8000,
      ),
    ]);
    const a = sw.find((s) => s.name === 'bar')!;
    const b = ik.find((s: any) => s.name === 'bar');
    expect(b.initiator).toBe(true);
    expect([b.spiI, b.spiR]).toEqual([a.spiI, a.spiR]);
    expect(b.children[0].spiIn).toBe(a.children[0]!.spiOut);
    expect(b.children[0].localTs).toEqual(a.children[0]!.remoteTs);
    expect(b.children[0].remoteTs).toEqual(a.children[0]!.localTs);
    return { swan, ike };
  }

  it('establish-psk: PSK IKE_SA + CHILD_SA up, terminated by ikelab; the log matches the recorded initiator', async () => {
    const { swan, ike } = await up('establish-psk');
    expect((await ike.cli(['terminate', '--ike', 'bar', '--quiet'])).code).toBe(0);
    await Promise.all([swan.waitFor((s) => !s.some((x) => x.name === 'bar'), 8000), ike.waitFor((s) => s.length === 0, 8000)]);
    const d = logdiff(path.join(REFERENCE_LOGS_DIR, 'establish-psk', 'initiator.log'), ike.logPath, { payloads: true });
    expect(d.missing, "lines of charon's initiator log missing in ikelab's").toEqual([]);
  });

  it('child-rekey-pfs: the CHILD_SA rekey by ikelab uses PFS with ecp256 as esp_proposals say', async () => {
    const { swan, ike } = await up('child-rekey-pfs');
    const before = (await swan.listSas())[0]!.children.map((c) => c.spiIn);
    expect((await ike.cli(['rekey', '--child', 'net', '--quiet'])).code).toBe(0);
    const sw = await swan.waitFor((s) => s[0]?.children.length === 1 && !before.includes(s[0].children[0]!.spiIn), 8000);
    expect(sw[0]!.children[0]!.dhGroup).toBe('ECP_256');
    const ik = await ike.waitFor((s) => s[0]?.children.length === 1 && s[0].children[0].spiOut === sw[0]!.children[0]!.spiIn, 8000);
    expect(ik[0].children[0].dhGroup).toBe(19);
  });

  it('dpd-timeout: dpd_delay and the retransmit settings carried over; a frozen strongSwan is declared dead', async () => {
    const { swan, ike } = await up('dpd-timeout');
    swan.freeze();
    // dpd_delay 3 s, then 1.0 + 1.4 + 1.96 + 2.744 s of retransmits (strongswan.conf's timeout/base/tries)
    await ike.waitFor((s) => s.length === 0, 20_000);
    const log = ike.log();
    expect(log).toContain('sending DPD request');
    expect(log).toContain('retransmit 3 of request with message ID 2');
    expect(log).toContain('giving up after 3 retransmits');
    swan.thaw();
  }, 40_000);
});
