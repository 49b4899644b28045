// `ikelab initiate --child net --psk ... | --esp-proposals ...` against a real strongSwan: two field failures
// reproduced with one command each, no config change and no restart. A wrong PSK is refused by strongSwan's AUTH
// check (its log: the shared key's MAC mismatched; ikelab gets AUTHENTICATION_FAILED); ESP proposals it does not
// accept get NO_PROPOSAL_CHOSEN for the CHILD_SA (its log: no acceptable proposal found) with the IKE_SA kept; a
// plain initiate afterwards brings the CHILD_SA up with the configured settings.
import { describe, expect, it } from 'vitest';
import { FAST_RETRANSMIT, type Lab, established, requireInterop, useLab } from '../helpers/lab.js';
import { ikelabYaml, swanctlConf } from '../helpers/scenario.js';

const RUN = requireInterop();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!RUN)('interop: initiate overrides', () => {
  let lab: Lab;
  useLab((l) => {
    lab = l;
  });

  it('--psk wrong: refused by strongSwan; --esp-proposals mismatch: NO_PROPOSAL_CHOSEN; a plain initiate then succeeds', async () => {
    const swan = await lab.startCharon({ swanctlConf: swanctlConf({}), strongswanConfExtra: FAST_RETRANSMIT });
    const ike = await lab.startIkelab(ikelabYaml({}, lab.path('k', 'ikelab.sock')));
    const logged = async (text: string) => {
      for (let i = 0; i < 80 && !ike.log().includes(text); i++) await sleep(100);
      expect(ike.log()).toContain(text);
    };

    // initiate waits for the result (test/interop/cli-outcome.test.ts): the refusal is exit 1
    const wrong = await ike.cli(['initiate', '--child', 'net', '--psk', 'not-barsecret'], 40_000);
    expect(wrong.code, wrong.stderr).toBe(1);
    await logged('received AUTHENTICATION_FAILED notify error');
    expect(ike.log()).toMatch(/initiating bar\[\d+\] with overrides for this IKE_SA only: psk \(given on the command line\)/);
    expect(ike.log()).not.toContain('not-barsecret');
    expect(swan.log()).toMatch(/tried 1 shared key for '10\.98\.0\.1' - '10\.98\.0\.2', but MAC mismatched/);
    expect(swan.log()).toContain('generating IKE_AUTH response 1 [ N(AUTH_FAILED) ]');
    await swan.waitFor((x) => x.length === 0, 8000);
    await ike.waitFor((x) => x.length === 0, 8000);

    const esp = await ike.cli(['initiate', '--child', 'net', '--esp-proposals', 'aes128gcm16'], 40_000);
    expect(esp.code, esp.stderr).toBe(1);
    await logged('received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built');
    expect(swan.log()).toContain('no acceptable proposal found');
    const [kept] = await swan.waitFor((x) => x.length === 1 && x[0]!.state === 'ESTABLISHED', 8000);
    expect(kept!.children).toEqual([]);

    // the configured PSK and proposals were never changed: a plain initiate adds the CHILD_SA to the IKE_SA
    const plain = await ike.cli(['initiate', '--child', 'net']);
    expect(plain.code, plain.stderr).toBe(0);
    const sw = await swan.waitFor((x) => established(x, 'bar', 'net'), 8000);
    expect(sw).toHaveLength(1);
    const ik = await ike.waitFor(
      (x) => x.some((a) => a.state === 'ESTABLISHED' && a.children.some((c: any) => c.state === 'INSTALLED')),
      8000,
    );
    expect(ik[0].children[0].proposal).toContain('AES_CBC_256');
  });
});
