// The built-in scenarios about setting SAs up (wrong PSK, IKE/ESP proposal and TS mismatch, INVALID_KE, a rekey
// answered TEMPORARY_FAILURE, the PFS mismatch at CHILD_SA rekey in both directions) run by the scenario runner
// against a real strongSwan, as an engineer would: `ikelab scenario run NAME --peer-log charon.log`. Each test
// checks the run's verdicts step by step and the lines charon itself wrote, which are the ones users quote from
// the field (README "Reproducing failures" quotes them from here).
import { describe, expect, it } from 'vitest';
import { findScenario } from '../../src/scenario/builtins.js';
import { runScenario } from '../../src/scenario/runner.js';
import { type Charon, FAST_RETRANSMIT, type Lab, requireInterop, useLab } from '../helpers/lab.js';
import { verdicts } from '../helpers/verdicts.js';
import { ikelabYaml, type Scenario, swanctlConf } from '../helpers/scenario.js';

const RUN = requireInterop();

describe.skipIf(!RUN)('interop: setup scenarios against strongSwan', () => {
  let lab: Lab;
  useLab((l) => {
    lab = l;
  });

  /** strongSwan (its conf tweaked by `swan`) and ikelab (no start_action: the scenario initiates). */
  async function up(s: Scenario, swan: (conf: string) => string = (c) => c, ikelab: (yaml: string) => string = (y) => y) {
    const charon = await lab.startCharon({ swanctlConf: swan(swanctlConf(s)), strongswanConfExtra: FAST_RETRANSMIT });
    const sock = lab.path('k', 'ikelab.sock');
    const ike = await lab.startIkelab(ikelab(ikelabYaml(s, sock)));
    return { charon, ike, sock };
  }

  async function run(name: string, charon: Charon, sock: string, params: Record<string, string> = {}) {
    const lines: string[] = [];
    const r = await runScenario(findScenario(name), { socket: sock, peerLog: charon.logPath, params, out: (l) => lines.push(l) });
    // on failure the whole run and both logs' tails are what one needs to see
    if (!r.passed) process.stderr.write(`${lines.join('\n')}\n--- charon ---\n${charon.log().slice(-4000)}\n`);
    return r;
  }

  /**
   * strongSwan's CHILD_SA rekeys after `secs` exactly (no random jitter), long before it expires: life_time must be
   * given, its default (rekey_time + 10%, in whole seconds) would let the hard expiry come first.
   */
  const swanRekeysChild = (secs: number) => (conf: string) =>
    conf.replace(
      /esp_proposals = (\S+) \}/,
      `esp_proposals = $1\n                     rekey_time = ${secs}s\n                     life_time = 120s\n                     rand_time = 0 }`,
    );

  it('wrong-psk: AUTHENTICATION_FAILED, charon: MAC mismatched', async () => {
    const u = await up({});
    const r = await run('wrong-psk', u.charon, u.sock);
    expect(verdicts(r)).toEqual([
      'PASS initiate net',
      'PASS wait-state ike bar ESTABLISHED',
      'PASS terminate ike bar',
      'PASS wait-state ike bar ABSENT',
      'PASS initiate net',
      'PASS authentication refused',
      'PASS peer-log /MAC mismatched|authentication of .* failed/',
    ]);
    expect(r.passed).toBe(true);
    const log = u.charon.log();
    expect(log).toContain("tried 1 shared key for '10.98.0.1' - '10.98.0.2', but MAC mismatched");
    expect(log).toContain('generating IKE_AUTH response 1 [ N(AUTH_FAILED) ]');
  });

  it('ike-proposal-mismatch: NO_PROPOSAL_CHOSEN in IKE_SA_INIT', async () => {
    const u = await up({});
    const r = await run('ike-proposal-mismatch', u.charon, u.sock);
    expect(verdicts(r)).toEqual([
      'PASS initiate net',
      'PASS wait-state ike bar ESTABLISHED',
      'PASS terminate ike bar',
      'PASS wait-state ike bar ABSENT',
      'PASS initiate net',
      'PASS IKE proposals refused',
      'PASS peer-log /received proposals unacceptable|no acceptable proposal/',
    ]);
    expect(r.passed).toBe(true);
    const log = u.charon.log();
    expect(log).toContain('received proposals unacceptable');
    expect(log).toContain('generating IKE_SA_INIT response 0 [ N(NO_PROP) ]');
  });

  it('esp-proposal-mismatch: the IKE_SA comes up, the CHILD_SA is refused', async () => {
    const u = await up({});
    const r = await run('esp-proposal-mismatch', u.charon, u.sock);
    expect(verdicts(r)).toEqual([
      'PASS initiate net',
      'PASS wait-state ike bar ESTABLISHED',
      'PASS terminate ike bar',
      'PASS wait-state ike bar ABSENT',
      'PASS initiate net',
      'PASS CHILD_SA refused',
      'PASS peer-log /no acceptable proposal found/',
      'PASS IKE_SA kept without CHILD_SA',
    ]);
    expect(r.passed).toBe(true);
    const log = u.charon.log();
    expect(log).toContain('no acceptable proposal found');
    expect(log).toContain('failed to establish CHILD_SA, keeping IKE_SA');
  });

  it('ts-mismatch: TS_UNACCEPTABLE, charon: traffic selectors ... unacceptable', async () => {
    const u = await up({});
    const r = await run('ts-mismatch', u.charon, u.sock);
    expect(verdicts(r)).toEqual([
      'PASS initiate net',
      'PASS wait-state ike bar ESTABLISHED',
      'PASS terminate ike bar',
      'PASS wait-state ike bar ABSENT',
      'PASS initiate net',
      'PASS traffic selectors refused',
      'PASS peer-log /traffic selectors .* unacceptable/',
    ]);
    expect(r.passed).toBe(true);
    const log = u.charon.log();
    expect(log).toContain('traffic selectors 10.99.2.0/24 === 10.99.1.0/24 unacceptable');
    expect(log).toContain('failed to establish CHILD_SA, keeping IKE_SA');
  });

  it('invalid-ke: INVALID_KE_PAYLOAD, the retry with the requested group succeeds', async () => {
    const u = await up({});
    const r = await run('invalid-ke', u.charon, u.sock);
    expect(verdicts(r)).toEqual([
      'PASS initiate net',
      'PASS wait-state ike bar ESTABLISHED',
      'PASS terminate ike bar',
      'PASS wait-state ike bar ABSENT',
      'PASS initiate net',
      'PASS peer asks for another group',
      'PASS peer-log /DH group \\S+ unacceptable, requesting \\S+/',
      'PASS retry with the requested group succeeds',
    ]);
    expect(r.passed).toBe(true);
    expect(u.charon.log()).toContain('DH group ECP_256 unacceptable, requesting MODP_2048');
  });

  it('temporary-failure: the peer rekeys, gets TEMPORARY_FAILURE once, retries, the rekey succeeds', async () => {
    const u = await up({}, swanRekeysChild(4));
    const r = await run('temporary-failure', u.charon, u.sock, { within: '20s', retry_within: '30s' });
    expect(verdicts(r)).toEqual([
      'PASS initiate net',
      'PASS wait-state child net INSTALLED',
      'PASS fault add temporary-failure',
      'PASS peer rekey answered TEMPORARY_FAILURE',
      'PASS peer-log /received TEMPORARY_FAILURE notify/',
      'PASS peer retried, rekey done',
      'PASS cleanup fault temporary-failure',
    ]);
    expect(r.passed).toBe(true);
    const log = u.charon.log();
    expect(log).toContain('received TEMPORARY_FAILURE notify, will retry later');
    expect(log).toMatch(/CHILD_SA rekeying failed, trying again in \d+ seconds/);
  }, 60_000);

  it('pfs-mismatch-at-rekey, ikelab rekeys: charon (PFS required) refuses without KE and with a foreign group', async () => {
    const u = await up({ espProposals: 'aes256-sha256-modp2048' });
    const r = await run('pfs-mismatch-at-rekey', u.charon, u.sock);
    expect(verdicts(r)).toEqual([
      'PASS initiate net',
      'PASS wait-state child net INSTALLED',
      'PASS rekey without PFS',
      'PASS peer refuses the rekey without KE',
      'PASS peer-log /no acceptable proposal found/',
      'PASS peer-log /failed to establish CHILD_SA, keeping IKE_SA/',
      'PASS old CHILD_SA kept',
      'PASS rekey with a group the peer lacks',
      'PASS peer refuses the foreign group',
      'PASS old CHILD_SA still kept',
    ]);
    expect(r.passed).toBe(true);
    const log = u.charon.log();
    expect(log).toContain('no acceptable proposal found');
    expect(log).toContain('failed to establish CHILD_SA, keeping IKE_SA');
    expect(log).toContain('generating CREATE_CHILD_SA response 2 [ N(NO_PROP) ]');
    // part 2: ikelab offered the foreign group alone, charon wants its own
    expect(log).toContain('received proposals: ESP:AES_CBC_256/HMAC_SHA2_256_128/ECP_384/NO_EXT_SEQ');
    expect(log).toContain('generating CREATE_CHILD_SA response 3 [ N(NO_PROP) ]');
  }, 60_000);

  it('pfs-mismatch-at-peer-rekey, charon rekeys without KE: ikelab (PFS required) refuses, charon retries later', async () => {
    // strongSwan without PFS; ikelab insists on MODP_2048 (IKE_AUTH negotiates no group, so the tunnel comes up)
    const u = await up({ espProposals: 'aes256-sha256', ikelabEsp: 'aes256-sha256-modp2048' }, swanRekeysChild(4));
    const r = await run('pfs-mismatch-at-peer-rekey', u.charon, u.sock, { within: '20s' });
    expect(verdicts(r)).toEqual([
      'PASS initiate net',
      'PASS wait-state child net INSTALLED',
      'PASS peer rekey refused',
      'PASS peer-log /received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built/',
      'PASS peer-log /CHILD_SA rekeying failed, trying again in \\d+ seconds/',
      'PASS old CHILD_SA kept',
    ]);
    expect(r.passed).toBe(true);
    const log = u.charon.log();
    // charon's message ID depends on whether a MOBIKE address update (a kernel address event) came first
    expect(log).toMatch(/parsed CREATE_CHILD_SA response \d+ \[ N\(NO_PROP\) \]/);
    expect(log).toContain('received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built');
    expect(log).toContain('failed to establish CHILD_SA, keeping IKE_SA');
    expect(log).toMatch(/CHILD_SA rekeying failed, trying again in \d+ seconds/);
  }, 60_000);
});
