// `ikelab rekey --child net --dh none` against a real strongSwan, both requiring PFS (aes256-sha256-modp2048):
// the field failure "PFS mismatch at CHILD_SA rekey" reproduced without a config change. strongSwan refuses the
// rekey (no acceptable proposal found, NO_PROPOSAL_CHOSEN), the CHILD_SA stays on both sides with its SPIs, and a
// plain rekey afterwards (the override forgotten) succeeds with PFS.
import { describe, expect, it } from 'vitest';
import { FAST_RETRANSMIT, type Lab, established, requireInterop, type SwanSa, useLab } from '../helpers/lab.js';
import { ikelabYaml, swanctlConf } from '../helpers/scenario.js';

const RUN = requireInterop();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!RUN)('interop: rekey --child --dh override', () => {
  let lab: Lab;
  useLab((l) => {
    lab = l;
  });

  const childSpis = (sas: SwanSa[]) =>
    sas.flatMap((s) => s.children.filter((c) => c.state === 'INSTALLED').map((c) => `${c.spiIn}/${c.spiOut}`));
  const ikelabChildSpis = (sas: any[]) =>
    sas.flatMap((s) => s.children.filter((c: any) => c.state === 'INSTALLED').map((c: any) => `${c.spiOut}/${c.spiIn}`));

  it('--dh none: strongSwan refuses (no acceptable proposal found), CHILD_SA kept; a plain rekey then succeeds', async () => {
    const s = { espProposals: 'aes256-sha256-modp2048' };
    const swan = await lab.startCharon({ swanctlConf: swanctlConf(s), strongswanConfExtra: FAST_RETRANSMIT });
    const ike = await lab.startIkelab(ikelabYaml({ ...s, ikelabStart: 'start' }, lab.path('k', 'ikelab.sock')));
    await swan.waitFor((x) => established(x, 'bar', 'net'), 8000);
    await ike.waitFor((x) => x.some((a) => a.state === 'ESTABLISHED' && a.children.some((c: any) => c.state === 'INSTALLED')), 8000);
    const before = childSpis(await swan.listSas());
    expect(before).toHaveLength(1);

    // `ikelab rekey` waits for the outcome: strongSwan's refusal makes it exit 1 naming the notify
    const r = await ike.cli(['rekey', '--child', 'net', '--dh', 'none']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toContain('NO_PROPOSAL_CHOSEN');
    for (let i = 0; i < 80 && !ike.log().includes('received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built'); i++) await sleep(100);
    expect(ike.log()).toMatch(/CHILD_SA net\{\d+\} rekey with DH override: none/);
    expect(swan.log()).toContain('no acceptable proposal found');
    expect(ike.log()).toContain('received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built');
    expect(ike.log()).toMatch(/CHILD_SA rekeying failed, trying again in \d+ seconds/);
    const sw = await swan.listSas();
    const ik = await ike.listSas();
    expect([sw[0]!.state, ik[0].state]).toEqual(['ESTABLISHED', 'ESTABLISHED']);
    expect(childSpis(sw)).toEqual(before);
    expect(ikelabChildSpis(ik)).toEqual(before);

    // the override is gone: a plain rekey proposes MODP_2048 with a KE, strongSwan accepts it
    expect((await ike.cli(['rekey', '--child', 'net'])).code).toBe(0);
    const sw2 = await swan.waitFor(
      (x) => childSpis(x).length === 1 && !before.includes(childSpis(x)[0]!) && x[0]!.children.length === 1,
      8000,
    );
    const ik2 = await ike.waitFor(
      (x) => ikelabChildSpis(x).length === 1 && x[0].children.length === 1 && ikelabChildSpis(x)[0] === childSpis(sw2)[0],
      8000,
    );
    expect(ikelabChildSpis(ik2)).toEqual(childSpis(sw2));
    expect(sw2[0]!.children[0]!.dhGroup).toBe('MODP_2048');
    expect(ik2[0].children[0].dhGroup).toBe(14);
  });
});
