// `ikelab initiate` (the built dist/cli.js, as a script runs it) against a real strongSwan waits for the result,
// like swanctl --initiate: exit 0 once the CHILD_SA is installed, 1 naming AUTHENTICATION_FAILED when strongSwan
// refuses the PSK (--psk override), 1 naming NO_PROPOSAL_CHOSEN when it refuses the ESP proposals
// (--esp-proposals override, the IKE_SA kept); --json prints the one result object.
import { describe, expect, it } from 'vitest';
import { FAST_RETRANSMIT, type Lab, requireInterop, useLab } from '../helpers/lab.js';
import { ikelabYaml, swanctlConf } from '../helpers/scenario.js';

const RUN = requireInterop();

describe.skipIf(!RUN)('interop: ikelab initiate reports the outcome', () => {
  let lab: Lab;
  useLab((l) => {
    lab = l;
  });

  it('exit 0 on success, 1 naming AUTHENTICATION_FAILED / NO_PROPOSAL_CHOSEN on refusal', async () => {
    const swan = await lab.startCharon({ swanctlConf: swanctlConf({}), strongswanConfExtra: FAST_RETRANSMIT });
    const ike = await lab.startIkelab(ikelabYaml({}, lab.path('k', 'ikelab.sock')));

    const wrong = await ike.cli(['initiate', '--child', 'net', '--psk', 'not-barsecret'], 40_000);
    expect(wrong.code, wrong.stdout + wrong.stderr).toBe(1);
    expect(wrong.stderr).toMatch(/^ikelab: initiate failed: AUTHENTICATION_FAILED/m);
    // the log lines of that IKE_SA were streamed while waiting, as swanctl --initiate prints charon's
    expect(wrong.stdout).toMatch(/^\[IKE\] initiating IKE_SA bar\[\d+\] to /m);
    expect(wrong.stdout).toMatch(/^\[ENC\] parsed IKE_AUTH response 1 \[ N\(AUTH_FAILED\) \]$/m);
    expect(swan.log()).toContain('generating IKE_AUTH response 1 [ N(AUTH_FAILED) ]');
    await ike.waitFor((x) => x.length === 0, 8000);

    const ok = await ike.cli(['initiate', '--child', 'net'], 40_000);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^\[IKE\] CHILD_SA net\{\d+\} established with SPIs /m);
    expect(ok.stdout).toMatch(/^initiate completed successfully: IKE_SA bar\[\d+\], CHILD_SA net\{\d+\}/m);
    const sas = await ike.listSas();
    expect(sas[0].children[0].state).toBe('INSTALLED');

    const esp = await ike.cli(['initiate', '--child', 'net', '--esp-proposals', 'aes128gcm16', '--json'], 40_000);
    expect(esp.code, esp.stdout + esp.stderr).toBe(1);
    const o = JSON.parse(esp.stdout);
    expect(o).toMatchObject({ ok: false, ike: 'bar', child: 'net', notify: 'NO_PROPOSAL_CHOSEN' });
    expect(o.elapsedMs).toEqual(expect.any(Number));
    expect(swan.log()).toContain('no acceptable proposal found');

    // the installed CHILD_SA was not touched: initiate of it again is success at once
    const again = await ike.cli(['initiate', '--child', 'net', '--json', '--quiet'], 40_000);
    expect(again.code, again.stderr).toBe(0);
    const at = JSON.parse(again.stdout);
    expect(at).toMatchObject({ ok: true, ike: 'bar', child: 'net' });
    // no exchange waited for: the daemon's own work only (a millisecond on a busy host)
    expect(at.elapsedMs).toBeLessThan(50);
  }, 120_000);
});
