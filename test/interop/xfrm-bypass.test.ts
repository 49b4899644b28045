// The IKE bypass policies against a real strongSwan. Namespace k holds the xfrm policies ikelab itself installs for a
// 0.0.0.0/0 === 0.0.0.0/0 CHILD_SA (xfrmPolicyCommands: out, in, fwd with an ESP template), as a route-based
// vEdge / IOS XE tunnel leaves them, with no state behind them (this kernel has no esp4 either). Every plain UDP
// datagram to or from k then matches them, IKE included. With ipsec_backend xfrm, ikelab's sockets carry charon's
// socket policies and strongSwan's IKE_SA_INIT is answered; with ipsec_backend none (no bypass) the same
// strongSwan gets no answer, and k's xfrm counters show the policies took it.
import { describe, expect, it } from 'vitest';
import { parseTs } from '../../src/config/ts.js';
import { xfrmPolicyCommands } from '../../src/ipsec/xfrm.js';
import type { TrafficSelector } from '../../src/wire/types.js';
import { FAST_RETRANSMIT, type Lab, requireInterop, useLab } from '../helpers/lab.js';
import { ikelabYaml, swanctlConf } from '../helpers/scenario.js';

const RUN = requireInterop();
const ANY = parseTs('0.0.0.0/0') as TrafficSelector;

describe.skipIf(!RUN)('interop: IKE bypass policies of the xfrm backend under 0.0.0.0/0 policies', () => {
  let lab: Lab;
  useLab((l) => {
    lab = l;
  });

  const ip = async (argv: string[]) => {
    const r = await lab.execIn('k', argv);
    if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const catchAll = (op: 'add' | 'del') =>
    xfrmPolicyCommands(op, { local: '10.98.0.2', remote: '10.98.0.1', reqid: 77, localTs: [ANY], remoteTs: [ANY] });
  /** k's xfrm error counters (per namespace): which policy check dropped what. */
  const xfrmStats = async (): Promise<Record<string, number>> =>
    Object.fromEntries(
      (await ip(['cat', '/proc/net/xfrm_stat']))
        .trim()
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .map(([k, v]) => [k, Number(v)]),
    );

  async function attempt(backend: 'xfrm' | 'none') {
    for (const c of catchAll('add')) await ip(c);
    try {
      expect(await ip(['ip', 'xfrm', 'policy', 'count'])).toMatch(/SPD IN {2}1 OUT 1 FWD 1/);
      const before = await xfrmStats();
      const swan = await lab.startCharon({ swanctlConf: swanctlConf({}), strongswanConfExtra: FAST_RETRANSMIT });
      const yaml = ikelabYaml({}, lab.path('k', 'ikelab.sock')).replace(
        '  natt_port: 4500\n',
        `  natt_port: 4500\n  ipsec_backend: ${backend}\n`,
      );
      const ike = await lab.startIkelab(yaml);
      // the control socket (the lab's readiness signal) comes up before the IKE sockets: wait for charon's line
      await expect.poll(() => ike.log(), { timeout: 10_000 }).toMatch(/listening on 10\.98\.0\.2\[500\]/);
      const sockets = await ip(['ip', '-s', 'xfrm', 'policy', 'count']);
      const init = await swan.swanctl(['--initiate', '--child', 'net', '--timeout', '12'], 20_000);
      const after = await xfrmStats();
      const sas = await ike.listSas();
      await lab.stopAll();
      return { init, sas, sockets, log: ike.log(), delta: (k: string) => (after[k] ?? 0) - (before[k] ?? 0) };
    } finally {
      for (const c of catchAll('del')) await lab.execIn('k', c);
    }
  }

  it('xfrm: the IKE_SA comes up through them; both sockets hold the two socket policies', async () => {
    const r = await attempt('xfrm');
    expect(r.init.code, r.init.stdout + r.init.stderr).toBe(0);
    // IKE_SA_INIT on 500, IKE_AUTH on 4500 (the lab's charon forces UDP encapsulation): both sockets pass
    expect(r.init.stdout).toMatch(/sending packet: from 10\.98\.0\.1\[4500\] to 10\.98\.0\.2\[4500\]/);
    expect(r.init.stdout).toMatch(/IKE_SA bar\[1\] established/);
    expect(r.sas.map((s: { state: string }) => s.state)).toEqual(['ESTABLISHED']);
    // 10.98.0.2[500] and 10.98.0.2[4500]: one in and one out policy each
    expect(r.sockets).toMatch(/\(Sock: IN 2 OUT 2 FWD 0\)/);
    expect(r.log).not.toMatch(/installing IKE bypass policy failed/);
  }, 40_000);

  it('none (no bypass): the same policies swallow strongSwan IKE_SA_INIT, nothing is established', async () => {
    const r = await attempt('none');
    expect(r.init.code).not.toBe(0);
    expect(r.sas).toEqual([]);
    expect(r.sockets).toMatch(/\(Sock: IN 0 OUT 0 FWD 0\)/);
    // the inbound policy wanted ESP: each plain IKE datagram failed its template
    expect(r.delta('XfrmInTmplMismatch')).toBeGreaterThanOrEqual(1);
  }, 40_000);
});
